"""Returns per channel on the in-memory table, with the orders queue's SQS event: each refund
attributed once to its order's channel, one that comes before its order included.

The orders processor itself (claims, the counting transaction) runs on moto in
tests/integration/test_channel_returns.py; here its steps around the returns are replayed in
the order it takes them (processing/orders.py): links of the batch's orders, refunds counted in
their parts, then attribution."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from backend.adapters.batch import Parsed
from backend.adapters.dynamo import packet_parts
from backend.domain.events import OrderPlaced, OrderRefunded
from backend.domain.sales import channel_counter
from backend.processing import returns
from tests import oracle
from tests.unit.processing.conftest import parsed
from tests.unit.processing.fakes import FakeAnalytics
from tests.unit.processing.sqs_events import LATE_ORDER_EVENTS, ORDER_EVENTS, load

UTC = ZoneInfo("UTC")
ORDERS = frozenset({"order.placed", "order.refunded"})


def _batch(table: FakeAnalytics, items: list[Parsed]) -> list[returns.Attribution]:
    """The returns' part of the orders processor on one packet (every event claimed by it)."""
    placed = {p.value.data.order_id: p.value.data for p in items if isinstance(p.value.data, OrderPlaced)}
    for order in placed.values():  # the claims put the links before counting
        table.given_order_link(order.order_id, order.channel, order.customer_id)
    links = {o: returns.link_attributes(order) for o, order in placed.items()}
    refunds = [p for p in items if isinstance(p.value.data, OrderRefunded)]
    known = {**returns.links_of(table, {p.value.data.order_id for p in refunds} - set(links)), **links}
    counted = returns.counted_refunds(table, UTC, [(p.value.event_id, p.value) for p in refunds], known)
    table.count_once([part for part, _ in packet_parts(items[0].packet_id, counted)])
    return returns.attribute_refunds(table, (p.value.data.order_id for p in refunds), links, known)


def _returns(table: FakeAnalytics, channel: str) -> Decimal:
    name = channel_counter("returns", channel)
    return sum((Decimal(counters.get(name, 0)) for counters in table.day_counters.values()), Decimal(0))


def test_a_refund_before_its_order_is_attributed_once_when_the_order_comes() -> None:
    # Given the orders queue's two packets: o1 (web) with its refund r1 and r2, a refund of o2;
    # then o2 (mobile) and o3
    table = FakeAnalytics()
    first, second = parsed(load("orders_sqs_event.json"), ORDERS)
    # When the first packet is processed
    found = _batch(table, first)
    # Then r1 (14.00) is on web on its own day, 4 March, and r2 waits: its order is unknown
    assert [(a.refund_id, a.channel, a.amount) for a in found] == [("r1", "web", Decimal("14.00"))]
    assert table.day_counters[date(2026, 3, 4)][channel_counter("returns", "web")] == Decimal("14.00")
    assert table.orphans == {"o2"}
    # When the second packet brings o2
    _batch(table, second)
    # Then r2 (20.00) is on mobile, on its own day (5 March), and nothing waits any more
    assert table.day_counters[date(2026, 3, 5)][channel_counter("returns", "mobile")] == Decimal("20.00")
    assert table.orphans == set()
    # And per channel the returns are the oracle's
    channels = oracle.channels([*ORDER_EVENTS, *LATE_ORDER_EVENTS], date(2026, 3, 1), date(2026, 3, 7))
    for channel in ("web", "mobile", "marketplace", "pos"):
        assert _returns(table, channel) == channels[channel]["returns"], channel
    # And each attributed refund is a fact of its order's customer, for the segments
    facts = [f for shard in range(8) for f in table.facts(shard)]
    assert sorted(f for f in facts if f.startswith('["r"')) == [
        '["r","r1","14.00","c1"]',
        '["r","r2","20.00","c2"]',
    ]


def test_the_packets_delivered_again_attribute_nothing_twice() -> None:
    # Given both packets processed
    table = FakeAnalytics()
    first, second = parsed(load("orders_sqs_event.json"), ORDERS)
    _batch(table, first)
    _batch(table, second)
    before = {day: dict(counters) for day, counters in table.day_counters.items()}
    # When both come again, in the other order (a redelivery after a crash)
    _batch(table, second)
    again = _batch(table, first)
    # Then every refund is found attributed, and no counter moved
    assert sorted(a.refund_id for a in again) == ["r1", "r2"]
    assert {day: dict(counters) for day, counters in table.day_counters.items()} == before
