"""The audit log through HTTP: what is recorded, who may read it, and the password rule's
refusal on the account page."""

from __future__ import annotations

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, AuthActions
from tests.support.live import BlogClient, page_text

STRONG = "copper lantern meadow"


def audit_text(client, query: str = "") -> str:
    response = client.get("/admin/audit" + query, allow_redirects=False)
    assert response.status_code == 200, response.status_code
    return page_text(response.text)


def test_the_audit_log_is_refused_to_anonymous_visitors(live, admin, client):
    response = client.get("/admin/audit", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")
    assert client.post_form("/admin/audit", {}).status_code in (403, 405)


def test_sign_ins_and_failures_are_recorded(live, auth, client):
    assert auth.login(password="definitely not the password").status_code == 400
    assert auth.login().status_code == 302
    text = audit_text(client)
    assert "Failed sign-in" in text and "Signed in" in text
    assert text.index("Signed in") < text.index("Failed sign-in")  # newest first
    assert ADMIN_USERNAME in text and "127.0.0.1" in text
    assert live.app.config.instance_id in text
    # The filter keeps one kind.
    failures = audit_text(client, "?kind=sign_in_failed")
    rows = failures.split("Detail", 1)[1]
    assert "Failed sign-in" in rows and "Signed in" not in rows


def test_a_lockout_is_recorded(live, auth, client):
    for _ in range(5):
        assert auth.login(password="nope nope").status_code == 400
    # The sixth guess for this account from this address waits (a progressive delay).
    assert auth.login().status_code == 429
    other = BlogClient(live.url)
    response = other.post_form(
        "/auth/login",
        {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "next": "/admin"},
        headers={"X-Real-IP": "192.0.2.7"},
    )
    assert response.status_code == 302
    text = audit_text(other, "?kind=sign_in_locked")
    assert "Sign-in refused after too many attempts" in text and ADMIN_USERNAME in text


def test_settings_and_export_are_recorded(live, signed_in):
    response = signed_in.post_form(
        "/admin/settings",
        {
            "title": "Notes from the harbour",
            "signature": "",
            "about": "",
            "navbar_style": "light",
            "footer": "",
            "posts_per_page": "10",
            "comment_mode": "open",
            "language": "auto",
        },
    )
    assert response.status_code == 302
    assert signed_in.get("/admin/export/download").status_code == 200
    text = audit_text(signed_in)
    assert "Settings changed" in text and "title" in text
    assert "Export downloaded" in text and "bytes" in text


def test_the_admin_navigation_links_the_audit_log(live, signed_in):
    assert 'href="/admin/audit"' in signed_in.get("/admin").text


def test_the_audit_log_speaks_chinese(live, signed_in):
    signed_in.cookies.set("lang", "zh_CN")
    text = audit_text(signed_in)
    assert "审计日志" in text and "登录" in text


# --- the password rule on the account page ------------------------------------------------


def change_password(client, new: str):
    return client.post_form(
        "/admin/account/password",
        {"current_password": ADMIN_PASSWORD, "new_password": new, "confirm_password": new},
    )


def test_the_account_page_states_the_rule(live, signed_in):
    text = page_text(signed_in.get("/admin/account").text)
    assert "At least 10 characters, not a common word or pattern" in text


def test_a_weak_password_is_refused_with_the_reason(live, signed_in):
    response = change_password(signed_in, "aaaaaaaaaa")
    assert response.status_code == 400
    text = page_text(response.text)
    assert "Repeated characters such as “aaa” are easy to guess." in text
    assert "Avoid repeated words and characters." in text
    common = page_text(change_password(signed_in, "password1234").text)
    assert "This is a very common password." in common
    personal = page_text(change_password(signed_in, "AdaAdmin2026").text)
    assert "built on your name" in personal
    assert "Password changed" not in audit_text(signed_in).split("Detail", 1)[1]
    # The old password still works.
    assert AuthActions(BlogClient(live.url)).login().status_code == 302


def test_the_refusal_is_translated(live, signed_in):
    signed_in.cookies.set("lang", "zh_CN")
    text = page_text(change_password(signed_in, "password1234").text)
    assert "这是一个非常常见的密码。" in text and "再加一两个单词" in text


def test_a_strong_password_is_accepted_and_recorded(live, signed_in):
    assert change_password(signed_in, STRONG).status_code == 302
    assert AuthActions(BlogClient(live.url)).login(password=STRONG).status_code == 302
    assert "Password changed" in audit_text(signed_in, "?kind=password_changed")
