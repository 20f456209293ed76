"""The young generations are collected on a clock, so churn cannot grow them unseen."""

from __future__ import annotations

import asyncio
import gc

from extends import gc_tuning


def young_size_under_churn(collect_on_a_clock: bool) -> int:
    """The largest young generation seen while long-lived objects are replaced by new ones
    as fast as they die (what long polls answered and opened again do)."""

    async def churn() -> int:
        young = gc_tuning.YoungCollections()
        if collect_on_a_clock:
            young.start()
        # Old objects: promoted out of the young generations, as pending polls are.
        held = [[index] for index in range(200_000)]
        gc.collect()
        largest = 0
        try:
            for step in range(100):  # 1,000 replaced per step: the count hardly moves
                for index in range(1000):
                    slot = (step * 1000 + index) % len(held)
                    held[slot] = [slot]  # the old list dies, a new one is born
                largest = max(largest, len(gc.get_objects(0)))
                await asyncio.sleep(0.01)  # at most ten steps between two ticks
        finally:
            young.stop()
        return largest

    thresholds = gc.get_threshold()
    gc.set_threshold(*gc_tuning.THRESHOLDS)
    try:
        return asyncio.run(churn())
    finally:
        gc.set_threshold(*thresholds)


def test_without_the_clock_churn_grows_the_young_generation_unseen():
    # The reason for the clock: CPython counts allocations minus deallocations.
    assert young_size_under_churn(collect_on_a_clock=False) > 50_000


def test_with_the_clock_the_young_generation_stays_small():
    assert young_size_under_churn(collect_on_a_clock=True) < 20_000


def test_a_slow_collection_is_logged(caplog, monkeypatch):
    monkeypatch.setattr(gc_tuning, "SLOW_COLLECTION_SECONDS", 0.0)  # every one is "slow"
    gc_tuning.watch_collections()
    gc_tuning.watch_collections()  # once only: callbacks are process-wide
    try:
        assert gc.callbacks.count(gc_tuning._collection_timer) == 1
        with caplog.at_level("WARNING", logger="blog.gc"):
            gc.collect()
    finally:
        gc.callbacks.remove(gc_tuning._collection_timer)
    assert any(
        "garbage collection of generation 2 paused the instance" in record.getMessage()
        for record in caplog.records
    )
