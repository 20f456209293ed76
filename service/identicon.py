"""Avatars drawn locally: a symmetric 5×5 pattern from a hash, as inline SVG (no requests)."""

from __future__ import annotations

import hashlib

GRID = 5


def identicon_svg(seed: str, size: int = 40) -> str:
    """An SVG identicon for ``seed`` (an e-mail or a name); the same seed, the same picture."""
    digest = hashlib.sha256(seed.strip().casefold().encode("utf-8")).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
    bits = int.from_bytes(digest[2:6], "big")
    cells: list[str] = []
    half = (GRID + 1) // 2
    for row in range(GRID):
        for column in range(half):
            if bits >> (row * half + column) & 1:
                for x in {column, GRID - 1 - column}:
                    cells.append(f'<rect x="{x}" y="{row}" width="1" height="1"/>')
    return (
        f'<svg class="avatar" xmlns="http://www.w3.org/2000/svg" viewBox="-0.5 -0.5 6 6" '
        f'width="{size}" height="{size}" aria-hidden="true" focusable="false">'
        f'<rect x="-0.5" y="-0.5" width="6" height="6" fill="hsl({hue} 35% 90%)"/>'
        f'<g fill="hsl({hue} 55% 38%)">{"".join(cells)}</g></svg>'
    )
