"""Forecast and anomaly evaluation (issue 14): WAPE against the naive baselines, and the anomaly
check's precision and recall on planted days.

Forecast: for each store, the last 28 days are held out; every method forecasts each SKU's daily
units over them from the 56 days before, and WAPE (``sum |actual - forecast| / sum actual``
over every SKU and day) is reported for

- ``naive_4w``: the mean of the last 28 days, flat (the naive baseline);
- ``seasonal_naive``: each day the same weekday of the last week (the seasonal baseline);
- ``index_mean_4w``: the store's weekday index times the flat 28-day mean;
- ``sku_index_ewma``: each SKU's own weekday index times its weighted level;
- ``index_ewma``: the store's weekday index times the weighted level (the method chosen,
  :mod:`backend.domain.forecast`);
- ``hindsight_mean``: not a method but a floor: each SKU's own mean over the held-out days,
  known in advance; its error is the day-to-day noise no forecast removes.

The stores: simulated ones (``devstack.simulator.generate``, seeds 1..N, 140 days, with the
planted trending and fading products), and the TPC-H order data (SF 1, ``dbgen`` of DuckDB's
``tpch`` extension: every lineitem's quantity by order date, grouped by brand (25 "SKUs") and by
part type (150)), over 12 holdouts 28 days apart in its last year. The TPC-H figures are read
from ``bench/data/tpch_sf1_daily_units.csv.gz`` (made by :func:`tpch_daily_units` with the
``tpch`` extension, which DuckDB 2 cannot load offline: the file says how it was made).

Anomalies: for each seed, 12 weeks of a simulated store's day figures (weekly seasonality,
noise, a trend), with bad days, spikes and refund waves planted at random days of the last 4
weeks; :func:`backend.domain.anomalies.detect` runs over each of those days as the nightly job
would. Precision and recall over all seeds.

Jobs (``--jobs-years 5``): a throwaway local stack takes ``N`` years of the simulated store
(``bench.lake.history``: shuffled, through the ingest API and every processor), then the
``forecast`` and ``anomalies`` jobs run on its last day, each timed, with its peak memory
(``tracemalloc``: what the job's Python objects took at most). Neither reads the lake: they read
the day aggregates of a fixed window (56 and 9 days), so their cost follows the SKUs, not the
years.

Run: ``.venv/bin/python -m bench.insights_forecast [--seeds 12] [--anomaly-seeds 500]
[--jobs-years 5]``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import random
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tqdm import tqdm

from backend.domain import anomalies
from backend.domain.forecast import HISTORY_DAYS, forecast, level, wape, weekday_index

HOLDOUT = 28
TPCH_FILE = Path(__file__).parent / "data" / "tpch_sf1_daily_units.csv.gz"
SIM_END = date(2025, 6, 29)
SIM_DAYS = HISTORY_DAYS + HOLDOUT + 56

Series = Mapping[str, Mapping[date, float]]
Method = Callable[[date, Series, Sequence[date]], dict[str, list[float]]]


# -- methods: each takes the last closed day, the SKUs' daily units (history only) and the
# -- holdout days, and returns each SKU's forecast for those days.


def _history(cutoff: date) -> list[date]:
    return [cutoff - timedelta(days=n) for n in range(HISTORY_DAYS)]


def _store_index(cutoff: date, series: Series) -> tuple[float, ...]:
    days = _history(cutoff)
    totals: dict[date, float] = defaultdict(float)
    for units in series.values():
        for day in days:
            totals[day] += units.get(day, 0.0)
    return weekday_index(days, totals)


def naive_4w(cutoff: date, series: Series, ahead: Sequence[date]) -> dict[str, list[float]]:
    days = [cutoff - timedelta(days=n) for n in range(28)]
    return {sku: [sum(u.get(d, 0.0) for d in days) / 28] * len(ahead) for sku, u in series.items()}


def seasonal_naive(cutoff: date, series: Series, ahead: Sequence[date]) -> dict[str, list[float]]:
    def last_same_weekday(day: date) -> date:
        return day - timedelta(days=7 * ((day - cutoff).days // 7 + 1))

    return {sku: [u.get(last_same_weekday(d), 0.0) for d in ahead] for sku, u in series.items()}


def index_mean_4w(cutoff: date, series: Series, ahead: Sequence[date]) -> dict[str, list[float]]:
    index = _store_index(cutoff, series)
    flat = naive_4w(cutoff, series, ahead)
    return {sku: [flat[sku][0] * index[d.weekday()] for d in ahead] for sku in series}


def sku_index_ewma(cutoff: date, series: Series, ahead: Sequence[date]) -> dict[str, list[float]]:
    days = _history(cutoff)
    out = {}
    for sku, units in series.items():
        index = weekday_index(days, units)
        base = level(days, units, index)
        out[sku] = [base * index[d.weekday()] for d in ahead]
    return out


def index_ewma(cutoff: date, series: Series, ahead: Sequence[date]) -> dict[str, list[float]]:
    index = _store_index(cutoff, series)
    return {sku: [forecast(cutoff, u, index).units_on(d) for d in ahead] for sku, u in series.items()}


METHODS: dict[str, Method | None] = {
    "naive_4w": naive_4w,
    "seasonal_naive": seasonal_naive,
    "index_mean_4w": index_mean_4w,
    "sku_index_ewma": sku_index_ewma,
    "index_ewma": index_ewma,
    "hindsight_mean": None,  # the floor, computed from the held-out days themselves
}


def evaluate(stores: Iterable[tuple[Series, date]]) -> dict[str, float]:
    """Pooled WAPE of each method over every (store, cutoff): all SKUs and holdout days."""
    errors: dict[str, float] = defaultdict(float)
    sold = 0.0
    for series, cutoff in stores:
        ahead = [cutoff + timedelta(days=n) for n in range(1, HOLDOUT + 1)]
        history = {sku: {d: v for d, v in u.items() if d <= cutoff} for sku, u in series.items()}
        actual = {sku: [series[sku].get(d, 0.0) for d in ahead] for sku in series}
        sold += sum(sum(a) for a in actual.values())
        # A reference, not a method: each SKU's own mean over the holdout, known in advance.
        # What is left of its error is day-to-day noise no forecast can remove.
        hindsight = {sku: [sum(a) / len(a)] * len(a) for sku, a in actual.items()}
        for name, method in METHODS.items():
            predicted = hindsight if method is None else method(cutoff, history, ahead)
            errors[name] += sum(
                wape(actual[sku], predicted[sku]) * sum(actual[sku]) for sku in series if sum(actual[sku])
            ) + sum(sum(predicted[sku]) for sku in series if not sum(actual[sku]))
    return {name: round(total / sold, 4) for name, total in errors.items()}


# -- the stores


def simulated_units(seed: int, orders_per_day: int = 60) -> Series:
    """Daily units per SKU of a simulated store (store days in UTC) over :data:`SIM_DAYS`."""
    from devstack.simulator import generate

    now = datetime.combine(SIM_END + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    units: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for event in generate(SIM_DAYS, orders_per_day, seed, end=SIM_END, now=now):
        if event["type"] == "order.placed":
            day = datetime.fromisoformat(event["occurred_at"]).date()
            for line in event["data"]["lines"]:
                units[line["sku"]][day] += line["quantity"]
    return units


def tpch_daily_units(path: Path = TPCH_FILE) -> dict[str, Series]:
    """The TPC-H SF 1 daily units by brand and by part type, from the file made with DuckDB's
    ``tpch`` extension (``duckdb-extension-tpch`` 1.5.5 on DuckDB 1.5.5)::

        CALL dbgen(sf=1);
        COPY (SELECT o_orderdate AS day, 'brand' AS grain, p_brand AS sku,
                     sum(l_quantity)::int AS units
              FROM lineitem JOIN orders ON l_orderkey = o_orderkey
                            JOIN part ON l_partkey = p_partkey
              WHERE o_orderdate > DATE '1998-08-02' - 420 GROUP BY ALL
              UNION ALL  -- the same by p_type, grain 'type'
              ...) TO 'tpch_sf1_daily_units.csv.gz' (HEADER, COMPRESSION gzip);
    """
    grains: dict[str, dict[str, dict[date, float]]] = defaultdict(lambda: defaultdict(dict))
    with gzip.open(path, "rt") as handle:
        for row in csv.DictReader(handle):
            grains[row["grain"]][row["sku"]][date.fromisoformat(row["day"])] = float(row["units"])
    return grains


def tpch_cutoffs(series: Series, count: int = 12) -> list[date]:
    last = max(d for u in series.values() for d in u)
    return [last - timedelta(days=HOLDOUT + 28 * n) for n in range(count)]


# -- anomalies


WEEKDAY_FACTOR = (0.92, 0.90, 0.93, 0.97, 1.05, 1.18, 1.10)
DAY_NOISE = 0.08  # a day's demand: its usual times lognormal(0, this)
ORDER_VALUE_SPREAD = 0.5  # an order's value: the usual times lognormal(0, this)
REFUND_RATE = 0.04  # refunds a day, as a share of a usual day's orders
#: A plant is this many standard deviations of the store's own day-to-day noise (on the square
#: root scale of its count of orders) away from usual, at least: an ordinary day of the simulated
#: noise gets that far less than once in a million years.
PLANT_NOISE_UNITS = (6.0, 8.0)


def _noise_sd(usual_orders: float) -> float:
    """The standard deviation, on the square-root scale, of a day's net sales in units of the
    usual order value: counting noise (1/2), widened by the spread of order values and by the
    day's demand noise."""
    value_cv2 = math.exp(ORDER_VALUE_SPREAD**2) - 1
    return math.sqrt(0.25 * (1 + value_cv2) + DAY_NOISE**2 * usual_orders / 4)


