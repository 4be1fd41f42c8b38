"""The ``rollups`` job: fold each closed month's days into one month rollup.

``/v1/metrics/summary`` (and the reports and digests built on it) then reads a long range as
its whole months' rollups plus the days at its two edges, instead of every day
(:func:`backend.adapters.rollups.range_rollups`). The job finds the months written since their
rollup by their change stamps (the ``MONTHS`` partition, one item per month: a Query by key,
never a scan) and recomputes only those, and only months that ended before ``today`` (the
current month changes all day; it is read day by day).

A late event for a month bumps its stamp, so its rollup stops being used at once (the month is
read day by day until the next run recomputes it): the figures are exact at every moment, the
rollup only makes them cheaper.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from backend.adapters.analytics import AnalyticsTable
from backend.adapters.dynamo import MONTHS_PK, batch_get, batch_put, query_partition
from backend.adapters.rollups import ROLLUP_SK, day_rollups, month_pk, month_stamps, rollup_items
from backend.domain import rollups
from backend.domain.calendar import days as days_between

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any


def stale_months(
    dynamodb: DynamoDBClient, table: str, today: date, months: list[str] | None = None
) -> list[str]:
    """The closed months (ended before ``today``) whose rollup is missing or older than their
    stamp: all stamped months, or only those of ``months``."""
    stamped = {item["sk"]: int(item.get("v", 0)) for item in query_partition(dynamodb, table, MONTHS_PK)}
    candidates = sorted(set(months) if months is not None else set(stamped))
    closed = [m for m in candidates if rollups.month_days(m)[1] < today]
    heads = batch_get(dynamodb, table, [(month_pk(m), ROLLUP_SK) for m in closed], projection=["covered"])
    return [
        m
        for m in closed
        if (month_pk(m), ROLLUP_SK) not in heads
        or int(heads[(month_pk(m), ROLLUP_SK)].get("covered", -1)) != stamped.get(m, 0)
    ]


def compute(dynamodb: DynamoDBClient, table: str, month: str) -> dict[str, Any]:
    """Recompute one month's rollup from its days and write it."""
    # The stamp first, then the days (both strongly consistent): a write the day reads miss
    # bumps the stamp after this read, so the rollup is never taken for current with it.
    covered = month_stamps(dynamodb, table, [month], consistent=True)[month]
    month_days = list(days_between(*rollups.month_days(month)))
    sales, customers = day_rollups(dynamodb, table, month_days, consistent=True)
    skus = AnalyticsTable(dynamodb, table).day_sku_sales(month_days, consistent=True)
    rollup = rollups.fold(
        sales,
        customers,
        ({sku: (s.units, s.revenue) for sku, s in day.items()} for day in skus.values()),
    )
    computed_at = datetime.now(UTC).isoformat()
    items = rollup_items(month, rollup, covered, len(month_days), computed_at)
    batch_put(dynamodb, table, items[:-1])  # the further parts (if any), then the first one
    batch_put(dynamodb, table, items[-1:])
    return {"month": month, "covered": covered, "customers": len(rollup.customers)}


def run(
    dynamodb: DynamoDBClient,
    table: str,
    today: date,
    *,
    months: list[str] | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Recompute the rollup of every stale closed month (or of those of ``months`` that are).

    ``progress`` shows a progress bar (``None``: only on a terminal).
    """
    for month in months or []:
        rollups.month_days(month)  # a malformed month is refused, in words, before any work
    todo = stale_months(dynamodb, table, today, months)
    quiet = None if progress is None else not progress
    for month in tqdm(todo, desc="month rollups", unit="month", disable=quiet):
        compute(dynamodb, table, month)
    return {"months": todo}
