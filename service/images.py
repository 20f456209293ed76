"""What a page needs to know of a library image: its URLs, sizes and resized copies.

Pure data and naming rules, no files and no database: the renderer, the cards, the
article page, the feeds and the media service all agree through this one module.

An original is stored as ``<32 hex>.<ext>``; its resized copies beside it as
``<32 hex>-<width>.<ext>`` (a GIF's copies are PNG) and ``<32 hex>-<width>.webp``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The widths resized copies are made at (only those narrower than the original).
VARIANT_WIDTHS = (480, 960, 1600)
# Every name a media file may have: an original or one of its copies.
MEDIA_FILE_PATTERN = r"[0-9a-f]{32}(?:-[0-9]{1,5})?\.(?:png|jpg|gif|webp)"
MEDIA_FILE_NAME = re.compile(rf"^{MEDIA_FILE_PATTERN}$")
# An original's URL inside Markdown or HTML (the editor writes it this way).
MEDIA_URL = re.compile(r"/media/([0-9a-f]{32}\.(?:png|jpg|gif|webp))")
# How wide an image shows: the article column is at most 44rem (--measure in site.css).
ARTICLE_SIZES = "(max-width: 46rem) 100vw, 44rem"
CARD_SIZES = "(max-width: 40rem) 8rem, 11rem"
# What a shared link's preview (og:image) prefers: large but not the full original.
SHARE_WIDTH = 1600


def variant_extension(extension: str) -> str:
    """The format a resized copy is stored in: the original's, except a GIF's (PNG)."""
    return "png" if extension == "gif" else extension


def scaled_height(width: int, height: int, target_width: int) -> int:
    """The height of a copy ``target_width`` wide, keeping the proportions."""
    return max(1, round(height * target_width / width))


def parse_widths(text: str) -> tuple[int, ...]:
    return tuple(sorted(int(part) for part in text.split(",") if part.strip().isdigit()))


def format_widths(widths: tuple[int, ...] | list[int]) -> str:
    return ",".join(str(width) for width in sorted(widths))


@dataclass(frozen=True)
class ImageSource:
    """One file of an image at one size."""

    url: str
    width: int
    height: int


@dataclass(frozen=True)
class ImageInfo:
    """A library image as pages show it: the original plus its resized copies."""

    id: int
    filename: str
    content_type: str
    size: int
    width: int
    height: int
    variant_widths: tuple[int, ...] = ()
    webp_widths: tuple[int, ...] = ()
    alt: str = ""
    caption: str = ""

    @property
    def stem(self) -> str:
        return self.filename.rsplit(".", 1)[0]

    @property
    def extension(self) -> str:
        return self.filename.rsplit(".", 1)[1]

    @property
    def url(self) -> str:
        return f"/media/{self.filename}"

    def variant_url(self, width: int, extension: str | None = None) -> str:
        if width == self.width and extension in (None, self.extension):
            return self.url
        ext = extension or variant_extension(self.extension)
        return f"/media/{self.stem}-{width}.{ext}"

    def sources(self) -> list[ImageSource]:
        """Every size in the original's format (resized copies, then the original)."""
        sizes = [w for w in self.variant_widths if w < self.width]
        found = [
            ImageSource(self.variant_url(w), w, scaled_height(self.width, self.height, w))
            for w in sizes
        ]
        return [*found, ImageSource(self.url, self.width, self.height)]

    def webp_sources(self) -> list[ImageSource]:
        """Every WebP copy (with the original itself when it is WebP)."""
        found = [
            ImageSource(self.variant_url(w, "webp"), w, scaled_height(self.width, self.height, w))
            for w in self.webp_widths
            if w <= self.width
        ]
        if self.extension == "webp" and self.width not in self.webp_widths:
            found.append(ImageSource(self.url, self.width, self.height))
        return found

    @property
    def srcset(self) -> str:
        return ", ".join(f"{s.url} {s.width}w" for s in self.sources())

    @property
    def webp_srcset(self) -> str:
        return ", ".join(f"{s.url} {s.width}w" for s in self.webp_sources())

    def at_most(self, width: int) -> ImageSource:
        """The widest file in the original's format no wider than ``width`` (else the smallest)."""
        sources = self.sources()
        fitting = [s for s in sources if s.width <= width]
        return fitting[-1] if fitting else sources[0]

    def smallest(self) -> ImageSource:
        return self.sources()[0]

    def share(self) -> ImageSource:
        """The file a shared link's preview shows (og:image, twitter:image, JSON-LD)."""
        return self.at_most(SHARE_WIDTH)

    def file_names(self) -> list[str]:
        """The original and every resized copy stored beside it."""
        names = [self.filename]
        names += [s.url.rsplit("/", 1)[1] for s in self.sources() if s.url != self.url]
        names += [s.url.rsplit("/", 1)[1] for s in self.webp_sources() if s.url != self.url]
        return names