def planted_history(
    seed: int, sized_by_noise: bool = True
) -> tuple[dict[date, dict[str, Decimal]], dict[tuple[date, str], str]]:
    """12 weeks of day figures of a store (20 to 300 orders a day, weekly seasonality, demand
    noise, a gentle trend; refunds as a count of refunded orders) with a bad day, a spike and a
    refund wave planted on days of the last 4 weeks; returns the days and what was planted where
    (``(day, metric) -> alert type``).

    A bad day is demand times 0.2-0.45, a spike times 2.2-3.5, a refund wave 25-50% of a usual
    day's orders refunded; ``sized_by_noise`` makes each also at least :data:`PLANT_NOISE_UNITS`
    standard deviations of the store's noise from usual (for a store of 20 orders a day: a bad
    day of 1 to 3 orders, a spike of 2.7 to 3.5 times, a wave of 10 to 15 refunds), which is
    what a store owner calls unusual: a day like none of the years before."""
    rng = random.Random(f"anomalies-{seed}")
    first = date(2025, 1, 6) + timedelta(days=rng.randrange(7))
    base_orders = rng.choice([20, 40, 60, 120, 300])
    aov = rng.uniform(30, 90)
    days: dict[date, dict[str, Decimal]] = {}
    planted: dict[tuple[date, str], str] = {}
    late = list(range(56, 84))
    rng.shuffle(late)
    plans = {late[0]: "bad_day", late[1]: "spike", late[2]: "refund_wave"}

    def order_values(count: int) -> Decimal:
        mean_one = math.exp(ORDER_VALUE_SPREAD**2 / 2)
        total = sum(rng.lognormvariate(0, ORDER_VALUE_SPREAD) for _ in range(count)) * aov / mean_one
        return Decimal(str(round(total, 2)))

    for n in range(84):
        day = first + timedelta(days=n)
        usual = base_orders * WEEKDAY_FACTOR[day.weekday()] * (0.95 + 0.1 * n / 84)
        mean = usual * rng.lognormvariate(0, DAY_NOISE)
        kind = plans.get(n)
        # How far a plant must be from usual on the square-root scale, in the store's noise.
        shift = (
            rng.uniform(*PLANT_NOISE_UNITS) * _noise_sd(usual) / math.sqrt(usual) if sized_by_noise else 0.0
        )
        if kind == "bad_day":
            mean *= min(rng.uniform(0.2, 0.45), max(0.0, 1 - shift) ** 2)
        elif kind == "spike":
            mean *= max(rng.uniform(2.2, 3.5), (1 + shift) ** 2)
        refunds = _poisson(rng, REFUND_RATE * usual)
        if kind == "refund_wave":
            # Refunds follow earlier orders, not the day's own: a wave scales with a usual day.
            usual_refunds = REFUND_RATE * usual
            needed = (math.sqrt(usual_refunds) + shift * math.sqrt(usual)) ** 2 - usual_refunds
            refunds += max(round(usual * rng.uniform(0.25, 0.5)), math.ceil(needed))
        orders = _poisson(rng, mean)
        days[day] = {
            "gross_sales": order_values(orders),
            "discounts": Decimal(0),
            "returns": order_values(refunds),
            "orders": Decimal(orders),
        }
        if kind == "bad_day":
            planted[(day, "net_sales")] = planted[(day, "orders")] = "sales_drop"
        elif kind == "spike":
            planted[(day, "net_sales")] = planted[(day, "orders")] = "sales_spike"
        elif kind == "refund_wave":
            planted[(day, "returns")] = "refund_spike"
            # Net sales count returns, so a refund wave may also show as a drop in them: true,
            # and neither required nor a false alarm.
            planted[(day, "net_sales")] = "either"
    return days, planted


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 50:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


