"""Leases (``backend.adapters.leases``) against the local stack's DynamoDB, on a clock the test moves.

Given a lease in the analytics table, when many try to take it at once only one does; a holder
that stops renewing loses it when its time is up (and stops writing a third of a lease before),
its late renewal and release change nothing, and the next holder keeps it.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from backend.adapters import leases
from backend.settings import get_settings

NAME = "test-lease"
SECONDS = 60.0


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def dynamodb(stack: Any) -> Any:
    stack.reset()
    return stack.client("dynamodb")


def _lease(dynamodb: Any, clock: Clock) -> leases.Lease:
    return leases.Lease(dynamodb, get_settings().require("analytics_table"), NAME, SECONDS, clock)


def test_only_one_of_many_takes_a_lease(dynamodb: Any) -> None:
    clock = Clock()

    def take(_: int) -> str:
        try:
            _lease(dynamodb, clock).take()
        except leases.Taken:
            return "taken"
        return "holds"

    # When eight try at the same instant, then one holds it and seven are told it is taken
    with ThreadPoolExecutor(8) as pool:
        assert Counter(pool.map(take, range(8))) == Counter({"holds": 1, "taken": 7})


def test_a_holder_that_stops_renewing_loses_the_lease_and_writes_nothing_after(dynamodb: Any) -> None:
    clock = Clock()
    first, second = _lease(dynamodb, clock), _lease(dynamodb, clock)
    # Given a holder that took the lease and then stopped renewing it (a crash, a long pause)
    first.take()
    first.check()
    # When another asks half-way through, it is told until when the lease is held
    clock.now += 30
    with pytest.raises(leases.Taken) as taken:
        second.take()
    assert taken.value.until.timestamp() == 1_800_000_000.0 + SECONDS
    # And the holder stops writing a third of a lease before anyone could take over
    clock.now += 11
    with pytest.raises(leases.Lost):
        first.check()
    # When the lease has run out, the other takes it
    clock.now += 20
    second.take()
    second.check()
    # Then the first holder's late renewal and release change nothing: the lease stays the second's
    assert first.renew() is False
    first.release()
    with pytest.raises(leases.Lost):
        first.check()
    with pytest.raises(leases.Taken):
        _lease(dynamodb, clock).take()
    # And a holder that renews keeps it past its first term, then frees it on release
    clock.now += 50
    assert second.renew() is True
    clock.now += 30
    second.check()
    second.release()
    _lease(dynamodb, clock).take()


def test_held_renews_and_releases(dynamodb: Any) -> None:
    table = get_settings().require("analytics_table")
    # Given a block holding a lease
    with leases.hold_lease(dynamodb, table, NAME, seconds=SECONDS) as lease:
        lease.check()
        # Then nobody else takes it meanwhile
        with pytest.raises(leases.Taken):
            _lease(dynamodb, Clock(lease.clock())).take()
    # And once the block ends, anyone may
    with leases.hold_lease(dynamodb, table, NAME, seconds=SECONDS):
        pass
