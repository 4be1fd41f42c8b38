"""Sales per SKU over a range, and the best sellers (pure).

A SKU's ``net_sales`` here is its **line revenue**, the sum of ``quantity × unit_price`` over the
lines of the orders placed in the range. Discounts and refunds are amounts of a whole order (the
contract gives them no SKU), so they are not spread over its lines: the line revenue of all SKUs
adds up to the range's ``gross_sales``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from backend.domain.money import ZERO

RankBy = Literal["net_sales", "units"]
RANK_BY: tuple[RankBy, ...] = ("net_sales", "units")


@dataclass(frozen=True)
class SkuSales:
    """What one SKU sold: units and line revenue (unrounded)."""

    units: int = 0
    revenue: Decimal = ZERO


def totals(days: Iterable[Mapping[str, SkuSales]]) -> dict[str, SkuSales]:
    """Each SKU's sales summed over the days given (one mapping of SKU to sales per day).

    >>> totals([{"A": SkuSales(1, Decimal("2.50"))}, {"A": SkuSales(2, Decimal("5"))}])
    {'A': SkuSales(units=3, revenue=Decimal('7.50'))}
    """
    units: dict[str, int] = defaultdict(int)
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for day in days:
        for sku, sold in day.items():
            units[sku] += sold.units
            revenue[sku] += sold.revenue
    return {sku: SkuSales(units[sku], revenue[sku]) for sku in sorted(units)}


def top(sales: Mapping[str, SkuSales], by: RankBy, limit: int) -> list[tuple[str, SkuSales]]:
    """The ``limit`` SKUs that sold most ``by`` line revenue or units; ties go to the smaller sku.

    Only SKUs that sold something in the range are ranked.

    >>> sales = {"B": SkuSales(1, Decimal(9)), "A": SkuSales(3, Decimal(9)), "C": SkuSales(5, Decimal(1))}
    >>> [sku for sku, _ in top(sales, "net_sales", 2)], [sku for sku, _ in top(sales, "units", 2)]
    (['A', 'B'], ['C', 'A'])
    """

    def rank(item: tuple[str, SkuSales]) -> tuple[Decimal, str]:
        sku, sold = item
        return (-(sold.revenue if by == "net_sales" else Decimal(sold.units)), sku)

    sold = [(sku, s) for sku, s in sales.items() if s.units or s.revenue]
    return sorted(sold, key=rank)[:limit]
