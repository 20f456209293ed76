"""Reset links as the service makes and checks them, on SQLite and MariaDB."""

import pytest

from service import password_reset, users
from service.errors import Invalid

KEY = password_reset.reset_key("a cookie secret")
NOW = 1_800_000_000.0


@pytest.fixture
def ada(db):
    return users.create_admin(db, "ada", "correct horse battery staple", "Ada", "Ada@Example.org")


def test_links_go_to_every_account_with_the_address_whatever_its_case(db, ada):
    (link,) = password_reset.request_reset(db, " ada@EXAMPLE.org ", KEY, NOW)
    assert (link.user_id, link.email) == (ada.id, "Ada@Example.org")
    assert password_reset.request_reset(db, "nobody@example.org", KEY, NOW) == []
    assert password_reset.request_reset(db, "", KEY, NOW) == []


def test_a_link_lives_thirty_minutes_and_only_under_its_key(db, ada):
    (link,) = password_reset.request_reset(db, "ada@example.org", KEY, NOW)
    assert password_reset.user_for_token(db, link.token, KEY, NOW + 30 * 60).id == ada.id
    with pytest.raises(Invalid):
        password_reset.user_for_token(db, link.token, KEY, NOW + 30 * 60 + 1)
    with pytest.raises(Invalid):
        password_reset.user_for_token(db, link.token, password_reset.reset_key("other"), NOW)


def test_setting_the_password_kills_the_link(db, ada):
    (link,) = password_reset.request_reset(db, "ada@example.org", KEY, NOW)
    new = "copper lantern meadow"
    with pytest.raises(Invalid):
        password_reset.reset_password(db, link.token, KEY, NOW, new, new + "!")
    password_reset.reset_password(db, link.token, KEY, NOW, new, new)
    assert users.authenticate(db, "ada", new) is not None
    with pytest.raises(Invalid):
        password_reset.reset_password(
            db, link.token, KEY, NOW, "another fine phrase", "another fine phrase"
        )


def test_one_account_per_address(db, ada):
    from service import account

    grace = users.create_admin(db, "grace", "another fine long phrase", "Grace", "")
    with pytest.raises(Invalid):
        account.update_profile(db, grace.id, account.ProfileForm("Grace", "ada@EXAMPLE.org"))
    account.update_profile(db, ada.id, account.ProfileForm("Ada", "ada@example.org"))
