"""QR sign-in in a real browser: the page waits, a phone confirms, the page moves on by itself."""

import re

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.support.live import BlogClient


def test_desktop_page_signs_in_when_the_phone_confirms(live, admin, page):
    page.goto(live.url + "/auth/qr")
    code = page.locator("#qr-code")
    image = code.locator("img")
    image.wait_for()
    assert page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    token = code.get_attribute("data-token")
    assert page.locator("#qr-status").inner_text() == "Waiting for your phone…"

    phone = BlogClient(live.url)
    phone.post_form(
        "/auth/login", {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "next": "/"}
    )
    assert phone.get(f"/auth/qr/scan/{token}").status_code == 200
    page.wait_for_function("() => document.getElementById('qr-status').dataset.state === 'scanned'")
    assert "Confirm on your phone" in page.locator("#qr-status").inner_text()

    phone.post_form(f"/auth/qr/scan/{token}", {"action": "confirm"})
    page.wait_for_url(re.compile(r".*/admin$"))
    assert page.url.endswith("/admin")
