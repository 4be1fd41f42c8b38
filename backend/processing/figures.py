"""The figures both the read routes and the reports show: a range's summary, the stock table.

They live outside ``backend/api`` so that the report and digest code reuses them without
importing the route modules (their routes, keys and settings are the read API's, not theirs).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from typing import Any

from backend.adapters import reads
from backend.adapters.clients import client
from backend.adapters.rollups import range_rollups
from backend.domain import inventory, metrics, products
from backend.domain.calendar import days
from backend.settings import get_settings


def summary_for(start: date, end: date) -> dict[str, Any]:
    """Every metric of ``start``..``end`` (store days), as ``/v1/metrics/summary`` answers."""
    settings = get_settings()
    # Whole months come from their month rollups where current (backend.adapters.rollups).
    sales, customers = range_rollups(client("dynamodb"), settings.require("analytics_table"), start, end)
    return metrics.summarize(sales, customers)


def inventory_report(today: date) -> list[inventory.InventoryRow]:
    """Every SKU of the catalogue or of the stock, with the 28- and 90-day figures ending
    ``today`` (a store day)."""
    dynamodb, table = client("dynamodb"), get_settings().require("analytics_table")
    first_90, _ = inventory.window(today, inventory.ABC_DAYS)
    first_28, _ = inventory.window(today, inventory.COVER_DAYS)
    # Three independent reads: side by side (boto3 clients are thread-safe), each in a copy of
    # the caller's context (its context variables follow the work into the threads).
    with ThreadPoolExecutor(max_workers=3) as pool:

        def submit(read: Callable[..., Any], *args: Any) -> Future[Any]:
            return pool.submit(contextvars.copy_context().run, read, dynamodb, table, *args)

        sold_read = submit(reads.day_sku_sales, list(days(first_90, today)))
        catalogue = submit(reads.catalogue)
        stock = submit(reads.stock_levels)
    sold = sold_read.result()
    units_28d = products.totals(s for day, s in sold.items() if day >= first_28)
    revenue_90d = products.totals(sold.values())
    return inventory.inventory_rows(
        catalogue.result(),
        stock.result(),
        {sku: s.units for sku, s in units_28d.items()},
        {sku: s.revenue for sku, s in revenue_90d.items()},
    )
