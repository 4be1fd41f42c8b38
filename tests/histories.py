"""Event histories for tests: a realistic one from the simulator, and small random ones.

- :func:`small_history` is a few weeks of the simulated store (:func:`devstack.simulator.generate`),
  for integration tests that push a history through the stack and compare with
  :mod:`tests.oracle`.
- :func:`histories` is a Hypothesis strategy for small valid histories (a handful of customers,
  SKUs, orders, refunds, adjustments and product upserts over a few days around a DST change),
  and :func:`deliveries` turns a history into one possible delivery: shuffled, with some
  events delivered more than once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from devstack.simulator import generate

Event = dict[str, Any]

# (store zone, first instant): each window of _SPAN_SLOTS covers a change of the clocks.
DST_WINDOWS: tuple[tuple[str, datetime], ...] = (
    ("America/New_York", datetime(2025, 3, 7, 12, tzinfo=UTC)),  # clocks forward on 9 March
    ("America/New_York", datetime(2025, 10, 31, 12, tzinfo=UTC)),  # back on 2 November
    ("Europe/Paris", datetime(2025, 3, 28, 12, tzinfo=UTC)),  # forward on 30 March
)
_SLOT = timedelta(minutes=15)  # a coarse grid, so that some events share an instant
_SPAN_SLOTS = 4 * 24 * 4  # four days


def small_history(
    seed: int,
    days: int = 20,
    orders_per_day: int = 15,
    tz: str = "America/New_York",
    end: date = date(2025, 3, 20),
) -> list[Event]:
    """A few weeks of the simulated store, the same for the same arguments.

    The default window (20 days to 20 March 2025, New York) contains the spring DST change.

    Examples
    --------
    >>> events = small_history(3)
    >>> events == small_history(3), events[0]["type"]
    (True, 'product.upserted')
    """
    # The clock is pinned after the window, so the history never depends on the day it runs.
    after_window = datetime.combine(end + timedelta(days=2), time(), tzinfo=UTC)
    return generate(days, orders_per_day, seed, end=end, tz=tz, now=after_window)


class History(list[Event]):
    """A list of events that also knows its store time zone and the local days it spans."""

    def __init__(self, events: list[Event], tz: str, start: date, end: date) -> None:
        super().__init__(events)
        self.tz = tz
        self.start = start
        self.end = end


def _money(cents: int) -> str:
    return str(Decimal(cents).scaleb(-2))


@dataclass
class _Builder:
    tz: str
    origin: datetime
    events: list[tuple[datetime, Event]]

    def add(self, draw: st.DrawFn, at: datetime, event_type: str, data: dict[str, Any]) -> None:
        # Both spellings of an instant are valid: UTC with Z, or local time with its offset.
        if draw(st.booleans()):
            occurred_at = at.astimezone(ZoneInfo(self.tz)).isoformat()
        else:
            occurred_at = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        event_id = f"h{len(self.events) + 1}"
        self.events.append(
            (at, {"event_id": event_id, "type": event_type, "occurred_at": occurred_at, "data": data})
        )

    def instant(self, draw: st.DrawFn, after: datetime | None = None) -> datetime:
        if after is None:
            return self.origin + draw(st.integers(0, _SPAN_SLOTS)) * _SLOT
        return after + draw(st.integers(0, 96)) * _SLOT


@st.composite
def histories(draw: st.DrawFn, tz: str | None = None) -> History:
    """Small valid histories (at most 40 events) around a change of the clocks.

    ``tz`` pins the store's zone (its windows of :data:`DST_WINDOWS`, or early March 2025 for a
    zone without one); by default the zone is drawn too, and the history knows it (``.tz``).

    Each has 1-3 SKUs with 0-2 product upserts each, 1-4 customers (most registered), 0-4
    stock adjustments, 1-8 orders of 1-3 lines (discounts up to the line total; shipping, tax
    and channel sometimes left to their defaults) and refunds of some orders, later than the
    order and never more than its net. Ids are unique; instants sit on a 15-minute grid so
    that ties happen.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(histories())
    ... def test(history):
    ...     assert len(history) <= 40
    """
    if tz is None:
        windows = list(DST_WINDOWS)
    else:
        windows = [w for w in DST_WINDOWS if w[0] == tz] or [(tz, DST_WINDOWS[0][1])]
    zone_name, origin = draw(st.sampled_from(windows))
    built = _Builder(zone_name, origin, [])
    skus = ["A", "B", "C"][: draw(st.integers(1, 3))]
    customers = ["c1", "c2", "c3", "c4"][: draw(st.integers(1, 4))]

    for sku in skus:
        for _ in range(draw(st.integers(0, 2))):
            built.add(
                draw,
                built.instant(draw),
                "product.upserted",
                {
                    "sku": sku,
                    "name": f"Product {sku}",
                    "category": draw(st.sampled_from(["Toys", "Books"])),
                    "price": _money(draw(st.integers(0, 5000))),
                    "reorder_point": draw(st.integers(0, 5)),
                },
            )
    for customer in customers:
        if draw(st.integers(0, 3)):  # mostly registered; orders do not need it
            data: dict[str, Any] = {
                "customer_id": customer,
                "country": draw(st.sampled_from(["US", "GB", "FR"])),
            }
            if draw(st.booleans()):
                data["email"] = f"{customer}@example.com"
            built.add(draw, built.instant(draw), "customer.registered", data)
    for _ in range(draw(st.integers(0, 4))):
        built.add(
            draw,
            built.instant(draw),
            "inventory.adjusted",
            {
                "sku": draw(st.sampled_from(skus)),
                "delta": draw(st.integers(-5, 20).filter(bool)),
                "reason": draw(st.sampled_from(["restock", "correction", "damage", "return"])),
            },
        )

    for number in range(1, draw(st.integers(1, 8)) + 1):
        at = built.instant(draw)
        lines: list[dict[str, Any]] = [
            {
                "sku": sku,
                "quantity": draw(st.integers(1, 3)),
                "unit_price": _money(draw(st.integers(0, 5000))),
            }
            for sku in draw(st.lists(st.sampled_from(skus), min_size=1, max_size=3, unique=True))
        ]
        gross_cents = sum(int(Decimal(line["unit_price"]) * 100) * line["quantity"] for line in lines)
        discount_cents = draw(st.integers(0, gross_cents))
        order: dict[str, Any] = {
            "order_id": f"o{number}",
            "customer_id": draw(st.sampled_from(customers)),
            "lines": lines,
            "currency": "USD",
        }
        if discount_cents or draw(st.booleans()):
            order["discount"] = _money(discount_cents)
        for optional in ("shipping", "tax"):
            if draw(st.booleans()):
                order[optional] = _money(draw(st.integers(0, 999)))
        if draw(st.booleans()):
            order["channel"] = draw(st.sampled_from(["web", "mobile", "marketplace", "pos"]))
        built.add(draw, at, "order.placed", order)

        net_cents = gross_cents - discount_cents
        if net_cents >= 1 and draw(st.integers(0, 2)) == 0:
            refund: dict[str, Any] = {
                "order_id": f"o{number}",
                "refund_id": f"r{number}",
                "amount": _money(draw(st.integers(1, net_cents))),
                "currency": "USD",
            }
            restock = [
                {"sku": line["sku"], "quantity": draw(st.integers(1, line["quantity"]))}
                for line in lines
                if draw(st.booleans())
            ]
            if restock:
                refund["restock"] = restock
            built.add(draw, built.instant(draw, after=at), "order.refunded", refund)

    ordered = [event for _, event in sorted(built.events, key=lambda item: item[0])]
    zone = ZoneInfo(zone_name)
    last = origin + (_SPAN_SLOTS + 96) * _SLOT
    return History(ordered, zone_name, origin.astimezone(zone).date(), last.astimezone(zone).date())


@st.composite
def deliveries(draw: st.DrawFn, events: list[Event]) -> list[Event]:
    """One way the events could reach the API: in any order, some of them more than once.

    A repeated event is the very same dict (same ``event_id``, same payload), as a client
    retrying a batch would send it.
    """
    delivered = list(draw(st.permutations(list(events))))
    if delivered:
        for again in draw(st.lists(st.sampled_from(list(events)), max_size=5)):
            delivered.insert(draw(st.integers(0, len(delivered))), again)
    return delivered
