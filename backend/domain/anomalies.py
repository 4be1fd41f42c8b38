"""Unusual days: a closed store day's ``net_sales``, ``orders`` and ``returns`` against what the
same weekday of the previous 8 weeks leads to expect (pure).

``expected``, what an alert reports, is the **median** of a metric on the same weekday 1 to 8
weeks before (those of the 8 days the store has figures for; at least :data:`MIN_WEEKS`, or no
verdict). The score is measured on the square-root scale of the day's count of orders (money
divided by the usual order value), where counting noise is the same size for a small store as
for a big one and a drop to nearly nothing stands out as much as it should:
``score = (sqrt(value) - centre) / spread``, where

- ``centre`` is the mean of the baseline days' square roots without their lowest and highest (as
  robust as a median to one past promotion or outage, and a steadier estimate of the usual);
- ``spread`` is the store's day-to-day noise, measured over **all** the days of those 8 weeks
  (:func:`_noise`: each day's distance from its weekday's median, clipped, their root mean
  square; eight same-weekday days alone give a spread often half or twice the truth), floored
  by counting noise (a count's square root varies by 1/2 whatever its size: :data:`COUNT_NOISE`
  of that) and widened for the uncertainty of the centre itself (:data:`TRIMMED_VARIANCE`).

``net_sales`` is scored on the day's sales before refunds: refunds are of earlier orders and have
their own metric; a few big ones would otherwise make an ordinary day of a small store look like
a bad day. Its ``value`` and ``expected`` are net sales all the same.

A day is unusual when its score passes the threshold of its kind (:data:`THRESHOLDS`) and it
is also off by what an owner would call unusual (:data:`MIN_CHANGE` of the expected value: a
third down, 60% up; returns by :data:`MIN_RETURNS_SHARE` of a usual day's gross sales and by
:data:`MIN_REFUNDED_ORDERS` usual orders' worth):

- ``net_sales`` or ``orders`` far below: ``sales_drop``; far above: ``sales_spike``; when one of
  them passes, the other, off the same way, needs :data:`CONFIRM` of its threshold (one bad day
  seen in both);
- ``returns`` far above: ``refund_spike`` (unusually low returns are not a problem).

The thresholds and the minimum changes were chosen by ``bench/insights_anomalies.py`` on seeds
apart from the ones it reports (docs/insights.md).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

AnomalyType = Literal["sales_drop", "sales_spike", "refund_spike"]
Metric = Literal["net_sales", "orders", "returns"]
METRICS: tuple[Metric, ...] = ("net_sales", "orders", "returns")

BASELINE_WEEKS = 8
MIN_WEEKS = 4
#: The score a day must pass, by the alert it would raise, chosen with the minimum changes below
#: on seeds apart from the reported ones (``bench/insights_anomalies.py``, docs/insights.md): the
#: most plants found with no false alarm over 500 tuning histories.
THRESHOLDS: dict[AnomalyType, float] = {"sales_drop": 4.25, "sales_spike": 4.5, "refund_spike": 3.0}
#: How far off a day must also be, as a share of the expected value, for an owner to call it a
#: bad day or a spike: a third down, 60% up. A big store's ordinary days vary so little that a
#: 30% dip or a 45% rush scores past the thresholds now and then; its owner would not call them
#: unusual, and a day at half or twice its usual always passes.
MIN_CHANGE: dict[AnomalyType, float] = {"sales_drop": 0.35, "sales_spike": 0.6}
#: Returns must exceed what is usual by this share of a usual day's gross sales
MIN_RETURNS_SHARE = 0.10
#: and by this many usual orders' worth: a small store's ordinary day gets 5 to 10 orders' worth
#: of refunds now and then (a few refunds of big orders), which no owner calls a wave; 12
#: refunds where one is usual pass.
MIN_REFUNDED_ORDERS = 11.0
#: With the day's count of refunds (``refunds``, kept since 2026-12), ``refund_spike`` is scored
#: on the count and must pass this threshold (:data:`THRESHOLDS` has the one on money alone, for
#: days counted before); chosen with the three minimums below like the others
#: (``bench/insights_anomalies.py --grid-counted``),
COUNTED_REFUNDS_THRESHOLD = 3.1
#: and be this many refunds more than usual at least
MIN_EXTRA_REFUNDS = 8.0
#: and this many times the usual count more (1.0: twice the usual at least),
MIN_REFUND_RISE = 1.0
#: and its money above the usual returns by this share of a usual day's gross sales: many
#: refunds, and refunds that matter (one big refund is one refund; ten refunds of the shipping
#: fee are no wave either).
MIN_RETURNS_SHARE_COUNTED = 0.05
#: The counts' square roots are taken of the count plus this (Anscombe's), so that the noise of
#: a store's few refunds a day is near counting noise whatever their mean.
COUNT_OFFSET = 0.375
#: What share of its threshold ``net_sales`` or ``orders`` needs when the other passes its own
#: the same way on the same day (:func:`verdicts`).
CONFIRM = 0.6
#: The spread's floor on the square-root scale: counting noise (1/2) times this factor, for the
#: extra noise of real days (an order's value varies; so does a day's demand).
COUNT_NOISE = 1.2
#: Normal noise's standard deviation over its median absolute deviation.
MAD_SCALE = 1.4826
#: Residuals farther than this many MADs from their weekday's centre count as this far (a past
#: promotion or outage must not widen the noise).
CLIP = 3.0
#: The variance of the mean of ``n`` normal values without their lowest and highest, times ``n``
#: over the variance of one (simulated; ``n`` of 4 to 8 baseline days).
TRIMMED_VARIANCE = {4: 1.194, 5: 1.14, 6: 1.1, 7: 1.087, 8: 1.071}
_CENTS = Decimal("0.01")
#: The root mean square of standard normal values clipped at :data:`CLIP`.
_CLIPPED_RMS = math.sqrt(
    1
    - 2 * CLIP * math.exp(-CLIP * CLIP / 2) / math.sqrt(2 * math.pi)
    + (CLIP * CLIP - 1) * math.erfc(CLIP / math.sqrt(2))
)


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


def _centre(values: Sequence[float]) -> float:
    """The middle of a few values: their mean without the lowest and the highest (of 4 values,
    the median). As robust as a median to one outlier, and its estimate of a normal mean varies
    less (:data:`TRIMMED_VARIANCE`: 1.07 against 1.34 for 8 values)."""
    ordered = sorted(values)
    middle = ordered[1:-1] if len(ordered) >= 3 else ordered
    return sum(middle) / len(middle)


def _noise(roots_by_day: Mapping[date, float]) -> float:
    """The day-to-day noise of a metric (on the square-root scale) over the days given, as a
    standard deviation: each day's distance from the median of its weekday's days (``n`` of
    them), widened by ``sqrt(n / (n - 1))`` (a day pulls its own weekday's median towards it),
    clipped at :data:`CLIP` times their MAD (one past outage must not widen it), then their root
    mean square. 0 when no weekday has two days.

    A MAD alone is biased low by 16% for 8-day weekdays (27% for 4) and varies by 18% from one
    8-week window to the next; the clipped root mean square is unbiased within 2% and varies by
    11%, so the score of a bad day moves less with the chance of its baseline."""
    by_weekday: dict[int, list[float]] = {}
    for day, root in roots_by_day.items():
        by_weekday.setdefault(day.weekday(), []).append(root)
    residuals = [
        (root - statistics.median(roots)) * math.sqrt(len(roots) / (len(roots) - 1))
        for roots in by_weekday.values()
        if len(roots) >= 2
        for root in roots
    ]
    if not residuals:
        return 0.0
    limit = CLIP * MAD_SCALE * statistics.median(abs(r) for r in residuals)
    return math.sqrt(sum(min(r * r, limit * limit) for r in residuals) / len(residuals)) / _CLIPPED_RMS


@dataclass(frozen=True)
class Rules:
    """When a metric's score makes a day unusual: the score its kind must pass (``thresholds``),
    and how far off it must also be (``min_change``: a share of the expected value for
    ``sales_drop`` and ``sales_spike``, of a usual day's gross sales for ``refund_spike``);
    ``refund_spike`` on a day with a count of refunds by the ``counted`` rules instead."""

    thresholds: Mapping[AnomalyType, float]
    min_change: Mapping[AnomalyType, float]
    min_refunded_orders: float = 0.0
    confirm: float = 1.0
    #: ``refund_spike`` scored on the count of refunds (:data:`COUNTED_REFUNDS_THRESHOLD`...)
    counted_refunds_threshold: float = COUNTED_REFUNDS_THRESHOLD
    min_extra_refunds: float = MIN_EXTRA_REFUNDS
    min_refund_rise: float = MIN_REFUND_RISE
    min_returns_share_counted: float = MIN_RETURNS_SHARE_COUNTED


RULES = Rules(
    thresholds=THRESHOLDS,
    min_change={**MIN_CHANGE, "refund_spike": MIN_RETURNS_SHARE},
    min_refunded_orders=MIN_REFUNDED_ORDERS,
    confirm=CONFIRM,
)


@dataclass(frozen=True)
class Candidate:
    """A metric of a day as the check scores it, before any rule says whether it is unusual."""

    day: date
    metric: Metric
    value: Decimal
    expected: float
    score: float
    usual_gross: float
    order_value: float
    #: ``returns`` only, when the day and enough of its baseline have a count of refunds: the
    #: day's count and the median of the baseline's (the score is then the count's).
    count: float | None = None
    expected_count: float | None = None

    @property
    def kind(self) -> AnomalyType | None:
        """The alert it would raise, by its direction (``None``: returns below usual)."""
        if self.metric == "returns":
            return "refund_spike" if self.score >= 0 else None
        return "sales_drop" if self.score < 0 else "sales_spike"

    def unusual(self, rules: Rules = RULES, share: float = 1.0) -> bool:
        """Whether ``rules`` call it unusual (at ``share`` of their score thresholds)."""
        kind = self.kind
        if kind is None:
            return False
        threshold = rules.thresholds[kind]
        off = float(self.value) - self.expected
        if self.metric != "returns":
            material = abs(off) >= abs(self.expected) * rules.min_change[kind]
        elif self.count is None or self.expected_count is None:  # money alone (days before counts)
            of_sales = self.usual_gross * rules.min_change[kind]
            material = off >= max(of_sales, self.order_value * rules.min_refunded_orders)
        else:  # many refunds, and refunds that matter
            threshold = rules.counted_refunds_threshold
            extra = self.count - self.expected_count
            material = (
                extra >= max(rules.min_extra_refunds, rules.min_refund_rise * self.expected_count)
                and off >= self.usual_gross * rules.min_returns_share_counted
            )
        return material and abs(self.score) >= threshold * share

    def alert(self) -> Anomaly:
        """As an alert (of :attr:`kind`)."""
        assert self.kind is not None
        return Anomaly(
            type=self.kind,
            metric=self.metric,
            day=self.day,
            value=self.value,
            expected=Decimal(repr(self.expected)).quantize(_CENTS, ROUND_HALF_UP),
            score=round(self.score, 2),
        )


def detect(day: date, figures: Mapping[date, Mapping[str, object]], rules: Rules = RULES) -> list[Anomaly]:
    """The unusual metrics of ``day``, given the sales counters of days (``day``, its baseline
    days and, for the noise, the other days of :func:`history_days`). A day of the 8 weeks
    without counters is a day without figures (before the store opened); ``day`` without
    counters sold nothing, the worst bad day.

    A store with fewer than :data:`MIN_WEEKS` baseline days gets none. ``rules`` are for the
    benchmark that chose them.

    Examples
    --------
    >>> monday = date(2025, 3, 31)
    >>> usual = {"gross_sales": Decimal("10000"), "returns": Decimal("400"), "orders": Decimal(200)}
    >>> days = {d: dict(usual, orders=Decimal(200 + i % 3)) for i, d in enumerate(history_days(monday))}
    >>> days[monday] = {"gross_sales": Decimal("3000"), "returns": Decimal("400"), "orders": Decimal(60)}
    >>> [(a.type, a.metric, str(a.value), str(a.expected)) for a in detect(monday, days)]
    [('sales_drop', 'net_sales', '2600', '9600.00'), ('sales_drop', 'orders', '60', '201.00')]
    """
    return alerts(assess(day, figures), rules)


def alerts(candidates: Sequence[Candidate], rules: Rules = RULES) -> list[Anomaly]:
    """The unusual ones of a day's candidates (:func:`assess`), as alerts."""
    return [c.alert() for c, unusual in zip(candidates, verdicts(candidates, rules), strict=True) if unusual]


def verdicts(candidates: Sequence[Candidate], rules: Rules = RULES) -> list[bool]:
    """Which of a day's candidates are unusual. ``net_sales`` and ``orders`` confirm each other:
    when one of them passes its rules, the other, off the same way, needs only ``rules.confirm``
    of the score threshold (and the same minimum change): the same bad day, seen in both."""
    alone = [c.unusual(rules) for c in candidates]
    sales_kinds = {
        c.kind for c, unusual in zip(candidates, alone, strict=True) if unusual and c.metric != "returns"
    }
    return [
        unusual or (c.metric != "returns" and c.kind in sales_kinds and c.unusual(rules, rules.confirm))
        for c, unusual in zip(candidates, alone, strict=True)
    ]


def _scored(figures: Mapping[Metric, Decimal], metric: Metric) -> float:
    """What a metric is scored on: ``net_sales`` before the day's refunds (the day's sales; refunds
    of earlier orders are the ``returns`` metric's, and a few big ones on a small store's day
    would otherwise make an ordinary day's net sales look like a bad day)."""
    if metric == "net_sales":
        return float(figures["net_sales"] + figures["returns"])
    return float(figures[metric])


def assess(day: date, figures: Mapping[date, Mapping[str, object]]) -> list[Candidate]:
    """Every metric of ``day`` scored against its baseline (no rules applied); none with fewer
    than :data:`MIN_WEEKS` baseline days."""
    baseline = [d for d in baseline_days(day) if d in figures]
    if len(baseline) < MIN_WEEKS:
        return []
    known = {d: day_figures(figures[d]) for d in history_days(day) if d in figures}
    history = [known[d] for d in baseline]
    today = day_figures(figures.get(day, {}))
    usual_gross = statistics.median(float(h["net_sales"] + h["returns"]) for h in history)
    usual_orders = max(statistics.median(float(h["orders"]) for h in history), 1.0)
    order_value = max(usual_gross / usual_orders, 0.01)
    counts = refund_counts(day, figures)
    counted = [d for d in baseline if d in counts]
    out = []
    for metric in METRICS:
        expected = statistics.median(float(h[metric]) for h in history)
        if metric == "returns" and day in counts and len(counted) >= MIN_WEEKS:
            roots = {d: math.sqrt(c + COUNT_OFFSET) for d, c in counts.items() if d != day}
            score = _score(math.sqrt(counts[day] + COUNT_OFFSET), roots, counted)
            expected_count = statistics.median(counts[d] for d in counted)
            out.append(
                Candidate(
                    day,
                    metric,
                    today[metric],
                    expected,
                    score,
                    usual_gross,
                    order_value,
                    counts[day],
                    expected_count,
                )
            )
            continue
        unit = 1.0 if metric == "orders" else order_value
        roots = {d: _root(_scored(f, metric), unit) for d, f in known.items()}
        score = _score(_root(_scored(today, metric), unit), roots, baseline)
        out.append(Candidate(day, metric, today[metric], expected, score, usual_gross, order_value))
    return out


def _score(root: float, roots: Mapping[date, float], baseline: Sequence[date]) -> float:
    """How far a day's ``root`` is from the trimmed mean of its ``baseline`` days' roots, in the
    store's noise over every day of ``roots`` (floored by counting noise, widened by the
    uncertainty of the centre)."""
    centre = _centre([roots[d] for d in baseline])
    spread = max(_noise(roots), COUNT_NOISE / 2) * math.sqrt(
        1 + TRIMMED_VARIANCE[len(baseline)] / len(baseline)
    )
    return (root - centre) / spread


def refund_counts(day: date, figures: Mapping[date, Mapping[str, object]]) -> dict[date, float]:
    """The count of refunds of ``day`` and of the days of :func:`history_days` that have one.

    Days counted before the release that keeps the count (``refunds`` on ``DAY#<d>``/``SALES``)
    hold ``returns`` without it; a day without refunds holds neither, before or after. So the
    counted days are those from the first whose item holds a count on (their count, 0 when they
    hold neither), and ``day`` without figures (nothing sold, nothing refunded: 0); a day after
    that one with refunded money and no count (a straggler of the older release) is left out.

    >>> d = date(2025, 3, 31)
    >>> figures = {d - timedelta(days=3): {"returns": 5}, d - timedelta(days=2): {"returns": 0},
    ...            d - timedelta(days=1): {"returns": 8, "refunds": 2}, d: {}}
    >>> sorted((day.isoformat(), n) for day, n in refund_counts(d, figures).items())
    [('2025-03-30', 2.0), ('2025-03-31', 0.0)]
    """
    oldest_first = [*reversed(history_days(day)), day]
    first = next((d for d in oldest_first if "refunds" in figures.get(d, {})), None)
    if first is None:
        return {}
    out = {}
    for d in oldest_first[oldest_first.index(first) :]:
        counters = figures.get(d)
        if counters is None and d != day:
            continue  # before the store opened
        counters = counters or {}
        if "refunds" in counters:
            out[d] = float(Decimal(str(counters["refunds"])))
        elif not Decimal(str(counters.get("returns", 0))):
            out[d] = 0.0
    return out
