"""parallel_map: results in order, calls really side by side (never more than asked), the
caller's context variables inside each call, and the first error raised to the caller."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest

from backend.adapters.parallel import parallel_map

REQUEST = contextvars.ContextVar("REQUEST", default="none")


def test_results_come_in_the_order_of_the_items_whatever_order_the_calls_end_in() -> None:
    # Given calls that end in the reverse order of their items
    def slow_first(n: int) -> int:
        time.sleep(0.01 * (5 - n))
        return n * 10

    # When they are mapped 5 at a time
    # Then the results are in the items' order
    assert parallel_map(slow_first, range(5), workers=5) == [0, 10, 20, 30, 40]


def test_at_most_workers_calls_run_at_once_and_they_do_overlap() -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def call(_: int) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    # When 12 calls are mapped with 3 workers
    parallel_map(call, range(12), workers=3)
    # Then exactly 3 ran at once at the most
    assert most == 3


def test_each_call_sees_the_callers_context_variables() -> None:
    # Given a context variable set by the caller (a correlation id, say)
    REQUEST.set("req-42")
    # When calls run in the pool's threads
    seen = parallel_map(lambda _: REQUEST.get(), range(4), workers=4)
    # Then each saw the caller's value
    assert seen == ["req-42"] * 4


def test_one_item_runs_in_the_callers_thread() -> None:
    assert parallel_map(lambda _: threading.get_ident(), ["only"], workers=8) == [threading.get_ident()]
    assert parallel_map(lambda n: n, [], workers=8) == []


def test_an_error_of_a_call_reaches_the_caller() -> None:
    def call(n: int) -> int:
        if n == 2:
            raise ValueError("day 2 unreadable")
        return n

    with pytest.raises(ValueError, match="day 2 unreadable"):
        parallel_map(call, range(4), workers=4)
