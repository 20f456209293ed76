"""Where uploaded media live: a local directory (one host) or an S3-compatible bucket.

``MediaStore`` is what services write through (always in the executor: both stores
block). ``BLOG_MEDIA_STORAGE`` chooses: empty means the local ``media_dir`` (today's
behaviour, nginx serves it); ``s3://bucket/prefix?endpoint=http://host:port&region=r``
means the bucket, through boto3, with ``BLOG_S3_ACCESS_KEY``/``BLOG_S3_SECRET_KEY`` (or
boto3's own sources: the standard AWS variables). Names are checked by the callers
(32 hex digits and an image extension), so a store never sees a path.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qs, urlsplit

from extends.errors import Unavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger("blog.storage")

S3_CONNECT_TIMEOUT_SECONDS = 2
S3_READ_TIMEOUT_SECONDS = 10


class MediaStoreUnavailable(Unavailable):
    """The media store cannot be reached (a 503: pages still work, images wait)."""

    user_message = "Images are unavailable for a moment. Please retry soon."


class MediaStore(Protocol):
    """Put, get, delete and test stored media files by name."""

    local_directory: Path | None

    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``name`` (replacing what was there)."""

    def get(self, name: str) -> bytes | None:
        """The stored bytes, or None when there is no such file."""

    def delete(self, name: str) -> None:
        """Remove ``name``; nothing happens when it is missing."""

    def exists(self, name: str) -> bool:
        """Whether ``name`` is stored."""


class LocalMediaStore:
    """Files in one directory on this host (written atomically)."""

    def __init__(self, directory: str | Path) -> None:
        self.local_directory: Path | None = Path(directory)
        self.directory = Path(directory)

    def put(self, name: str, data: bytes, content_type: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / f".{name}.{secrets.token_hex(4)}.part"
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, self.directory / name)

    def get(self, name: str) -> bytes | None:
        try:
            return (self.directory / name).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, name: str) -> None:
        (self.directory / name).unlink(missing_ok=True)

    def exists(self, name: str) -> bool:
        return (self.directory / name).is_file()


class S3MediaStore:
    """Objects in an S3-compatible bucket under ``prefix`` (boto3; every call blocks)."""

    local_directory: Path | None = None

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint: str | None = None,
        region: str | None = None,
        access_key: str = "",
        secret_key: str = "",
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client: S3Client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=region or "us-east-1",
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            config=Config(
                connect_timeout=S3_CONNECT_TIMEOUT_SECONDS,
                read_timeout=S3_READ_TIMEOUT_SECONDS,
                retries={"max_attempts": 2, "mode": "standard"},
                s3={"addressing_style": "path"},
            ),
        )

    def __repr__(self) -> str:
        return f"S3MediaStore(s3://{self.bucket}/{self.prefix})"

    def _key(self, name: str) -> str:
        return self.prefix + name

    def put(self, name: str, data: bytes, content_type: str) -> None:
        with _unavailable_on_failure(self):
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(name), Body=data, ContentType=content_type
            )

    def get(self, name: str) -> bytes | None:
        from botocore.exceptions import ClientError

        with _unavailable_on_failure(self):
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=self._key(name))
            except ClientError as exc:
                if _missing(exc):
                    return None
                raise
            return answer["Body"].read()

    def delete(self, name: str) -> None:
        with _unavailable_on_failure(self):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        with _unavailable_on_failure(self):
            try:
                self.client.head_object(Bucket=self.bucket, Key=self._key(name))
            except ClientError as exc:
                if _missing(exc):
                    return False
                raise
            return True


@contextlib.contextmanager
def _unavailable_on_failure(store: S3MediaStore) -> Iterator[None]:
    """A store that cannot be reached (or refuses us) becomes MediaStoreUnavailable."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        log.warning("%r: %s", store, exc)
        raise MediaStoreUnavailable(str(exc)) from exc


def _missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("NoSuchKey", "404", "NotFound")


def build_media_store(
    storage: str, media_dir: str, access_key: str = "", secret_key: str = ""
) -> MediaStore:
    """The store ``BLOG_MEDIA_STORAGE`` names (empty: the local ``media_dir``)."""
    if not storage:
        return LocalMediaStore(media_dir)
    parts = urlsplit(storage)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(
            f"media_storage must be empty or s3://bucket/prefix?endpoint=...: {storage!r}"
        )
    options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    return S3MediaStore(
        bucket=parts.netloc,
        prefix=parts.path,
        endpoint=options.get("endpoint"),
        region=options.get("region"),
        access_key=access_key,
        secret_key=secret_key,
    )
