"""Redis stops: readers are still served, sign-in says so clearly; Redis returns: all recovers."""

from tests.cluster.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, is_signed_in, poll, sign_in
from tests.support.live import page_text


def try_sign_in(client):
    return client.post_form(
        "/auth/login",
        {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "next": "/admin"},
    )


def test_without_redis_readers_are_served_and_sign_in_answers_503_until_it_returns(cluster):
    signed_in = cluster.client()
    sign_in(signed_in)
    cluster.redis.stop()
    try:
        anonymous = cluster.client()
        for path in ["/", "/", "/", "/robots.txt", "/feed.atom", "/", "/"]:
            assert anonymous.get(path).status_code == 200, path
        # A reader who has a session cookie still gets the pages, anonymously.
        assert signed_in.get("/", allow_redirects=False).status_code == 200

        refused = try_sign_in(cluster.client())
        assert refused.status_code == 503
        assert "unavailable" in page_text(refused.text).lower()
        admin_page = signed_in.get("/admin", allow_redirects=False)
        assert admin_page.status_code == 503
        # The instances stay in nginx's pool: readers are still served afterwards.
        for _ in range(6):
            assert anonymous.get("/").status_code == 200
        # /healthz reports the checks of the last second: Redis shows down within moments.
        health = poll(
            lambda: (
                (answer := cluster.health(cluster.ports[0])) and answer["redis"] is False and answer
            ),
            timeout=5,
        )
        assert health and health["status"] == "ok"
    finally:
        cluster.redis.start()

    # Without restarting any instance, signing in works again.
    client = cluster.client()
    assert poll(lambda: try_sign_in(client).status_code in (302, 303), timeout=20, interval=0.2)
    assert all(is_signed_in(client, cluster.instance_url(port)) for port in cluster.ports)
    assert poll(lambda: all(cluster.health(port)["redis"] for port in cluster.ports), timeout=5)
