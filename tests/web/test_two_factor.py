"""Two-step verification through HTTP: set-up, the code after the password, recovery codes,
the site-wide requirement, and QR sign-in with a phone that passed it (or did not)."""

from __future__ import annotations

import re
import secrets
import time

import pyotp
import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, AuthActions
from tests.support.clock import FakeClock
from tests.support.live import BlogClient, page_text
from tests.web.test_qr import is_signed_in, open_code

STEP = 30


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def site(start_app, sqlite_url, clock):
    """The app on SQLite with a clock the test moves, and its administrator."""
    from service import users

    live = start_app(sqlite_url, clock=clock)
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "")
    return live


def signed_in_client(site) -> BlogClient:
    client = BlogClient(site.url)
    assert AuthActions(client).login().status_code == 302
    return client


def enrol(client: BlogClient, clock: FakeClock) -> tuple[str, list[str]]:
    """Set it up from the account page as a person would; returns (secret, recovery codes)."""
    page = client.get("/admin/account/two-factor")
    assert page.status_code == 200, page.text
    assert "<svg" in page.text
    secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', page.text).group(1)
    secret = secret.replace(" ", "")
    done = client.post_form(
        "/admin/account/two-factor", {"code": pyotp.TOTP(secret).at(clock.time())}
    )
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", done.text)
    assert len(codes) == 10
    return secret, codes


def password_step(client: BlogClient, next_url: str = "/admin") -> None:
    response = AuthActions(client).login(next=next_url)
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/two-factor"


def code_step(client: BlogClient, code: str):
    return client.post_form("/auth/two-factor", {"code": code})


def next_code(secret: str, clock: FakeClock) -> str:
    """Move to the next 30-second step (the last code was spent) and read the app."""
    clock.advance(STEP)
    return pyotp.TOTP(secret).at(clock.time())


def test_set_up_then_sign_in_with_a_code(site, clock):
    laptop = signed_in_client(site)
    account = laptop.get("/admin/account")
    assert "/admin/account/two-factor" in account.text
    page = laptop.get("/admin/account/two-factor")
    secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', page.text).group(1)
    refused = laptop.post_form("/admin/account/two-factor", {"code": "12345"})
    assert refused.status_code == 400
    assert "That code is not right" in refused.text
    # The same secret is offered until it is confirmed.
    assert secret in laptop.get("/admin/account/two-factor").text
    secret, _ = enrol(laptop, clock)
    assert "Two-step verification is on" in page_text(laptop.get("/admin/account/two-factor").text)

    phone = BlogClient(site.url)
    password_step(phone, next_url="/admin/articles")
    # The right password alone is not a sign-in.
    assert not is_signed_in(phone)
    form = phone.get("/auth/two-factor")
    assert form.status_code == 200 and 'name="code"' in form.text
    done = code_step(phone, next_code(secret, clock))
    assert done.status_code == 302 and done.headers["Location"] == "/admin/articles"
    assert is_signed_in(phone)


def test_a_wrong_code_and_a_replayed_code_are_refused(site, clock):
    secret, _ = enrol(signed_in_client(site), clock)
    first, second = BlogClient(site.url), BlogClient(site.url)
    password_step(first)
    password_step(second)
    code = next_code(secret, clock)
    wrong = code_step(first, f"{(int(code) + 1) % 1_000_000:06d}")
    assert wrong.status_code == 400 and "That code is not right." in wrong.text
    assert code_step(first, code).status_code == 302
    replayed = code_step(second, code)
    assert replayed.status_code == 400 and "already used" in replayed.text
    assert not is_signed_in(second)
    assert code_step(second, next_code(secret, clock)).status_code == 302
    assert is_signed_in(second)


def test_five_wrong_codes_send_back_to_the_password_form(site, clock):
    secret, _ = enrol(signed_in_client(site), clock)
    client = BlogClient(site.url)
    password_step(client)
    right = next_code(secret, clock)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(4):
        assert code_step(client, wrong).status_code == 400
    last = code_step(client, wrong)
    assert last.status_code == 302 and last.headers["Location"].startswith("/auth/login")
    # The pending sign-in is gone: even the right code does nothing now.
    back = code_step(client, right)
    assert back.status_code == 302 and back.headers["Location"].startswith("/auth/login")
    assert not is_signed_in(client)
    # Wrong codes count against the password throttle too.
    assert AuthActions(client).login().status_code == 429


def test_a_pending_sign_in_expires(site, clock):
    secret, _ = enrol(signed_in_client(site), clock)
    client = BlogClient(site.url)
    password_step(client)
    clock.advance(301)
    late = code_step(client, pyotp.TOTP(secret).at(clock.time()))
    assert late.status_code == 302 and late.headers["Location"].startswith("/auth/login")
    assert not is_signed_in(client)


def test_a_recovery_code_signs_in_once(site, clock):
    _, codes = enrol(signed_in_client(site), clock)
    first = BlogClient(site.url)
    password_step(first)
    assert code_step(first, codes[3]).status_code == 302
    assert is_signed_in(first)

    second = BlogClient(site.url)
    password_step(second)
    again = code_step(second, codes[3])
    assert again.status_code == 400
    assert not is_signed_in(second)
    assert code_step(second, codes[4].upper()).status_code == 302
    assert is_signed_in(second)
    status = page_text(second.get("/admin/account/two-factor").text)
    assert "Recovery codes left: 8" in status


