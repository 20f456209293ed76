"""Reading numbers out of form and query text."""

from __future__ import annotations

# Ids and page numbers live in INTEGER columns; anything larger cannot name a row and
# would overflow the database driver (SQLite refuses integers over 64 bits with a crash).
MAX_ID = 2**31 - 1


def parse_id(raw: str) -> int:
    """A database id (1 … MAX_ID) from text; ValueError when the text cannot be one."""
    value = int(raw.strip())
    if not 0 < value <= MAX_ID:
        raise ValueError(f"id out of range: {raw!r}")
    return value
