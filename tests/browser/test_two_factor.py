"""Two-step verification in a real browser: set it up from the account page, then sign in
with the code an authenticator app would show (computed by pyotp)."""

import re

import pyotp

from service import users
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.support.clock import FakeClock


def sign_in_with_password(page, url):
    page.goto(url + "/auth/login")
    page.fill("input[name=username]", ADMIN_USERNAME)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit].primary")


def test_set_up_and_sign_in_with_a_code(start_app, sqlite_url, browser, page):
    clock = FakeClock()
    live = start_app(sqlite_url, clock=clock)
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD)

    sign_in_with_password(page, live.url)
    page.wait_for_url(re.compile(r".*/admin$"))
    page.goto(live.url + "/admin/account")
    page.click("text=Manage two-step verification")
    page.wait_for_url(re.compile(r".*/admin/account/two-factor$"))
    assert page.locator("figure.qr-code svg").count() == 1
    secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.fill("input[name=code]", totp.at(clock.time()))
    page.click("text=Turn on two-step verification")
    page.wait_for_selector("#recovery-codes")
    assert page.locator("#recovery-codes li").count() == 10
    assert "Two-step verification is on" in page.locator("#two-factor-status").inner_text()

    # Another browser: the password leads to the code form, the code to the dashboard.
    other = browser.new_context(locale="en-US").new_page()
    try:
        sign_in_with_password(other, live.url)
        other.wait_for_url(re.compile(r".*/auth/two-factor$"))
        clock.advance(30)  # the next step: the code used to turn it on is spent
        other.fill("input[name=code]", totp.at(clock.time()))
        other.click("text=Verify")
        other.wait_for_url(re.compile(r".*/admin$"))
        assert other.locator("input[name=password]").count() == 0
    finally:
        other.context.close()
