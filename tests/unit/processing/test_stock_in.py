"""Stock-in items on the in-memory table: which parts take an item, which the transaction, and
how a packet counted by an older release (``PART#`` marker, stock in the transaction) or claimed
by one (no claim day) still counts its stock once. (On DynamoDB, the fold and its crashes:
tests/integration/test_stock_in.py.)"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.adapters.analytics import facts_of
from backend.adapters.batch import Parsed
from backend.processing import orders, stock_in
from tests import oracle
from tests.unit.processing.conftest import process
from tests.unit.processing.fakes import FakeAnalytics
from tests.unit.processing.sqs_events import LATE_ORDER_EVENTS, ORDER_EVENTS, load

UTC = ZoneInfo("UTC")
ORDERS = frozenset({"order.placed", "order.refunded"})
TODAY = date(2026, 3, 6)


def _deliver(table: FakeAnalytics, event: dict[str, Any], today: date = TODAY, *, alone: bool = True) -> None:
    """The event's packets to the orders processor, each in a batch of its own (``alone``: as
    an order sent alone arrives, so its stock goes into an item), or all in one batch."""

    def evaluate_stock(skus: Iterable[str]) -> None:
        pass

    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        return orders.apply(table, evaluate_stock, zone=UTC, items=items, utc_today=lambda: today)

    batches = [{**event, "Records": [record]} for record in event["Records"]] if alone else [event]
    for batch in batches:
        assert process(batch, ORDERS, apply) == {"batchItemFailures": []}


EVENTS = [*ORDER_EVENTS, *LATE_ORDER_EVENTS]  # those of orders_sqs_event.json


def _on_hand(table: FakeAnalytics) -> dict[str, int]:
    return {sku: n for sku, n in table.on_hand_of(set(oracle.on_hand(EVENTS))).items() if n}


def _expected() -> dict[str, int]:
    return {sku: n for sku, n in oracle.on_hand(EVENTS).items() if n}


def test_orders_put_items_then_the_fold_moves_them_once() -> None:
    # Given a store folded through 3 days ago
    table = FakeAnalytics()
    stock_in.fold(table, TODAY)
    # When the orders queue's event comes
    event = load("orders_sqs_event.json")
    _deliver(table, event)
    # Then the orders' facts are in the items, not in FACTS# items (which keep the refunds')
    kept = [f for k, item in table.immutable.items() if k[0].startswith("FACTS#") for f in facts_of(item)]
    assert table.unfolded_facts() and not [f for f in kept if f.startswith('["o"')]
    # When it comes again
    _deliver(table, event)
    # Then the orders' stock is in items (the transaction counts only a refund's restock), exact
    assert table.stock_in and all(n > 0 for n in table.on_hand.values())
    assert {p.day for p in table.stock_in.values()} == {TODAY}
    assert _on_hand(table) == _expected()
    # When the fold runs 3 days later, and the event comes again
    stock_in.fold(table, TODAY + timedelta(days=3))
    _deliver(table, event, TODAY + timedelta(days=3))
    # Then on hand is still exact, now in the inbox, and the facts are in FACTS# items
    assert table.stock_in_through == TODAY
    assert table.unfolded_facts() == []
    assert _on_hand(table) == _expected() == {s: n for s, n in table.on_hand.items() if n}
    recorded = {f for shard in table.fact_shards.values() for f in shard}
    assert recorded >= {f for p in table.stock_in.values() for f in p.order_facts} != set()


@pytest.mark.parametrize(
    ("watermark", "today"),
    [
        (None, TODAY),  # never folded
        (TODAY, TODAY),  # the claim day is folded
        (TODAY - timedelta(days=8), TODAY),  # the fold stopped: the day is past the window
    ],
    ids=["no-watermark", "folded-day", "past-the-window"],
)
def test_parts_the_items_cannot_take_are_counted_in_a_transaction(
    watermark: date | None, today: date
) -> None:
    table = FakeAnalytics()
    table.stock_in_through = watermark
    event = load("orders_sqs_event.json")
    _deliver(table, event, today)
    _deliver(table, event, today + timedelta(days=1))
    # Then no item holds deltas, each part left a tombstone, and on hand is exact
    assert not table.stock_in
    assert table.calls["count_late_stock_in"] >= 1
    assert _on_hand(table) == _expected()


def test_a_packet_counted_by_an_older_release_is_left_as_it_was_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the event counted by a release without stock-in items (stock in the transaction)
    table = FakeAnalytics()
    event = load("orders_sqs_event.json")
    with monkeypatch.context() as old:
        old.setattr(stock_in, "put_stock_in", lambda *args, **kwargs: stock_in.Taken())
        old.setattr(stock_in, "dated", lambda claim, today, alone: claim)
        # (with the parts' day items, such a packet is the one found with PART# markers)
        old.setattr(table, "counted_by_old_release", lambda parts: set(parts), raising=False)
        _deliver(table, event)
    assert _on_hand(table) == _expected()
    # When it is delivered again to this release, with items open
    stock_in.fold(table, TODAY)
    _deliver(table, event)
    # Then its parts' markers say it was counted: no item, on hand counted once
    assert not table.stock_in
    assert _on_hand(table) == _expected()


def _crash(*args: Any) -> None:
    raise RuntimeError("crash")


def test_orders_claimed_by_an_older_release_count_once_on_any_day(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the event's claims made by a release that kept no claim day, and not counted
    table = FakeAnalytics()
    event = load("orders_sqs_event.json")
    with monkeypatch.context() as old:
        old.setattr(stock_in, "dated", lambda claim, today, alone: claim)
        old.setattr(FakeAnalytics, "count_parts", _crash)
        with pytest.raises(AssertionError, match="crash"):
            _deliver(table, event, alone=False)
    # When this release delivers it on two days, items open
    stock_in.fold(table, TODAY)
    _deliver(table, event)
    _deliver(table, event, TODAY + timedelta(days=1))
    # Then its stock was counted once, by the counting transaction (its claims do not say
    # their batch had one packet): no item, no tombstone
    assert not table.stock_in
    assert not [item for item, attrs in table.attributes.items() if "part" in attrs]
    assert _on_hand(table) == _expected()


@pytest.mark.parametrize("first_alone", [True, False], ids=["alone-first", "together-first"])
def test_a_packet_takes_the_path_of_the_batch_that_claimed_it_on_every_delivery(first_alone: bool) -> None:
    # Given a store folded through 3 days ago
    table = FakeAnalytics()
    stock_in.fold(table, TODAY)
    event = load("orders_sqs_event.json")
    # When its two packets come each alone then together, or together then each alone
    _deliver(table, event, alone=first_alone)
    _deliver(table, event, alone=not first_alone)
    _deliver(table, event, TODAY + timedelta(days=1), alone=first_alone)
    # Then packets claimed alone put their stock into items, packets claimed together count it
    # in their transaction (no item), and on hand is counted once
    assert bool(table.stock_in) is first_alone
    assert _on_hand(table) == _expected()
