"""Cohorts exact under late, shuffled, repeated and concurrent delivery.

Given customers ordering over four months in New York (first orders near a month's end in store
time, which is the next month in UTC), when a customer's earlier order arrives after their later
ones, the customer moves to the earlier cohort; whatever the order of arrival, repeats and
processors running at once, ``/customers/cohorts`` equals the pandas oracle.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from tests import oracle, pipeline

TZ = "America/New_York"


def _order(n: int, customer: str, at: str) -> dict[str, Any]:
    return {
        "event_id": f"co-{n}",
        "type": "order.placed",
        "occurred_at": at,
        "data": {
            "order_id": f"CO{n}",
            "customer_id": customer,
            "lines": [{"sku": "MUG", "quantity": 1, "unit_price": "10.00"}],
            "currency": "USD",
        },
    }


def _history(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    moments = [
        "2025-01-10T15:00:00Z",
        "2025-02-01T04:30:00Z",  # 31 January, 23:30 in New York
        "2025-02-20T15:00:00Z",
        "2025-03-01T04:59:00Z",  # still February in New York
        "2025-03-15T15:00:00Z",
        "2025-04-02T15:00:00Z",
    ]
    for c in range(24):
        for moment in rng.sample(moments, rng.randint(1, 4)):
            events.append(_order(len(events), f"K{c}", moment))
    return pipeline.pipeline_form(events)


def _cohorts() -> dict[str, Any]:
    status, body = pipeline.api_get(
        "/v1/customers/cohorts", {"start_month": "2024-12", "end_month": "2025-04"}
    )
    assert status == 200, body
    return body


def _check(events: list[dict[str, Any]]) -> None:
    body = _cohorts()
    expected = oracle.cohorts(events, "2024-12", "2025-04", body["as_of"], tz=TZ)
    assert [r["cohort"] for r in body["cohorts"]] == [e["cohort"] for e in expected]
    for row, want in zip(body["cohorts"], expected, strict=True):
        assert (row["size"], row["active"]) == (want["size"], want["active"]), row["cohort"]
        assert row["retention"] == [float(s) for s in want["retention"]], row["cohort"]


@pytest.fixture
def fresh(stack: Any, store_zone: None) -> None:
    pipeline.allow_read_key()
    pipeline.clear_analytics()


def test_an_earlier_order_arriving_late_moves_the_customer(fresh: None) -> None:
    # Given a customer's March order, then their April order
    march = _order(900, "LATE", "2025-03-15T15:00:00Z")
    april = _order(901, "LATE", "2025-04-02T15:00:00Z")
    january = _order(902, "LATE", "2025-02-01T04:30:00Z")  # 31 January in New York
    pipeline.deliver(pipeline.pipeline_form([march, april]))
    rows = {r["cohort"]: r for r in _cohorts()["cohorts"]}
    assert rows["2025-03"]["size"] == 1 and rows["2025-03"]["active"][:2] == [1, 1]
    # When their January order arrives late (twice)
    pipeline.deliver(pipeline.pipeline_form([january, january]))
    # Then they belong to January's cohort, active in months 0, 2 and 3, and March's is empty
    rows = {r["cohort"]: r for r in _cohorts()["cohorts"]}
    assert rows["2025-01"]["size"] == 1 and rows["2025-01"]["active"][:4] == [1, 0, 1, 1]
    assert rows["2025-01"]["retention"][:4] == [1.0, 0.0, 1.0, 1.0]
    assert rows["2025-03"]["size"] == 0 and set(rows["2025-03"]["active"]) == {0}
    _check(pipeline.pipeline_form([march, april, january]))


def test_shuffled_repeated_and_concurrent_delivery(fresh: None) -> None:
    events = _history(3)
    rng = random.Random(8)
    # Given three processors delivering the history at once, each in its own shuffled order
    errors: list[BaseException] = []

    def run(part: list[dict[str, Any]]) -> None:
        try:
            for start in range(0, len(part), 3):
                pipeline.deliver(part[start : start + 3])
        except BaseException as exc:  # reported below
            errors.append(exc)

    orders = [rng.sample(events, len(events)) for _ in range(3)]
    threads = [threading.Thread(target=run, args=(part,)) for part in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    # Then the cohorts are the oracle's
    _check(events)
