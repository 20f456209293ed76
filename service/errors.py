"""Domain exceptions that BaseHandler maps to 404 / 400 / 409 / 429 pages once."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: the message is safe to show to the user."""

    status_code = 400

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


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

    def __init__(self, message: str = "", retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after
