"""Products bought together: the baskets the orders processor keeps and the ``pairs`` job that
folds them (layout in :mod:`backend.adapters.baskets`, rules in :mod:`backend.domain.together`;
the read routes and the weekly digest read them through the adapter)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from backend.adapters import baskets
from backend.adapters.analytics import AnalyticsStore
from backend.domain import cohorts, rollups
from backend.domain.calendar import days, store_day
from backend.domain.events import Event, OrderPlaced
from backend.domain.together import Basket, PairCounts


def _baskets(placed: Iterable[Event], zone: ZoneInfo) -> list[tuple[date, Basket]]:
    """One basket per order, under its store day."""
    found = []
    for event in placed:
        data: OrderPlaced = event.data
        basket = Basket(data.order_id, frozenset(line.sku for line in data.lines))
        found.append((store_day(event.occurred_at, zone), basket))
    return found


def basket_items(placed: Iterable[Event], zone: ZoneInfo) -> list[dict[str, Any]]:
    """Basket items of their own (``BK#``) for these orders. The orders processor keeps its
    baskets in its parts' SKU items instead (:func:`basket_members`); ``BK#`` items, written
    until December 2026, are still read."""
    return baskets.basket_items(_baskets(placed, zone))


def basket_members(placed: Iterable[Event], zone: ZoneInfo) -> dict[date, list[str]]:
    """The baskets of these orders as the member strings a part's SKU items keep, by store day
    (:func:`backend.adapters.dynamo.day_sku_items`)."""
    found: dict[date, list[str]] = {}
    for day, basket in _baskets(placed, zone):
        found.setdefault(day, []).append(basket.member())
    return found


#: The pairs job's name for how far it has swept the closed months (``SWEPT``/``pairs``).
PAIRS_JOB = "pairs"
#: The stamp a month still open is read at: no fold's (its folds have none).
OPEN = -1


def run(
    analytics: AnalyticsStore, today: date, *, now: datetime | None = None, zone: tzinfo = UTC
) -> dict[str, Any]:
    """The nightly ``pairs`` job, at ``now`` (its clock, read before any stamp) on the store day
    ``today`` in ``zone``:

    - each closed month (ended more than the clocks' margin ago, :func:`~backend.domain.rollups.
      closed`) whose change stamp moved since its fold, and each month closed since the last run
      (written only while open, it has no stamp): each day whose fold is not at the stamp is
      folded again and sealed at it (from its fold when its baskets are the ones it folded, else
      from its baskets), then the month;
    - the month still open (writers bump no stamp for it): each of its days up to ``today``
      without a fold, or whose basket items are no longer the ones its fold lists, is folded
      again, without a stamp (readers check it by its basket keys).

    Which months to look at comes from the months' change stamps (one Query of the ``MONTHS``
    partition, one item per month of history) and the sweep's ``SWEPT``/``pairs`` item; a month
    whose fold is current is skipped whole. Returns how many day folds were written, the months
    folded and how many months were current.
    """
    clock = now or datetime.now(UTC)
    computed_at = clock.isoformat()
    swept = rollups.to_sweep(analytics.swept_through(PAIRS_JOB), clock, zone)
    closed = sorted(m for m in {*analytics.stamped_months(), *swept} if rollups.closed(m, clock, zone))
    current, stale = analytics.current_pair_months(closed)
    folded_days = 0
    folded_months: list[str] = []
    for month in stale:
        # The stamp before the days are read: a write the reads miss bumps it after (the month
        # is closed), so the fold is never taken for current then.
        covered = analytics.month_change_stamps([month], consistent=True)[month]
        total = PairCounts()
        month_days = list(days(*rollups.month_days(month)))
        for day, found in analytics.day_pair_counts(month_days, {month: covered}).items():
            total.add(found.counts)
            if not found.stamped:
                folded_days += analytics.put_day_pair_fold(day, found, covered, computed_at, total)
        if analytics.put_month_pair_fold(month, total, covered, computed_at):
            folded_months.append(month)
    if swept:
        # After their folds: a crash before this line sweeps them again next time.
        analytics.set_swept_through(PAIRS_JOB, swept[-1])
    this_month = rollups.month_of(today)
    for month in sorted({cohorts.add_months(this_month, -1), this_month}):
        if rollups.closed(month, clock, zone):
            continue
        first, last = rollups.month_days(month)
        open_days = list(days(first, min(last, today)))
        for day, found in analytics.day_pair_counts(open_days, {month: OPEN}).items():
            if not found.from_fold:
                folded_days += analytics.put_day_pair_fold(day, found, None, computed_at, found.counts)
    return {"days_folded": folded_days, "months": folded_months, "months_current": len(current)}
