"""QR sign-in: the desktop shows a code, a signed-in phone confirms, the desktop is signed in."""

import re
import threading

import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.support.clock import FakeClock
from tests.support.live import BlogClient


def open_code(desktop: BlogClient) -> str:
    response = desktop.get("/auth/qr")
    assert response.status_code == 200
    token = re.search(r'data-token="([A-Za-z0-9_-]+)"', response.text).group(1)
    # The code is an image drawn by its own request, for this browser only.
    assert f'<img src="/auth/qr/code/{token}"' in response.text
    image = desktop.get(f"/auth/qr/code/{token}")
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/svg+xml"
    assert "<svg" in image.text and image.headers["Cache-Control"] == "no-store"
    return token


def sign_in(client: BlogClient) -> None:
    response = client.post_form(
        "/auth/login", {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "next": "/admin"}
    )
    assert response.status_code == 302, response.text


def is_signed_in(client: BlogClient) -> bool:
    """The dashboard opens, rather than a sign-in form or a redirect to one."""
    response = client.get("/admin")
    return response.status_code == 200 and 'name="password"' not in response.text


def test_phone_confirms_and_the_waiting_desktop_is_signed_in(start_app, database_url):
    from service import users

    # A long wait: the poll can only come back early because the scan woke it.
    live = start_app(database_url, qr_wait_seconds=300)
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD)
    desktop, phone = BlogClient(live.url), BlogClient(live.url)
    token = open_code(desktop)
    sign_in(phone)
    waited = {}

    def long_poll():
        waited["first"] = desktop.get(f"/auth/qr/wait/{token}?since=pending").json()

    poller = threading.Thread(target=long_poll)
    poller.start()
    scan = phone.get(f"/auth/qr/scan/{token}")
    assert scan.status_code == 200 and "Confirm sign-in" in scan.text
    poller.join(30)
    assert not poller.is_alive()
    assert waited["first"] == {"status": "scanned"}

    assert not is_signed_in(desktop)
    confirm = phone.post_form(f"/auth/qr/scan/{token}", {"action": "confirm"})
    assert confirm.status_code == 200
    result = desktop.get(f"/auth/qr/wait/{token}?since=scanned").json()
    assert result == {"status": "signed_in", "next": "/admin"}
    assert is_signed_in(desktop)
    # The ticket is used up: a replay signs nobody in.
    assert BlogClient(live.url).get(f"/auth/qr/wait/{token}").status_code == 403
    assert desktop.get(f"/auth/qr/wait/{token}").json()["status"] in ("expired", "forbidden")


def test_only_the_desktop_that_asked_may_claim_the_ticket(live, admin):
    desktop, phone, thief = BlogClient(live.url), BlogClient(live.url), BlogClient(live.url)
    token = open_code(desktop)
    sign_in(phone)
    phone.get(f"/auth/qr/scan/{token}")
    phone.post_form(f"/auth/qr/scan/{token}", {"action": "confirm"})
    response = thief.get(f"/auth/qr/wait/{token}?since=scanned")
    assert response.status_code == 403
    assert not is_signed_in(thief)


def test_cancel_on_the_phone_signs_nobody_in(live, admin):
    desktop, phone = BlogClient(live.url), BlogClient(live.url)
    token = open_code(desktop)
    sign_in(phone)
    phone.get(f"/auth/qr/scan/{token}")
    phone.post_form(f"/auth/qr/scan/{token}", {"action": "cancel"})
    assert desktop.get(f"/auth/qr/wait/{token}?since=scanned").json() == {"status": "cancelled"}
    assert not is_signed_in(desktop)


def test_a_poll_nothing_answers_says_pending_and_the_page_polls_again(start_app, sqlite_url):
    from service import users

    live = start_app(sqlite_url, qr_wait_seconds=1)
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD)
    desktop, phone = BlogClient(live.url), BlogClient(live.url)
    token = open_code(desktop)
    assert desktop.get(f"/auth/qr/wait/{token}?since=pending").json() == {"status": "pending"}
    assert desktop.get(f"/auth/qr/wait/{token}?since=pending").json() == {"status": "pending"}
    sign_in(phone)
    assert phone.get(f"/auth/qr/scan/{token}").status_code == 200
    assert desktop.get(f"/auth/qr/wait/{token}?since=pending").json() == {"status": "scanned"}


