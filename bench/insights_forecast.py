"""Forecast evaluation (issue 14): WAPE against the naive baselines; and the insights jobs timed
on years of history.

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

The anomaly check has its own evaluation, ``bench/insights_anomalies.py``.

Jobs (``--jobs-years 5``): a throwaway local stack takes ``N`` years of the simulated store
(``bench.lake.history``: shuffled, through the ingest API and every processor), then the
``forecast`` and ``anomalies`` jobs run on its last day, each timed, with its peak memory
(``tracemalloc``: what the job's Python objects took at most). Neither reads the lake: they read
the day aggregates of a fixed window (56 and 9 days), so their cost follows the SKUs, not the
years.

Run: ``.venv/bin/python -m bench.insights_forecast [--seeds 12] [--jobs-years 5]``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tqdm import tqdm

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
    return dict(grains.items())


def tpch_cutoffs(series: Series, count: int = 12) -> list[date]:
    last = max(d for u in series.values() for d in u)
    return [last - timedelta(days=HOLDOUT + 28 * n) for n in range(count)]


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
            assert local.keys is not None
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
                    AnalyticsTable(aws.client("dynamodb"), table),
                    lambda alert: send_alert(aws.client("events"), "storepulse", alert),
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
                    AnalyticsTable(aws.client("dynamodb"), table), end + timedelta(days=1), now=now
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
