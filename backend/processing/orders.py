"""The orders processor: sales rollups, distinct customers and stock, exactly once.

A batch is folded in memory and written in a few calls (docs/architecture.md, "Exactly once"):

1. **Claims.** Each ``order_id`` and ``refund_id`` is claimed store-wide, by a conditional put
   owned by the event's packet (:mod:`backend.adapters.claims`). An event whose id was counted
   from another event is a *conflict*, kept for ``storepulse dlq list`` and never counted; the
   same event from another packet is a duplicate, which that packet counts.
2. **Counting.** Each packet's claimed events are cut into parts that fit a transaction (the
   cut depends only on the events); each part is counted by one ``TransactWriteItems`` with
   its marker (``PACKET#<packet>``/``PART#<n>``, conditional on not existing), and the parts of
   the batch share transactions: the marker(s) and the merged ``ADD`` of every counter item
   touched (day sales, on hand), each item once. A part whose marker exists was counted before
   (a redelivery, or a concurrent copy): it is dropped and the rest retried. A *lone* part (a
   batch of one packet, only placed orders of days around its claim day:
   :func:`backend.processing.stock_in.lone_figures`) is not counted here: its stock-in item, put
   after the profiles' join, holds its day figures (docs/architecture.md, "Lone items").
3. **Idempotent writes, always repeated:** each part's sales per SKU and day (immutable items
   keyed by the part), the customers' profiles (a join, written only when it changes), refund
   attribution, the day customer sets, the customers' facts for the segments, the months'
   change stamps and stock alerts. A crash anywhere heals on the next delivery of the packet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from backend.adapters import claims as claim_store
from backend.adapters import customer_days
from backend.adapters.analytics import AnalyticsStore
from backend.adapters.batch import Parsed
from backend.adapters.claims import BusinessClaim, Outcome
from backend.adapters.dynamo import Counted, day_sku_items, days_of, packet_parts
from backend.domain.calendar import store_day
from backend.domain.events import Event, OrderPlaced, OrderRefunded
from backend.domain.rollups import month_of
from backend.domain.sales import Contributions
from backend.processing import profiles, returns, segments, stock_in, together
from backend.processing.inventory import EvaluateStock


def owner(item: Parsed) -> str:
    """The packet that owns what an event claims: its packet, or, for a message that is one
    event (before ingest packs events), the event itself. A message's id changes when it is
    replayed from its DLQ or published again; the event's id does not, so a replayed event
    is still its own packet and counts what it claimed before failing."""
    return item.packet_id or item.value.event_id


def business_claim(item: Parsed) -> BusinessClaim:
    """The store-wide claim an order or refund event makes, owned by its packet."""
    event: Event = item.value
    data = event.data
    if isinstance(data, OrderPlaced):
        return BusinessClaim(
            claim_store.order_claim_key(data.order_id),
            "order_id",
            data.order_id,
            event.event_id,
            owner(item),
            returns.link_attributes(data),
        )
    if isinstance(data, OrderRefunded):
        return BusinessClaim(
            claim_store.refund_claim_key(data.refund_id),
            "refund_id",
            data.refund_id,
            event.event_id,
            owner(item),
            {"order_id": data.order_id},
        )
    raise TypeError(f"the orders processor does not take {event.type}")


def _placed(event: Event, zone: ZoneInfo) -> profiles.PlacedOrder:
    data: OrderPlaced = event.data
    return profiles.PlacedOrder(data.customer_id, data.order_id, store_day(event.occurred_at, zone))


def apply(
    analytics: AnalyticsStore,
    evaluate_stock: EvaluateStock,
    *,
    zone: ZoneInfo,
    items: Sequence[Parsed],
    utc_today: Callable[[], date] = lambda: stock_in.utc_today(),
) -> dict[str, BaseException]:
    """Count a batch of orders and refunds once each, store-wide, then bring the returns per
    channel, the customer sets, the segments' facts and stock alerts up to date
    (``evaluate_stock`` raises the alerts of the SKUs the batch touched). ``utc_today``: the
    clock of the claims' day (:mod:`backend.processing.stock_in`)."""
    today = utc_today()
    # (one packet: an order alone, or one request's orders; its parts' stock may go into
    # stock-in items, backend.processing.stock_in)
    alone = len({owner(item) for item in items}) == 1
    business = [stock_in.dated(business_claim(item), today, alone=alone) for item in items]
    found = analytics.claim_business_ids(business)
    conflicts = claim_store.conflict_items(
        (claim, result.stored, item.value.to_json())
        for item, claim, result in zip(items, business, found, strict=True)
        if result.outcome is Outcome.CONFLICT
    )
    ours: dict[str, dict[str, Parsed]] = defaultdict(dict)  # packet -> event id -> item
    counted_events: dict[str, Event] = {}  # every event that counts (ours or duplicate), by id
    for item, result in zip(items, found, strict=True):
        if result.outcome is Outcome.CONFLICT:
            continue
        counted_events[item.value.event_id] = item.value
        if result.outcome is Outcome.OURS:
            ours[owner(item)][item.value.event_id] = item

    placed = {e.data.order_id: e for e in counted_events.values() if isinstance(e.data, OrderPlaced)}
    refunds = [e for e in counted_events.values() if isinstance(e.data, OrderRefunded)]
    placed_links = {order_id: returns.link_attributes(e.data) for order_id, e in placed.items()}
    unknown = {e.data.order_id for e in refunds} - set(placed_links)
    known = {**returns.links_of(analytics, unknown), **placed_links}

    cut: list[tuple[Counted, list[Event]]] = []  # each part and its events
    for packet, own in sorted(ours.items()):
        to_count: list[Counted] = []
        for event_id, item in own.items():
            event = item.value
            if isinstance(event.data, OrderPlaced):
                contributions = Contributions()
                contributions.add(event, zone)
                to_count.append(Counted(event_id, None, contributions))
        to_count += returns.counted_refunds(
            analytics,
            zone,
            [
                (event_id, item.value)
                for event_id, item in own.items()
                if isinstance(item.value.data, OrderRefunded)
            ],
            known,
        )
        cut += [(part, [own[e.ref].value for e in events]) for part, events in packet_parts(packet, to_count)]

    orders_of: dict[str, list[profiles.PlacedOrder]] = defaultdict(list)
    for event in placed.values():
        order = _placed(event, zone)
        orders_of[order.customer_id].append(order)
    # The orders' stock and facts into the parts' stock-in items (before counting: a part
    # found counted, by its marker, is left as an older release counted it). A lone part's
    # day figures are counted by its item alone (after the join, its members follow from it),
    # or, too late for one, by a transaction claimed by the item.
    claims = {item.value.event_id: result for item, result in zip(items, found, strict=True)}
    in_items = stock_in.put_stock_in(analytics, cut, claims, zone=zone, today=today)
    lone = {part.item.ref: part for part in in_items.lone}
    parts: list[Counted] = []
    sku_items: list[dict[str, Any]] = []
    held: dict[str, list[dict[str, Any]]] = {}  # lone parts' SKU items: unless their item holds them
    for part, events in cut:
        # Sales per SKU and the baskets are immutable items of the part, put after it is
        # counted.
        placed_here = [event for event in events if isinstance(event.data, OrderPlaced)]
        of_part = day_sku_items(part.ref, part.contributions, together.basket_members(placed_here, zone))
        part.contributions.day_units.clear()
        part.contributions.day_revenue.clear()
        if part.ref not in lone:
            sku_items += of_part
            parts.append(part)
            continue
        held[part.ref] = of_part
        late = lone[part.ref].late
        if late is not None:
            parts.append(late)
    analytics.count_parts(parts)
    customers = profiles.Profiles(analytics, orders_of)
    customers.join()
    memberships = customers.memberships()
    settled = stock_in.put_lone(analytics, in_items.lone, memberships, zone)
    # (a lone part whose item turns out to hold no day content: counted like the others)
    not_yet = [lone[ref].marked for ref, how in settled.items() if how is stock_in.Settled.NOT_YET]
    if not_yet:
        analytics.count_parts(not_yet)
    sku_items += [
        item for ref, how in settled.items() if how is not stock_in.Settled.IN_ITEM for item in held[ref]
    ]
    in_lone = {
        event.data.order_id
        for ref, how in settled.items()
        if how is stock_in.Settled.IN_ITEM
        for event in lone[ref].placed
    }

    returns.attribute_refunds(analytics, (e.data.order_id for e in refunds), placed_links, known)
    # (the memberships of a lone order's customer and day are in its part's item)
    elsewhere = {
        (o.customer_id, o.day) for orders in orders_of.values() for o in orders if o.order_id not in in_lone
    }
    per_day = customer_days.group(
        {c: {d: sets for d, sets in days.items() if (c, d) in elsewhere} for c, days in memberships.items()}
    )
    # The idempotent facts of the batch, in as few calls as they fit: conflicts, sales per SKU
    # with the orders' baskets (products bought together), customer sets, the segments' facts.
    facts = segments.fact_items(
        segments.order_fact(
            e.data.customer_id,
            e.data.order_id,
            store_day(e.occurred_at, zone),
            e.data.gross_sales - e.data.discount,
        )
        for e in placed.values()
        if e.data.order_id not in in_items.order_ids
    )
    immutable = [*conflicts, *sku_items, *customer_days.membership_items(per_day), *facts]
    analytics.put_immutable(immutable)
    analytics.name_day_items(immutable)
    touched_days: set[date] = set(per_day)
    touched_skus: set[str] = set()
    for event in counted_events.values():
        contributions = Contributions()
        contributions.add(event, zone)
        touched_days |= days_of(contributions)
        touched_skus |= set(contributions.stock)
    # After every write to the batch's days, whether this delivery counted its events or found
    # them counted before (a crash may have come between those writes and this bump).
    analytics.stamp_months(month_of(d) for d in touched_days)
    evaluate_stock(touched_skus)
    return {}
