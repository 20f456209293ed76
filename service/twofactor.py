"""Two-step verification: TOTP codes from an authenticator app and single-use recovery codes."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import pyotp
from pyotp.exceptions import OTPVerificationError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from model import RecoveryCode, User
from service import users
from service.account import get_account
from service.errors import Conflict, Invalid

RECOVERY_CODE_COUNT = 10
# 16 base32 characters: 80 random bits, beyond guessing even from a stolen digest.
RECOVERY_CODE_LENGTH = 16
RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
CODE_DIGITS = 6
# Codes of the step before and after the current one pass too: phones' clocks drift.
ALLOWED_DRIFT_STEPS = 1
MAX_SECRET = 64  # the users.totp_secret column


class CodeCheck(enum.Enum):
    """What a code given at sign-in turned out to be."""

    ACCEPTED = "accepted"  # a current code from the app
    RECOVERY = "recovery"  # an unused recovery code, now spent
    REUSED = "reused"  # a right code whose time step was already used
    WRONG = "wrong"


@dataclass(frozen=True)
class TwoFactorStatus:
    enabled: bool
    recovery_codes_left: int


def new_secret() -> str:
    """A fresh random TOTP secret (base32, 160 bits)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=issuer)


def readable_secret(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def current_code(secret: str, now: float) -> str:
    """The code an app shows at ``now`` (for tests and the command line)."""
    return pyotp.TOTP(secret).at(now)


def normalise_code(code: str) -> str:
    """What the user typed, without spaces and dashes, lower case."""
    return "".join(code.split()).replace("-", "").lower()[:64]


def code_step(secret: str, code: str, now: float) -> int | None:
    """The time step whose code ``code`` is (±1 step around ``now``), None when it is none."""
    code = normalise_code(code)
    if len(code) != CODE_DIGITS or not code.isdigit():
        return None
    try:
        return pyotp.TOTP(secret).verify_and_get_timecode(
            code, for_time=now, valid_window=ALLOWED_DRIFT_STEPS
        )
    except (OTPVerificationError, ValueError):  # ValueError: not a usable secret
        return None


def is_enabled(session: Session, user_id: int) -> bool:
    """Whether the user signs in with a second step (one small query)."""
    secret = session.scalar(select(User.totp_secret).where(User.id == user_id))
    return secret is not None


def two_factor_status(session: Session, user_id: int) -> TwoFactorStatus:
    user = get_account(session, user_id)
    left = session.scalar(
        select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == user_id)
    )
    return TwoFactorStatus(enabled=user.two_factor_enabled, recovery_codes_left=left or 0)


def enable(session: Session, user_id: int, secret: str, code: str, now: float) -> list[str]:
    """Turn two-step verification on once ``code`` proves the app holds ``secret``.

    Returns the new recovery codes in clear text: the only time they exist as such.
    """
    user = get_account(session, user_id)
    if user.two_factor_enabled:
        raise Conflict("Two-step verification is already on.")
    if not secret or len(secret) > MAX_SECRET:
        raise Invalid("Please start the set-up again.")
    step = code_step(secret, code, now)
    if step is None:
        raise Invalid("That code is not right. Check the time on your phone and try again.")
    user.totp_secret = secret
    user.totp_last_step = step  # the code that enabled it cannot sign anyone in
    codes = _replace_recovery_codes(session, user.id)
    session.commit()
    return codes


def disable(session: Session, user_id: int, proof: str, now: float) -> None:
    """Turn two-step verification off, given the password or a current code."""
    user = _enabled_account(session, user_id)
    _check_proof(session, user, proof, now)
    user.totp_secret = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.commit()


def regenerate_recovery_codes(session: Session, user_id: int, proof: str, now: float) -> list[str]:
    """New recovery codes (the old ones stop working), given the password or a current code."""
    user = _enabled_account(session, user_id)
    _check_proof(session, user, proof, now)
    codes = _replace_recovery_codes(session, user.id)
    session.commit()
    return codes


def check_sign_in_code(session: Session, user_id: int, code: str, now: float) -> CodeCheck:
    """Check the second step of a sign-in: a current TOTP code or an unused recovery code.

    Each TOTP time step and each recovery code is accepted once, even when two instances
    check the same code at the same moment (the database decides, in one statement).
    """
    user = session.get(User, user_id)
    if user is None or user.totp_secret is None:
        return CodeCheck.WRONG
    typed = normalise_code(code)
    if len(typed) == RECOVERY_CODE_LENGTH:
        return (
            CodeCheck.RECOVERY if _spend_recovery_code(session, user.id, typed) else CodeCheck.WRONG
        )
    step = code_step(user.totp_secret, typed, now)
    if step is None:
        return CodeCheck.WRONG
    return CodeCheck.ACCEPTED if _use_step(session, user.id, step) else CodeCheck.REUSED


# --- inside the service ------------------------------------------------------------------


def _enabled_account(session: Session, user_id: int) -> User:
    user = get_account(session, user_id)
    if not user.two_factor_enabled:
        raise Invalid("Two-step verification is not on.")
    return user


def _check_proof(session: Session, user: User, proof: str, now: float) -> None:
    """The password, or a current code from the app (which is then spent)."""
    assert user.totp_secret is not None
    typed = normalise_code(proof)
    if len(typed) == CODE_DIGITS and typed.isdigit():
        step = code_step(user.totp_secret, typed, now)
        if step is not None and _use_step(session, user.id, step):
            return
    elif proof and users.authenticate(session, user.username, proof) is not None:
        return
    raise Invalid("Enter your password or a current code from your app.")


def _use_step(session: Session, user_id: int, step: int) -> bool:
    """Record ``step`` as used; False when it (or a later one) already was."""
    result = session.execute(
        update(User)
        .where(
            User.id == user_id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]  # DML results carry rowcount


def _spend_recovery_code(session: Session, user_id: int, code: str) -> bool:
    result = session.execute(
        delete(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == _digest(user_id, code))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]  # DML results carry rowcount


def _replace_recovery_codes(session: Session, user_id: int) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(
        RecoveryCode(user_id=user_id, code_hash=_digest(user_id, normalise_code(code)))
        for code in codes
    )
    return codes


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


def _digest(user_id: int, code: str) -> str:
    # Keyed by the user: one code's digest means nothing for another account.
    key = f"inkwell-recovery-code:{user_id}".encode()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()