def test_every_poll_waiting_on_a_ticket_is_woken(start_app, sqlite_url):
    from service import users

    # The desktop's page open in several tabs: each poll hears the scan.
    live = start_app(sqlite_url, qr_wait_seconds=300)
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD)
    desktop, phone = BlogClient(live.url), BlogClient(live.url)
    token = open_code(desktop)
    cookie = desktop.cookies.get("qr")
    answers = []

    def long_poll():
        tab = BlogClient(live.url)
        tab.cookies.set("qr", cookie, domain="127.0.0.1", path="/")
        answers.append(tab.get(f"/auth/qr/wait/{token}?since=pending").json())

    tabs = [threading.Thread(target=long_poll) for _ in range(4)]
    for tab in tabs:
        tab.start()
    sign_in(phone)
    assert phone.get(f"/auth/qr/scan/{token}").status_code == 200
    for tab in tabs:
        tab.join(30)
    assert answers == [{"status": "scanned"}] * 4


def test_scanning_needs_a_signed_in_phone(live, admin):
    desktop, phone = BlogClient(live.url), BlogClient(live.url)
    token = open_code(desktop)
    response = phone.get(f"/auth/qr/scan/{token}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")
    confirm = phone.post_form(f"/auth/qr/scan/{token}", {"action": "confirm"})
    assert confirm.status_code == 403
    assert desktop.get(f"/auth/qr/wait/{token}?since=scanned").json() == {"status": "pending"}


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_an_expired_code_is_refused(start_app, sqlite_url, request, store):
    from service import users

    clock = FakeClock()
    # In Redis the key may outlive the ticket's deadline: the clock decides, not the key.
    redis_urls = [request.getfixturevalue("redis_url")] if store == "redis" else []
    live = start_app(sqlite_url, redis_urls, clock=clock, qr_ticket_seconds=120)
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD)
    desktop, phone = BlogClient(live.url), BlogClient(live.url)
    token = open_code(desktop)
    sign_in(phone)
    clock.advance(119)
    assert phone.get(f"/auth/qr/scan/{token}").status_code == 200
    clock.advance(2)
    assert phone.get(f"/auth/qr/scan/{token}").status_code == 410
    assert desktop.get(f"/auth/qr/wait/{token}").json() == {"status": "expired"}


def test_desktop_and_phone_on_different_instances_share_the_ticket(
    start_app, database_url, redis_url
):
    from service import users

    first = start_app(database_url, redis_urls=[redis_url], qr_wait_seconds=300)
    second = start_app(database_url, redis_urls=[redis_url])
    first.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD)
    desktop, phone = BlogClient(first.url), BlogClient(second.url)
    token = open_code(desktop)
    sign_in(phone)
    waited = {}

    def long_poll():
        waited["result"] = desktop.get(f"/auth/qr/wait/{token}?since=pending").json()

    poller = threading.Thread(target=long_poll)
    poller.start()
    assert phone.get(f"/auth/qr/scan/{token}").status_code == 200
    poller.join(30)
    # The scan happened on the other instance; pub/sub woke this one's waiter.
    assert not poller.is_alive()
    assert waited["result"] == {"status": "scanned"}
    phone.post_form(f"/auth/qr/scan/{token}", {"action": "confirm"})
    assert desktop.get(f"/auth/qr/wait/{token}?since=scanned").json()["status"] == "signed_in"
    assert is_signed_in(desktop)


def test_the_code_image_is_only_for_the_browser_that_asked(live, admin):
    desktop = BlogClient(live.url)
    token = open_code(desktop)
    refused = BlogClient(live.url).get(f"/auth/qr/code/{token}")
    assert refused.status_code == 403 and "<svg" not in refused.text


def test_one_address_asking_for_codes_too_often_gets_429_from_every_instance(
    start_app, sqlite_url, redis_url
):
    first = start_app(sqlite_url, redis_urls=[redis_url], qr_tickets_per_minute=3)
    second = start_app(sqlite_url, redis_urls=[redis_url], qr_tickets_per_minute=3)
    statuses = [BlogClient(app.url).get("/auth/qr").status_code for app in (first, second, first)]
    assert statuses == [200, 200, 200]
    # The limit is shared: the fourth code, asked of either instance, is refused.
    for app in (second, first):
        refused = BlogClient(app.url).get("/auth/qr")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        assert "Too many sign-in codes were asked for" in refused.text
