"""Periodic jobs, run only by the instance that holds the leader lease.

A single instance is always its own leader (``LocalLease``); a cluster uses
the Redis lease in ``extends/lease.py``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("blog.jobs")


class Lease(Protocol):
    """Who runs the periodic jobs: ``is_leader`` is True on one instance at a time."""

    @property
    def is_leader(self) -> bool:
        """True while this instance may run the jobs."""
        ...

    def start(self) -> None:
        """Begin taking (and keeping) the lease."""
        ...

    async def stop(self) -> None:
        """Give the lease up."""
        ...


class LocalLease:
    """One instance alone leads itself."""

    is_leader = True

    def start(self) -> None:
        """Nothing to take."""

    async def stop(self) -> None:
        """Nothing to give up."""


@dataclass
class Job:
    """A named coroutine function run every ``interval`` seconds."""

    name: str
    interval: float
    run: Callable[[], Awaitable[object]]


class PeriodicJobs:
    """Runs each registered job every ``interval`` seconds while this instance leads."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.jobs: list[Job] = []
        self._tasks: list[asyncio.Task[None]] = []

    def add(self, name: str, interval: float, run: Callable[[], Awaitable[object]]) -> None:
        """Register a job (before ``start``)."""
        self.jobs.append(Job(name, interval, run))

    def start(self) -> None:
        """Start one background loop per job."""
        self._tasks = [asyncio.ensure_future(self._loop(job)) for job in self.jobs]

    async def stop(self) -> None:
        """Cancel the loops and wait for them to end."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def run_now(self, name: str) -> None:
        """Run one job immediately (the admin and the tests use this)."""
        for job in self.jobs:
            if job.name == name:
                await job.run()
                return
        raise KeyError(name)

    async def _loop(self, job: Job) -> None:
        # A little jitter so instances that started together do not fire together.
        await asyncio.sleep(random.uniform(0, min(job.interval, 5.0)))
        while True:
            if self.lease.is_leader:
                try:
                    await job.run()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("job %s failed", job.name)
            await asyncio.sleep(job.interval)
