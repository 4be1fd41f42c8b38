"""The segments job on the in-memory table: the customers' facts, as the orders processor keeps
them for the orders of the SQS event, scored into the oracle's segments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from backend.domain.calendar import store_day
from backend.domain.events import OrderPlaced
from backend.processing import segments
from tests import oracle
from tests.unit.processing.conftest import parsed
from tests.unit.processing.fakes import FakeAnalytics
from tests.unit.processing.sqs_events import LATE_ORDER_EVENTS, ORDER_EVENTS, load

AS_OF = date(2026, 3, 7)
NOW = datetime(2026, 3, 8, 2, 30, tzinfo=UTC)


def test_the_snapshot_is_the_oracles_segments_once_per_order_and_refund() -> None:
    # Given the facts of the SQS event's orders, each kept twice (a redelivered batch), and
    # the facts of its refunds, as attribution keeps them
    table = FakeAnalytics()
    records = parsed(load("orders_sqs_event.json"), frozenset({"order.placed", "order.refunded"}))
    orders = [p.value for packet in records for p in packet if isinstance(p.value.data, OrderPlaced)]
    facts = [
        segments.order_fact(
            e.data.customer_id,
            e.data.order_id,
            store_day(e.occurred_at, ZoneInfo("UTC")),
            e.data.gross_sales - e.data.discount,
        )
        for e in orders
    ]
    segments.record_facts(table, facts)
    segments.record_facts(table, facts)
    refunds = [
        segments.refund_fact("c1", "r1", Decimal("14.00")),
        segments.refund_fact("c2", "r2", Decimal("20.00")),
    ]
    segments.record_facts(table, refunds)
    # When the job runs as of 7 March
    result = segments.run(table, AS_OF, now=NOW)
    # Then it scored the two customers with orders (c1: o1 45.00 + o3 14.00 - 14.00; c2: o2
    # 40.00 - 20.00), not the registered one without
    assert result == {"as_of": "2026-03-07", "customers": 2}
    snapshot = table.segments_snapshot()
    assert snapshot is not None
    assert (snapshot["as_of"], snapshot["computed_at"]) == ("2026-03-07", NOW.isoformat())
    # And every segment's customers and share of revenue are the oracle's
    expected = oracle.segments([*ORDER_EVENTS, *LATE_ORDER_EVENTS], AS_OF)
    assert [(r["segment"], r["customers"], r["share_of_revenue"]) for r in snapshot["segments"]] == [
        (r["segment"], r["customers"], r["share_of_revenue"]) for r in expected
    ]
    # And the shares are c1's 45.00 and c2's 20.00 of 65.00
    shares = sorted(r["share_of_revenue"] for r in snapshot["segments"] if r["customers"])
    assert sum(shares) == Decimal("1.0000")
    assert Decimal("45.00") / Decimal("65.00") - max(shares) < Decimal("0.0001")
    # And the job read each of the 8 shards once
    assert table.calls["facts"] == 8
