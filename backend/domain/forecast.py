"""Demand forecast per SKU with weekly seasonality, and when its stock runs out (pure).

The method (chosen by measurement, ``bench/insights_forecast.py``, figures in
``docs/insights.md``): a SKU's expected units on a day are its **level** times the store's
**weekday index** of that day's weekday.

- The weekday index comes from the whole store's units of the last :data:`HISTORY_DAYS` closed
  days (8 weeks): the mean units of each weekday over the mean of all days, shrunk toward 1 by
  how far it stands out from day-to-day noise (:func:`weekday_index`). One SKU sells too few
  units a day to show its own weekly pattern; the store as a whole does, and most of a SKU's
  weekly swing is the store's (more visitors on Saturday).
- The level is an exponentially weighted mean of the SKU's deseasonalised daily units over the
  same 8 weeks (half-life :data:`HALF_LIFE_DAYS`): twice the days of a 4-week mean, which halves
  the noise of a slow seller's estimate (the larger part of a SKU's forecast error), while the
  newest week still weighs twice the oldest. Shorter half-lives (7, 10, 14 days), which follow a
  trend sooner, measured worse on every data set (docs/insights.md).

``forecast_daily_units`` is the level (the mean of the next week's days); ``stockout_date`` is
the first day on which the forecast units from today on reach ``on_hand``; ``reorder_by`` is
that date minus the SKU's lead time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

HISTORY_DAYS = 56
HALF_LIFE_DAYS = 28.0
DEFAULT_LEAD_TIME_DAYS = 7
#: A SKU whose ``reorder_by`` is at most this many days ahead is at risk of a stock-out.
RISK_DAYS = 3
#: Stock that lasts longer than this has no ``stockout_date`` (``None``: not within a year).
HORIZON_DAYS = 366
WEEK = 7
_UNITS = Decimal("0.01")


def weekday_index(days: Sequence[date], store_units: Mapping[date, float]) -> tuple[float, ...]:
    """The store's weekday index (Monday first, mean 1) over ``days``, shrunk toward 1.

    Each weekday's raw index is its mean units over the mean of all ``days``. It is then shrunk
    toward 1 by the share of its spread that is signal: with ``v`` the variance of the raw
    indices around 1 and ``n`` the variance one of them would have from day-to-day noise alone
    (the daily units' variance over the days of a weekday), the index keeps ``max(0, 1 - n / v)``
    of its distance to 1. A store whose weekdays differ only by chance gets a flat index.

    >>> days = [date(2025, 3, 3) + timedelta(d) for d in range(28)]
    >>> flat = weekday_index(days, {d: 10.0 for d in days})
    >>> flat
    (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    >>> busy_weekend = weekday_index(days, {d: 20.0 if d.weekday() >= 5 else 10.0 for d in days})
    >>> [round(i, 2) for i in busy_weekend]
    [0.78, 0.78, 0.78, 0.78, 0.78, 1.56, 1.56]
    """
    values = [float(store_units.get(d, 0.0)) for d in days]
    if not values:
        return (1.0,) * WEEK
    mean = sum(values) / len(values)
    if mean <= 0:
        return (1.0,) * WEEK
    by_weekday: list[list[float]] = [[] for _ in range(WEEK)]
    for day, value in zip(days, values, strict=True):
        by_weekday[day.weekday()].append(value / mean)
    raw = [sum(v) / len(v) if v else 1.0 for v in by_weekday]
    spread = sum((r - 1.0) ** 2 for r in raw) / WEEK
    noise = 0.0
    for ratios, centre in zip(by_weekday, raw, strict=True):
        if len(ratios) > 1:
            noise += sum((x - centre) ** 2 for x in ratios) / (len(ratios) - 1) / len(ratios)
    noise /= WEEK
    keep = 0.0 if spread == 0 else max(0.0, 1.0 - noise / spread)
    shrunk = [1.0 + keep * (r - 1.0) for r in raw]
    scale = sum(shrunk) / WEEK
    return tuple(s / scale for s in shrunk)


def level(days: Sequence[date], units: Mapping[date, float], index: Sequence[float]) -> float:
    """A SKU's deseasonalised daily units: the mean of ``units[d] / index[weekday(d)]`` over
    ``days`` (absent days sold 0), weighted by ``0.5 ** (age / HALF_LIFE_DAYS)``, the newest
    day having age 0.

    >>> days = [date(2025, 3, 3) + timedelta(d) for d in range(14)]
    >>> round(level(days, {d: 4.0 for d in days}, (1.0,) * 7), 6)
    4.0
    """
    if not days:
        return 0.0
    newest = max(days)
    total = weights = 0.0
    for day in days:
        weight = 0.5 ** ((newest - day).days / HALF_LIFE_DAYS)
        total += weight * float(units.get(day, 0.0)) / (index[day.weekday()] or 1.0)
        weights += weight
    return total / weights


@dataclass(frozen=True)
class Forecast:
    """A SKU's expected units on each weekday (Monday first), from the day after ``as_of``."""

    as_of: date
    weekday_units: tuple[float, ...]

    @property
    def daily_units(self) -> Decimal:
        """The mean expected units a day (over a week), to two decimals."""
        return Decimal(repr(sum(self.weekday_units) / WEEK)).quantize(_UNITS, ROUND_HALF_UP)

    def units_on(self, day: date) -> float:
        return self.weekday_units[day.weekday()]


def forecast(
    as_of: date, units: Mapping[date, float], index: Sequence[float], history: int = HISTORY_DAYS
) -> Forecast:
    """The forecast of a SKU from its daily units up to ``as_of`` (the last closed day).

    >>> days = [date(2025, 3, 3) + timedelta(d) for d in range(56)]
    >>> f = forecast(days[-1], {d: 3.0 for d in days}, (1.0,) * 7)
    >>> f.daily_units, round(f.units_on(date(2025, 5, 1)), 6)
    (Decimal('3.00'), 3.0)
    """
    days = [as_of - timedelta(days=n) for n in range(history)]
    base = level(days, units, index)
    return Forecast(as_of, tuple(base * i for i in index))


def stockout_date(on_hand: int, plan: Forecast | None, today: date) -> date | None:
    """The day the stock runs out at the forecast rate: the first day from ``today`` on by the
    end of which the forecast units reach ``on_hand`` (``today`` when nothing is on hand);
    ``None`` when nothing is forecast to sell or the stock outlasts :data:`HORIZON_DAYS`.

    >>> plan = Forecast(date(2025, 3, 9), (2.0,) * 7)
    >>> stockout_date(5, plan, date(2025, 3, 10)), stockout_date(0, plan, date(2025, 3, 10))
    (datetime.date(2025, 3, 12), datetime.date(2025, 3, 10))
    >>> stockout_date(5, Forecast(date(2025, 3, 9), (0.0,) * 7), date(2025, 3, 10)) is None
    True
    """
    if on_hand <= 0:
        return today
    if plan is None or sum(plan.weekday_units) <= 0:
        return None
    left = float(on_hand)
    for offset in range(HORIZON_DAYS):
        day = today + timedelta(days=offset)
        left -= plan.units_on(day)
        if left <= 1e-9:
            return day
    return None


def reorder_by(stockout: date | None, lead_time_days: int) -> date | None:
    """The last day to order so that new stock arrives before ``stockout``.

    >>> reorder_by(date(2025, 3, 20), 7), reorder_by(None, 7)
    (datetime.date(2025, 3, 13), None)
    """
    return None if stockout is None else stockout - timedelta(days=lead_time_days)


def at_risk(on_hand: int, reorder: date | None, today: date) -> bool:
    """Whether a SKU is at risk of a stock-out: still in stock, and its ``reorder_by`` at most
    :data:`RISK_DAYS` days ahead (or past). A SKU already out has its out-of-stock alert.

    >>> at_risk(10, date(2025, 3, 12), date(2025, 3, 10)), at_risk(10, date(2025, 3, 14), date(2025, 3, 10))
    (True, False)
    """
    return on_hand > 0 and reorder is not None and reorder <= today + timedelta(days=RISK_DAYS)


def wape(actual: Sequence[float], predicted: Sequence[float]) -> float:
    """Weighted absolute percentage error: ``sum |a - p| / sum a`` (``nan`` when nothing sold).

    >>> wape([10, 0, 10], [8, 1, 12])
    0.25
    """
    sold = sum(actual)
    if sold == 0:
        return math.nan
    return sum(abs(a - p) for a, p in zip(actual, predicted, strict=True)) / sold
