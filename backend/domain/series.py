"""Sales over time: the store days of a range grouped by day, week or month (pure).

A week starts on Monday and is named by that Monday; a month is named by its 1st. The periods
at the edges of a range may be partial: they hold only the days inside the range, so that the
series always adds up to the summary of the same range. A period without sales is there, with
zeros.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from backend.domain import metrics
from backend.domain.calendar import days

Granularity = Literal["day", "week", "month"]
GRANULARITIES: tuple[Granularity, ...] = ("day", "week", "month")
SERIES_METRICS = ("gross_sales", "discounts", "returns", "net_sales", "orders", "units")


@dataclass(frozen=True)
class Period:
    """One point of a series: the period's name (its first day) and the days of it counted."""

    period: date
    first_day: date
    last_day: date


def period_of(day: date, granularity: Granularity) -> date:
    """The first day of the period holding ``day``: itself, its Monday, or the 1st.

    >>> period_of(date(2025, 3, 9), "week"), period_of(date(2025, 3, 9), "month")
    (datetime.date(2025, 3, 3), datetime.date(2025, 3, 1))
    """
    if granularity == "day":
        return day
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_period(period: date, granularity: Granularity) -> date:
    if granularity == "day":
        return period + timedelta(days=1)
    if granularity == "week":
        return period + timedelta(days=7)
    return date(period.year + period.month // 12, period.month % 12 + 1, 1)


def periods(start: date, end: date, granularity: Granularity) -> list[Period]:
    """Every period that meets ``start``..``end``, clipped to the range.

    Examples
    --------
    A range from a Wednesday to the next Tuesday has two weeks, each partial:

    >>> [(p.period.isoformat(), p.first_day.day, p.last_day.day)
    ...  for p in periods(date(2025, 3, 5), date(2025, 3, 11), "week")]
    [('2025-03-03', 5, 9), ('2025-03-10', 10, 11)]
    """
    out: list[Period] = []
    period = period_of(start, granularity)
    while period <= end:
        following = _next_period(period, granularity)
        out.append(Period(period, max(period, start), min(following - timedelta(days=1), end)))
        period = following
    return out


def sales_series(
    day_sales: Mapping[date, Mapping[str, Any]], start: date, end: date, granularity: Granularity
) -> list[tuple[Period, dict[str, Decimal | int]]]:
    """The sales figures of each period of ``start``..``end``.

    Parameters
    ----------
    day_sales
        The sales counters of each day (``gross_sales``, ``discounts``, ``returns``,
        ``orders``, ``units``); a day absent or without a counter counts zero.
    start, end
        The inclusive range of store days.
    granularity
        ``day``, ``week`` (from Monday) or ``month``.

    Returns
    -------
    list
        ``(period, figures)`` in time order, ``figures`` holding :data:`SERIES_METRICS` as
        :func:`backend.domain.metrics.summarize` defines them (money rounded once, per period).

    Examples
    --------
    >>> sales = {date(2025, 3, 4): {"gross_sales": Decimal("10"), "orders": Decimal(1)}}
    >>> [(p.period.day, f["net_sales"]) for p, f in sales_series(sales, date(2025, 3, 3),
    ...                                                       date(2025, 3, 5), "day")]
    [(3, Decimal('0.00')), (4, Decimal('10.00')), (5, Decimal('0.00'))]
    """
    out = []
    for period in periods(start, end, granularity):
        in_period = days(period.first_day, period.last_day)
        figures = metrics.summarize([day_sales.get(day, {}) for day in in_period], [])
        out.append((period, {name: figures[name] for name in SERIES_METRICS}))
    return out
