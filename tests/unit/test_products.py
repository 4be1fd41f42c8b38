"""Sales per SKU and the best sellers (pure)."""

from __future__ import annotations

from decimal import Decimal

from backend.domain.products import SkuSales, top, totals

D = Decimal


def test_totals_add_each_skus_days() -> None:
    days = [
        {"A": SkuSales(1, D("2.50")), "B": SkuSales(2, D("4.00"))},
        {},
        {"A": SkuSales(2, D("5.005"))},
    ]
    assert totals(days) == {"A": SkuSales(3, D("7.505")), "B": SkuSales(2, D("4.00"))}


def test_top_ranks_by_the_figure_asked_then_by_sku() -> None:
    sales = {
        "B": SkuSales(1, D("9.00")),
        "A": SkuSales(3, D("9.00")),
        "C": SkuSales(5, D("1.00")),
        "D": SkuSales(3, D("0.50")),
    }
    assert [sku for sku, _ in top(sales, "net_sales", 10)] == ["A", "B", "C", "D"]
    assert [sku for sku, _ in top(sales, "units", 10)] == ["C", "A", "D", "B"]
    assert [sku for sku, _ in top(sales, "units", 2)] == ["C", "A"]


def test_only_skus_that_sold_are_ranked_free_ones_included() -> None:
    sales = {"IDLE": SkuSales(0, D(0)), "FREEBIE": SkuSales(2, D(0)), "PAID": SkuSales(1, D("3"))}
    assert [sku for sku, _ in top(sales, "net_sales", 10)] == ["PAID", "FREEBIE"]
