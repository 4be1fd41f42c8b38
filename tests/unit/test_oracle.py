"""The oracle against histories small enough to compute by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.domain.events import parse_event
from tests import oracle
from tests.histories import deliveries, histories

D = Decimal
JAN = (date(2025, 1, 1), date(2025, 1, 31))


def order(
    event_id: str,
    order_id: str,
    customer_id: str,
    at: str,
    lines: list[tuple[str, int, str]],
    discount: str = "0",
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "order.placed",
        "occurred_at": at,
        "data": {
            "order_id": order_id,
            "customer_id": customer_id,
            "lines": [{"sku": s, "quantity": q, "unit_price": p} for s, q, p in lines],
            "discount": discount,
            "currency": "USD",
        },
    }


def refund(
    event_id: str,
    order_id: str,
    refund_id: str,
    at: str,
    amount: str,
    restock: list[tuple[str, int]] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_id": order_id,
        "refund_id": refund_id,
        "amount": amount,
        "currency": "USD",
    }
    if restock:
        data["restock"] = [{"sku": s, "quantity": q} for s, q in restock]
    return {"event_id": event_id, "type": "order.refunded", "occurred_at": at, "data": data}


def adjusted(event_id: str, sku: str, delta: int, at: str = "2025-01-01T00:00:00Z") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "inventory.adjusted",
        "occurred_at": at,
        "data": {"sku": sku, "delta": delta, "reason": "restock"},
    }


def product(event_id: str, sku: str, reorder_point: int, at: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "product.upserted",
        "occurred_at": at,
        "data": {
            "sku": sku,
            "name": sku,
            "category": "Toys",
            "price": "1.00",
            "reorder_point": reorder_point,
        },
    }


def test_summary_of_a_small_month() -> None:
    # Given two customers, three orders (one discounted) and a partial refund
    events = [
        order("e1", "o1", "alice", "2025-01-05T10:00:00Z", [("A", 2, "10.00"), ("B", 1, "5.50")]),
        order("e2", "o2", "bob", "2025-01-06T10:00:00Z", [("A", 1, "10.00")], discount="2.00"),
        order("e3", "o3", "alice", "2025-01-20T10:00:00Z", [("B", 3, "5.50")]),
        refund("e4", "o1", "r1", "2025-01-21T10:00:00Z", "5.50"),
    ]
    # When the month is summarised
    figures = oracle.summary(events, *JAN)
    # Then every metric is the contract's, computed by hand
    assert figures == {
        "gross_sales": D("52.00"),  # 25.50 + 10.00 + 16.50
        "discounts": D("2.00"),
        "returns": D("5.50"),
        "net_sales": D("44.50"),
        "orders": 3,
        "units": 7,
        "average_order_value": D("16.67"),  # 50.00 / 3 = 16.666...
        "customers": 2,
        "new_customers": 2,
        "returning_customers": 1,  # alice's second order
        "returning_customer_rate": D("0.5"),
    }


def test_first_order_ever_is_by_occurred_at_not_by_arrival() -> None:
    # Given a customer whose earlier order (5 Jan) arrives after the later one (10 Jan)
    late_order_first = [
        order("e2", "o2", "carol", "2025-01-10T09:00:00Z", [("A", 1, "3.00")]),
        order("e1", "o1", "carol", "2025-01-05T09:00:00Z", [("A", 1, "4.00")]),
    ]
    # Then 10 Jan sees a returning customer, 5 Jan a new one, and the month both (literally)
    on_10th = oracle.summary(late_order_first, date(2025, 1, 10), date(2025, 1, 10))
    on_5th = oracle.summary(late_order_first, date(2025, 1, 5), date(2025, 1, 5))
    month = oracle.summary(late_order_first, *JAN)
    assert (on_10th["new_customers"], on_10th["returning_customers"]) == (0, 1)
    assert (on_5th["new_customers"], on_5th["returning_customers"]) == (1, 0)
    assert (month["customers"], month["new_customers"], month["returning_customers"]) == (1, 1, 1)
    assert month["returning_customer_rate"] == 1


def test_first_order_ever_looks_before_the_range() -> None:
    # Given a customer who first bought in December
    events = [
        order("e1", "o1", "dan", "2024-12-30T09:00:00Z", [("A", 1, "3.00")]),
        order("e2", "o2", "dan", "2025-01-03T09:00:00Z", [("A", 1, "3.00")]),
    ]
    # Then in January they are returning, not new
    figures = oracle.summary(events, *JAN)
    assert (figures["customers"], figures["new_customers"], figures["returning_customers"]) == (1, 0, 1)


def test_a_tie_on_the_first_instant_goes_to_the_smaller_order_id() -> None:
    # Given two orders of one customer at the same instant (only the order_id tells them
    # apart), delivered larger id first, and an earlier order that may or may not be there
    same_instant = "2025-01-05T09:00:00Z"
    events = [
        order("e1", "o2", "erin", same_instant, [("A", 1, "3.00")]),
        order("e2", "o1", "erin", same_instant, [("A", 1, "3.00")]),
        order("e3", "o3", "erin", "2025-01-05T08:00:00Z", [("A", 1, "3.00")]),
    ]
    first = oracle._first_orders(oracle._orders_and_lines(oracle._delivered(events), "UTC")[0])
    assert list(first["order_id"]) == ["o3"]
    without_earliest = oracle._first_orders(oracle._orders_and_lines(oracle._delivered(events[:2]), "UTC")[0])
    assert list(without_earliest["order_id"]) == ["o1"]


def test_duplicates_count_once_and_the_first_delivery_wins() -> None:
    # Given the same event_id twice with different payloads, and the same order_id and
    # refund_id under new event_ids
    events = [
        order("e1", "o1", "fay", "2025-01-05T10:00:00Z", [("A", 1, "10.00")]),
        order("e1", "o9", "gus", "2025-01-06T10:00:00Z", [("A", 5, "99.00")]),
        order("e2", "o1", "gus", "2025-01-07T10:00:00Z", [("A", 2, "50.00")]),
        refund("e3", "o1", "r1", "2025-01-08T10:00:00Z", "4.00", restock=[("A", 1)]),
        refund("e4", "o1", "r1", "2025-01-08T10:00:00Z", "6.00", restock=[("A", 1)]),
        refund("e3", "o1", "r2", "2025-01-08T10:00:00Z", "1.00"),
        adjusted("e5", "A", 10),
        adjusted("e5", "A", 99),
    ]
    # Then each counts once, with the payload delivered first
    figures = oracle.summary(events, *JAN)
    assert (figures["orders"], figures["units"], figures["customers"]) == (1, 1, 1)
    assert (figures["gross_sales"], figures["returns"]) == (D("10.00"), D("4.00"))
    assert oracle.on_hand(events) == {"A": 10 - 1 + 1}


def test_days_are_local_days_across_the_spring_dst_change() -> None:
    # Given orders around New York's change to daylight time (02:00 on 9 March 2025)
    tz = "America/New_York"
    events = [
        order("e1", "o1", "hal", "2025-03-09T04:30:00Z", [("A", 1, "1.00")]),  # 8 Mar 23:30 EST
        order("e2", "o2", "hal", "2025-03-09T06:30:00Z", [("A", 1, "2.00")]),  # 9 Mar 01:30 EST
        order("e3", "o3", "hal", "2025-03-09T07:30:00Z", [("A", 1, "4.00")]),  # 9 Mar 03:30 EDT
        order("e4", "o4", "hal", "2025-03-10T04:30:00Z", [("A", 1, "8.00")]),  # 10 Mar 00:30 EDT
        refund("e5", "o1", "r1", "2025-03-09T04:59:59-04:00", "1.00"),  # 9 Mar, given locally
    ]
    # Then each lands on its local calendar day
    by_day = oracle.daily(events, tz)
    assert by_day["gross_sales"].to_dict() == {
        date(2025, 3, 8): D("1.00"),
        date(2025, 3, 9): D("6.00"),
        date(2025, 3, 10): D("8.00"),
    }
    assert by_day.loc[date(2025, 3, 9), "returns"] == D("1.00")
    ninth = oracle.summary(events, date(2025, 3, 9), date(2025, 3, 9), tz=tz)
    assert (ninth["orders"], ninth["gross_sales"], ninth["returns"]) == (2, D("6.00"), D("1.00"))
    # And in UTC the same instants fall on other days
    in_utc = oracle.summary(events, date(2025, 3, 9), date(2025, 3, 9), tz="UTC")
    assert (in_utc["orders"], in_utc["gross_sales"]) == (3, D("7.00"))


def test_days_are_local_days_across_the_autumn_dst_change() -> None:
    # Given the 25-hour 2 November 2025 in New York: 00:30 EDT and 23:30 EST are the same day
    tz = "America/New_York"
    events = [
        order("e1", "o1", "ida", "2025-11-02T04:30:00Z", [("A", 1, "1.00")]),  # 2 Nov 00:30 EDT
        order("e2", "o2", "ida", "2025-11-03T04:30:00Z", [("A", 1, "2.00")]),  # 2 Nov 23:30 EST
        order("e3", "o3", "ida", "2025-11-03T05:30:00Z", [("A", 1, "4.00")]),  # 3 Nov 00:30 EST
    ]
    assert oracle.daily(events, tz)["orders"].to_dict() == {
        date(2025, 11, 2): 2,
        date(2025, 11, 3): 1,
    }


def test_average_order_value_rounds_half_up_once_at_the_end() -> None:
    # Given two orders worth 1.00 and 1.01: 2.01 / 2 = 1.005 exactly
    events = [
        order("e1", "o1", "jo", "2025-01-05T10:00:00Z", [("A", 1, "1.00")]),
        order("e2", "o2", "kim", "2025-01-05T11:00:00Z", [("A", 1, "1.01")]),
    ]
    # Then half-up gives 1.01 (half-even would give 1.00)
    assert oracle.summary(events, *JAN)["average_order_value"] == D("1.01")
    # And with a third order of 1.00, 3.01 / 3 = 1.0033 rounds to 1.00
    third = order("e3", "o3", "kim", "2025-01-05T12:00:00Z", [("A", 1, "1.00")])
    assert oracle.summary([*events, third], *JAN)["average_order_value"] == D("1.00")


def test_discounts_reduce_the_average_order_value_and_net_sales() -> None:
    events = [order("e1", "o1", "lee", "2025-01-05T10:00:00Z", [("A", 3, "0.35")], discount="0.04")]
    figures = oracle.summary(events, *JAN)
    assert (figures["gross_sales"], figures["average_order_value"], figures["net_sales"]) == (
        D("1.05"),
        D("1.01"),
        D("1.01"),
    )


def test_returns_count_on_the_refunds_day_not_the_orders() -> None:
    events = [
        order("e1", "o1", "max", "2025-01-31T10:00:00Z", [("A", 1, "20.00")]),
        refund("e2", "o1", "r1", "2025-02-02T10:00:00Z", "20.00"),
    ]
    january = oracle.summary(events, *JAN)
    february = oracle.summary(events, date(2025, 2, 1), date(2025, 2, 28))
    assert (january["returns"], january["net_sales"]) == (D("0.00"), D("20.00"))
    assert (february["returns"], february["net_sales"], february["orders"]) == (D("20.00"), D("-20.00"), 0)


def test_daily_counts_each_refund_once_on_its_day() -> None:
    # Given two refunds of one order on 2 February, one delivered twice, and a third on the 3rd
    events = [
        order("e1", "o1", "max", "2025-01-31T10:00:00Z", [("A", 3, "20.00")]),
        refund("e2", "o1", "r1", "2025-02-02T10:00:00Z", "20.00"),
        refund("e3", "o1", "r2", "2025-02-02T11:00:00Z", "5.00"),
        refund("e2", "o1", "r1", "2025-02-02T10:00:00Z", "20.00"),
        refund("e4", "o1", "r3", "2025-02-03T09:00:00Z", "1.00"),
    ]
    # Then each day counts its refunds once, and a day without any counts none
    by_day = oracle.daily(events, "UTC")
    assert by_day["refunds"].to_dict() == {date(2025, 1, 31): 0, date(2025, 2, 2): 2, date(2025, 2, 3): 1}
    assert by_day.loc[date(2025, 2, 2), "returns"] == D("25.00")


def test_an_empty_range_gives_zeros() -> None:
    figures = oracle.summary([], *JAN)
    assert figures["average_order_value"] == D("0.00")
    assert figures["returning_customer_rate"] == 0
    assert figures["orders"] == figures["customers"] == 0
    assert str(figures["gross_sales"]) == "0.00"


def test_daily_over_a_range_includes_empty_days() -> None:
    events = [order("e1", "o1", "ned", "2025-01-02T10:00:00Z", [("A", 2, "1.50")])]
    table = oracle.daily(events, "UTC", start=date(2025, 1, 1), end=date(2025, 1, 3))
    assert list(table.index) == [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)]
    assert list(table["units"]) == [0, 2, 0]
    assert list(table["net_sales"]) == [D("0.00"), D("3.00"), D("0.00")]


def test_on_hand_and_stock_status() -> None:
    # Given stock received, sold, damaged and restocked by a refund
    events = [
        adjusted("e1", "A", 10),
        adjusted("e2", "B", 3),
        order("e3", "o1", "oli", "2025-01-05T10:00:00Z", [("A", 4, "1.00"), ("B", 3, "1.00")]),
        refund("e4", "o1", "r1", "2025-01-06T10:00:00Z", "1.00", restock=[("A", 1)]),
        {**adjusted("e5", "A", -2), "data": {"sku": "A", "delta": -2, "reason": "damage"}},
        order("e6", "o2", "oli", "2025-01-07T10:00:00Z", [("C", 1, "1.00")]),
        # The reorder point comes from the latest upsert by occurred_at, not the last delivered
        product("e7", "A", 5, "2025-01-03T00:00:00Z"),
        product("e8", "A", 1, "2025-01-02T00:00:00Z"),
        product("e9", "D", 0, "2025-01-02T00:00:00Z"),
    ]
    stock = oracle.on_hand(events)
    assert stock == {"A": 10 - 4 + 1 - 2, "B": 0, "C": -1, "D": 0}
    assert oracle.reorder_points(events) == {"A": 5, "D": 0}
    table = oracle.inventory(events)
    assert table["status"].to_dict() == {"A": "low", "B": "out", "C": "out", "D": "out"}
    assert [oracle.stock_status(n, 3) for n in (-1, 0, 1, 3, 4)] == ["out", "out", "low", "low", "ok"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_generated_histories_are_valid_and_any_delivery_gives_the_same_figures(
    data: st.DataObject,
) -> None:
    # Given a generated history and one way of delivering it
    history = data.draw(histories(), label="history")
    delivered = data.draw(deliveries(history), label="delivery")
    # Then every event is one the ingest API accepts, and ids are unique
    assert len(history) <= 40
    for event in history:
        parse_event(event, currency="USD")
    assert len({e["event_id"] for e in history}) == len(history)
    assert {e["event_id"] for e in delivered} == {e["event_id"] for e in history}
    assert len(delivered) >= len(history)
    # And the figures do not depend on arrival order or repeats
    expected = oracle.summary(history, history.start, history.end, tz=history.tz)
    assert oracle.summary(delivered, history.start, history.end, tz=history.tz) == expected
    assert oracle.on_hand(delivered) == oracle.on_hand(history)
    # And the contract's identities hold
    assert expected["net_sales"] == (expected["gross_sales"] - expected["discounts"] - expected["returns"])
    assert expected["new_customers"] <= expected["customers"]
    assert expected["returning_customers"] <= expected["customers"]
    assert expected["orders"] == sum(e["type"] == "order.placed" for e in history)


@given(histories(tz="America/New_York"))
@settings(max_examples=20, deadline=None)
def test_a_pinned_zone_is_kept(history: Any) -> None:
    assert history.tz == "America/New_York"
    assert history.start <= date(2025, 3, 9) <= history.end or (
        history.start <= date(2025, 11, 2) <= history.end
    )
