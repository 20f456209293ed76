"""One entry point for every import: detect the format by content, check, then write."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit

from sqlalchemy.orm import Session

from extends.storage import MediaStore
from service import transfer
from service.articles import tag_path
from service.importers import ghost, wxr
from service.importers.common import ImportedImage, ImportedPost, ImportRefused, Summary, Writer

# A zip whose members would unpack to more than this is refused as a zip bomb.
MAX_UNPACKED = 2 * 1024 * 1024 * 1024
MAX_RATIO = 200
# JSON has no streaming parser in the standard library: a Ghost export is read whole, so one
# larger than this is refused before it is read (Ghost's exports hold no images).
MAX_GHOST_FILE = 256 * 1024 * 1024

# Called with (done, total, between) after each post; ``between`` is true right after a batch
# was committed, when another connection may write (SQLite allows one writer at a time).
Progress = Callable[[int, int, bool], None]


def detect_format(path: Path) -> str:
    """ "inkwell" or "wxr", from the first bytes of the file."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(b"PK\x03\x04"):
        return "inkwell"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return "wxr"
    if text.startswith(b"{"):
        return "ghost"
    raise ImportRefused(
        "The file is neither an Inkwell export, a WordPress export (WXR) nor a Ghost export."
    )


def check_zip(path: Path) -> None:
    """Refuse a zip with paths that leave the folder or members that unpack to too much."""
    try:
        with zipfile.ZipFile(path) as archive:
            total = 0
            for info in archive.infolist():
                name = PurePosixPath(info.filename)
                if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
                    raise ImportRefused(
                        "The archive holds a path outside its folder: {name}.",
                        name=info.filename[:100],
                    )
                total += info.file_size
                ratio = info.file_size / max(info.compress_size, 1)
                if total > MAX_UNPACKED or (info.file_size > 1024 * 1024 and ratio > MAX_RATIO):
                    raise ImportRefused(
                        "The archive unpacks to far more than it holds (a zip bomb): {name}.",
                        name=info.filename[:100],
                    )
    except zipfile.BadZipFile:
        raise ImportRefused("The file is not a valid zip archive.") from None


def import_file(
    session: Session,
    store: MediaStore | None,
    path: Path,
    *,
    dry_run: bool = False,
    uploads: Path | None = None,
    author: str | None = None,
    max_media_bytes: int = 10 * 1024 * 1024,
    fetch_urls: bool = True,
    progress: Progress | None = None,
) -> Summary:
    """Import ``path`` into the blog (or, with ``dry_run``, say what that would do)."""
    kind = detect_format(path)
    if kind == "inkwell":
        return _import_inkwell(session, store, path, dry_run)
    if kind == "ghost":
        return ghost.import_ghost(
            session,
            store,
            path,
            _load_json(path),
            dry_run=dry_run,
            uploads=uploads,
            author=author,
            max_media_bytes=max_media_bytes,
            fetch_urls=fetch_urls,
            progress=progress,
        )
    site = wxr.scan(path)
    summary = Summary(source=f"WordPress export {path.name}", dry_run=dry_run)
    writer = Writer(
        session,
        store,
        "wxr:" + (site.base_url or path.name),
        summary,
        author=author,
        uploads=uploads,
        max_media_bytes=max_media_bytes,
        fetch_urls=fetch_urls,
    )
    for author_record in site.authors:
        writer.author(author_record)
        if author_record.login:
            new_author = "/author/" + quote(author_record.login, safe="")
            writer.redirect(f"/author/{author_record.login}/feed/", new_author + "/feed.rss")
    writer.categories(site.categories)
    for slug, name in site.tags:
        if name:
            new_tag = tag_path(writer.tag(name).name)
            writer.redirect(f"/tag/{slug}/", new_tag)
            writer.redirect(f"/tag/{slug}/feed/", new_tag + "/feed.rss")
    base_path = urlsplit(site.base_url).path.rstrip("/")
    for old in ("/feed/", "/feed/rss2/", "/feed/atom/", "/rss/"):
        writer.redirect(base_path + old, "/feed.rss" if "atom" not in old else "/feed.atom")
    writer.redirect(base_path + "/comments/feed/", "/feed.rss")
    for image in site.images:
        writer.image(image)
    rewrite = _rewriter(writer, site.images)
    done = 0
    for item in wxr.items(path, site):
        if isinstance(item, ImportedPost):
            writer.post(item, rewrite)
            done += 1
            if progress is not None:
                progress(done, site.posts, writer.between_batches)
        elif isinstance(item, wxr.Skipped):
            summary.skipped[item.reason] += 1
    writer.finish()
    return summary


def _rewriter(writer: Writer, images: list[ImportedImage]) -> Callable[[str, str], str]:
    """Replace each attachment's old URL (and its resized copies' URLs) in the Markdown."""
    by_stem: dict[str, ImportedImage] = {}
    for image in images:
        path = urlsplit(image.url).path
        stem, dot, _ext = path.rpartition(".")
        if dot:
            by_stem[stem] = image

    pattern = re.compile(r"(https?://[^\s)\"'<>]+|/wp-content/uploads/[^\s)\"'<>]+)")
    size_suffix = re.compile(r"-\d+x\d+$")

    def rewrite(markdown: str, title: str) -> str:
        def replace(match: re.Match[str]) -> str:
            url = match.group(0)
            path = urlsplit(url).path
            stem, dot, _ext = path.rpartition(".")
            image = by_stem.get(stem) or by_stem.get(size_suffix.sub("", stem))
            if image is None or not dot:
                return url
            media = writer.media_for(image.key, title)
            return f"/media/{media.filename}" if media is not None else url

        return pattern.sub(replace, markdown)

    return rewrite


def _import_inkwell(
    session: Session, store: MediaStore | None, path: Path, dry_run: bool
) -> Summary:
    check_zip(path)
    summary = Summary(source=f"Inkwell archive {path.name}", dry_run=dry_run)
    if not transfer.is_empty(session):
        raise ImportRefused("An Inkwell archive can only be imported into an empty blog.")
    if dry_run or store is None:
        summary.notes.append("the archive is valid")
        return summary
    counts = transfer.import_site(session, store, path.read_bytes())
    for name, count in counts.items():
        summary.created[name] += count
    return summary


def _load_json(path: Path) -> object:
    if path.stat().st_size > MAX_GHOST_FILE:
        raise ImportRefused(
            "The Ghost export is too large to read at once (the limit is {limit} MB).",
            limit=MAX_GHOST_FILE // (1024 * 1024),
        )
    try:
        with path.open("rb") as handle:
            return json.load(handle)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportRefused(
            "The file is not valid JSON (truncated or damaged): {problem}.", problem=str(exc)[:200]
        ) from None
