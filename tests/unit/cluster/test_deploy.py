"""The deploy files: the committed nginx site file is the template's rendering; nginx accepts
what the launcher renders."""

import asyncio
import signal
import subprocess
import time
from pathlib import Path

from deploy.cluster import Cluster
from deploy.nginx_config import (
    SITE_EXAMPLE,
    client_max_body_size,
    render_site,
    render_site_example,
)
from deploy.processes import free_port, stop_process
from deploy.servers import redis_command, redis_marker, start_redis
from deploy.state import ClusterState
from extends.redis import RedisClient
from extends.session import RedisSessionStore, SessionManager
from tests.support.clock import FakeClock
from tests.support.servers import require_binary


def test_the_committed_site_file_is_the_rendered_template():
    assert SITE_EXAMPLE.read_text() == render_site_example()


def test_the_upload_limit_fits_through_nginx():
    assert client_max_body_size(5 * 1024 * 1024) == "6m"


def test_nginx_accepts_the_rendered_cluster_configuration(tmp_path):
    cluster = Cluster(tmp_path / "state", log=lambda message: None)
    for microcache in (False, True):
        state = ClusterState(
            ports=[18101, 18102],
            http_port=18180,
            redis_url="redis://127.0.0.1:1/0",
            database_url="sqlite:///unused",
            microcache=microcache,
            instance_env={"BLOG_DATA_DIR": str(tmp_path / "data")},
        )
        conf = cluster.render_nginx(state)
        text = (conf.parent / "inkwell.conf").read_text()
        assert "server 127.0.0.1:18101 max_fails=" in text
        assert ("proxy_cache inkwell_micro;" in text) is microcache
        require_binary("nginx")
        check = subprocess.run(
            cluster.nginx.command(conf, "-t", "-q"), capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, check.stderr


def test_nginx_accepts_a_named_site_with_its_default_server(tmp_path):
    require_binary("nginx")
    site = tmp_path / "named.conf"
    site.write_text(
        render_site(
            [8001, 8002],
            listen="127.0.0.1:18181",
            server_name="blog.example.org",
            static_dir=tmp_path,
            media_dir=tmp_path,
            cache_dir=tmp_path / "cache",
            upload_max_bytes=1024,
            microcache=True,
        )
    )
    cluster = Cluster(tmp_path / "state", log=lambda message: None)
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        "events {}\nhttp {\n"
        f"    client_body_temp_path {tmp_path}/body;\n    proxy_temp_path {tmp_path}/proxy;\n"
        f"    include {site};\n}}\npid {tmp_path}/nginx.pid;\n"
    )
    check = subprocess.run(
        cluster.nginx.command(conf, "-t", "-q"), capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr


def test_media_is_sandboxed_and_never_sniffed():
    text = render_site_example()
    media = text.split("location /media/ {", 1)[1].split("}", 1)[0]
    assert "add_header X-Content-Type-Options nosniff always;" in media
    assert "add_header Content-Security-Policy \"default-src 'none'; sandbox\" always;" in media
    # nginx still retries idempotent requests elsewhere on 502/503.
    assert "proxy_next_upstream error timeout http_502 http_503;" in text


def test_connections_to_the_instances_are_kept_open_but_websockets_still_upgrade():
    text = render_site_example()
    upstream = text.split("upstream inkwell {", 1)[1].split("}", 1)[0]
    assert "keepalive 64;" in upstream
    assert "proxy_http_version 1.1;" in text
    # No Connection header for a plain request (keepalive), "upgrade" for a WebSocket.
    connection = text.split("map $http_upgrade $inkwell_connection {", 1)[1].split("}", 1)[0]
    assert "default upgrade;" in connection and '""      "";' in connection
    assert "proxy_set_header Connection $inkwell_connection;" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text


def test_the_micro_cache_never_holds_requests_behind_its_lock():
    text = render_site_example()
    pages = text.split("    location / {", 1)[1].split("}", 1)[0]
    assert "proxy_cache_lock_timeout 200ms;" in pages
    assert "proxy_cache_use_stale updating;" in pages
    assert "proxy_cache_background_update on;" in pages
    assert "add_header X-Cache-Status $upstream_cache_status always;" in pages
    # Signed-in visitors and a browser that just commented skip it; the language is in the key.
    assert "proxy_cache_bypass $inkwell_skip_cache;" in pages
    assert 'map "$cookie_sid$cookie_rw" $inkwell_skip_cache {' in text
    assert "proxy_cache_key $scheme$host$request_uri$cookie_lang;" in pages


def test_hsts_is_sent_over_https_and_an_https_server_is_shown():
    text = render_site_example()
    assert 'https   "max-age=31536000";' in text
    assert text.count("add_header Strict-Transport-Security $inkwell_hsts always;") == 4
    assert "# listen 443 ssl;" in text and "#     return 301 https://$host$request_uri;" in text


def test_unknown_hosts_are_refused_only_when_a_server_name_is_set(tmp_path):
    assert "default_server" not in render_site_example()
    named = render_site(
        [8001],
        listen="80",
        server_name="blog.example.org",
        static_dir=tmp_path,
        media_dir=tmp_path,
        cache_dir=tmp_path,
        upload_max_bytes=1024,
        microcache=False,
    )
    catch_all = named.split("server {", 1)[1].split("}", 1)[0]
    assert "listen 80 default_server;" in catch_all and "return 444;" in catch_all
    assert "server_name blog.example.org;" in named

    # The local cluster answers its loopback names and drops anything else.
    cluster = Cluster(tmp_path / "state", log=lambda message: None)
    state = ClusterState(
        ports=[18101],
        http_port=18180,
        redis_url="redis://127.0.0.1:1/0",
        database_url="sqlite:///unused",
        microcache=False,
        instance_env={"BLOG_DATA_DIR": str(tmp_path / "data")},
    )
    text = (cluster.render_nginx(state).parent / "inkwell.conf").read_text()
    assert "listen 127.0.0.1:18180 default_server;" in text
    assert "server_name localhost 127.0.0.1;" in text


def test_the_launchers_redis_keeps_an_append_only_file():
    launcher = redis_command("redis-server", 6391, Path("/x"), snapshot=True)
    assert launcher[launcher.index("--appendonly") + 1] == "yes"
    assert launcher[launcher.index("--appendfsync") + 1] == "everysec"
    throwaway = redis_command("redis-server", 6391, Path("/x"), snapshot=False)
    assert throwaway[throwaway.index("--appendonly") + 1] == "no"


def wait_until_loaded(port: int) -> None:
    """A restarted Redis answers LOADING while it replays its append-only file."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        reply = subprocess.run(
            ["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True, check=False
        )
        if reply.stdout.strip() == "PONG":
            return
        time.sleep(0.05)
    raise AssertionError("the restarted Redis never finished loading")


def test_a_session_survives_a_crash_of_the_launchers_redis(tmp_path):
    require_binary("redis-server")
    port = free_port()
    directory = tmp_path / "redis"
    manager_clock = FakeClock()

    async def save() -> str:
        client = RedisClient(f"redis://127.0.0.1:{port}/0")
        manager = SessionManager(RedisSessionStore([client], manager_clock), ttl=600)
        session = await manager.load(None)
        session["user"] = {"id": 7}
        await manager.save(session)
        client.close()
        return session.sid

    async def load(sid: str) -> object:
        client = RedisClient(f"redis://127.0.0.1:{port}/0")
        manager = SessionManager(RedisSessionStore([client], manager_clock), ttl=600)
        session = await manager.load(sid)
        client.close()
        return session.get("user")

    process = start_redis(directory, port, snapshot=True)
    try:
        sid = asyncio.run(save())
        time.sleep(1.5)  # appendfsync everysec
        # A crash: no snapshot on the way out, only the append-only file remains.
        stop_process(process.pid, redis_marker(port), sig=signal.SIGKILL)
        process = start_redis(directory, port, snapshot=True)
        wait_until_loaded(port)
        assert asyncio.run(load(sid)) == {"id": 7}
    finally:
        stop_process(process.pid, redis_marker(port))