ZERO_THRESHOLDS = dict.fromkeys(anomalies.THRESHOLDS, 0.0)


def fixed_plants_within_noise(draws: int = 20_000) -> dict[int, dict[str, float]]:
    """How distinguishable the earlier benchmark's bad days (demand times 0.2-0.45) are from
    ordinary days, for an oracle that knows each day's true mean and noise: by store size,
    the share of bad days whose orders fall below the level ordinary days fall below once a
    year, and once in ten years (same noise as :func:`planted_history`; orders only)."""
    rng = random.Random("oracle")
    out = {}
    for base in (20, 40, 60, 120, 300):
        ordinary, bad = [], []
        for _ in range(draws):
            usual = base * rng.choice(WEEKDAY_FACTOR)
            ordinary.append(_poisson(rng, usual * rng.lognormvariate(0, DAY_NOISE)) / usual)
            cut = rng.uniform(0.2, 0.45) * rng.lognormvariate(0, DAY_NOISE)
            bad.append(_poisson(rng, usual * cut) / usual)
        ordinary.sort()
        out[base] = {
            f"found_at_{name}": round(sum(b < ordinary[int(draws / days)] for b in bad) / draws, 3)
            for name, days in (("once_a_year", 365), ("once_in_10_years", 3650))
        }
    return out


