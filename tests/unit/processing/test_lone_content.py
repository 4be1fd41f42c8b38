"""A lone part's day content, built once (:func:`backend.processing.stock_in.lone_figures`) to
measure the part and to put its item: the same bytes as the release that built it twice, from
each order, with every customer in every set and then with the sets as joined."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from backend.adapters.analytics import DAY_CONTENT_MAX_BYTES, DayContent, encode_day_content
from backend.domain.calendar import store_day
from backend.domain.customers import SETS
from backend.domain.events import Event, parse_event
from backend.domain.sales import Contributions
from backend.processing import stock_in, together

ZONE = ZoneInfo("America/New_York")


def _order(n: int, customer: str, at: str, lines: list[tuple[str, int, str]], discount: str = "0") -> Event:
    return parse_event(
        {
            "event_id": f"e{n}",
            "type": "order.placed",
            "occurred_at": at,
            "data": {
                "order_id": f"o{n}",
                "customer_id": customer,
                "currency": "USD",
                "discount": discount,
                "lines": [
                    {"sku": sku, "quantity": units, "unit_price": price} for sku, units, price in lines
                ],
            },
        },
        currency="USD",
        inbound=False,
    )


# Orders of three customers over two store days in New York (03:30 UTC is the day before),
# a customer twice in a day, lines of one SKU in several orders, a discount.
ORDERS = [
    _order(1, "ann", "2026-03-05T15:00:00Z", [("MUG", 2, "9.99"), ("CAP", 1, "12.50")]),
    _order(2, "bob", "2026-03-06T03:30:00Z", [("MUG", 1, "9.99")], discount="1.00"),
    _order(3, "ann", "2026-03-05T18:00:00Z", [("TEE", 3, "15.00"), ("CAP", 2, "12.50")]),
    _order(4, "cyd", "2026-03-06T14:00:00Z", [("CAP", 1, "12.50"), ("MUG", 4, "9.50")]),
]


def _built_per_order(
    placed: Iterable[Event], zone: ZoneInfo, sets_of: Callable[[str, date], Iterable[str]]
) -> dict[date, DayContent]:
    """The day content as the release before built it (each time it was needed): the reference."""
    events = list(placed)
    sales = Contributions()
    members: dict[date, set[str]] = defaultdict(set)
    for event in events:
        sales.add(event, zone)
        day = store_day(event.occurred_at, zone)
        members[day] |= {f"{name}:{event.data.customer_id}" for name in sets_of(event.data.customer_id, day)}
    baskets = together.basket_members(events, zone)
    content = {}
    for day in sorted(set(sales.day_sales) | set(sales.day_units) | set(baskets) | set(members)):
        units = sales.day_units.get(day, {})
        revenue = sales.day_revenue.get(day, {})
        content[day] = DayContent(
            {name: amount for name, amount in sorted(sales.day_sales.get(day, {}).items()) if amount},
            [
                (sku, int(units.get(sku, 0)), revenue.get(sku, Decimal(0)))
                for sku in sorted(set(units) | set(revenue))
            ],
            sorted(set(baskets.get(day, []))),
            sorted(members[day]),
        )
    return content


def _joined(customer: str, day: date) -> tuple[str, ...]:
    """Sets as a profiles' join might give them: different per customer and day, some none."""
    return {
        ("ann", date(2026, 3, 5)): ("C", "P"),
        ("bob", date(2026, 3, 5)): ("C",),
        ("cyd", date(2026, 3, 6)): (),
    }[(customer, day)]


def test_a_lone_part_s_item_holds_the_bytes_the_part_built_twice_held() -> None:
    # Given the orders of a part whose claim day is the 5th (all within a day of it)
    claim_day = date(2026, 3, 5)
    # When the part is measured, and its item's content made with the sets as joined
    figures = stock_in.lone_figures(ORDERS, claim_day, ZONE)
    # Then it is lone, measured on the same bytes as every customer in every set gave before,
    assert figures is not None
    most = encode_day_content(figures.content(lambda customer, day: SETS))
    assert most == encode_day_content(_built_per_order(ORDERS, ZONE, lambda customer, day: SETS))
    assert len(most) <= DAY_CONTENT_MAX_BYTES
    # and its item's content is byte for byte what the release before put
    content = figures.content(_joined)
    assert encode_day_content(content) == encode_day_content(_built_per_order(ORDERS, ZONE, _joined))
    assert [day.day for day in content] == [5, 6]
    assert content[date(2026, 3, 5)].members == ["C:ann", "C:bob", "P:ann"]
    assert content[date(2026, 3, 6)].members == []


def test_a_part_too_far_from_its_claim_day_or_too_big_is_not_lone(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the same orders
    # Then a claim day two days from the 6th's order makes no lone part
    assert stock_in.lone_figures(ORDERS, date(2026, 3, 4), ZONE) is None
    # nor a day content bigger than an item takes (as measured before: every customer in every set)
    most = len(encode_day_content(_built_per_order(ORDERS, ZONE, lambda customer, day: SETS)))
    monkeypatch.setattr(stock_in, "DAY_CONTENT_MAX_BYTES", most - 1)
    assert stock_in.lone_figures(ORDERS, date(2026, 3, 5), ZONE) is None
    monkeypatch.setattr(stock_in, "DAY_CONTENT_MAX_BYTES", most)
    assert stock_in.lone_figures(ORDERS, date(2026, 3, 5), ZONE) is not None
