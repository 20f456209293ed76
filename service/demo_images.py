"""Featured images for the sample site, drawn with Pillow when `python main.py demo` runs.

Nothing binary is kept in the repository: each picture is a gradient with a few shapes,
stored through the media library like an upload (so it gets its resized copies), then
set as the featured image of a sample article. Running the demo again adds nothing.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from extends.storage import MediaStore
from model import Article, Media
from service.media import media_lookup, store_upload
from service.rendering import RENDERER_VERSION, render_markdown

# (article slug, file name, alt text, caption, top colour, bottom colour)
DEMO_IMAGES = (
    (
        "welcome-to-inkwell",
        "inkwell-dawn.jpg",
        "An orange sun rising over layered blue hills",
        "Drawn by the demo loader with Pillow.",
        (255, 183, 94),
        (46, 84, 148),
    ),
    (
        "how-sessions-survive-behind-nginx",
        "inkwell-servers.jpg",
        "Rows of green and teal blocks, like servers in a rack",
        "",
        (20, 60, 70),
        (120, 200, 170),
    ),
    (
        "cache-invalidation-with-redis-pub-sub",
        "inkwell-signals.png",
        "Red circles spreading outwards on a dark background",
        "",
        (40, 20, 30),
        (190, 50, 60),
    ),
    (
        "tornado-blog-zh",
        "inkwell-storm.jpg",
        "A grey spiral of cloud over a purple sky",
        "",
        (90, 70, 140),
        (200, 200, 215),
    ),
)
# The sample article that also shows its picture inside the text.
INLINE_SLUG = "welcome-to-inkwell"
WIDTH, HEIGHT = 2000, 1125
MAX_BYTES = 10 * 1024 * 1024


def draw_picture(top: tuple[int, int, int], bottom: tuple[int, int, int], seed: int) -> Image.Image:
    """A vertical gradient with a few circles and bands."""
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    for y in range(HEIGHT):
        t = y / (HEIGHT - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (WIDTH, y)], fill=colour)
    for index in range(6):
        radius = 80 + 40 * ((seed + index) % 5)
        x = (seed * 311 + index * 347) % WIDTH
        y = (seed * 173 + index * 229) % HEIGHT
        shade = tuple(min(255, c + 40 + 10 * index) for c in bottom)
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], outline=shade, width=12)
    for index in range(3):
        y = HEIGHT - 160 - index * 90
        draw.rectangle([0, y, WIDTH, y + 40], fill=tuple(max(0, c - 30) for c in bottom))
    return image


def _encode(image: Image.Image, name: str) -> bytes:
    out = io.BytesIO()
    if name.endswith(".png"):
        image.save(out, "PNG")
    else:
        image.save(out, "JPEG", quality=88)
    return out.getvalue()


def load_demo_images(session: Session, store: MediaStore) -> int:
    """Draw and store the sample pictures that are missing; returns how many were added."""
    created = 0
    for seed, (slug, name, alt, caption, top, bottom) in enumerate(DEMO_IMAGES):
        article_id = session.scalar(select(Article.id).where(Article.slug == slug))
        if article_id is None:
            continue
        media = session.scalar(select(Media).where(Media.original_name == name))
        if media is None:
            data = _encode(draw_picture(top, bottom, seed + 1), name)
            media = store_upload(session, store, name, data, MAX_BYTES)
            media.alt_text, media.caption = alt, caption
            created += 1
        # Not an edit of the article: keep updated_at as it was.
        session.execute(
            update(Article)
            .where(Article.id == article_id, Article.featured_image_id.is_(None))
            .values(featured_image_id=media.id, updated_at=Article.updated_at)
        )
        if slug == INLINE_SLUG:
            _show_inline(session, article_id, media)
        session.commit()
    return created


def _show_inline(session: Session, article_id: int, media: Media) -> None:
    content = session.scalar(select(Article.content).where(Article.id == article_id)) or ""
    if media.filename in content:
        return
    content = f"{content.rstrip()}\n\n![{media.alt_text}](/media/{media.filename})\n"
    rendered = render_markdown(content, media_lookup(session, content))
    session.execute(
        update(Article)
        .where(Article.id == article_id)
        .values(
            content=content,
            content_html=rendered.html,
            toc_html=rendered.toc_html,
            renderer_version=RENDERER_VERSION,
            updated_at=Article.updated_at,
        )
    )