def _checked_days(
    seeds: Iterable[int], sized_by_noise: bool
) -> Iterator[tuple[int, bool, list[anomalies.Anomaly], dict[tuple[date, str], str]]]:
    """For each seed's history, each day from its second week on: whether it has fewer than 4
    weeks of history before it, what the check raised on it with every threshold at 0 (every
    materially-off metric, with its score), and what was planted."""
    for seed in seeds:
        days, planted = planted_history(seed, sized_by_noise)
        ordered = sorted(days)
        for day in ordered[7:]:
            yield seed, day < ordered[28], anomalies.detect(day, days, ZERO_THRESHOLDS), planted


def anomaly_scores(
    seeds: Iterable[int],
    sized_by_noise: bool = True,
    thresholds: Mapping[str, float] | None = None,
    checked: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Precision and recall of the anomaly check over the planted histories of ``seeds`` (at
    :data:`backend.domain.anomalies.THRESHOLDS`, or ``thresholds``); a raised alert counts as
    right when its day, metric and type are planted. Also how many alerts were raised on the
    days of the first 4 weeks (fewer than 4 weeks of history: must be none)."""
    chosen = dict(thresholds or anomalies.THRESHOLDS)
    if checked is None:
        checked = _all_scored(seeds, sized_by_noise)
    hits = raised = early = 0
    planted_by_type: dict[str, int] = defaultdict(int)
    found_by_type: dict[str, int] = defaultdict(int)
    seen: set[int] = set()
    for seed, too_early, found, planted in checked:
        if seed not in seen:
            seen.add(seed)
            for kind in planted.values():
                if kind != "either":
                    planted_by_type[kind] += 1
        for alert in found:
            if abs(alert.score) < chosen[alert.type]:
                continue
            if too_early:
                early += 1
                continue
            truth = planted.get((alert.day, alert.metric))
            if truth == "either":
                continue
            raised += 1
            if truth == alert.type:
                hits += 1
                found_by_type[alert.type] += 1
    total = sum(planted_by_type.values())
    return {
        "seeds": len(seen),
        "thresholds": chosen,
        "planted": total,
        "raised": raised,
        "false_alarms": raised - hits,
        "precision": round(hits / raised, 4) if raised else None,
        "recall": round(hits / total, 4),
        "recall_by_type": {k: round(found_by_type[k] / n, 4) for k, n in sorted(planted_by_type.items())},
        "alerts_before_4_weeks": early,
    }


def _all_scored(seeds: Iterable[int], sized_by_noise: bool) -> list[Any]:
    """Every seed's checked days with every threshold at 0 (scores kept, thresholds applied after)."""
    return list(tqdm(_checked_days(seeds, sized_by_noise), desc="anomaly days", file=sys.stderr, leave=False))


def tune_thresholds(seeds: Iterable[int]) -> list[dict[str, Any]]:
    """The thresholds grid on ``seeds`` (keep them apart from the reported ones), best first by
    precision plus recall: how :data:`backend.domain.anomalies.THRESHOLDS` were chosen."""
    checked = _all_scored(seeds, True)
    grid = []
    for drop in (3.0, 3.5, 4.0, 4.5, 5.0):
        for spike in (3.0, 3.5, 4.0, 4.5, 5.0):
            for refund in (3.0, 3.5, 4.0, 4.5):
                thresholds = {"sales_drop": drop, "sales_spike": spike, "refund_spike": refund}
                grid.append(anomaly_scores((), thresholds=thresholds, checked=checked))
    return sorted(grid, key=lambda r: -((r["precision"] or 0) + r["recall"]))


def _measured(job: Callable[[], Any]) -> dict[str, Any]:
    """Run ``job`` in a forked child: its time, its Python allocations' peak (``tracemalloc``)
    and its peak resident memory above what the child started with (``VmHWM`` after resetting
    it, which also counts what DuckDB and Arrow allocate outside Python)."""
    import multiprocessing
    import time
    import tracemalloc

    def vm(field: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        return 0

    def child(pipe: Any) -> None:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        start_rss = vm("VmRSS")
        tracemalloc.start()
        started = time.perf_counter()
        result = job()
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        pipe.send(
            {
                "seconds": round(seconds, 2),
                "python_peak_mib": round(peak / 2**20, 1),
                "rss_growth_mib": round((vm("VmHWM") - start_rss) / 2**20, 1),
                "result": result,
            }
        )

    ours, theirs = multiprocessing.get_context("fork").Pipe()
    process = multiprocessing.get_context("fork").Process(target=child, args=(theirs,))
    process.start()
    figures: dict[str, Any] = ours.recv()
    process.join()
    return figures


def job_figures(years: int, orders_per_day: int) -> dict[str, Any]:
    """Import ``years`` of history into a throwaway stack and measure each insights and lake job
    on its last day: ``forecast``, ``anomalies``, ``pairs``, ``lake-compaction`` and a
    ``storepulse lake query`` (its sync of the Parquet files and a query over all of them)."""
    import tempfile
    import time

    from backend.adapters.alerts import send_alert
    from backend.adapters.analytics import AnalyticsTable
    from backend.lake import query
    from backend.processing import anomalies as anomaly_job
    from backend.processing import compaction, together
    from backend.processing import forecasts as forecast_job
    from bench.lake import TZ, history
    from bench.stack import throwaway_options
    from devstack.simulator import send
    from devstack.stack import LocalStack

    end = date(2025, 3, 20)
    events = history(years, orders_per_day=orders_per_day, end=end)
    out: dict[str, Any] = {"years": years, "events": len(events)}
    with tempfile.TemporaryDirectory() as tmp:
        local = LocalStack(throwaway_options(Path(tmp) / "data", store_timezone=TZ)).start()
        try:
            started = time.perf_counter()
            send(events, local.api_url, local.keys.ingest_key, progress=True)
            local.wait_idle(3600)
            out["import_seconds"] = round(time.perf_counter() - started, 1)
            assert local.aws is not None and local.resources is not None
            aws, env = local.aws, local.resources.environment
            table, bucket = env["ANALYTICS_TABLE"], env["LAKE_BUCKET"]
            now = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
            cache = Path(tmp) / "lake-cache"

            def lake_query() -> dict[str, Any]:
                query.sync(aws.client("s3"), bucket, cache)
                conn = query.connect(cache, TZ)
                _, rows = query.run(conn, "SELECT count(*), count(DISTINCT dt) FROM orders")
                return {"orders": rows[0][0], "days": rows[0][1]}

            jobs: dict[str, Callable[[], Any]] = {
                "forecast": lambda: forecast_job.run(
                    aws.client("dynamodb"),
                    aws.client("events"),
                    table,
                    "storepulse",
                    end + timedelta(days=1),
                    now,
                ),
                "anomalies": lambda: anomaly_job.check(
                    AnalyticsTable(aws.client("dynamodb"), table),
                    lambda alert: send_alert(aws.client("events"), "storepulse", alert),
                    end,
                    now,
                ),
                "pairs": lambda: together.run(
                    aws.client("dynamodb"), table, end + timedelta(days=1), now=now
                ),
                "lake-compaction": lambda: compaction.run(
                    aws.client("s3"), bucket, zone=ZoneInfo(TZ), now=now
                ),
                "lake query": lake_query,
            }
            for name, job in jobs.items():
                out[name] = _measured(job)
        finally:
            local.stop(drain_timeout=5)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=12, help="simulated stores for the forecast")
    parser.add_argument("--anomaly-seeds", type=int, default=500, help="planted histories (seeds 0..N-1)")
    parser.add_argument(
        "--tune-seeds", type=int, default=0, help="also the thresholds grid on N other seeds (1000..)"
    )
    parser.add_argument("--jobs-years", type=int, default=0, help="also time the jobs on N years")
    parser.add_argument("--jobs-orders-per-day", type=int, default=3, help="orders a day of that history")
    args = parser.parse_args(argv)
    if args.jobs_years:
        print(json.dumps(job_figures(args.jobs_years, args.jobs_orders_per_day), indent=2, default=str))
    stores = []
    for seed in tqdm(range(1, args.seeds + 1), desc="simulated stores", file=sys.stderr):
        series = simulated_units(seed)
        stores.append((series, SIM_END - timedelta(days=HOLDOUT)))
    results: dict[str, Any] = {"forecast_wape": {"simulated": evaluate(stores)}}
    for grain, series in tpch_daily_units().items():
        results["forecast_wape"][f"tpch_{grain}"] = evaluate((series, c) for c in tpch_cutoffs(series))
    results["anomalies"] = anomaly_scores(range(args.anomaly_seeds))
    # The plants of the earlier benchmark (fixed sizes), part of them within ordinary noise
    results["anomalies_fixed_size_plants"] = anomaly_scores(range(args.anomaly_seeds), sized_by_noise=False)
    results["fixed_size_bad_days_found_by_an_oracle"] = fixed_plants_within_noise()
    if args.tune_seeds:
        results["anomaly_thresholds_grid_top"] = tune_thresholds(range(1000, 1000 + args.tune_seeds))[:5]
    print(json.dumps(results, indent=2, default=str))
    chosen = "index_ewma"
    beaten = all(
        wapes[chosen] < wapes["naive_4w"] and wapes[chosen] < wapes["seasonal_naive"]
        for wapes in results["forecast_wape"].values()
    )
    print(f"{chosen} beats both naive baselines on every data set: {beaten}")
    return 0 if beaten else 1


if __name__ == "__main__":
    raise SystemExit(main())
