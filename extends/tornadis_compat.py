"""Restore ``tornado.gen.Task`` so tornadis 0.8.1 runs on Tornado 6.

tornadis (its last release) wraps every callback-style call in
``tornado.gen.Task``, which Tornado 6 removed. This module puts back a
future-returning equivalent; import it before anything imports tornadis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tornado.gen
from tornado.concurrent import Future, future_set_result_unless_cancelled


def _task(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
    """Call ``func(*args, callback=...)`` and return a Future of the callback's argument."""
    future: Future[Any] = Future()

    def set_result(result: Any = None) -> None:
        future_set_result_unless_cancelled(future, result)

    try:
        func(*args, callback=set_result, **kwargs)
    except Exception as exc:  # a synchronous failure must reach the awaiting coroutine
        if not future.done():
            future.set_exception(exc)
    return future


if not hasattr(tornado.gen, "Task"):
    tornado.gen.Task = _task  # type: ignore[attr-defined]  # Tornado 6 removed it: restoring it is the point

import tornadis  # noqa: E402  (must follow the patch)

__all__ = ["tornadis"]
