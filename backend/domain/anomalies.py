"""Unusual days: a closed store day's ``net_sales``, ``orders`` and ``returns`` against what the
same weekday of the previous 8 weeks leads to expect (pure).

The baseline of a metric is the **median** of its values on the same weekday 1 to 8 weeks
before (those of the 8 days the store has figures for; at least :data:`MIN_WEEKS`, or no
verdict): ``expected``. The score is measured on the square-root scale of the day's count of
orders (money divided by the usual order value), where counting noise is the same size for a
small store as for a big one and a drop to nearly nothing stands out as much as it should:
``score = (sqrt(value) - median(sqrt(baseline))) / spread``, the spread being the **MAD**
(median absolute deviation) of the baseline's roots scaled by 1.4826 (the standard deviation
for normal noise, and not dragged by the odd past anomaly the way a mean and a standard
deviation are), floored: eight days can agree by chance, and a day a few percent off such a run
is not news.

 A day is unusual when ``|score| >= THRESHOLD`` and it
is also materially off (:data:`MIN_CHANGE` of the expected value; returns by
:data:`MIN_RETURNS_SHARE` of a usual day's gross sales):

- ``net_sales`` or ``orders`` far below: ``sales_drop``; far above: ``sales_spike``;
- ``returns`` far above: ``refund_spike`` (unusually low returns are not a problem).

The threshold and floors are set by ``bench/insights_forecast.py`` (docs/insights.md).
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
THRESHOLD = 3.5
MIN_CHANGE = 0.25
#: Returns must exceed what is usual by this share of a usual day's gross sales.
MIN_RETURNS_SHARE = 0.10
#: Floors of the spread on the square-root scale: counting noise (1/2) times this factor for the
#: extra noise of real days, and this share of the level (halved on that scale).
COUNT_NOISE = 1.0
MIN_SPREAD = 0.15
#: Normal noise's standard deviation over its median absolute deviation.
MAD_SCALE = 1.4826
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


def _root(value: float, unit: float) -> float:
    """A figure on the square-root scale of its count of orders (``unit`` money per order)."""
    return math.sqrt(max(value, 0.0) / unit)


def detect(day: date, figures: Mapping[date, Mapping[str, object]]) -> list[Anomaly]:
    """The unusual metrics of ``day``, given the sales counters of days (at least ``day`` and
    its baseline days). A baseline day without counters is a day without figures (before the
    store opened); ``day`` without counters sold nothing, the worst bad day.

    A store with fewer than :data:`MIN_WEEKS` baseline days gets none.

    Examples
    --------
    >>> monday = date(2025, 3, 31)
    >>> usual = {"gross_sales": Decimal("10000"), "returns": Decimal("400"), "orders": Decimal(200)}
    >>> days = {d: dict(usual, orders=Decimal(200 + i % 3)) for i, d in enumerate(baseline_days(monday))}
    >>> days[monday] = {"gross_sales": Decimal("3000"), "returns": Decimal("400"), "orders": Decimal(60)}
    >>> [(a.type, a.metric, str(a.value), str(a.expected)) for a in detect(monday, days)]
    [('sales_drop', 'net_sales', '2600', '9600.00'), ('sales_drop', 'orders', '60', '201.00')]
    """
    history = [day_figures(figures[d]) for d in baseline_days(day) if d in figures]
    if len(history) < MIN_WEEKS:
        return []
    today = day_figures(figures.get(day, {}))
    usual_gross = statistics.median(float(h["net_sales"] + h["returns"]) for h in history)
    usual_orders = max(statistics.median(float(h["orders"]) for h in history), 1.0)
    order_value = max(usual_gross / usual_orders, 0.01)
    found = []
    for metric in METRICS:
        unit = 1.0 if metric == "orders" else order_value
        values = [float(h[metric]) for h in history]
        roots = [_root(v, unit) for v in values]
        centre = statistics.median(roots)
        mad = statistics.median(abs(r - centre) for r in roots)
        # A count's square root has a standard deviation of 1/2 whatever its size (Poisson):
        # the floor is that, widened for the extra noise of real days, and a share of the level.
        spread = max(MAD_SCALE * mad, COUNT_NOISE / 2, MIN_SPREAD / 2 * centre)
        value = float(today[metric])
        expected = statistics.median(values)
        score = (_root(value, unit) - centre) / spread
        material = usual_gross * MIN_RETURNS_SHARE if metric == "returns" else abs(expected) * MIN_CHANGE
        if abs(score) < THRESHOLD or abs(value - expected) < material:
            continue
        if metric == "returns":
            if score < 0:
                continue
            kind: AnomalyType = "refund_spike"
        else:
            kind = "sales_drop" if score < 0 else "sales_spike"
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
