"""Sign-in throttling that cannot be raced, dodged by respelling a name, or aimed at the owner.

Built on the shared rate limit (``extends/ratelimit.py``): in Redis when configured, so
the counts hold across every instance, else in this process. Each attempt is RESERVED
before any password hash is compared, against every key at once (one Lua script in
Redis), so concurrent guesses cannot verify more than the budget; a success gives the
reservation back.

The keys (under ``throttle:``), for an account ``user:<id>`` (or ``name:<folded name>``
when no user has that name):

- ``<account>:ip:<address>``: 5 attempts, then each one waits twice as long as the last
  (1 minute, 2, 4 … at most an hour); remembered a day. Strangers elsewhere never touch it.
- ``<account>:device:<nonce>`` instead, from a browser holding the account's signed device
  cookie (it signed in before): the same budget, its own, which no stranger can exhaust.
- ``ip:<address>``: 20 attempts per 15 minutes across every name (not for a known device).
- ``<account>:all``: a ceiling of 100 attempts per hour from everywhere that never refuses
  (the owner must still get in) but is ``reported`` so the owner can be told.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from extends.clock import SYSTEM_CLOCK, Clock
from extends.errors import Unavailable
from extends.ratelimit import (
    RateLimit,
    RateLimitUnavailable,
    Reservation,
    Rule,
    build_rate_limit,
)
from extends.redis import RedisClient

KEY_PREFIX = "throttle:"
MAX_NAME = 64

# One client (an address, or a known device) for one account: progressive, never a lockout.
CLIENT_RULE = Rule(limit=5, window=24 * 3600, backoff=60, max_backoff=3600)
# One address across every account (password spraying).
ADDRESS_RULE = Rule(limit=20, window=15 * 60)
# Every source for one account: far above normal use; reported, never refused.
CEILING_RULE = Rule(limit=100, window=3600, blocking=False)


class ThrottleUnavailable(Unavailable):
    """The shared counter cannot be reached; sign-in answers 503 rather than guess."""

    user_message = "Signing in is unavailable for a moment. Please retry soon."


def fold_name(username: str) -> str:
    """A user name as MariaDB's ``*_unicode_ci`` collations compare it, as near as practical.

    Compatibility forms (full-width letters) unified, case folded, accents stripped.
    """
    text = unicodedata.normalize("NFKC", username).casefold()
    bare = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", bare).strip()[:MAX_NAME]


def account_key(user_id: int | None, username: str) -> str:
    """The account an attempt counts against: the user's id, else the folded name typed."""
    return f"user:{user_id}" if user_id is not None else f"name:{fold_name(username)}"


@dataclass(frozen=True)
class Attempt:
    """One reserved sign-in attempt: ``wait`` > 0 means refused (nothing was counted)."""

    wait: int
    ceiling_reached: bool
    client_key: str
    reservation: Reservation


class Throttle:
    """Reserves sign-in attempts against the keys above; gives them back on success."""

    def __init__(self, limits: RateLimit) -> None:
        self.limits = limits

    async def reserve(self, account: str, address: str, device: str | None = None) -> Attempt:
        """Count this attempt as a failure until ``succeeded`` says otherwise.

        ``device``: the nonce of the account's device cookie the browser presented, if any.
        """
        ceiling = f"{account}:all"
        if device:
            client = f"{account}:device:{device}"
            rules = {client: CLIENT_RULE, ceiling: CEILING_RULE}
        else:
            client = f"{account}:ip:{address}"
            rules = {client: CLIENT_RULE, f"ip:{address}": ADDRESS_RULE, ceiling: CEILING_RULE}
        try:
            reservation = await self.limits.reserve(rules)
        except RateLimitUnavailable as exc:
            raise ThrottleUnavailable(str(exc)) from exc
        return Attempt(reservation.wait, ceiling in reservation.reached, client, reservation)

    async def succeeded(self, attempt: Attempt) -> None:
        """The password was right: this client starts afresh, the other counts lose the hit.

        The address and the ceiling keep their other hits: signing in to one's own account
        must not wash away guesses made at others from the same place.
        """
        try:
            await self.limits.give_back(attempt.reservation)
            await self.limits.reset(attempt.client_key)
        except RateLimitUnavailable as exc:
            raise ThrottleUnavailable(str(exc)) from exc


def build_throttle(redis_clients: list[RedisClient], clock: Clock = SYSTEM_CLOCK) -> Throttle:
    """Redis when configured (counted across instances), else this process's memory."""
    # The rate limit's own limit and window serve only its one-key ``hit``; unused here.
    limits = build_rate_limit(
        redis_clients, CLIENT_RULE.limit, CLIENT_RULE.window, KEY_PREFIX, clock
    )
    return Throttle(limits)
