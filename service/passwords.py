"""The password rule: long enough, and not easy to guess (zxcvbn's strength estimate).

zxcvbn's feedback is English; each warning and suggestion it can give is mapped here to a
message template the web layer translates. One it adds later falls back to a general reason.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from zxcvbn import zxcvbn

from service.errors import Invalid, message

MIN_PASSWORD_LENGTH = 10
# zxcvbn's scale: 0 too guessable … 4 very unguessable; 3 resists an offline attack on a
# slow hash for a while (argon2id here), which is what a leaked database would face.
MIN_SCORE = 3
# zxcvbn refuses longer input (its matching grows fast with the length): the first
# characters are estimated; what follows can only add to the strength.
ESTIMATED_LENGTH = 72

TOO_SHORT = message("The password must be at least {minimum} characters long.")
TOO_GUESSABLE = message("This password is too easy to guess.")
PERSONAL = message("The password is built on your name, email address or the site's title.")
DEFAULT_HINT = message("Add another word or two. Uncommon words are better.")

# zxcvbn's warning → our message template.
WARNINGS = {
    "Straight rows of keys are easy to guess.": message("Straight rows of keys are easy to guess."),
    "Short keyboard patterns are easy to guess.": message(
        "Short keyboard patterns are easy to guess."
    ),
    'Repeats like "aaa" are easy to guess.': message(
        "Repeated characters such as “aaa” are easy to guess."
    ),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': message(
        "Repeated groups such as “abcabcabc” are hardly harder to guess than “abc”."
    ),
    'Sequences like "abc" or "6543" are easy to guess.': message(
        "Sequences such as “abc” or “cba” are easy to guess."
    ),
    "Recent years are easy to guess.": message("Recent years are easy to guess."),
    "Dates are often easy to guess.": message("Dates are often easy to guess."),
    "This is a top-10 common password.": message("This is one of the most common passwords."),
    "This is a top-100 common password.": message("This is one of the most common passwords."),
    "This is a very common password.": message("This is a very common password."),
    "This is similar to a commonly used password.": message(
        "This is similar to a commonly used password."
    ),
    "A word by itself is easy to guess.": message("A single word is easy to guess."),
    "Names and surnames by themselves are easy to guess.": message(
        "Names and surnames are easy to guess."
    ),
    "Common names and surnames are easy to guess.": message(
        "Names and surnames are easy to guess."
    ),
}

# zxcvbn's suggestion → our hint template.
SUGGESTIONS = {
    "Add another word or two. Uncommon words are better.": DEFAULT_HINT,
    "Use a few words, avoid common phrases.": message("Use a few words, avoid common phrases."),
    "Use a longer keyboard pattern with more turns.": message(
        "Use a longer keyboard pattern with more turns."
    ),
    "Avoid repeated words and characters.": message("Avoid repeated words and characters."),
    "Avoid sequences.": message("Avoid sequences."),
    "Avoid recent years.": message("Avoid recent years."),
    "Avoid years that are associated with you.": message(
        "Avoid dates and years that are associated with you."
    ),
    "Avoid dates and years that are associated with you.": message(
        "Avoid dates and years that are associated with you."
    ),
    "Capitalization doesn't help very much.": message("Capital letters do not help much."),
    "All-uppercase is almost as easy to guess as all-lowercase.": message(
        "Capital letters do not help much."
    ),
    "Reversed words aren't much harder to guess.": message(
        "Reversed words are hardly harder to guess."
    ),
    "Predictable substitutions like '@' instead of 'a' don't help very much.": message(
        "Predictable substitutions such as “@” for “a” do not help much."
    ),
}

# zxcvbn keeps the user inputs in a module-level dictionary it replaces on every call:
# two executor threads estimating at once would see each other's names.
_ESTIMATE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Strength:
    """zxcvbn's score (0–4) and why, as message templates for the web layer to translate."""

    score: int
    reason: str  # empty when the password is strong enough
    hints: tuple[str, ...]

    @property
    def acceptable(self) -> bool:
        return self.score >= MIN_SCORE


class WeakPassword(Invalid):
    """A password refused as easy to guess: the message says why, ``hints`` what helps."""

    def __init__(self, strength: Strength) -> None:
        super().__init__(strength.reason or TOO_GUESSABLE)
        self.hints = strength.hints


def personal_words(*values: str | None) -> list[str]:
    """What an attacker tries first: the names, the email (and its parts), the site's title."""
    words: list[str] = []
    for value in values:
        value = (value or "").strip().lower()
        if not value:
            continue
        parts = [part for part in re.split(r"[\s@._+-]+", value) if part]
        # "Ada Lovelace" is tried as itself, as "adalovelace" and as each longer word.
        words += [value, "".join(parts), *(part for part in parts if len(part) >= 3)]
    return list(dict.fromkeys(word for word in words if word))


def estimate(password: str, user_inputs: Iterable[str] = ()) -> Strength:
    """zxcvbn's estimate of the password, with the reason and hints mapped to templates."""
    with _ESTIMATE_LOCK:
        result = zxcvbn(password[:ESTIMATED_LENGTH], user_inputs=list(user_inputs))
    score = int(result["score"])
    if score >= MIN_SCORE:
        return Strength(score, "", ())
    feedback = result["feedback"]
    personal = any(match.get("dictionary_name") == "user_inputs" for match in result["sequence"])
    reason = PERSONAL if personal else WARNINGS.get(feedback["warning"], TOO_GUESSABLE)
    hints = [SUGGESTIONS[text] for text in feedback["suggestions"] if text in SUGGESTIONS]
    return Strength(score, reason, tuple(dict.fromkeys(hints or [DEFAULT_HINT])))


def check_password(password: str, user_inputs: Sequence[str] = ()) -> None:
    """Refuse a password that is too short (Invalid) or too easy to guess (WeakPassword)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(TOO_SHORT, minimum=MIN_PASSWORD_LENGTH)
    strength = estimate(password, user_inputs)
    if not strength.acceptable:
        raise WeakPassword(strength)
