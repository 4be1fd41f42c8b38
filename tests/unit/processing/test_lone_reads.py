"""Lone items in the in-memory table: orders sent alone keep their day figures in their stock-in
items (``processing.stock_in.LONE_ITEMS``) and read exactly as the same orders counted the old
way, before the fold, half folded and folded (the fake reads them as the table's readers do:
``DP#<X>`` items once the watermark reached ``X``, the items' content of the later days)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.adapters import stock_in as stock_in_items
from backend.adapters.batch import Parsed
from backend.processing import orders, stock_in
from tests.unit.processing.conftest import process
from tests.unit.processing.fakes import FakeAnalytics
from tests.unit.processing.sqs_events import _event, _line, packet_records

UTC = ZoneInfo("UTC")
TODAY = date(2026, 3, 6)
DAYS = [date(2026, 3, 1) + timedelta(days=n) for n in range(8)]


def _order(order_id: str, at: str, customer: str, *lines: tuple[str, int, str]) -> dict[str, Any]:
    data = {
        "order_id": order_id,
        "customer_id": customer,
        "currency": "USD",
        "discount": "1.50",
        "channel": "mobile" if order_id.endswith("2") else "web",
        "lines": [_line(*line) for line in lines],
    }
    return _event(f"ord-{order_id}", "order.placed", at, data)


#: Orders of the 2nd (too far from any open claim day: counted the old way) and of the 5th
#: and 6th (lone when sent alone), by new and returning customers, one with two orders a day.
EVENTS = [
    _order("o1", "2026-03-02T10:00:00Z", "c1", ("MUG-1", 2, "14.00"), ("TEE-2", 1, "20.00")),
    _order("o2", "2026-03-05T09:00:00Z", "c1", ("MUG-1", 1, "14.00"), ("PEN-3", 3, "2.50")),
    _order("o3", "2026-03-05T11:00:00Z", "c2", ("TEE-2", 2, "20.00"), ("PEN-3", 1, "2.50")),
    _order("o4", "2026-03-06T08:00:00Z", "c2", ("MUG-1", 1, "14.00")),
    _order("o5", "2026-03-06T09:30:00Z", "c3", ("PEN-3", 2, "2.50"), ("MUG-1", 1, "14.00")),
    _order("o6", "2026-03-06T10:45:00Z", "c3", ("TEE-2", 1, "20.00"), ("PEN-3", 1, "2.50")),
]


def _deliver(table: FakeAnalytics, today: date) -> None:
    """Each order to the orders processor in a batch of its own, as an order sent alone."""

    def evaluate_stock(skus: Iterable[str]) -> None:
        pass

    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        return orders.apply(table, evaluate_stock, zone=UTC, items=items, utc_today=lambda: today)

    for event in EVENTS:
        [record] = packet_records(event["event_id"], "storepulse-orders", [event])
        assert process({"Records": [record]}, frozenset({"order.placed"}), apply) == {"batchItemFailures": []}


def _counters(day: dict[str, Any]) -> dict[str, Any]:
    """A day's counters but zeros (a transaction adds them, the items leave them out)."""
    return {name: amount for name, amount in day.items() if amount}


def _figures(table: FakeAnalytics) -> tuple[Any, ...]:
    sales, sets = table.day_sales_and_sets(DAYS)
    return (
        [_counters(day) for day in sales],
        sets,
        {day: _counters(counters) for day, counters in table.daily_sales(DAYS).items()},
        table.day_sku_sales(DAYS),
        table.range_pair_counts(DAYS[0], DAYS[-1]),
    )


def _store(monkeypatch: pytest.MonkeyPatch, *, lone: bool) -> FakeAnalytics:
    monkeypatch.setattr(stock_in, "LONE_ITEMS", lone)
    table = FakeAnalytics()
    stock_in.fold(table, TODAY)  # the watermark three days back
    _deliver(table, TODAY)
    _deliver(table, TODAY)  # and each again
    return table


def test_lone_orders_read_as_the_same_orders_counted_the_old_way(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the same orders sent alone with lone items, and counted the old way
    old = _store(monkeypatch, lone=False)
    table = _store(monkeypatch, lone=True)
    lone_days = {day for part in table.stock_in.values() for day in (part.day_content or {})}
    assert lone_days == {date(2026, 3, 5), date(2026, 3, 6)}
    assert not any(part.day_content for part in old.stock_in.values())
    # Then every day figure is the same: unfolded
    expected = _figures(old)
    assert _figures(table) == expected
    # And half folded (the claim days before today's), and folded
    for days_later, folded in ((2, False), (3, True)):
        stock_in.fold(table, TODAY + timedelta(days=days_later))
        assert any(sk.startswith("DP#") for _, sk in table.immutable) == folded
        assert _figures(table) == expected


def _deliver_one(table: FakeAnalytics, event: dict[str, Any], today: date) -> None:
    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        return orders.apply(table, lambda skus: None, zone=UTC, items=items, utc_today=lambda: today)

    [record] = packet_records(event["event_id"], "storepulse-orders", [event])
    assert process({"Records": [record]}, frozenset({"order.placed"}), apply) == {"batchItemFailures": []}


def _crash(*args: Any) -> None:
    raise RuntimeError("the copy's Lambda died here")


def test_a_first_delivery_whose_put_meets_a_copys_tombstone_writes_its_day_figures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an order sent alone, counted the old way for the expected figures
    event = EVENTS[4]
    monkeypatch.setattr(stock_in, "LONE_ITEMS", True)
    old = FakeAnalytics()
    _deliver_one(old, event, TODAY)  # before the first fold: no item, the transaction
    table = FakeAnalytics()
    stock_in.fold(table, TODAY)
    put = table.put_stock_in

    def a_copy_counts_it_first(parts: Any) -> set[str]:
        # While the first delivery (which made the claims) joins the profiles, a copy of the
        # same message, on a Lambda whose clock has closed the claim day, counts the part by a
        # transaction claimed by the item (its tombstone) and dies before its SKU items.
        with monkeypatch.context() as copy:
            copy.setattr(table, "put_immutable", _crash)
            with pytest.raises(AssertionError, match="died here"):
                _deliver_one(table, event, TODAY + timedelta(days=3))
        return put(parts)

    monkeypatch.setattr(table, "put_stock_in", a_copy_counts_it_first)
    # When the first delivery goes on (and the copy's message is deleted by it, never retried)
    _deliver_one(table, event, TODAY)
    # Then its put met the tombstone, and it wrote the part's SKU lines and sets itself
    assert not any(part.day_content for part in table.stock_in.values())
    assert _figures(table) == _figures(old)


def test_the_readers_look_for_a_days_lone_content_where_the_writer_may_put_it() -> None:
    # daily_sales reads a day's folded lone counters by key, from the DP# items of the claim
    # days within its reach: the writer must not put a store day's content further away
    day = date(2026, 12, 7)
    writer = stock_in.LONE_DAYS.days
    assert stock_in_items.claim_days_of(day) == [day + timedelta(days=n) for n in range(-writer, writer + 1)]
