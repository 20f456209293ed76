"""The media stores (extends/storage.py) and the settings that choose the HA services."""

from __future__ import annotations

import pytest

from config import load_settings
from extends.redis import SentinelRedisClient, build_redis_clients
from extends.storage import LocalMediaStore, S3MediaStore, build_media_store

NAME = "0123456789abcdef0123456789abcdef.png"


def test_the_local_store_puts_gets_and_deletes(tmp_path):
    store = LocalMediaStore(tmp_path / "media")
    assert store.get(NAME) is None and not store.exists(NAME)
    store.put(NAME, b"pixels", "image/png")
    assert store.get(NAME) == b"pixels" and store.exists(NAME)
    assert [path.name for path in (tmp_path / "media").iterdir()] == [NAME]  # no .part left
    store.delete(NAME)
    store.delete(NAME)  # a missing file is no error
    assert not store.exists(NAME)


def test_empty_media_storage_is_the_local_directory(tmp_path):
    store = build_media_store("", str(tmp_path))
    assert isinstance(store, LocalMediaStore) and store.local_directory == tmp_path


def test_an_s3_url_names_bucket_prefix_endpoint_and_region(tmp_path):
    store = build_media_store(
        "s3://inkwell-media/blog/media/?endpoint=http://127.0.0.1:8333&region=eu-west-1",
        str(tmp_path),
        "access",
        "secret",
    )
    assert isinstance(store, S3MediaStore)
    assert store.bucket == "inkwell-media" and store.prefix == "blog/media/"
    assert store.local_directory is None
    assert store.client.meta.endpoint_url == "http://127.0.0.1:8333"
    assert store.client.meta.region_name == "eu-west-1"


@pytest.mark.parametrize("value", ["ftp://host/x", "s3:///no-bucket", "/srv/media"])
def test_anything_else_is_refused_at_start(tmp_path, value):
    with pytest.raises(ValueError):
        build_media_store(value, str(tmp_path))


def test_the_environment_names_the_replicas_the_sentinels_and_the_store(tmp_path):
    settings = load_settings(
        environ={
            "BLOG_DATA_DIR": str(tmp_path),
            "BLOG_DATABASE_REPLICA_URLS": "mysql+pymysql://a/x, mysql+pymysql://b/x",
            "BLOG_REDIS_SENTINELS": "10.0.0.5:26379,10.0.0.6:26379",
            "BLOG_REDIS_MASTER": "one,two",
            "BLOG_MEDIA_STORAGE": "s3://bucket/media?endpoint=http://s3:8333",
            "BLOG_S3_ACCESS_KEY": "key",
            "BLOG_S3_SECRET_KEY": "secret",
        }
    )
    assert settings.database_replica_urls == ["mysql+pymysql://a/x", "mysql+pymysql://b/x"]
    assert settings.media_storage == "s3://bucket/media?endpoint=http://s3:8333"
    assert (settings.s3_access_key, settings.s3_secret_key) == ("key", "secret")
    clients = build_redis_clients([], settings.redis_sentinels, settings.redis_master)
    # Two Sentinel-managed groups: two nodes on the session ring.
    assert [client.url for client in clients] == ["sentinel://one", "sentinel://two"]
    assert all(isinstance(client, SentinelRedisClient) for client in clients)
    assert clients[0].sentinels == [("10.0.0.5", 26379), ("10.0.0.6", 26379)]
