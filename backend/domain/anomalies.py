"""Unusual days: a closed store day's ``net_sales``, ``orders`` and ``returns`` against what the
same weekday of the previous 8 weeks leads to expect (pure).

The baseline of a metric is the **median** of its values on the same weekday 1 to 8 weeks
before (those of the 8 days the store has figures for; at least :data:`MIN_WEEKS`, or no
verdict): ``expected``. The score is measured on the square-root scale of the day's count of
orders (money divided by the usual order value), where counting noise is the same size for a
small store as for a big one and a drop to nearly nothing stands out as much as it should:
``score = (sqrt(value) - median(sqrt(baseline))) / spread``.

The spread is the store's day-to-day noise, measured over **all** the days of those 8 weeks:
each day's distance from its own weekday's median, their median (MAD) scaled by 1.4826 (the
standard deviation for normal noise; a past promotion or outage moves it no more than it moves
a median). Eight same-weekday days alone give a spread that is often half or twice the truth
(and a false alarm or a miss with it); 56 days pin it down. It is floored by counting noise (a
count's square root varies by 1/2 whatever its size: :data:`COUNT_NOISE` of that), and widened
for the uncertainty of the median itself (its variance is about ``pi/2 * spread**2 / n``).

A day is unusual when its score passes the threshold of its kind (:data:`THRESHOLDS`) and it
is also materially off (:data:`MIN_CHANGE` of the expected value; returns by
:data:`MIN_RETURNS_SHARE` of a usual day's gross sales):

- ``net_sales`` or ``orders`` far below: ``sales_drop``; far above: ``sales_spike``;
- ``returns`` far above: ``refund_spike`` (unusually low returns are not a problem).

The thresholds and the floor were chosen by ``bench/insights_forecast.py`` on seeds apart from
the ones it reports (docs/insights.md).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

AnomalyType = Literal["sales_drop", "sales_spike", "refund_spike"]
Metric = Literal["net_sales", "orders", "returns"]
METRICS: tuple[Metric, ...] = ("net_sales", "orders", "returns")

BASELINE_WEEKS = 8
MIN_WEEKS = 4
#: The score a day must pass, by the alert it would raise: chosen on seeds apart from the reported
#: ones (docs/insights.md). Refunds: 3.5, not the grid's 4.0 (5 fewer false refund spikes in 300
#: histories), at which 12 refunds on a day where 1 is usual (a 20-order store) went unreported.
THRESHOLDS: dict[AnomalyType, float] = {"sales_drop": 4.0, "sales_spike": 4.5, "refund_spike": 3.5}
MIN_CHANGE = 0.25
#: Returns must exceed what is usual by this share of a usual day's gross sales.
MIN_RETURNS_SHARE = 0.10
#: The spread's floor on the square-root scale: counting noise (1/2) times this factor, for the
#: extra noise of real days (an order's value varies; so does a day's demand).
COUNT_NOISE = 1.2
#: Normal noise's standard deviation over its median absolute deviation.
MAD_SCALE = 1.4826
#: The variance of the median of ``n`` normal values is about this times the variance over ``n``.
MEDIAN_VARIANCE = math.pi / 2
_CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Anomaly:
    """One unusual metric of one day."""

    type: AnomalyType
    metric: Metric
    day: date
    value: Decimal
    expected: Decimal
    score: float


def day_figures(counters: Mapping[str, object]) -> dict[Metric, Decimal]:
    """The three metrics of a day from its sales counters (``DAY#<d>``/``SALES``).

    >>> day_figures({"gross_sales": Decimal("100"), "discounts": Decimal("5"), "returns": Decimal("10"),
    ...              "orders": Decimal(3)})
    {'net_sales': Decimal('85'), 'orders': Decimal('3'), 'returns': Decimal('10')}
    """

    def get(name: str) -> Decimal:
        return Decimal(str(counters.get(name, 0)))

    returns = get("returns")
    return {
        "net_sales": get("gross_sales") - get("discounts") - returns,
        "orders": get("orders"),
        "returns": returns,
    }


def baseline_days(day: date) -> list[date]:
    """The same weekday of the :data:`BASELINE_WEEKS` weeks before ``day``, newest first.

    >>> baseline_days(date(2025, 3, 31))[:2]
    [datetime.date(2025, 3, 24), datetime.date(2025, 3, 17)]
    """
    return [day - timedelta(weeks=n) for n in range(1, BASELINE_WEEKS + 1)]


def history_days(day: date) -> list[date]:
    """Every day of the :data:`BASELINE_WEEKS` weeks before ``day`` (the noise is measured over
    them), newest first.

    >>> days = history_days(date(2025, 3, 31))
    >>> len(days), days[0], days[-1]
    (56, datetime.date(2025, 3, 30), datetime.date(2025, 2, 3))
    """
    return [day - timedelta(days=n) for n in range(1, 7 * BASELINE_WEEKS + 1)]


def _root(value: float, unit: float) -> float:
    """A figure on the square-root scale of its count of orders (``unit`` money per order)."""
    return math.sqrt(max(value, 0.0) / unit)


def _noise(roots_by_day: Mapping[date, float]) -> float:
    """The day-to-day noise of a metric (on the square-root scale) over the days given: each
    day's distance from the median of its weekday's days, their median, scaled to a standard
    deviation. 0 when no weekday has two days."""
    by_weekday: dict[int, list[float]] = {}
    for day, root in roots_by_day.items():
        by_weekday.setdefault(day.weekday(), []).append(root)
    distances = [
        abs(root - statistics.median(roots))
        for roots in by_weekday.values()
        if len(roots) >= 2
        for root in roots
    ]
    return MAD_SCALE * statistics.median(distances) if distances else 0.0


def detect(
    day: date,
    figures: Mapping[date, Mapping[str, object]],
    thresholds: Mapping[AnomalyType, float] = THRESHOLDS,
) -> list[Anomaly]:
    """The unusual metrics of ``day``, given the sales counters of days (``day``, its baseline
    days and, for the noise, the other days of :func:`history_days`). A day of the 8 weeks
    without counters is a day without figures (before the store opened); ``day`` without
    counters sold nothing, the worst bad day.

    A store with fewer than :data:`MIN_WEEKS` baseline days gets none. ``thresholds`` are for
    the benchmark that chose them.

    Examples
    --------
    >>> monday = date(2025, 3, 31)
    >>> usual = {"gross_sales": Decimal("10000"), "returns": Decimal("400"), "orders": Decimal(200)}
    >>> days = {d: dict(usual, orders=Decimal(200 + i % 3)) for i, d in enumerate(history_days(monday))}
    >>> days[monday] = {"gross_sales": Decimal("3000"), "returns": Decimal("400"), "orders": Decimal(60)}
    >>> [(a.type, a.metric, str(a.value), str(a.expected)) for a in detect(monday, days)]
    [('sales_drop', 'net_sales', '2600', '9600.00'), ('sales_drop', 'orders', '60', '201.00')]
    """
    baseline = [d for d in baseline_days(day) if d in figures]
    if len(baseline) < MIN_WEEKS:
        return []
    known = {d: day_figures(figures[d]) for d in history_days(day) if d in figures}
    history = [known[d] for d in baseline]
    today = day_figures(figures.get(day, {}))
    usual_gross = statistics.median(float(h["net_sales"] + h["returns"]) for h in history)
    usual_orders = max(statistics.median(float(h["orders"]) for h in history), 1.0)
    order_value = max(usual_gross / usual_orders, 0.01)
    found = []
    for metric in METRICS:
        unit = 1.0 if metric == "orders" else order_value
        roots = {d: _root(float(f[metric]), unit) for d, f in known.items()}
        centre = statistics.median(roots[d] for d in baseline)
        spread = max(_noise(roots), COUNT_NOISE / 2) * math.sqrt(1 + MEDIAN_VARIANCE / len(baseline))
        value = float(today[metric])
        expected = statistics.median(float(h[metric]) for h in history)
        score = (_root(value, unit) - centre) / spread
        material = usual_gross * MIN_RETURNS_SHARE if metric == "returns" else abs(expected) * MIN_CHANGE
        if abs(value - expected) < material:
            continue
        if metric == "returns":
            if score < 0:
                continue
            kind: AnomalyType = "refund_spike"
        else:
            kind = "sales_drop" if score < 0 else "sales_spike"
        if abs(score) < thresholds[kind]:
            continue
        found.append(
            Anomaly(
                type=kind,
                metric=metric,
                day=day,
                value=today[metric],
                expected=Decimal(repr(expected)).quantize(_CENTS, ROUND_HALF_UP),
                score=round(score, 2),
            )
        )
    return found
