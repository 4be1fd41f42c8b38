"""A packet part's stock and facts without a transaction, and the ``stock-fold`` job.

The orders processor hands :func:`put_stock_in` the parts it counts, with their placed orders:
each part's orders' stock deltas leave its counting transaction and go, with the orders' facts
for the segments, into the part's stock-in item (one conditional put); a part too late for one
is counted in a transaction guarded by the same key. A lone part's item also holds its orders'
day figures (:func:`put_lone`, after the profiles' join). :func:`fold` (the daily ``stock-fold``
job) moves each closed day's items into the on-hand inbox and the ``FACTS#`` items, once. Why
this is exactly once: docs/architecture.md, "Stock-in items"; the items:
:mod:`backend.adapters.stock_in`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from tqdm import tqdm

from backend.adapters.analytics import (
    DAY_CONTENT,
    DAY_CONTENT_MAX_BYTES,
    DELTAS,
    UNDATED,
    AnalyticsStore,
    BusinessClaim,
    Counted,
    DayContent,
    Found,
    StockIn,
    closed_through,
    counted_by_item,
    encode_day_content,
    item_holds,
    stock_in_clock,
    takes_items,
)
from backend.domain.calendar import store_day
from backend.domain.customers import SETS
from backend.domain.events import Event, OrderPlaced
from backend.domain.sales import Contributions
from backend.processing import segments, together

#: What an order claim stores of the delivery that made it: its UTC day, and whether its batch
#: carried a single packet (an order alone, or one request's orders).
CLAIM_DAY = "day"
ALONE = "one"


def utc_today() -> date:
    """The writer's UTC day (the clock of :func:`backend.adapters.stock_in.utc_now`, which
    tests replace)."""
    return stock_in_clock().date()


def dated(claim: BusinessClaim, today: date, *, alone: bool) -> BusinessClaim:
    """The claim, with the writer's UTC day and whether the batch carries a single packet
    (kept by the claim as it is first made)."""
    return replace(claim, attributes={**claim.attributes, CLAIM_DAY: today.isoformat(), ALONE: alone})


def claim_day(stored: Mapping[str, Any]) -> date | None:
    """The day a stored claim was first made (``None`` for a claim of an older release)."""
    day = stored.get(CLAIM_DAY)
    return None if day is None else date.fromisoformat(str(day))


def takes_an_item(claims: Iterable[Found]) -> bool:
    """Whether a part whose placed orders' claims are these puts its stock in a stock-in item:
    every claim was made by a batch of a single packet. Else its stock stays in its counting
    transaction (the inbox ``ADD`` that a batch of many packets shares), guarded by its marker
    as before. The claims are stored before any delivery counts the part and never change, so
    every delivery chooses the same way, and a part never has both."""
    return all(found.stored.get(ALONE) is True for found in claims)


#: Whether a lone part (:func:`lone_figures`) carries its placed orders' day figures in its item
#: instead of the counting transaction and the ``SKUP#``/``CB#`` items (every reader of a day's
#: figures adds the items' day content: docs/architecture.md, "Lone items"); off, the release
#: before lone items (a test replays what it left).
LONE_ITEMS = True
#: How far from its claim day a lone part's orders' store days may be (a day either side: the
#: readers look for day content only in the claim days around a store day).
LONE_DAYS = timedelta(days=1)


class Settled(Enum):
    """How a lone part was counted, as its item tells after its put (:func:`put_lone`)."""

    #: Its item holds its day content: nothing else to write.
    IN_ITEM = "in item"
    #: By a transaction claimed by its item (a tombstone): its SKU items and sets to put.
    BY_TRANSACTION = "by transaction"
    #: Not yet: its item was put by a release before lone items (deltas, no day content), so it
    #: is counted as that release counted it (:attr:`Lone.marked`), with its SKU items and sets.
    NOT_YET = "not yet"


@dataclass(frozen=True)
class Lone:
    """A lone part (:func:`lone_figures`). Its day figures are counted once, by whichever of two
    writes its stock-in item's key lets through: the item with its day content (:func:`put_lone`,
    after the profiles' join), or, when its claim day is closed for items, a transaction claimed
    by the item (:attr:`late`, a tombstone). What else it writes follows from the item."""

    item: StockIn
    placed: tuple[Event, ...]
    #: Its orders' day figures, as :func:`lone_figures` measured them; its item's day content
    #: with the sets as joined.
    figures: DayFigures
    #: The part counted by a transaction claimed by its item (all its counters, stock included):
    #: its claim day is closed for items. ``None``: the item takes its day content.
    late: Counted | None
    #: The part as a release before lone items counted it (its marker; stock in its item).
    marked: Counted


@dataclass
class Taken:
    """What :func:`put_stock_in` took out of the parts' counting: the order ids whose facts are
    in stock-in items, and the lone parts (counted by their items: :class:`Lone`)."""

    order_ids: set[str] = field(default_factory=set)
    lone: list[Lone] = field(default_factory=list)


@dataclass(frozen=True)
class DayFigures:
    """What a part's placed orders add to their store days, but for the customer-set members:
    the days' content without members, and each day's customers (the members follow from the
    sets each is in: :meth:`content`). Built once per lone part: to measure it with every
    customer in every set (:func:`lone_figures`), then with the sets as joined (:func:`put_lone`)."""

    days: dict[date, DayContent]
    customers: dict[date, set[str]]

    def content(self, sets_of: Callable[[str, date], Iterable[str]]) -> dict[date, DayContent]:
        """The day content, with the set memberships ``sets_of(customer, day)``."""
        return {
            day: replace(
                found,
                members=sorted(
                    {
                        f"{name}:{customer}"
                        for customer in self.customers.get(day, ())
                        for name in sets_of(customer, day)
                    }
                ),
            )
            for day, found in self.days.items()
        }


def day_figures(placed: Iterable[Event], zone: ZoneInfo) -> DayFigures:
    """What these placed orders add to their store days: the sales counters, the SKU lines, the
    baskets, and the customers of each day (:class:`DayFigures`).

    >>> from backend.domain.events import parse_event
    >>> order = parse_event({"event_id": "e1", "type": "order.placed",
    ...     "occurred_at": "2026-12-07T12:00:00Z", "data": {"order_id": "o1", "customer_id": "c1",
    ...     "currency": "USD", "lines": [{"sku": "MUG", "quantity": 2, "unit_price": "9.99"}]}},
    ...     currency="USD", inbound=False)
    >>> found = day_figures([order], ZoneInfo("UTC")).content(lambda customer, day: {"C"})
    >>> [(d.day, c.sales["orders"], c.lines, c.members) for d, c in found.items()]
    [(7, Decimal('1'), [('MUG', 2, Decimal('19.98'))], ['C:c1'])]
    """
    events = list(placed)
    sales = Contributions()
    customers: dict[date, set[str]] = defaultdict(set)
    for event in events:
        sales.add(event, zone)
        customers[store_day(event.occurred_at, zone)].add(event.data.customer_id)
    baskets = together.basket_members(events, zone)
    days = {}
    for day in sorted(set(sales.day_sales) | set(sales.day_units) | set(baskets) | set(customers)):
        units = sales.day_units.get(day, {})
        revenue = sales.day_revenue.get(day, {})
        days[day] = DayContent(
            {name: amount for name, amount in sorted(sales.day_sales.get(day, {}).items()) if amount},
            [
                (sku, int(units.get(sku, 0)), revenue.get(sku, Decimal(0)))
                for sku in sorted(set(units) | set(revenue))
            ],
            sorted(set(baskets.get(day, []))),
        )
    return DayFigures(days, dict(customers))


def lone_figures(events: Sequence[Event], day: date, zone: ZoneInfo) -> DayFigures | None:
    """The day figures of a part whose item goes to the open claim day ``day`` when the part is
    *lone*, else ``None``: its events are all placed orders of store days within
    :data:`LONE_DAYS` of ``day``, and their day content (with every customer in every set: the
    most it can hold) packs into :data:`~backend.adapters.stock_in.DAY_CONTENT_MAX_BYTES`. It
    depends only on the part's events and its claims' day, so every delivery decides the same
    way."""
    if not events or not all(isinstance(event.data, OrderPlaced) for event in events):
        return None
    if any(abs(store_day(event.occurred_at, zone) - day) > LONE_DAYS for event in events):
        return None
    figures = day_figures(events, zone)
    most = figures.content(lambda customer, store: SETS)
    return figures if len(encode_day_content(most)) <= DAY_CONTENT_MAX_BYTES else None


def put_lone(
    analytics: AnalyticsStore,
    lone: Sequence[Lone],
    memberships: Mapping[str, Mapping[date, set[str]]],
    zone: ZoneInfo,
) -> dict[str, Settled]:
    """Put the lone parts' items with their day content (those not counted late), the set
    memberships as the profiles were joined (:meth:`backend.processing.profiles.Profiles.
    memberships`): a conditional put, so a redelivery (the item, or its tombstone, exists)
    writes nothing. Returns how each part was counted, by part ref: a part whose put went
    through by its item; the others' items tell (one strongly consistent read).
    """
    puts = [part for part in lone if part.late is None]
    new: set[str] = set()
    if puts:
        new = analytics.put_stock_in(
            [
                replace(part.item, day_content=part.figures.content(lambda c, d: memberships[c][d]))
                for part in puts
            ]
        )
    # A put that went through is the part's count. One that failed met the item of another
    # delivery, or the tombstone of a copy that counted the part by a transaction (its clock
    # had closed the day), even on a first delivery: the item tells which.
    settled = {ref: Settled.IN_ITEM for ref in new}
    unsure = [part for part in lone if part.item.ref not in settled]
    if unsure:
        holds = [item_holds(part.item, attribute) for part in unsure for attribute in (DAY_CONTENT, DELTAS)]
        found, _ = analytics.stock_in_state(holds)
        for part in unsure:
            if item_holds(part.item, DAY_CONTENT) in found:
                settled[part.item.ref] = Settled.IN_ITEM
            elif item_holds(part.item, DELTAS) in found:
                settled[part.item.ref] = Settled.NOT_YET
            else:
                settled[part.item.ref] = Settled.BY_TRANSACTION
    return settled


def put_stock_in(
    analytics: AnalyticsStore,
    parts: Sequence[tuple[Counted, Sequence[Event]]],
    claims: Mapping[str, Found],
    *,
    zone: ZoneInfo,
    today: date,
    guard: bool = True,
) -> Taken:
    """Take the placed orders' stock out of these parts' counting (``(part, its events)``) into
    stock-in items, for the parts that take one (:func:`takes_an_item`); returns the order ids
    whose facts are in them, and the lone parts (:func:`lone_figures`, when :data:`LONE_ITEMS`),
    whose items are put later by :func:`put_lone` and which are not counted at all.

    ``claims``: what each event's claim found (by event id). A part counted before by a release
    without stock-in items (its ``PART#`` marker exists; counted in the transaction, stock
    included) is left as it is; only a part none of whose claims this delivery made can be one
    (a part is counted after its claims), so only those parts' markers are read, with the
    watermark, in one call. A part whose smallest claim day is not one the items take
    (:func:`~backend.adapters.stock_in.takes_items`) has its stock counted in a transaction of
    its own, guarded by its item's key, and its facts put in ``FACTS#`` items. ``guard=False``:
    the caller sends only parts of packets no older release counted (no marker is read; a part
    this release counted before finds its item, or its tombstone, at its key).
    """
    with_orders = [
        (part, events, placed)
        for part, events in parts
        if (placed := [e for e in events if isinstance(e.data, OrderPlaced)])
        and takes_an_item(claims[e.event_id] for e in placed)
    ]
    if not with_orders:
        return Taken()
    markers = [
        part.claim
        for part, _, placed in with_orders
        if guard and part.claim is not None and not any(claims[e.event_id].made for e in placed)
    ]
    counted, folded = analytics.stock_in_state(markers)
    counted_before = {claim.item for claim in counted}
    new: list[StockIn] = []
    late: list[StockIn] = []
    late_facts: list[str] = []
    taken = Taken()
    for part, events, placed in with_orders:
        if part.claim is not None and part.claim.item in counted_before:
            continue
        day = min(claim_day(claims[e.event_id].stored) or UNDATED for e in placed)
        taken.order_ids |= {e.data.order_id for e in placed}
        if LONE_ITEMS and (figures := lone_figures(events, day, zone)) is not None:
            taken.lone.append(
                _lone(part, placed, figures, day, zone, today, closed=not takes_items(day, folded, today))
            )
            if taken.lone[-1].late is not None:
                late_facts += taken.lone[-1].item.order_facts
            continue
        stock_in = StockIn(part.ref, day, _take_stock(part, placed, zone), _facts(placed, zone), today)
        if not takes_items(day, folded, today):
            late.append(stock_in)
            late_facts += stock_in.order_facts
        else:
            new.append(stock_in)
    if new:
        analytics.put_stock_in(new)
    if late:
        analytics.count_late_stock_in(late)
    if late_facts:
        analytics.record_facts(late_facts)
    return taken


def _lone(
    part: Counted,
    placed: Sequence[Event],
    figures: DayFigures,
    day: date,
    zone: ZoneInfo,
    today: date,
    *,
    closed: bool,
) -> Lone:
    """A lone part of claim day ``day`` (``closed``: a day the items no longer take)."""
    facts = _facts(placed, zone)
    if closed:
        item = StockIn(part.ref, day, {}, facts, today)
        marked = replace(part, contributions=Contributions(day_sales=part.contributions.day_sales))
        return Lone(item, tuple(placed), figures, counted_by_item(part, item), marked)
    item = StockIn(part.ref, day, _take_stock(part, placed, zone), facts, today)
    return Lone(item, tuple(placed), figures, None, part)


def _take_stock(part: Counted, placed: Sequence[Event], zone: ZoneInfo) -> dict[str, int]:
    """Remove the placed orders' stock deltas from the part's counters; returns them."""
    taken: dict[str, int] = defaultdict(int)
    for event in placed:
        contributions = Contributions()
        contributions.add(event, zone)
        for sku, delta in contributions.stock.items():
            taken[sku] += delta
    stock = part.contributions.stock
    for sku, delta in taken.items():
        stock[sku] -= delta
        if not stock[sku]:
            del stock[sku]
    return {sku: delta for sku, delta in taken.items() if delta}


def _facts(placed: Iterable[Event], zone: ZoneInfo) -> tuple[str, ...]:
    made = []
    for event in placed:
        data: OrderPlaced = event.data
        day = store_day(event.occurred_at, zone)
        net = data.gross_sales - data.discount
        made.append(segments.order_fact(data.customer_id, data.order_id, day, net))
    return tuple(sorted(made))


def fold(analytics: AnalyticsStore, now: datetime | date, *, progress: bool | None = None) -> dict[str, Any]:
    """Fold every closed day after the watermark (:func:`~backend.adapters.stock_in.closed_through`:
    no writer can put an item for it any more by the clock ``now``; a date:
    the start of that UTC day), each day then the watermark; safe to run again, and after a
    crash anywhere.

    Before the first fold no stock-in item exists (writers take the transaction until there is
    a watermark): the first run only sets the watermark.
    """
    if not isinstance(now, datetime):
        now = datetime.combine(now, time(), UTC)
    last = closed_through(now)
    folded = analytics.stock_in_watermark()
    if folded is None:
        analytics.set_stock_in_watermark(last)
        return {"folded_through": last.isoformat(), "days": 0, "skus_moved": 0}
    days = [folded + timedelta(days=n) for n in range(1, (last - folded).days + 1)]
    moved = 0
    for day in tqdm(days, desc="stock-in", unit="day", disable=None if progress is None else not progress):
        moved += analytics.fold_stock_in(day)
        analytics.set_stock_in_watermark(day)
    return {"folded_through": max(last, folded).isoformat(), "days": len(days), "skus_moved": moved}
