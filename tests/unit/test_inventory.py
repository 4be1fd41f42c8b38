"""Days of cover, sell-through, ABC classes and the inventory rows (pure)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.domain.inventory import (
    CatalogueEntry,
    StockLevel,
    abc_classes,
    days_of_cover,
    inventory_rows,
    sell_through,
    window,
)
from tests import oracle

D = Decimal


def test_the_windows_end_today_inclusive() -> None:
    assert window(date(2025, 3, 28), 28) == (date(2025, 3, 1), date(2025, 3, 28))
    assert window(date(2025, 3, 31), 90) == (date(2025, 1, 1), date(2025, 3, 31))


@pytest.mark.parametrize(
    ("on_hand", "sold", "cover"),
    [
        (10, 28, D("10.0")),  # one a day
        (1, 8, D("3.5")),
        (1, 112, D("0.3")),  # 0.25 rounds half-up
        (5, 3, D("46.7")),
        (0, 4, D("0.0")),
        (-2, 28, D("-2.0")),  # oversold: days of sales already owed
        (10, 0, None),  # nothing sold: no rate to cover
    ],
)
def test_days_of_cover(on_hand: int, sold: int, cover: Decimal | None) -> None:
    assert days_of_cover(on_hand, sold) == cover


@pytest.mark.parametrize(
    ("sold", "on_hand", "share"),
    [
        (30, 10, D("0.7500")),
        (1, 2, D("0.3333")),
        (2, 1, D("0.6667")),
        (0, 4, D("0.0000")),
        (5, 0, D("1.0000")),
        (6, -2, D("1.0000")),  # oversold counts as nothing left
        (0, -3, D("0.0000")),
        (0, 0, None),
    ],
)
def test_sell_through(sold: int, on_hand: int, share: Decimal | None) -> None:
    assert sell_through(sold, on_hand) == share


def test_the_sku_that_reaches_80_percent_is_the_last_a() -> None:
    # Given revenue where the first two SKUs hold exactly 80%
    revenue = {"a": D(50), "b": D(30), "c": D(10), "d": D(5), "e": D(5)}
    # Then b (reaching 80%) is A; c starts at 80% so is B; d reaches 95% and is B; e is C
    assert abc_classes(revenue, []) == {"a": "A", "b": "A", "c": "B", "d": "B", "e": "C"}


def test_the_sku_that_crosses_80_percent_is_a_and_without_revenue_is_c() -> None:
    revenue = {"a": D(70), "b": D(20), "c": D(6), "d": D(4), "z": D(0)}
    assert abc_classes(revenue, ["z", "new"]) == {
        "a": "A",
        "b": "A",  # 70% before it, 90% after: crosses 80%
        "c": "B",  # 90% before it
        "d": "C",  # 96% before it
        "new": "C",
        "z": "C",
    }


def test_equal_revenue_is_ranked_by_sku_and_one_seller_is_a() -> None:
    assert abc_classes({"b": D(10), "a": D(10), "c": D(10)}, []) == {"a": "A", "b": "A", "c": "A"}
    # 10 x 10%: the first eight hold 70% before the eighth, so A; the ninth starts at 80%
    tens = {f"s{n}": D(10) for n in range(10)}
    classes = abc_classes(tens, [])
    assert [classes[f"s{n}"] for n in range(10)] == ["A"] * 8 + ["B", "B"]
    assert abc_classes({"only": D("0.01")}, ["idle"]) == {"idle": "C", "only": "A"}
    assert abc_classes({}, ["x"]) == {"x": "C"}


@given(st.dictionaries(st.sampled_from("abcdefghij"), st.integers(0, 5_000).map(lambda c: D(c).scaleb(-2))))
def test_abc_agrees_with_the_oracle_reading_the_same_words(revenue: dict[str, Decimal]) -> None:
    assert abc_classes(revenue, revenue) == oracle.abc_classes(revenue)


def test_rows_cover_the_catalogue_and_the_stock_with_reorder_points() -> None:
    # Given a described SKU with stock, a described SKU never stocked, and a SKU only in stock
    catalogue = {
        "MUG": CatalogueEntry("Mug", "Home", 5),
        "PEN": CatalogueEntry("Pen", "Office", 2),
    }
    stock = {"MUG": StockLevel(4, 6), "GHOST": StockLevel(-1, None)}
    rows = inventory_rows(catalogue, stock, {"MUG": 14, "GHOST": 3}, {"MUG": D("85"), "GHOST": D("15")})
    # Then one row each, by sku, the stock's reorder point first, then the catalogue's, else 0
    assert [r.sku for r in rows] == ["GHOST", "MUG", "PEN"]
    ghost, mug, pen = rows
    assert (ghost.name, ghost.reorder_point, ghost.status, ghost.abc_class) == (None, 0, "out", "B")
    assert (mug.reorder_point, mug.status, mug.days_of_cover, mug.abc_class) == (6, "low", D("8.0"), "A")
    assert (pen.on_hand, pen.reorder_point, pen.status, pen.units_sold_28d) == (0, 2, "out", 0)
    assert (pen.days_of_cover, pen.sell_through_28d, pen.abc_class) == (None, None, "C")
    # And the wire form has numbers (or null), never strings, for cover and sell-through
    assert mug.to_json() == {
        "sku": "MUG",
        "name": "Mug",
        "category": "Home",
        "on_hand": 4,
        "reorder_point": 6,
        "units_sold_28d": 14,
        "days_of_cover": 8.0,
        "sell_through_28d": 0.7778,
        "status": "low",
        "abc_class": "A",
        "forecast_daily_units": None,
        "stockout_date": None,
        "reorder_by": None,
        "lead_time_days": 7,
    }
    assert pen.to_json()["days_of_cover"] is None
