"""Pagination as a value object the templates can read without querying."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pager:
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def window(self, radius: int = 2) -> list[int | None]:
        """Page numbers to show, with None where a gap is elided: 1 … 4 5 [6] 7 8 … 20."""
        shown = {1, self.pages} | set(range(self.page - radius, self.page + radius + 1))
        numbers = sorted(n for n in shown if 1 <= n <= self.pages)
        result: list[int | None] = []
        for n in numbers:
            if result and n - (result[-1] or 0) > 1:
                result.append(None)
            result.append(n)
        return result
