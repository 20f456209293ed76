"""Signing in and out: success, failure, throttling, session rotation, no open redirect."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from extends.throttle import ADDRESS_RULE
from service import users
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, AuthActions
from tests.support.live import BlogClient, page_text

WRONG = "definitely not the password"


def opens_admin(client: BlogClient) -> bool:
    """Whether this client gets the dashboard (an anonymous one is sent to sign in)."""
    response = client.get("/admin", allow_redirects=False)
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/auth/login?next=")
        return False
    assert response.status_code == 200
    return True


def test_sign_in_opens_the_dashboard(auth, client):
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin"
    dashboard = client.get("/admin", allow_redirects=False)
    assert dashboard.status_code == 200
    assert "Dashboard" in page_text(dashboard.text)


def test_login_page_offers_the_phone(live, client):
    response = client.get("/auth/login?next=/admin/articles")
    assert response.status_code == 200
    assert 'name="username"' in response.text and 'name="password"' in response.text
    assert 'value="/admin/articles"' in response.text
    assert 'href="/auth/qr' in response.text


def test_unknown_user_and_wrong_password_get_the_same_answer(auth):
    wrong_password = auth.login(password=WRONG)
    unknown_user = auth.login(username="nobody-here", password=WRONG)
    assert wrong_password.status_code == unknown_user.status_code == 400
    assert "Wrong user name or password." in wrong_password.text
    assert "Wrong user name or password." in unknown_user.text
    assert "sid" not in auth.client.cookies
    # The form keeps what was typed, except the password.
    assert 'value="nobody-here"' in unknown_user.text
    assert WRONG not in unknown_user.text


def test_sign_out_ends_the_session(auth, client):
    auth.login()
    response = auth.logout()
    assert response.status_code == 302
    assert not opens_admin(client)


def test_sign_out_needs_the_xsrf_token(auth, client):
    auth.login()
    response = client.post("/auth/logout")
    assert response.status_code == 403
    assert opens_admin(client)


def test_session_id_is_replaced_at_sign_in(auth, client, live):
    auth.login()
    first_sid = client.cookies.get("sid")
    auth.logout()
    anonymous_sid = client.cookies.get("sid")  # the sign-out flash lives in a fresh session
    assert anonymous_sid and anonymous_sid != first_sid
    auth.login()
    signed_in_sid = client.cookies.get("sid")
    assert signed_in_sid not in (first_sid, anonymous_sid)
    assert opens_admin(client)
    # A copy of the pre-sign-in cookie (a planted one, say) is not signed in.
    planted = BlogClient(live.url)
    planted.cookies.set("sid", anonymous_sid, domain="127.0.0.1", path="/")
    assert not opens_admin(planted)


@pytest.mark.parametrize(
    "target",
    ["//evil.com", "https://evil.com", "/\\evil.com", "javascript:alert(1)", "http:/evil.com"],
)
def test_next_never_leaves_the_site(auth, target):
    response = auth.login(next=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/admin"


def test_next_keeps_a_same_site_path(auth):
    response = auth.login(next="/admin/comments?status=pending")
    assert response.headers["Location"] == "/admin/comments?status=pending"


def test_signed_in_visitor_skips_the_login_form(auth, client):
    auth.login()
    response = client.get("/auth/login?next=/admin/tags", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/tags"


# --- throttling --------------------------------------------------------------------------


def sign_in_from(client: BlogClient, address: str, password: str = ADMIN_PASSWORD) -> Any:
    return client.post_form(
        "/auth/login",
        {"username": ADMIN_USERNAME, "password": password, "next": "/admin"},
        headers={"X-Real-IP": address},
    )


def test_five_failures_hold_back_that_address_for_that_name_only(auth, client):
    for _ in range(5):
        assert sign_in_from(client, "10.0.0.1", WRONG).status_code == 400
    blocked = sign_in_from(client, "10.0.0.1")
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) == 60  # then twice as long each time
    assert "Please wait 1 minute before trying again." in page_text(blocked.text)
    assert not opens_admin(client)  # the right password did not get in
    # The owner, elsewhere, is not locked out by that address's guesses.
    assert sign_in_from(client, "10.0.0.99").status_code == 302


def test_twenty_failures_from_one_address_block_it_for_every_name(auth, client):
    for attempt in range(ADDRESS_RULE.limit):
        assert auth.login(username=f"guess{attempt}", password=WRONG).status_code == 400
    blocked = auth.login()
    assert blocked.status_code == 429
    assert "Retry-After" in blocked.headers
    # Another address may still sign in with the right password.
    assert sign_in_from(client, "192.0.2.7").status_code == 302


def test_throttling_counts_across_instances_through_redis(start_app, database_url, redis_url):
    first = start_app(database_url, redis_urls=[redis_url])
    second = start_app(database_url, redis_urls=[redis_url])
    first.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada", "")
    on_first = AuthActions(BlogClient(first.url))
    on_second = AuthActions(BlogClient(second.url))
    for _ in range(3):
        assert on_first.login(password=WRONG).status_code == 400
    for _ in range(2):
        assert on_second.login(password=WRONG).status_code == 400
    assert on_first.login().status_code == 429
    assert on_second.login().status_code == 429


def test_redis_sessions_sign_in_on_one_instance_and_work_on_another(
    start_app, database_url, redis_url
):
    shared_secret = secrets.token_urlsafe(32)  # a cluster's instances share one secret
    first = start_app(database_url, redis_urls=[redis_url], cookie_secret=shared_secret)
    second = start_app(database_url, redis_urls=[redis_url], cookie_secret=shared_secret)
    first.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada", "")
    client = BlogClient(first.url)
    assert AuthActions(client).login().status_code == 302
    client.base_url = second.url
    assert opens_admin(client)
