"""The ``pairs`` job on the in-memory table, after the orders processor took the orders queue's
SQS events: the day and month folds hold the pandas oracle's pair counts, a second run folds
nothing, and a late order of a folded month is folded again, exactly."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from backend.adapters.batch import Parsed
from backend.domain.together import PairCounts, pairs
from backend.processing import orders, together
from tests import oracle
from tests.unit.processing.conftest import process
from tests.unit.processing.fakes import FakeAnalytics
from tests.unit.processing.sqs_events import BASKET_EVENTS, LATE_BASKET_EVENTS, load, packet_records

TODAY = date(2026, 4, 10)  # March is closed, April open
NOW = datetime(2026, 4, 10, 3, tzinfo=UTC)
ORDERS = frozenset({"order.placed", "order.refunded"})
FIGURES = ["a", "b", "orders", "support", "confidence_ab", "confidence_ba", "lift"]


def _deliver(table: FakeAnalytics, name: str) -> None:
    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        return orders.apply(table, lambda skus: None, zone=ZoneInfo("UTC"), items=items)

    assert process(load(name), ORDERS, apply) == {"batchItemFailures": []}


def _as_frame(counts: PairCounts) -> pd.DataFrame:
    return pd.DataFrame([p.to_json() for p in pairs(counts, min_orders=1, limit=100)], columns=FIGURES)


def _assert_oracles(counts: PairCounts, delivered: list[dict[str, Any]], start: date, end: date) -> None:
    expected = oracle.pairs(delivered, start, end, min_orders=1)
    assert len(expected) > 0
    pd.testing.assert_frame_equal(_as_frame(counts), expected[FIGURES], check_dtype=False)


def test_the_job_folds_the_oracles_pairs_once_and_again_after_a_late_order() -> None:
    # Given the orders of March and early April counted
    table = FakeAnalytics()
    _deliver(table, "baskets_sqs_event.json")
    # When the pairs job runs
    first = together.run(table, TODAY, now=NOW)
    # Then it folds every day of closed March and closes it, and April's days up to today
    assert first == {"days_folded": 31 + 10, "months": ["2026-03"], "months_current": 0}
    # And March's fold holds the oracle's pairs: mug+tee in 3 of its 6 orders, pen+pad in 2
    march_fold = table.month_folds["2026-03"][1]
    _assert_oracles(march_fold, BASKET_EVENTS, date(2026, 3, 1), date(2026, 3, 31))
    assert {(p.a, p.b): p.orders for p in pairs(march_fold, min_orders=2, limit=10)} == {
        ("MUG-1", "TEE-2"): 3,
        ("PAD-4", "PEN-3"): 2,
    }
    # And each April day's fold is that day's: 1 April holds one pen+pad order
    assert table.day_folds[date(2026, 4, 1)][1].orders == 1
    _assert_oracles(table.day_folds[date(2026, 4, 3)][1], BASKET_EVENTS, date(2026, 4, 3), date(2026, 4, 3))
    # When it runs again with nothing new
    again = together.run(table, TODAY, now=NOW)
    # Then nothing is folded: March is current, April's days still fold their basket items
    assert again == {"days_folded": 0, "months": [], "months_current": 1}
    # When a late order of 15 March is counted and the job runs
    _deliver(table, "late_basket_sqs_event.json")
    late = together.run(table, TODAY, now=NOW)
    # Then March alone is folded again (its days from their folds, 15 March from its baskets)
    assert late == {"days_folded": 31, "months": ["2026-03"], "months_current": 0}
    # And its fold counts the late order: pen+pad in 3 orders now, as the oracle says
    delivered = [*BASKET_EVENTS, *LATE_BASKET_EVENTS]
    _assert_oracles(table.month_folds["2026-03"][1], delivered, date(2026, 3, 1), date(2026, 3, 31))
    # And the range read over both months is the oracle's too
    _assert_oracles(table.range_pair_counts(date(2026, 3, 1), TODAY), delivered, date(2026, 3, 1), TODAY)


def _basket(order_id: str, at: str, *skus: str) -> dict[str, Any]:
    lines = [{"sku": sku, "quantity": 1, "unit_price": "10.00"} for sku in skus]
    data = {"order_id": order_id, "customer_id": f"c-{order_id}", "currency": "USD", "lines": lines}
    return {"event_id": f"ev-{order_id}", "type": "order.placed", "occurred_at": at, "data": data}


def _deliver_events(table: FakeAnalytics, name: str, events: list[dict[str, Any]]) -> None:
    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        return orders.apply(table, lambda skus: None, zone=ZoneInfo("UTC"), items=items)

    event = {"Records": packet_records(name, "storepulse-orders", events)}
    assert process(event, ORDERS, apply) == {"batchItemFailures": []}


def test_the_open_months_days_are_folded_by_their_basket_items_without_stamps() -> None:
    # Given orders of November 2026 counted while it was open (the writer's clock: 20 November)
    table = FakeAnalytics(clock=lambda: datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp())
    placed = [
        _basket("n1", "2026-11-02T10:00:00Z", "MUG-1", "TEE-2"),
        _basket("n2", "2026-11-02T11:00:00Z", "MUG-1", "TEE-2"),
        _basket("n3", "2026-11-19T09:00:00Z", "PEN-3", "PAD-4"),
    ]
    _deliver_events(table, "open", placed)
    assert table.month_stamps == {}
    # When the pairs job runs on 20 November
    today, now = date(2026, 11, 20), datetime(2026, 11, 20, 7, tzinfo=UTC)
    first = together.run(table, today, now=now)
    # Then November's days up to today are folded, without a stamp, and no month
    assert first == {"days_folded": 20, "months": [], "months_current": 0}
    assert table.day_folds[date(2026, 11, 2)][0] is None
    assert table.day_folds[date(2026, 11, 2)][1].orders == 2
    # When another order of 2 November is counted (still no stamp) and the job runs again
    late = [_basket("n4", "2026-11-02T18:00:00Z", "MUG-1", "PEN-3")]
    _deliver_events(table, "more", late)
    assert table.month_stamps == {}
    again = together.run(table, today, now=now + timedelta(hours=1))
    # Then only that day is folded again (its basket items changed), and it holds the oracle's
    assert again == {"days_folded": 1, "months": [], "months_current": 0}
    day = date(2026, 11, 2)
    _assert_oracles(table.day_folds[day][1], [*placed, *late], day, day)
    # When November has ended more than an hour ago by the job's clock (it has no stamp)
    closed = together.run(table, date(2026, 12, 1), now=datetime(2026, 12, 1, 1, 1, tzinfo=UTC))
    # Then it is swept once: its days sealed at stamp 0 and the month folded, the oracle's (and
    # 1 December, open now, gets its first fold)
    assert closed == {"days_folded": 30 + 1, "months": ["2026-11"], "months_current": 0}
    assert table.day_folds[day][0] == 0
    _assert_oracles(table.month_folds["2026-11"][1], [*placed, *late], date(2026, 11, 1), date(2026, 11, 30))
    # And a run a day later does not look at it again (swept, no stamp) and folds 2 December
    later = together.run(table, date(2026, 12, 2), now=datetime(2026, 12, 2, 7, tzinfo=UTC))
    assert later == {"days_folded": 1, "months": [], "months_current": 0}
    assert table.swept["pairs"] == "2026-11"