def test_turning_it_off_needs_the_password_or_a_code(site, clock):
    laptop = signed_in_client(site)
    secret, codes = enrol(laptop, clock)
    refused = laptop.post_form("/admin/account/two-factor/disable", {"proof": "not it"})
    assert refused.status_code == 400
    fresh = laptop.post_form("/admin/account/two-factor/recovery-codes", {"proof": ADMIN_PASSWORD})
    assert fresh.status_code == 200
    new_codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", fresh.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    off = laptop.post_form("/admin/account/two-factor/disable", {"proof": next_code(secret, clock)})
    assert off.status_code == 302
    # A password alone signs in again.
    assert AuthActions(BlogClient(site.url)).login().headers["Location"] == "/admin"


def test_the_administrator_can_require_it_for_everyone(site, clock):
    admin = signed_in_client(site)
    saved = admin.post_form(
        "/admin/settings",
        {
            "title": "Inkwell",
            "navbar_style": "light",
            "posts_per_page": "10",
            "comment_mode": "open",
            "language": "auto",
            "require_two_factor": "1",
        },
    )
    assert saved.status_code == 302
    setup = admin.follow(admin.get("/admin"))
    assert setup.status_code == 200
    assert "This site requires two-step verification" in setup.text
    # Every admin page now leads to the set-up; the set-up and signing out stay open.
    for path in ("/admin", "/admin/articles", "/admin/settings", "/admin/account"):
        response = admin.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/admin/account/two-factor"
    assert admin.post_form("/admin/settings", {"title": "x"}).status_code == 403
    assert admin.get("/admin/account/two-factor").status_code == 200
    assert admin.get("/auth/logout").status_code == 200

    secret, _ = enrol(admin, clock)
    assert admin.get("/admin").status_code == 200
    settings = admin.get("/admin/settings")
    assert re.search(r'name="require_two_factor" value="1" checked', settings.text)
    # A new sign-in passes the code and is let through.
    other = BlogClient(site.url)
    password_step(other)
    assert code_step(other, next_code(secret, clock)).status_code == 302
    assert other.get("/admin/articles").status_code == 200
    assert other.post_form("/auth/logout").status_code == 302


def test_a_phone_that_passed_the_code_signs_the_desktop_in_fully(site, clock):
    secret, _ = enrol(signed_in_client(site), clock)
    phone = BlogClient(site.url)
    password_step(phone)
    assert code_step(phone, next_code(secret, clock)).status_code == 302

    desktop = BlogClient(site.url)
    token = open_code(desktop)
    assert phone.get(f"/auth/qr/scan/{token}").status_code == 200
    assert phone.post_form(f"/auth/qr/scan/{token}", {"action": "confirm"}).status_code == 200
    result = desktop.get(f"/auth/qr/wait/{token}?since=scanned").json()
    assert result["status"] == "signed_in"
    assert is_signed_in(desktop)
    # Counted as both steps: the desktop may vouch for a third device in turn.
    third = BlogClient(site.url)
    token = open_code(third)
    assert desktop.get(f"/auth/qr/scan/{token}").status_code == 200
    assert desktop.post_form(f"/auth/qr/scan/{token}", {"action": "confirm"}).status_code == 200
    assert third.get(f"/auth/qr/wait/{token}?since=scanned").json()["status"] == "signed_in"


def test_a_phone_that_did_not_pass_the_code_cannot_confirm(site, clock):
    phone = signed_in_client(site)  # signed in before two-step verification was turned on
    enrol(signed_in_client(site), clock)
    desktop = BlogClient(site.url)
    token = open_code(desktop)
    scan = phone.get(f"/auth/qr/scan/{token}")
    assert scan.status_code == 403
    assert "Sign in on this phone with your two-step code first." in scan.text
    confirm = phone.post_form(f"/auth/qr/scan/{token}", {"action": "confirm"})
    assert confirm.status_code == 403
    assert desktop.get(f"/auth/qr/wait/{token}?since=scanned").json() == {"status": "pending"}
    assert not is_signed_in(desktop)


def test_a_user_without_it_still_confirms_by_phone(site):
    phone = signed_in_client(site)
    desktop = BlogClient(site.url)
    token = open_code(desktop)
    assert phone.get(f"/auth/qr/scan/{token}").status_code == 200
    assert phone.post_form(f"/auth/qr/scan/{token}", {"action": "confirm"}).status_code == 200
    assert desktop.get(f"/auth/qr/wait/{token}?since=scanned").json()["status"] == "signed_in"


def test_sign_in_with_a_code_on_mariadb_and_redis(start_app, database_url, redis_url):
    """The whole path on both databases, with sessions shared over Redis by two instances."""
    from service import users

    # Instances of one site share the cookie secret (sessions cross over in a cluster).
    secret_key = secrets.token_urlsafe(32)
    first = start_app(database_url, redis_urls=[redis_url], cookie_secret=secret_key)
    second = start_app(database_url, redis_urls=[redis_url], cookie_secret=secret_key)
    first.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD)
    laptop = BlogClient(first.url)
    assert AuthActions(laptop).login().status_code == 302
    page = laptop.get("/admin/account/two-factor")
    secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', page.text).group(1)
    totp = pyotp.TOTP(secret.replace(" ", ""))
    # Real time here: enrol with the previous step's code so the current one is still unused.
    assert (
        laptop.post_form(
            "/admin/account/two-factor", {"code": totp.at(time.time() - STEP)}
        ).status_code
        == 200
    )
    client = BlogClient(first.url)
    password_step(client)
    # The second step is answered by another instance: the pending sign-in is in Redis.
    client.base_url = second.url
    done = code_step(client, totp.now())
    assert done.status_code == 302 and done.headers["Location"] == "/admin"
    assert is_signed_in(client)
