"""Calls side by side: the one way the adapters spread their AWS calls over threads.

boto3 clients are thread-safe, and most of an adapter's time is spent waiting for answers, so
independent calls (the days of a range, the claims of a batch, the batches of a publish) go out
together. Each call runs in a copy of the caller's context: its context variables (the log
keys, the correlation id, the request meter) follow the work into the threads.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: How many reads of a long range (its days, its chunks of keys) go out at once.
READ_PARALLELISM = 8


def parallel_map(call: Callable[[T], R], items: Iterable[T], *, workers: int) -> list[R]:
    """``[call(item) for item in items]``, up to ``workers`` at a time, in the order of
    ``items``; the first exception raised is raised here. One item (or one worker) is called
    in the caller's thread, without a pool.

    >>> parallel_map(lambda n: n * n, range(5), workers=3)
    [0, 1, 4, 9, 16]
    """
    todo = list(items)
    if len(todo) <= 1 or workers <= 1:
        return [call(item) for item in todo]
    with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
        futures = [pool.submit(contextvars.copy_context().run, call, item) for item in todo]
        return [future.result() for future in futures]
