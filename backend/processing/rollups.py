"""The ``rollups`` job: fold each closed month's days into one month rollup.

``/v1/metrics/summary`` (and the reports and digests built on it) then reads a long range as
its whole months' rollups plus the days at its two edges, instead of every day
(:func:`backend.adapters.rollups.range_rollups`). The job folds a month only once it ended more
than the clocks' margin (an hour) ago by its own clock (:func:`backend.domain.rollups.closed`);
the months still open are read day by day. Which months: those written since their rollup, by
their change stamps (the ``MONTHS`` partition, one item per month: a Query by key, never a
scan), and, once, each month that closed since its last run (``SWEPT``/``rollups``): a month
written only while it was open has no stamp (writers bump only closed months' stamps).

A late event for a closed month bumps its stamp, so its rollup stops being used at once (the
month is read day by day until the next run recomputes it): the figures are exact at every
moment, the rollup only makes them cheaper. Why a write the job's reads miss always bumps the
stamp after the job read it: docs/architecture.md, "Month rollups".
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from tqdm import tqdm

from backend.adapters.analytics import AnalyticsStore
from backend.adapters.rollups import ROLLUPS_JOB, rollup_items
from backend.domain import rollups
from backend.domain.calendar import days as days_between


def stale_months(
    analytics: AnalyticsStore, now: datetime, zone: tzinfo, months: list[str] | None = None
) -> tuple[list[str], list[str]]:
    """The closed months (at ``now``, in ``zone``) whose rollup is missing or older than their
    stamp: of all stamped months and the months closed since the last sweep, or only of
    ``months``; and the months of that sweep (none when ``months`` are given)."""
    stamped = analytics.stamped_months()
    swept: list[str] = []
    if months is None:
        swept = rollups.to_sweep(analytics.swept_through(ROLLUPS_JOB), now, zone)
    candidates = sorted(set(months) if months is not None else {*stamped, *swept})
    closed = [m for m in candidates if rollups.closed(m, now, zone)]
    covered = analytics.rollup_coverage(closed)
    return [m for m in closed if covered.get(m) != stamped.get(m, 0)], swept


def compute(analytics: AnalyticsStore, month: str, now: datetime) -> dict[str, Any]:
    """Recompute one month's rollup from its days and write it (``now``: the job's clock)."""
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
    analytics.put_rollup_items(rollup_items(month, rollup, covered, len(month_days), now.isoformat()))
    return {"month": month, "covered": covered, "customers": len(rollup.customers)}


def run(
    analytics: AnalyticsStore,
    now: datetime,
    zone: tzinfo,
    *,
    months: list[str] | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Recompute the rollup of every stale closed month (or of those of ``months`` that are),
    the months closed since the last run included; ``now`` is the job's clock, read before any
    stamp, and ``zone`` the store's (when its months end).

    ``progress`` shows a progress bar (``None``: only on a terminal).
    """
    for month in months or []:
        rollups.month_days(month)  # a malformed month is refused, in words, before any work
    todo, swept = stale_months(analytics, now, zone, months)
    quiet = None if progress is None else not progress
    for month in tqdm(todo, desc="month rollups", unit="month", disable=quiet):
        compute(analytics, month, now)
    if swept:
        # After their rollups: a crash before this line sweeps them again next time.
        analytics.set_swept_through(ROLLUPS_JOB, swept[-1])
    return {"months": todo}
