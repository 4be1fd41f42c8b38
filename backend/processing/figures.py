"""The figures both the read routes and the reports show: a range's summary, the stock table.

They live outside ``backend/api`` so that the report and digest code reuses them without
importing the route modules (their routes, keys and settings are the read API's, not theirs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from backend.adapters.analytics import AnalyticsStore, SkuStock
from backend.domain import inventory, metrics, products
from backend.domain.calendar import days
from backend.domain.stock import Status
from backend.processing.context import Context


def summary_for(context: Context, start: date, end: date) -> dict[str, Any]:
    """Every metric of ``start``..``end`` (store days), as ``/v1/metrics/summary`` answers."""
    # Whole months come from their month rollups where current (backend.adapters.rollups).
    sales, customers = context.analytics.range_sales_and_sets(start, end)
    return metrics.summarize(sales, customers)


# A filtered page examines at most this many SKUs before it answers (with a cursor to go on):
# a request's cost stays bounded even when few SKUs match the filter.
MAX_EXAMINED = 5000


@dataclass(frozen=True)
class InventoryPage:
    """Rows of the stock table by sku, and the last SKU examined when more may follow."""

    rows: list[inventory.InventoryRow]
    next_after: str | None


@dataclass(frozen=True)
class RecentSales:
    """What the stock table needs of the sales ending today: units of the last 28 days and line
    revenue of the last 90, per SKU (every SKU's, since the ABC class ranks them all)."""

    units_28d: dict[str, int]
    revenue_90d: dict[str, Decimal]


def recent_sales(analytics: AnalyticsStore, today: date) -> RecentSales:
    """The 90 days' sales per SKU, read once (their cost grows with the days)."""
    first_90, _ = inventory.window(today, inventory.ABC_DAYS)
    first_28, _ = inventory.window(today, inventory.COVER_DAYS)
    sold = analytics.day_sku_sales(list(days(first_90, today)))
    recent = products.totals(sales for day, sales in sold.items() if day >= first_28)
    return RecentSales(
        {sku: figures.units for sku, figures in recent.items()},
        {sku: figures.revenue for sku, figures in products.totals(sold.values()).items()},
    )


def stock_rows(
    context: Context, chunk: Sequence[SkuStock], recent: RecentSales, today: date
) -> list[inventory.InventoryRow]:
    """The stock table's rows of these SKUs on ``today``, with their forecasts: the one place a
    row is made, for ``/inventory`` and for ``/products/{sku}`` alike."""
    return inventory.inventory_rows(
        {
            s.sku: inventory.CatalogueEntry(s.name, s.category, s.reorder_point, s.lead_time_days)
            for s in chunk
        },
        {s.sku: inventory.StockLevel(s.on_hand) for s in chunk},
        recent.units_28d,
        recent.revenue_90d,
        today=today,
        forecasts=context.analytics.sku_forecasts([s.sku for s in chunk]),
        default_lead_time=context.settings.default_lead_time_days,
    )


def inventory_page(
    context: Context, today: date, *, after: str | None = None, limit: int = 500, status: Status | None = None
) -> InventoryPage:
    """Up to ``limit`` rows of the stock table after the SKU ``after``, by sku, with the 28- and
    90-day figures ending ``today`` (a store day); only the rows of ``status`` if given.

    The 90 days' sales per SKU are read once (their cost grows with the days); the SKUs a page
    at a time (the table's ``stock_page``). ``next_after`` is where the next page
    starts, ``None`` after the last SKU.
    """
    recent = recent_sales(context.analytics, today)
    rows: list[inventory.InventoryRow] = []
    examined = 0
    while True:
        chunk, more = context.analytics.stock_page(after, limit)
        for row in stock_rows(context, chunk, recent, today):
            examined += 1
            after = row.sku
            if status is None or row.status == status:
                rows.append(row)
                if len(rows) == limit:
                    last = row.sku == chunk[-1].sku
                    return InventoryPage(rows, None if last and not more else after)
        if not more:
            return InventoryPage(rows, None)
        if examined >= MAX_EXAMINED:
            return InventoryPage(rows, after)


def inventory_row(context: Context, today: date, sku: str) -> tuple[inventory.InventoryRow, SkuStock] | None:
    """The stock table's row of one SKU as ``/inventory`` shows it on ``today``, with what the
    stock items say of it (its price); ``None`` for a SKU neither in the catalogue nor in stock."""
    found = context.analytics.sku_stock([sku])[sku]
    if not found.known:
        return None
    (row,) = stock_rows(context, [found], recent_sales(context.analytics, today), today)
    return row, found


def inventory_report(context: Context, today: date) -> list[inventory.InventoryRow]:
    """Every SKU of the catalogue or of the stock, page after page (for reports)."""
    rows: list[inventory.InventoryRow] = []
    after = None
    while True:
        page = inventory_page(context, today, after=after, limit=1000)
        rows.extend(page.rows)
        if page.next_after is None:
            return rows
        after = page.next_after
