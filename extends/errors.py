"""The one family of "a backing store cannot be reached right now" exceptions.

Redis, the database, the session or ticket store, the shared throttle: when one of
them is down the request cannot be served correctly, so BaseHandler turns any
``Unavailable`` into a 503 page with ``Retry-After`` (nginx retries an idempotent
request on another instance). Each store raises its own subclass so a log line
says which one failed.
"""

from __future__ import annotations


class Unavailable(Exception):
    """A backing store cannot be reached; the request is answered with a 503."""

    retry_after = 5
    # What the 503 page says (English; translated where the page is rendered).
    user_message = "This part of the blog is unavailable for a moment. Please retry soon."


class DatabaseUnavailable(Unavailable):
    """The database refused or lost the connection (a restart, a failover)."""

    user_message = "The blog is unavailable for a moment. Please retry soon."
