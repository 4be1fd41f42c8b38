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
from typing import Any

from tqdm import tqdm

from backend.adapters.analytics import AnalyticsStore
from backend.adapters.rollups import rollup_items
from backend.domain import rollups
from backend.domain.calendar import days as days_between


def stale_months(analytics: AnalyticsStore, today: date, months: list[str] | None = None) -> list[str]:
    """The closed months (ended before ``today``) whose rollup is missing or older than their
    stamp: all stamped months, or only those of ``months``."""
    stamped = analytics.stamped_months()
    candidates = sorted(set(months) if months is not None else set(stamped))
    closed = [m for m in candidates if rollups.month_days(m)[1] < today]
    covered = analytics.rollup_coverage(closed)
    return [m for m in closed if covered.get(m) != stamped.get(m, 0)]


def compute(analytics: AnalyticsStore, month: str) -> dict[str, Any]:
    """Recompute one month's rollup from its days and write it."""
    # The stamp first, then the days (both strongly consistent): a write the day reads miss
    # bumps the stamp after this read, so the rollup is never taken for current with it.
    covered = analytics.month_change_stamps([month], consistent=True)[month]
    month_days = list(days_between(*rollups.month_days(month)))
    sales, customers = analytics.day_sales_and_sets(month_days, consistent=True)
    skus = analytics.day_sku_sales(month_days, consistent=True)
    rollup = rollups.fold(
        sales,
        customers,
        ({sku: (s.units, s.revenue) for sku, s in day.items()} for day in skus.values()),
    )
    computed_at = datetime.now(UTC).isoformat()
    analytics.put_rollup_items(rollup_items(month, rollup, covered, len(month_days), computed_at))
    return {"month": month, "covered": covered, "customers": len(rollup.customers)}


def run(
    analytics: AnalyticsStore,
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
    todo = stale_months(analytics, today, months)
    quiet = None if progress is None else not progress
    for month in tqdm(todo, desc="month rollups", unit="month", disable=quiet):
        compute(analytics, month)
    return {"months": todo}
