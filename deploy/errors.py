"""The one exception the launcher raises for a problem the operator must fix."""

from __future__ import annotations


class ClusterError(Exception):
    """Something the operator must fix; the message says what."""
