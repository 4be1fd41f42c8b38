"""Returns per channel: each refund attributed once to the channel of its order.

How, and why it holds under concurrency and crashes: docs/architecture.md, "Returns per
channel"; the rules are :mod:`backend.domain.returns`, the items are read and written through
:mod:`backend.adapters.analytics`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from backend.adapters.analytics import AnalyticsStore, Claim, Counted, Note, order_refunds_key
from backend.domain.calendar import store_day
from backend.domain.events import Event, OrderPlaced, OrderRefunded
from backend.domain.returns import ATTRIBUTED_PREFIX, REFUND_PREFIX, Attribution, attributions
from backend.domain.returns import refund_note as refund_note_value
from backend.domain.sales import Contributions, channel_counter
from backend.processing.segments import refund_fact

#: An order's link as the refunds read it: ``{"channel", "customer_id"}``.
Link = Mapping[str, Any]


def link_attributes(order: OrderPlaced) -> dict[str, Any]:
    """What an order's link item holds beside its claim (immutable)."""
    return {"channel": order.channel, "customer_id": order.customer_id}


def refund_note(event: Event, zone: ZoneInfo) -> Note:
    """A refund's note on its order's ``REFUNDS`` item, set if absent in its counting
    transaction (what finds its channel once the order's link is known)."""
    data: OrderRefunded = event.data
    note = refund_note_value(data.amount, store_day(event.occurred_at, zone))
    return Note(order_refunds_key(data.order_id), REFUND_PREFIX + data.refund_id, note)


def links_of(analytics: AnalyticsStore, order_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The links of these orders that exist (strongly consistent), by order id."""
    return {
        order_id: {"channel": link.channel, "customer_id": link.customer_id}
        for order_id, link in analytics.order_links(order_ids).items()
    }


def _attribution(event: Event, zone: ZoneInfo, link: Link) -> Attribution:
    data: OrderRefunded = event.data
    return Attribution(
        order_id=data.order_id,
        refund_id=data.refund_id,
        channel=str(link["channel"]),
        customer_id=str(link.get("customer_id", "")),
        day=store_day(event.occurred_at, zone),
        amount=data.amount,
    )


def counted_refunds(
    analytics: AnalyticsStore,
    zone: ZoneInfo,
    refunds: Iterable[tuple[str, Event]],
    links: Mapping[str, Link],
) -> list[Counted]:
    """What each refund to count (``(ref, event)`` pairs) adds and notes, attributed in its own
    counting transaction when its order's link is in ``links``. Their facts for the segments
    are written first (idempotent)."""
    out = []
    found = []
    for ref, event in refunds:
        contributions = Contributions()
        contributions.add(event, zone)
        notes = [refund_note(event, zone)]
        link = links.get(event.data.order_id)
        if link is not None:
            attribution = _attribution(event, zone, link)
            found.append(attribution)
            channel = attribution.channel
            contributions.day_sales[attribution.day][channel_counter("returns", channel)] += (
                attribution.amount
            )
            notes.append(
                Note(
                    order_refunds_key(attribution.order_id),
                    ATTRIBUTED_PREFIX + attribution.refund_id,
                    channel,
                )
            )
        out.append(Counted(ref, None, contributions, tuple(notes)))
    _record_refund_facts(analytics, found)
    return out


def _counted(found: Attribution) -> Counted:
    contributions = Contributions()
    contributions.day_sales[found.day][channel_counter("returns", found.channel)] += found.amount
    claim = Claim(order_refunds_key(found.order_id), ATTRIBUTED_PREFIX + found.refund_id, found.channel)
    return Counted(f"attribution:{found.refund_id}", claim, contributions)


def _record_refund_facts(analytics: AnalyticsStore, found: Iterable[Attribution]) -> None:
    """The refunds as facts of their customers (idempotent, outside any transaction)."""
    analytics.record_facts(refund_fact(a.customer_id, a.refund_id, a.amount) for a in found if a.customer_id)


def attribute_refunds(
    analytics: AnalyticsStore,
    refunded_orders: Iterable[str],
    placed: Mapping[str, Link],
    links: Mapping[str, Link] | None = None,
) -> list[Attribution]:
    """Attribute every refund of these orders whose order is known and that is not attributed
    yet (the orders' links and the refunds' notes must be written already).

    ``refunded`` are the orders of the batch's counted refunds, ``placed`` the links of its
    counted orders (by order id), ``links`` link items already read: links never change, so
    they are not read again. A refund whose order's link is not known is an *orphan*: its order
    is noted in the orphans' item before its link is read again, and an order's refund notes
    are read only when the order is noted there (not for every order: a refund before its order
    is rare). Of a refund and its order processed at once, the refund notes its order before
    reading the link, the order writes its link before reading the notes, so at least the later
    reader sees both.

    Returns every refund of these orders that is attributed (now or before).
    """
    known: dict[str, Link] = {**(links or {}), **placed}
    refunded = dict.fromkeys(refunded_orders)
    orphans = [o for o in refunded if o not in known]
    if orphans:
        analytics.note_orphans(orphans)
    if not refunded and not placed:
        return []
    noted = analytics.noted_orphans() & {*placed, *refunded}
    order_ids = [*refunded, *(o for o in placed if o in noted and o not in refunded)]
    notes = analytics.refund_notes(order_ids)
    found_links = links_of(analytics, [o for o in order_ids if o not in known])
    if found_links:
        # Read those orders' notes again, now that their links are known to exist: the notes
        # read beside the links may miss one written meanwhile, whose refund may have missed
        # the link.
        known.update(found_links)
        notes.update(analytics.refund_notes(found_links))
    found: list[Attribution] = []
    todo: list[Attribution] = []
    for order_id in order_ids:
        refunds = notes.get(order_id)
        link = known.get(order_id)
        if not refunds or not link:
            continue
        merged: Mapping[str, Any] = {
            **refunds,
            "channel": link["channel"],
            "customer_id": link["customer_id"],
        }
        for attribution in attributions(order_id, merged):
            found.append(attribution)
            if ATTRIBUTED_PREFIX + attribution.refund_id not in refunds:
                todo.append(attribution)
    if todo:
        _record_refund_facts(analytics, todo)
        analytics.count_once([_counted(a) for a in todo])
    # An order whose link was known before its notes were read needs no note any more: a
    # refund whose note that read missed noted its order later and reads the link itself.
    settled = {o for o in noted if o in known}
    if settled:
        analytics.settle_orphans(settled)
    return found
