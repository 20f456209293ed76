"""KeyedBatcher: items of one key arriving while its batch runs go together in the next."""

from __future__ import annotations

import asyncio

import pytest

from extends.batching import KeyedBatcher


class Recorder:
    """A process that records its batches and holds each until the test lets it go."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[int]]] = []
        self.release = asyncio.Event()

    async def __call__(self, key: str, items: list[int]) -> list[int | BaseException]:
        self.batches.append((key, items))
        await self.release.wait()
        return [ValueError(item) if item < 0 else item * 10 for item in items]


async def started(batcher: KeyedBatcher, key: str, item: int) -> asyncio.Task:
    task = asyncio.ensure_future(batcher.submit(key, item))
    for _ in range(3):  # the submit, then the batch it may start, get to run
        await asyncio.sleep(0)
    return task


def test_the_first_item_goes_at_once_and_those_arriving_meanwhile_go_together():
    async def scenario() -> None:
        process = Recorder()
        batcher: KeyedBatcher[str, int, int] = KeyedBatcher(process)
        first = await started(batcher, "a", 1)
        assert process.batches == [("a", [1])]  # not held back for company
        later = [await started(batcher, "a", n) for n in (2, 3, 4)]
        other = await started(batcher, "b", 5)  # another key does not wait for "a"
        assert process.batches == [("a", [1]), ("b", [5])]
        process.release.set()
        assert await first == 10
        assert await asyncio.gather(*later) == [20, 30, 40]
        assert await other == 50
        assert process.batches == [("a", [1]), ("b", [5]), ("a", [2, 3, 4])]

    asyncio.run(scenario())


def test_each_item_gets_its_own_refusal():
    async def scenario() -> None:
        process = Recorder()
        process.release.set()
        batcher: KeyedBatcher[str, int, int] = KeyedBatcher(process)
        hold = await started(batcher, "a", 1)
        refused, accepted = await started(batcher, "a", -2), await started(batcher, "a", 3)
        assert await hold == 10
        with pytest.raises(ValueError, match="-2"):
            await refused
        assert await accepted == 30

    asyncio.run(scenario())


def test_a_failed_batch_fails_its_items_and_the_next_batch_still_runs():
    calls: list[list[int]] = []

    async def flaky(key: str, items: list[int]) -> list[int]:
        calls.append(items)
        await asyncio.sleep(0.01)
        if len(calls) == 1:
            raise ConnectionError("database gone")
        return items

    async def scenario() -> None:
        batcher: KeyedBatcher[str, int, int] = KeyedBatcher(flaky)
        first = await started(batcher, "a", 1)
        second = await started(batcher, "a", 2)
        with pytest.raises(ConnectionError):
            await first
        assert await second == 2
        assert await batcher.submit("a", 3) == 3  # idle again: a new batch starts

    asyncio.run(scenario())


def test_batches_are_bounded_and_a_caller_that_leaves_does_not_lose_its_item():
    async def scenario() -> None:
        process = Recorder()
        batcher: KeyedBatcher[str, int, int] = KeyedBatcher(process, max_batch=2)
        first = await started(batcher, "a", 1)
        rest = [await started(batcher, "a", n) for n in (2, 3, 4, 5, 6)]
        rest[0].cancel()  # its reader hung up: the comment is written all the same
        process.release.set()
        await first
        assert await asyncio.gather(*rest[1:]) == [30, 40, 50, 60]
        assert [items for _, items in process.batches] == [[1], [2, 3], [4, 5], [6]]

    asyncio.run(scenario())
