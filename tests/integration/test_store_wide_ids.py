"""``order_id`` and ``refund_id`` name one order and one refund across the whole store
(CONTRACT section 2): sent again under another customer or another order, in another event, they
count once and the second is kept as a conflict that ``storepulse dlq list`` shows; the same
event delivered again is a plain duplicate, not a conflict.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from devstack.cli import main
from devstack.dlq import list_conflicts
from tests import oracle, pipeline
from tests.conftest import StackFixture
from tests.figures import assert_same_figures

TZ = "America/New_York"
DAY = date(2025, 3, 4)


@pytest.fixture
def fresh(stack: StackFixture, store_zone: None) -> None:
    pipeline.allow_read_key()
    pipeline.clear_analytics()


def _order(event_id: str, order_id: str, customer: str, price: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "order.placed",
        "occurred_at": "2025-03-04T15:00:00Z",
        "data": {
            "order_id": order_id,
            "customer_id": customer,
            "currency": "USD",
            "channel": "web",
            "lines": [{"sku": "MUG", "quantity": 1, "unit_price": price}],
        },
    }


def _refund(event_id: str, refund_id: str, order_id: str, amount: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "order.refunded",
        "occurred_at": "2025-03-04T18:00:00Z",
        "data": {"order_id": order_id, "refund_id": refund_id, "amount": amount, "currency": "USD"},
    }


def _the_conflict(stack: StackFixture) -> tuple[str, str, str, str]:
    """The one conflict kept: its event, the kind and value of its id, the event counted."""
    (conflict,) = list_conflicts(stack.aws, analytics_table="storepulse-analytics")
    return (conflict.event_id, conflict.kind, conflict.business_id, conflict.counted_event_id)


def _figures_are_the_oracles(raw: list[dict[str, Any]]) -> None:
    assert_same_figures(pipeline.summary(DAY, DAY), oracle.summary(raw, DAY, DAY, tz=TZ), str(DAY))


def test_an_order_id_sent_again_under_another_customer_counts_once_and_shows_as_a_conflict(
    fresh: None, stack: StackFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an order counted, then the same order_id in another event under another customer,
    # once in a later batch and once beside the original in one batch
    first = _order("evt-a", "o-1", "alice", "10.00")
    again = _order("evt-b", "o-1", "bob", "99.00")
    raw = [first, again]
    events = pipeline.pipeline_form(raw)
    pipeline.deliver(events[:1])
    pipeline.deliver(events[1:])
    pipeline.deliver(events[::-1], batch_size=2)
    # And the first event delivered once more (a duplicate, not a conflict)
    pipeline.deliver(events[:1])
    # Then the order counts once, for its first customer
    _figures_are_the_oracles(raw)
    summary = pipeline.summary(DAY, DAY)
    assert (summary["orders"], summary["customers"], summary["gross_sales"]) == (1, 1, "10.00")
    # And the second event is kept as the one conflict, which `storepulse dlq list` shows
    assert _the_conflict(stack) == ("evt-b", "order_id", "o-1", "evt-a")
    assert main(["dlq", "list", "--json", "--queue", "conflicts"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["queue"], listed["event_id"], listed["type"]) == ("conflicts", "evt-b", "order.placed")
    assert "o-1" in listed["reason"] and "evt-a" in listed["reason"]
    assert main(["dlq", "list"]) == 0
    assert "evt-b" in capsys.readouterr().out


def test_a_refund_id_sent_again_under_another_order_counts_once(fresh: None, stack: StackFixture) -> None:
    # Given two orders, a refund of the first, then the same refund_id for the second order
    raw = [
        _order("evt-1", "o-1", "alice", "20.00"),
        _order("evt-2", "o-2", "bob", "30.00"),
        _refund("evt-3", "r-1", "o-1", "5.00"),
        _refund("evt-4", "r-1", "o-2", "7.00"),
    ]
    events = pipeline.pipeline_form(raw)
    pipeline.deliver(events[:3])
    pipeline.deliver(events[3:])
    # And the first refund delivered again
    pipeline.deliver(events[2:3])
    # Then returns count the first refund only, attributed to the first order's channel
    _figures_are_the_oracles(raw)
    assert pipeline.summary(DAY, DAY)["returns"] == "5.00"
    assert _the_conflict(stack) == ("evt-4", "refund_id", "r-1", "evt-3")
