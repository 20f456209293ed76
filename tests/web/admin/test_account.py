"""The account page: profile, and a password change that signs out the other sessions."""

from __future__ import annotations

from tests.conftest import ADMIN_PASSWORD, AuthActions
from tests.support.live import BlogClient

NEW_PASSWORD = "a brand new passphrase"


def opens_admin(client) -> bool:
    return client.get("/admin", allow_redirects=False).status_code == 200


def test_password_change_signs_out_the_other_sessions(live, admin, signed_in):
    laptop = BlogClient(live.url)
    assert AuthActions(laptop).login().status_code == 302
    assert opens_admin(laptop)

    response = signed_in.post_form(
        "/admin/account/password",
        {
            "current_password": ADMIN_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert opens_admin(signed_in)  # the session that changed it stays signed in
    assert not opens_admin(laptop)  # every other one is out
    assert laptop.post_form("/admin/settings", {"title": "x"}).status_code == 403

    assert AuthActions(BlogClient(live.url)).login().status_code == 400
    assert AuthActions(BlogClient(live.url)).login(password=NEW_PASSWORD).status_code == 302


def test_a_stale_session_is_signed_out_on_reader_pages_too(live, admin, signed_in):
    from service.demo import load_demo_site

    live.service(load_demo_site)
    phone = BlogClient(live.url)
    assert AuthActions(phone).login().status_code == 302
    assert "Sign out" in phone.get("/").text  # the header knows the author

    signed_in.post_form(
        "/admin/account/password",
        {
            "current_password": ADMIN_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    home = phone.get("/")  # a reader page, not an admin one
    assert home.status_code == 200
    assert "Sign out" not in home.text
    assert "please sign in again" in home.text


def test_password_change_needs_the_current_password(live, signed_in):
    response = signed_in.post_form(
        "/admin/account/password",
        {
            "current_password": "wrong",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 400
    assert "current password is not correct" in response.text
    short = signed_in.post_form(
        "/admin/account/password",
        {"current_password": ADMIN_PASSWORD, "new_password": "short", "confirm_password": "short"},
    )
    assert short.status_code == 400 and "at least 10 characters" in short.text
    assert opens_admin(signed_in)


def test_profile(live, signed_in):
    response = signed_in.post_form(
        "/admin/account", {"display_name": "Ada L.", "email": "ada@example.org"}
    )
    assert response.status_code == 302
    page = signed_in.get("/admin/account")
    assert 'value="Ada L."' in page.text and "Signed in as Ada L." in page.text
    refused = signed_in.post_form("/admin/account", {"display_name": "Kept", "email": "not mail"})
    assert refused.status_code == 400 and 'value="Kept"' in refused.text
