"""The orders processor on the in-memory table, with the orders queue's SQS event: each order
and refund counted once, the day figures the oracle's, whatever the packets' order and however
often they come. (The counting transaction, claims and parts on DynamoDB run on moto in
tests/integration/test_exactly_once.py.)"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from backend.adapters.batch import Parsed
from backend.processing import orders
from tests import oracle
from tests.unit.processing.conftest import process
from tests.unit.processing.fakes import FakeAnalytics
from tests.unit.processing.sqs_events import LATE_ORDER_EVENTS, ORDER_EVENTS, load

UTC = ZoneInfo("UTC")
ORDERS = frozenset({"order.placed", "order.refunded"})
FIGURES = ("gross_sales", "discounts", "returns", "refunds", "orders", "units")


def _deliver(table: FakeAnalytics, event: dict[str, Any]) -> list[set[str]]:
    """The orders processor on one SQS event; the SKUs it asked stock alerts for, per batch."""
    asked: list[set[str]] = []

    def evaluate_stock(skus: Iterable[str]) -> None:  # stock alerts: tests/integration/test_stock*.py
        asked.append(set(skus))

    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        return orders.apply(table, evaluate_stock, zone=UTC, items=items)

    response = process(event, ORDERS, apply)
    assert response == {"batchItemFailures": []}
    return asked


def _figures(table: FakeAnalytics) -> dict[date, dict[str, Decimal]]:
    return {
        day: {name: Decimal(counters.get(name, 0)) for name in FIGURES}
        for day, counters in sorted(table.day_counters.items())
        if any(counters.values())
    }


def _oracle() -> dict[date, dict[str, Decimal]]:
    frame = oracle.daily([*ORDER_EVENTS, *LATE_ORDER_EVENTS])
    return {day: {name: Decimal(row[name]) for name in FIGURES} for day, row in frame.iterrows()}


def test_one_delivery_of_the_orders_queue_counts_the_oracles_figures() -> None:
    # Given the orders queue's event: o1 and its refund r1, r2 (a refund of o2); then o2 and o3
    table = FakeAnalytics()
    # When the orders processor takes it
    asked = _deliver(table, load("orders_sqs_event.json"))
    # Then each day's sales are the oracle's
    assert _figures(table) == _oracle()
    # And the sales per SKU, the customer sets and the baskets were put, the month stamped
    assert table.month_stamps == {"2026-03": 1}
    assert {pk for pk, _ in table.immutable} >= {"DAY#2026-03-02", "DAY#2026-03-03", "DAY#2026-03-05"}
    # And the profiles know each customer's first order
    assert {c: (p["first"], list(p["first_ids"])) for c, p in table.profiles.items()} == {
        "c1": ("2026-03-02", ["o1"]),
        "c2": ("2026-03-03", ["o2"]),
    }
    # And stock alerts were asked for every SKU the orders and the restocking refund moved
    assert asked == [{"MUG-1", "TEE-2"}]


def test_redelivered_in_any_order_nothing_counts_twice() -> None:
    # Given the orders queue's event processed once
    table = FakeAnalytics()
    event = load("orders_sqs_event.json")
    _deliver(table, event)
    # When its packets come again, one at a time and in the other order (redeliveries)
    for record in reversed(event["Records"]):
        _deliver(table, {"Records": [record]})
    # Then the figures are still the oracle's
    assert _figures(table) == _oracle()
