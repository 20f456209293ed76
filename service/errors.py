"""Domain exceptions that BaseHandler maps to 404 / 400 / 403 / 409 / 429 pages once.

A message is an English template with ``{name}`` placeholders; the values travel
separately in ``details``. The web layer translates ``message`` for the visitor and
only then fills in the details, so one translation serves every limit and value.
"""

from __future__ import annotations

# What a detail may be: values that read the same in every language once formatted.
Detail = int | str


def message(text: str) -> str:
    """Mark a message template kept in a constant or a table, so the translation check finds it."""
    return text


class ServiceError(Exception):
    """Base class: the message is safe to show to the user."""

    status_code = 400

    def __init__(self, message: str = "", **details: Detail) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Detail] = details

    def __str__(self) -> str:
        """The English message with its details filled in (for logs and the command line)."""
        return self.filled(self.message)

    def filled(self, template: str) -> str:
        """``template`` (the message, or its translation) with the details filled in."""
        try:
            return template.format(**self.details) if self.details else template
        except (KeyError, IndexError, ValueError):
            return template


class NotFound(ServiceError):
    status_code = 404


class Invalid(ServiceError):
    status_code = 400


class Forbidden(ServiceError):
    status_code = 403


class Conflict(ServiceError):
    status_code = 409


class TooManyAttempts(ServiceError):
    status_code = 429

    def __init__(self, message: str = "", retry_after: int = 60, **details: Detail) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after
