"""Two-step verification services: set-up, codes with drift and replay, recovery codes."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from model import RecoveryCode
from service import twofactor, users
from service.errors import Conflict, Invalid
from service.twofactor import CodeCheck

PASSWORD = "correct horse battery staple"
NOW = 1_900_000_000.0  # a fixed moment, in the middle of a 30-second step
STEP = 30


@pytest.fixture
def user(db):
    return users.create_admin(db, "ada", PASSWORD)


@pytest.fixture
def enrolled(db, user):
    """(user id, secret, recovery codes) of a user who turned it on at NOW."""
    secret = twofactor.new_secret()
    codes = twofactor.enable(db, user.id, secret, pyotp.TOTP(secret).at(NOW), NOW)
    return user.id, secret, codes


def code_at(secret: str, moment: float) -> str:
    return pyotp.TOTP(secret).at(moment)


def wrong_code(secret: str, moment: float) -> str:
    """Six digits that no step around ``moment`` shows."""
    near = {code_at(secret, moment + offset * STEP) for offset in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in near)


def test_enrolment_needs_a_right_code(db, user):
    secret = twofactor.new_secret()
    assert not twofactor.is_enabled(db, user.id)
    with pytest.raises(Invalid):
        twofactor.enable(db, user.id, secret, wrong_code(secret, NOW), NOW)
    with pytest.raises(Invalid):
        twofactor.enable(db, user.id, secret, code_at(secret, NOW + 5 * STEP), NOW)
    assert not twofactor.is_enabled(db, user.id)

    codes = twofactor.enable(db, user.id, secret, code_at(secret, NOW), NOW)
    assert twofactor.is_enabled(db, user.id)
    assert len(codes) == twofactor.RECOVERY_CODE_COUNT == len(set(codes))
    assert twofactor.two_factor_status(db, user.id).recovery_codes_left == 10
    with pytest.raises(Conflict):
        twofactor.enable(db, user.id, secret, code_at(secret, NOW + STEP), NOW + STEP)


def test_the_otpauth_uri_names_the_account_and_the_site():
    secret = twofactor.new_secret()
    uri = twofactor.provisioning_uri(secret, "ada", "My Blog")
    assert uri.startswith("otpauth://totp/My%20Blog:ada?")
    assert f"secret={secret}" in uri and "issuer=My%20Blog" in uri
    assert twofactor.readable_secret("ABCDEFGHIJKL") == "ABCD EFGH IJKL"


def test_codes_one_step_either_side_pass(db, enrolled):
    user_id, secret, _ = enrolled
    # The code that enabled it is spent; the next step's code, early, is fine.
    assert twofactor.check_sign_in_code(db, user_id, code_at(secret, NOW), NOW) is CodeCheck.REUSED
    assert (
        twofactor.check_sign_in_code(db, user_id, code_at(secret, NOW + STEP), NOW)
        is CodeCheck.ACCEPTED
    )
    later = NOW + 10 * STEP
    assert (
        twofactor.check_sign_in_code(db, user_id, code_at(secret, later - STEP), later)
        is CodeCheck.ACCEPTED
    )
    assert (
        twofactor.check_sign_in_code(db, user_id, code_at(secret, later + 2 * STEP), later)
        is CodeCheck.WRONG
    )
    assert twofactor.check_sign_in_code(db, user_id, "12345", later) is CodeCheck.WRONG
    assert twofactor.check_sign_in_code(db, user_id, "", later) is CodeCheck.WRONG


def test_a_code_is_accepted_once_and_older_steps_after_it_never(db, enrolled):
    user_id, secret, _ = enrolled
    moment = NOW + 20 * STEP
    code = code_at(secret, moment)
    spaced = f"{code[:3]} {code[3:]}"  # as some apps show it
    assert twofactor.check_sign_in_code(db, user_id, spaced, moment) is CodeCheck.ACCEPTED
    assert twofactor.check_sign_in_code(db, user_id, code, moment) is CodeCheck.REUSED
    # The previous step's code is within the window, but older than the one used.
    previous = code_at(secret, moment - STEP)
    assert twofactor.check_sign_in_code(db, user_id, previous, moment) is CodeCheck.REUSED
    following = code_at(secret, moment + STEP)
    assert twofactor.check_sign_in_code(db, user_id, following, moment + STEP) is CodeCheck.ACCEPTED


def test_recovery_codes_are_stored_hashed_and_work_once(db, enrolled):
    user_id, _, codes = enrolled
    stored = set(db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user_id)))
    assert len(stored) == 10
    assert not any(code.replace("-", "") in digest for code in codes for digest in stored)

    assert twofactor.check_sign_in_code(db, user_id, codes[0], NOW) is CodeCheck.RECOVERY
    assert twofactor.check_sign_in_code(db, user_id, codes[0], NOW) is CodeCheck.WRONG
    # Typed in capitals without dashes, another one works too.
    typed = codes[1].replace("-", "").upper()
    assert twofactor.check_sign_in_code(db, user_id, typed, NOW) is CodeCheck.RECOVERY
    assert twofactor.two_factor_status(db, user_id).recovery_codes_left == 8
    assert twofactor.check_sign_in_code(db, user_id, "abcd-efgh-ijkl-mnop", NOW) is CodeCheck.WRONG


def test_another_users_recovery_code_does_not_work(db, enrolled):
    user_id, _, codes = enrolled
    other = users.create_admin(db, "bob", PASSWORD)
    secret = twofactor.new_secret()
    twofactor.enable(db, other.id, secret, code_at(secret, NOW), NOW)
    assert twofactor.check_sign_in_code(db, other.id, codes[0], NOW) is CodeCheck.WRONG
    assert twofactor.check_sign_in_code(db, user_id, codes[0], NOW) is CodeCheck.RECOVERY


def test_new_recovery_codes_replace_the_old_ones(db, enrolled):
    user_id, _, old = enrolled
    with pytest.raises(Invalid):
        twofactor.regenerate_recovery_codes(db, user_id, "not the password", NOW)
    new = twofactor.regenerate_recovery_codes(db, user_id, PASSWORD, NOW)
    assert len(new) == 10 and not set(new) & set(old)
    assert twofactor.check_sign_in_code(db, user_id, old[0], NOW) is CodeCheck.WRONG
    assert twofactor.check_sign_in_code(db, user_id, new[0], NOW) is CodeCheck.RECOVERY


def test_turning_off_needs_the_password_or_a_current_code(db, enrolled):
    user_id, secret, _ = enrolled
    with pytest.raises(Invalid):
        twofactor.disable(db, user_id, "wrong password", NOW)
    with pytest.raises(Invalid):  # the code that enabled it is spent
        twofactor.disable(db, user_id, code_at(secret, NOW), NOW)
    moment = NOW + STEP
    twofactor.disable(db, user_id, code_at(secret, moment), moment)
    assert not twofactor.is_enabled(db, user_id)
    assert twofactor.two_factor_status(db, user_id).recovery_codes_left == 0
    with pytest.raises(Invalid):
        twofactor.disable(db, user_id, PASSWORD, NOW)


def test_turning_off_with_the_password(db, enrolled):
    user_id, _, codes = enrolled
    twofactor.disable(db, user_id, PASSWORD, NOW)
    assert twofactor.check_sign_in_code(db, user_id, codes[0], NOW) is CodeCheck.WRONG


def test_the_site_setting_is_saved(db):
    from service import settings_admin
    from service.site import get_settings

    form = settings_admin.SettingsForm(title="Blog", require_two_factor="1")
    assert settings_admin.save_settings(db, form).require_two_factor is True
    db.expire_all()
    assert get_settings(db).require_two_factor is True
    assert settings_admin.SettingsForm.from_settings(get_settings(db)).require_two_factor == "1"
    settings_admin.save_settings(db, settings_admin.SettingsForm(title="Blog"))
    db.expire_all()
    assert get_settings(db).require_two_factor is False
