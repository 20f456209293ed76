"""Work that arrives for one key while that key's batch runs goes together in the next batch.

A write that must be serialised per key (comments on one article take that article's row
lock) costs a lock, a few round trips and a commit however many items it carries. The
first item of a key starts a batch at once, so nothing waits when writes are rare; items
arriving meanwhile queue up and the next batch takes them all (at most ``max_batch``),
so under load a lock is taken once per batch instead of once per item.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
I = TypeVar("I")  # noqa: E741 (an item)
R = TypeVar("R")

# What a batch answers for each item: its result, or the exception that item raises.
Process = Callable[[K, list[I]], Awaitable[Sequence["R | BaseException"]]]


class KeyedBatcher(Generic[K, I, R]):
    """``await submit(key, item)``: the item's result once a batch of its key processed it.

    ``process(key, items)`` answers one outcome per item, in order: a result, or an
    exception that ``submit`` raises for that item alone. If ``process`` itself raises,
    every item of the batch raises that error.
    """

    def __init__(self, process: Process[K, I, R], max_batch: int = 100) -> None:
        self.process = process
        self.max_batch = max_batch
        self._waiting: dict[K, list[tuple[I, asyncio.Future[R]]]] = {}
        self._running: dict[K, asyncio.Task[None]] = {}

    async def submit(self, key: K, item: I) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append((item, future))
        if key not in self._running:
            self._running[key] = asyncio.create_task(self._drain(key))
        # A caller that gives up (its client left) does not stop its item: the batch runs.
        return await asyncio.shield(future)

    async def _drain(self, key: K) -> None:
        try:
            while waiting := self._waiting.pop(key, None):
                batch, rest = waiting[: self.max_batch], waiting[self.max_batch :]
                if rest:
                    self._waiting[key] = rest
                try:
                    outcomes = list(await self.process(key, [item for item, _ in batch]))
                    if len(outcomes) != len(batch):
                        raise RuntimeError(
                            f"a batch of {len(batch)} answered {len(outcomes)} outcomes"
                        )
                except Exception as exc:  # every item of the batch fails with it
                    outcomes = [exc] * len(batch)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                        future.exception()  # retrieved: the submitter raises it
                    else:
                        future.set_result(outcome)
        finally:
            del self._running[key]
