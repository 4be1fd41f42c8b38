"""What the read routes fetch from the analytics table, by key only: never a scan.

Each function costs in proportion to what it returns: the items of the days asked for
(BatchGetItem), or one partition queried by key (``ALERTS``: from ``since`` on, newest first, at
most ``limit``). The stock is read a page of SKUs at a time by :mod:`backend.adapters.stock`.
The layout is that of :mod:`backend.adapters.dynamo`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from backend.adapters.dynamo import DAY_SKU_PREFIX, batch_get, day_pk, query_partition
from backend.domain.inventory import CatalogueEntry
from backend.domain.products import SkuSales

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

_UNITS, _REVENUE = "u:", "r:"
# The day reads of a long range are made by up to this many BatchGetItem calls side by side.
READ_PARALLELISM = 8


def day_sales(client: DynamoDBClient, table: str, days: Sequence[date]) -> dict[date, dict[str, Any]]:
    """The sales counters (``DAY#<date>``/``SALES``) of each day that has any."""
    items = batch_get(client, table, [(day_pk(d), "SALES") for d in days], parallel=READ_PARALLELISM)
    return {d: items[(day_pk(d), "SALES")] for d in days if (day_pk(d), "SALES") in items}


def _day_skus(client: DynamoDBClient, table: str, day: date, consistent: bool) -> dict[str, SkuSales]:
    units: dict[str, int] = {}
    revenue: dict[str, Decimal] = {}
    items = query_partition(
        client,
        table,
        day_pk(day),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :skus)",
        ExpressionAttributeValues={":pk": {"S": day_pk(day)}, ":skus": {"S": DAY_SKU_PREFIX}},
        ConsistentRead=consistent,
    )
    for item in items:
        for name, value in item.items():
            if name.startswith(_UNITS):
                sku = name[len(_UNITS) :]
                units[sku] = units.get(sku, 0) + int(value)
            elif name.startswith(_REVENUE):
                sku = name[len(_REVENUE) :]
                revenue[sku] = revenue.get(sku, Decimal(0)) + Decimal(value)
    return {
        sku: SkuSales(units.get(sku, 0), revenue.get(sku, Decimal(0)))
        for sku in sorted(set(units) | set(revenue))
    }


def day_sku_sales(
    client: DynamoDBClient, table: str, days: Sequence[date], *, consistent: bool = False
) -> dict[date, dict[str, SkuSales]]:
    """Units and line revenue per SKU of each day that has any: the sum of the day's part
    items (``SKUP#``) and counter shards of older releases (``SKUS#<n>``), one Query per day,
    :data:`READ_PARALLELISM` at a time."""
    if len(days) > 1:
        with ThreadPoolExecutor(max_workers=min(READ_PARALLELISM, len(days))) as pool:
            futures = [
                pool.submit(contextvars.copy_context().run, _day_skus, client, table, d, consistent)
                for d in days
            ]
            found = [f.result() for f in futures]
    else:
        found = [_day_skus(client, table, d, consistent) for d in days]
    return {day: skus for day, skus in zip(days, found, strict=True) if skus}


def _entry(item: dict[str, Any]) -> CatalogueEntry:
    point = item.get("reorder_point")
    return CatalogueEntry(item.get("name"), item.get("category"), None if point is None else int(point))


def catalogue_entries(client: DynamoDBClient, table: str, skus: Sequence[str]) -> dict[str, CatalogueEntry]:
    """The catalogue items of these SKUs (absent when never described)."""
    items = batch_get(client, table, [("CATALOG", sku) for sku in skus])
    return {sku: _entry(item) for (_, sku), item in items.items()}


def alert_feed(
    client: DynamoDBClient, table: str, since: datetime | None, limit: int, *, alert_type: str | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """The newest alerts raised at or after ``since`` (all when ``None``), at most ``limit``; only
    those of ``alert_type`` if given (a filter on the same Query: the alerts of other types since
    ``since`` are read and skipped, so narrow it with ``since`` on a long feed).

    The feed's sort key starts with ``raised_at`` as ``datetime.isoformat()`` in UTC (the stock
    processor raises alerts in UTC), and such strings sort as their instants do, so
    ``sk >= since`` is an exact key condition and the newest come first without sorting.
    Returns the alerts and whether there were more than ``limit``.
    """
    extra: dict[str, Any] = {"ScanIndexForward": False, "Limit": limit + 1}
    values: dict[str, Any] = {":pk": {"S": "ALERTS"}}
    if since is not None:
        extra["KeyConditionExpression"] = "pk = :pk AND sk >= :since"
        values[":since"] = {"S": since.astimezone(UTC).isoformat()}
    if alert_type is not None:
        extra["FilterExpression"] = "#type = :type"
        extra["ExpressionAttributeNames"] = {"#type": "type"}
        values[":type"] = {"S": alert_type}
    if len(values) > 1:
        extra["ExpressionAttributeValues"] = values
    alerts = []
    for item in query_partition(client, table, "ALERTS", **extra):
        alerts.append(item)
        if len(alerts) > limit:
            return alerts[:limit], True
    return alerts, False


def segments_snapshot(client: DynamoDBClient, table: str) -> dict[str, Any] | None:
    """The last snapshot the ``segments`` job wrote (``SEGMENTS``/``LATEST``), if any."""
    return batch_get(client, table, [("SEGMENTS", "LATEST")]).get(("SEGMENTS", "LATEST"))
