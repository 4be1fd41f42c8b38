"""A packet is cut into the same parts on every delivery.

Each part of a packet is counted by a transaction guarded by its marker
(``PACKET#<packet>``/``PART#<n>``): a part whose marker exists was counted whole before, and is
dropped. That only holds if a packet delivered again is cut where it was cut the first time. Two
things could move a cut:

- what a delivery reads: a refund whose order is unknown on the first delivery and known on the
  next adds its channel's counter to its day's item (``returns@<channel>``). The cut counts items
  and terms per item, and channels are a closed set, so that term never moves a cut (tested
  below at the size where a cut falls);
- a release that changes which items counting touches (a counter moved to another item, an item
  added to the transaction): packets in flight at the deploy would be cut anew. The second test
  spells out the items this release touches and fails on such a change, so that it is made on
  purpose (docs/architecture.md, "Exactly once": drain the orders queue before such a deploy).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from backend.adapters.analytics import order_refunds_key
from backend.adapters.dynamo import PART_ITEMS, Counted, day_pk, packet_parts
from backend.domain.calendar import store_day
from backend.domain.events import Event, parse_event
from backend.domain.sales import Contributions
from backend.domain.stock import on_hand_key
from backend.processing import returns
from tests.unit.processing.fakes import FakeAnalytics

ZONE = ZoneInfo("America/New_York")
START = datetime(2025, 1, 1, 15, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _event(raw: dict) -> Event:
    return parse_event(raw, currency="USD", now=NOW)


def _order(n: int) -> Event:
    """Order ``n``, on day ``n`` (a day's sales item each), one line of one of 7 SKUs."""
    return _event(
        {
            "event_id": f"o-event-{n:03d}",
            "type": "order.placed",
            "occurred_at": (START + timedelta(days=n)).isoformat(),
            "data": {
                "order_id": f"o{n:03d}",
                "customer_id": f"c{n % 11}",
                "lines": [{"sku": f"SKU-{n % 7}", "quantity": 1 + n % 3, "unit_price": "12.50"}],
                "currency": "USD",
                "channel": ["web", "mobile", "pos"][n % 3],
            },
        }
    )


def _refund(n: int) -> Event:
    """A refund of order ``n - 200`` (not in the packet), on day ``n``."""
    return _event(
        {
            "event_id": f"r-event-{n:03d}",
            "type": "order.refunded",
            "occurred_at": (START + timedelta(days=n % 150)).isoformat(),
            "data": {
                "order_id": f"earlier-{n}",
                "refund_id": f"r{n:03d}",
                "amount": "3.25",
                "currency": "USD",
            },
        }
    )


def _counted(events: list[Event], known: bool) -> list[Counted]:
    """The packet's events as the orders processor hands them to the cut, its refunds' orders
    known (each with a channel) or not."""
    counted = []
    for event in events:
        if event.type == "order.placed":
            contributions = Contributions()
            contributions.add(event, ZONE)
            counted.append(Counted(event.event_id, None, contributions))
    refunds = [(e.event_id, e) for e in events if e.type == "order.refunded"]
    links = (
        {
            e.data.order_id: {"channel": ["web", "mobile", "pos"][i % 3], "customer_id": "c1"}
            for i, (_, e) in enumerate(refunds)
        }
        if known
        else {}
    )
    return counted + returns.counted_refunds(FakeAnalytics(), ZONE, refunds, links)


def _cut(events: list[Event], known: bool) -> list[list[str]]:
    return [[e.ref for e in chunk] for _, chunk in packet_parts("p1", _counted(events, known))]


def test_a_packet_is_cut_the_same_whether_its_refunds_orders_are_known_or_not() -> None:
    # Given a packet of 150 orders on 150 days and 50 refunds of orders from other packets: more
    # items than one part may touch
    events = [_order(n) for n in range(150)] + [_refund(n) for n in range(200, 250)]
    # When it is cut with the refunds' orders unknown (a first delivery), then known (a later one)
    unknown, known = _cut(events, known=False), _cut(events, known=True)
    # Then the parts are the same, and there is more than one
    assert len(unknown) > 1
    assert known == unknown
    # And the known refunds did add their channels' counters (what could have moved the cut)
    refund = _counted(events, known=True)[-1]
    assert any("@" in name for counters in refund.contributions.day_sales.values() for name in counters)
    assert refund.contributions.day_sales != _counted(events, known=False)[-1].contributions.day_sales


def _touches(event: Event) -> set[tuple[str, str]]:
    """The items counting this event touches, as this release lays them out: its store day's
    sales item, the on-hand inbox item of each SKU it moves, and a refund's note on its order's
    ``REFUNDS`` item."""
    touched = {(day_pk(store_day(event.occurred_at, ZONE)), "SALES")}
    if event.type == "order.placed":
        touched |= {on_hand_key(line.sku) for line in event.data.lines}
    else:
        touched.add(order_refunds_key(event.data.order_id))
    return touched


def test_the_cut_follows_the_items_this_release_touches() -> None:
    # Given the same packet, and where the cut should fall by the items each event touches as
    # spelled out above: a part ends before an event that would take it past PART_ITEMS items
    events = [_order(n) for n in range(150)] + [_refund(n) for n in range(200, 250)]
    expected: list[int] = [0]
    items: set[tuple[str, str]] = set()
    for event in sorted(events, key=lambda e: e.event_id):
        if expected[-1] and len(items | _touches(event)) > PART_ITEMS:
            expected.append(0)
            items = set()
        expected[-1] += 1
        items |= _touches(event)
    # When it is cut
    parts = packet_parts("p1", _counted(events, known=False))
    # Then it falls there (a change of layout that moves it moves the cut of packets in flight at
    # a deploy: see the module's docstring), each part counts its events and their money
    assert [len(chunk) for _, chunk in parts] == expected
    # (86 orders' days and the 4 on-hand inbox items fill the first part)
    assert expected == [86, 75, 39]
    assert [part.ref for part, _ in parts] == ["p1#0", "p1#1", "p1#2"]
    assert [part.claim.value for part, _ in parts if part.claim is not None] == expected
    refunded = sum(
        (c.get("returns", Decimal(0)) for part, _ in parts for c in part.contributions.day_sales.values()),
        Decimal(0),
    )
    assert refunded == Decimal("3.25") * 50
