"""The password rule: long enough and hard to guess, with names and the site's title known."""

from __future__ import annotations

import pytest

from service import account, passwords, users
from service.errors import Invalid
from service.passwords import WeakPassword

ADA = passwords.personal_words("ada", "Ada Lovelace", "ada@example.org", "Inkwell")


def refusal(password: str, words: list[str] = ADA) -> WeakPassword:
    with pytest.raises(WeakPassword) as refused:
        passwords.check_password(password, words)
    return refused.value


def test_ten_repeated_letters_are_long_enough_but_refused():
    refused = refusal("aaaaaaaaaa")
    assert refused.message == "Repeated characters such as “aaa” are easy to guess."
    assert "Avoid repeated words and characters." in refused.hints


def test_a_common_password_with_digits_is_refused():
    refused = refusal("password1234")
    assert refused.message == "This is a very common password."
    assert refused.hints == ("Add another word or two. Uncommon words are better.",)


@pytest.mark.parametrize("password", ["adalovelace1", "lovelace2024", "Inkwell2026!"])
def test_a_password_built_on_the_name_or_title_is_refused(password):
    assert refusal(password).message == passwords.PERSONAL


def test_a_name_counts_only_for_its_own_user():
    assert passwords.estimate("lovelace2024", ADA).reason == passwords.PERSONAL
    assert passwords.estimate("lovelace2024").reason != passwords.PERSONAL


def test_short_passwords_say_the_minimum():
    with pytest.raises(Invalid) as refused:
        passwords.check_password("Xy7#q", ADA)
    assert not isinstance(refused.value, WeakPassword)
    assert refused.value.details == {"minimum": passwords.MIN_PASSWORD_LENGTH}


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "a brand new passphrase", "tv7-Quill-marsh"]
)
def test_strong_passwords_pass(password):
    passwords.check_password(password, ADA)
    assert passwords.estimate(password, ADA).acceptable


def test_very_long_passwords_are_estimated_on_their_start():
    passwords.check_password("plum orchard tuesday " * 20, ADA)
    refusal("a" * 200)


def test_personal_words_split_names_and_emails():
    words = passwords.personal_words("ada", "Ada Lovelace", "ada.l@example.org", None, "")
    assert {"ada", "ada lovelace", "adalovelace", "lovelace", "example"} <= set(words)
    assert "" not in words and len(words) == len(set(words))


def test_every_reason_and_hint_is_a_template_the_page_can_translate():
    templates = {*passwords.WARNINGS.values(), *passwords.SUGGESTIONS.values()}
    assert all("{" not in text and text.strip() for text in templates)


# --- where a password is set ------------------------------------------------------------


def test_createadmin_refuses_a_weak_or_personal_password(db):
    with pytest.raises(WeakPassword):
        users.create_admin(db, "grace", "aaaaaaaaaa")
    with pytest.raises(WeakPassword) as refused:
        users.create_admin(db, "grace", "gracehopper1", "Grace Hopper")
    assert refused.value.message == passwords.PERSONAL
    with pytest.raises(WeakPassword):
        users.create_admin(db, "grace", "Inkwell2026!")  # the site's title
    assert users.create_admin(db, "grace", "tv7-Quill-marsh").username == "grace"


def test_a_password_change_follows_the_same_rule(db):
    user = users.create_admin(db, "grace", "tv7-Quill-marsh", "Grace Hopper", "grace@navy.example")
    for weak in ("password1234", "gracehopper99", "grace@navy.example"):
        with pytest.raises(WeakPassword):
            account.change_password(db, user.id, "tv7-Quill-marsh", weak, weak)
    new = "copper lantern meadow"
    assert account.change_password(db, user.id, "tv7-Quill-marsh", new, new)
    assert users.authenticate(db, "grace", new) is not None
