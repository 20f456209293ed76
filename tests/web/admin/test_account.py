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


def test_an_uploaded_avatar_shows_wherever_the_author_appears(start_app, sqlite_url):
    import io
    import re

    from PIL import Image

    from service import comments, editor, moderation, users
    from service.editor import ArticleForm

    live = start_app(sqlite_url)
    ada = live.service(users.create_admin, "ada", ADMIN_PASSWORD, "Ada Admin", "ada@example.org")
    article = live.service(
        editor.save_article,
        None,
        ArticleForm(title="Hello", content="Words.", status="published"),
        ada.id,
    )
    client = BlogClient(live.url)
    assert AuthActions(client).login(username="ada").status_code == 302
    picture = io.BytesIO()
    Image.new("RGB", (300, 200), (20, 120, 200)).save(picture, "PNG")
    response = client.post(
        "/admin/account/avatar",
        data={"_xsrf": client.xsrf_token},
        files={"avatar_file": ("me.png", picture.getvalue(), "image/png")},
    )
    assert response.status_code == 302
    (src,) = set(
        re.findall(r'src="(/media/[0-9a-f]{32}\.webp)"', client.get("/admin/account").text)
    )
    assert client.get(src).headers["Content-Type"] == "image/webp"

    # A reader comments; the author answers from the admin (a comment by the author).
    reader = comments.CommentForm("Reader", "r@example.org", "Nice.", None)
    posted = live.service(comments.post_comment, article.id, reader, "open", False, "")
    live.service(moderation.reply_as_author, posted.id, ada.id, "Thank you.")
    anonymous = BlogClient(live.url)
    pages = {
        "byline": anonymous.get(f"/article/{article.id}", allow_redirects=True).text,
        "author page": anonymous.get("/author/ada").text,
        "users list": client.get("/admin/users").text,
    }
    for where, page in pages.items():
        assert f'src="{src}"' in page, where
    # On the article: the byline and the author's comment (the reader keeps an identicon).
    assert pages["byline"].count(f'src="{src}"') == 2

    # Back to the identicon: the picture is gone everywhere.
    assert client.post_form("/admin/account/avatar", {"identicon": "1"}).status_code == 302
    assert client.get(src).status_code == 404
    assert src not in anonymous.get("/author/ada").text


def test_a_bad_avatar_file_is_refused_with_a_clear_message(live, signed_in):
    response = signed_in.post(
        "/admin/account/avatar",
        data={"_xsrf": signed_in.xsrf_token},
        files={"avatar_file": ("me.png", b"not an image at all", "image/png")},
    )
    assert response.status_code == 400
    assert "Only PNG, JPEG, GIF and WebP images can be uploaded." in response.text
    empty = signed_in.post_form("/admin/account/avatar")
    assert empty.status_code == 400 and "The file is empty." in empty.text
