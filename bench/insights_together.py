"""The bought-together benchmark: planted bundles found, figures exact, reads fast at scale.

``python bench/insights_together.py [--seeds 3,11,29] [--orders-per-month 100000]``

1. **Found and exact.** For each seed, a simulated store (60 days, 10 orders a day, bundles
   planted by :func:`devstack.simulator.planted_bundles`) goes through the real processor handlers
   on a throwaway local stack (shuffled, a tenth of them delivered twice); the ``pairs`` job runs;
   then ``GET /v1/products/pairs`` (through the API handler): precision at 10 of the default
   answer against the planted pairs (target >= 0.9), and every pair's support, confidence and
   lift against the pandas oracle (:func:`tests.oracle.pairs`), before and after the job.
2. **At 100,000 orders a month.** A closed month of that many simulated orders, in packets of
   70 orders (the orders function's batch): each packet's parts' SKU items, carrying the
   orders' baskets, built as the orders processor builds them (:func:`sku_part_items`), are
   written to the stack. Write units per order come from the items' sizes (:mod:`bench.meter`):
   the items' own, the baskets' share of them (the same items with and without the baskets),
   and the alternative's (each batch adding its pair counters to the day's counter items in
   its transaction) from the same orders. Then the read
   latency of ``/v1/products/pairs`` over the month before the job (every day folded by the
   reader), after it (one month fold), over a range of days (day folds) and over a year (twelve
   month folds), and the job's time and peak memory.

Prints the figures and writes them as JSON to ``.data/bench/insights_together.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tqdm import tqdm

from backend.adapters import baskets
from backend.adapters.dynamo import Counted, batch_put, day_sku_items, packet_parts, to_ddb, touch_months
from backend.domain.events import Event, parse_event
from backend.domain.rollups import month_days
from backend.domain.sales import Contributions
from backend.domain.together import Basket, PairCounts, pairs
from backend.processing.together import basket_members
from bench.meter import item_size, write_units
from bench.read_api import TZ, ZONE, BenchFailed, _event, process
from bench.stack import throwaway_options
from devstack.runtime import HandlerRef, new_context
from devstack.simulator import generate, planted_bundles
from devstack.stack import LocalStack, StackError
from tests import oracle

ROOT = Path(__file__).resolve().parents[1]
PRECISION_TARGET = 0.9
ORDERS_BATCH = 70  # the orders function's batch size (infra/stack.json)
# The alternative's counter items: a day's pair counters over this many items, each kept under
# DynamoDB's 400 KB (a batch's transaction updates each it touches, at 2 units per KB).
COUNTER_SHARDS = 16
FIGURES = ["a", "b", "orders", "support", "confidence_ab", "confidence_ba", "lift"]


def _context(function: str, timeout: int = 30) -> Any:
    return new_context(function, memory=512, timeout=timeout, region="us-east-1", account_id="123456789012")


class Api:
    """The read API's handler, called in-process with the read key."""

    def __init__(self, key: str):
        self.key = key
        self.handler = HandlerRef("backend.handlers.api.handler")

    def get(self, path: str, **params: Any) -> Any:
        result = self.handler(_event(path, {k: str(v) for k, v in params.items()}, self.key), _context("api"))
        if result["statusCode"] != 200:
            raise BenchFailed(f"{path} {params}: {result['statusCode']} {result['body'][:300]}")
        return json.loads(result["body"])

    def timed(self, path: str, requests: int, **params: Any) -> dict[str, float]:
        latencies = []
        for _ in range(requests):
            started = time.perf_counter()
            self.get(path, **params)
            latencies.append(time.perf_counter() - started)
        return {
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "max_ms": round(max(latencies) * 1000, 1),
        }


def run_job(name: str) -> dict[str, Any]:
    result: dict[str, Any] = HandlerRef("backend.handlers.jobs.handler")({"job": name}, _context("jobs", 300))
    return result


def planted_pairs(seed: int) -> set[tuple[str, str]]:
    return {pair for bundle in planted_bundles(seed) for pair in combinations(bundle, 2)}


def exact(api: Api, events: list[dict[str, Any]], start: date, end: date) -> bool:
    """Whether every pair of the range is the oracle's (min_orders 1, all of them)."""
    got = api.get("/v1/products/pairs", start=start, end=end, min_orders=1, limit=100)["pairs"]
    expected = oracle.pairs(events, start, end, min_orders=1, tz=TZ).head(100)
    want = [tuple(row) for row in expected[FIGURES].itertuples(index=False)]
    return [tuple(p[name] for name in FIGURES) for p in got] == want


def found_and_exact(api: Api, stack: LocalStack, seed: int, progress: bool) -> dict[str, Any]:
    stack.reset()
    end = date(2026, 11, 30)
    events = generate(days=60, orders_per_day=10, seed=seed, end=end, tz=TZ)
    rng = random.Random(seed)
    delivered = rng.sample(events, len(events)) + rng.sample(events, len(events) // 10)
    rng.shuffle(delivered)
    unique = list({e["event_id"]: e for e in delivered}.values())
    process(unique, progress=progress)
    process(rng.sample(unique, len(unique) // 10), progress=False)  # redelivered
    start = end - timedelta(days=59)
    before = exact(api, delivered, start, end)
    job = run_job("pairs")
    after = exact(api, delivered, start, end)
    top = api.get("/v1/products/pairs", start=start, end=end)["pairs"][:10]
    hits = sum((p["a"], p["b"]) in planted_pairs(seed) for p in top)
    return {
        "seed": seed,
        "orders": api.get("/v1/products/pairs", start=start, end=end, limit=1)["orders"],
        "precision_at_10": hits / 10,
        "exact_before_job": before,
        "exact_after_job": after,
        "job": job,
    }


def _counter_units(orders: Sequence[tuple[date, frozenset[str]]]) -> int:
    """Write units of the alternative: each batch adds its pairs' counts to the day's counter
    items (``p:<a>|<b>``, ``COUNTER_SHARDS`` per day) in its transaction: 2 units per KB of
    each item touched, at the larger of its sizes before and after."""
    sizes: dict[tuple[date, int], int] = defaultdict(int)
    names: set[tuple[date, str]] = set()
    units = 0
    for first in range(0, len(orders), ORDERS_BATCH):
        touched: dict[tuple[date, int], int] = defaultdict(int)
        for day, skus in orders[first : first + ORDERS_BATCH]:
            for a, b in combinations(sorted(skus), 2):
                name = f"p:{a}|{b}"
                shard = zlib.crc32(name.encode()) % COUNTER_SHARDS
                touched[(day, shard)] += 0
                if (day, name) not in names:
                    names.add((day, name))
                    touched[(day, shard)] += len(name) + 4
        for item, grows in touched.items():
            after = sizes[item] + grows + 40  # its key and a small header
            units += 2 * -(-after // 1024)
            sizes[item] += grows
    return units


def sku_part_items(packet: str, placed: Sequence[Event]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The SKU items the orders processor puts for a packet of orders, with their baskets
    (as ``backend/processing/orders.py`` builds them: one per part and day), and the same items
    without the baskets."""
    by_id = {e.event_id: e for e in placed}
    to_count = []
    for event in placed:
        contributions = Contributions()
        contributions.add(event, ZONE)
        to_count.append(Counted(event.event_id, None, contributions))
    with_baskets: list[dict[str, Any]] = []
    without: list[dict[str, Any]] = []
    for part, events in packet_parts(packet, to_count):
        members = basket_members([by_id[e.ref] for e in events], ZONE)
        with_baskets += day_sku_items(part.ref, part.contributions, members)
        without += day_sku_items(part.ref, part.contributions)
    return with_baskets, without


def _units(items: list[dict[str, Any]]) -> int:
    return sum(write_units(item_size({k: to_ddb(v) for k, v in i.items()})) for i in items)


def at_scale(
    api: Api, stack: LocalStack, dynamodb: Any, table: str, orders_per_month: int, progress: bool
) -> dict[str, Any]:
    stack.reset()
    month = "2026-10"
    first, last = month_days(month)
    days = (last - first).days + 1
    raw = generate(days=days, orders_per_day=round(orders_per_month / days), seed=5, end=last, tz=TZ)
    placed = [parse_event(e, currency="USD") for e in raw if e["type"] == "order.placed"]
    units = units_without_baskets = items_written = 0
    for start in tqdm(range(0, len(placed), ORDERS_BATCH), desc="baskets", disable=not progress):
        items, without = sku_part_items(f"bench-{start}", placed[start : start + ORDERS_BATCH])
        units += _units(items)
        units_without_baskets += _units(without)
        items_written += len(items)
        batch_put(dynamodb, table, items)
    orders = [
        (e.occurred_at.astimezone(ZONE).date(), frozenset(line.sku for line in e.data.lines)) for e in placed
    ]
    figures: dict[str, Any] = {
        "orders": len(placed),
        "sku_items_with_baskets": items_written,
        "sku_item_write_units_per_order": round(units / len(placed), 3),
        "basket_write_units_per_order": round((units - units_without_baskets) / len(placed), 3),
        "counter_write_units_per_order": round(_counter_units(orders) / len(placed), 3),
    }
    # The bench writes the baskets itself: name the month to the job by its change stamp, as the
    # orders processor's writes would have bumped it.
    touch_months(dynamodb, table, [month], datetime.now(UTC))
    figures["month_before_job"] = api.timed("/v1/products/pairs", 2, start=first, end=last)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    figures["job"] = run_job("pairs")
    figures["job"]["seconds"] = round(time.perf_counter() - started, 1)
    figures["job"]["peak_rss_mb"] = round(
        max(rss_before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024
    )
    figures["month_fold"] = api.timed("/v1/products/pairs", 5, start=first, end=last)
    inner = {"start": first + timedelta(days=1), "end": last - timedelta(days=1)}
    figures["days_2_to_30_day_folds"] = api.timed("/v1/products/pairs", 5, **inner)
    # As if the month were still taking orders (its stamp moved since the job): each day fold
    # is then checked against its day's basket keys (a keys-only Query a day).
    touch_months(dynamodb, table, [month], datetime.now(UTC))
    figures["days_2_to_30_stamp_moved"] = api.timed("/v1/products/pairs", 3, **inner)
    run_job("pairs")
    fold = baskets.month_folds(dynamodb, table, [month])[0][month]
    figures["month_fold_bytes"] = len(fold.encode())
    figures["distinct_pairs_in_month"] = len(fold.pair_orders)
    # A year: the month's fold copied onto the eleven months before it (a read's cost depends
    # on how many folds it reads and their size, which the copies reproduce).
    earlier = []
    day = first
    for _ in range(11):
        day = (day - timedelta(days=1)).replace(day=1)
        earlier.append(day.strftime("%Y-%m"))
    for other in earlier:
        baskets.put_month_fold(dynamodb, table, other, fold, 0, "bench")
    figures["year_of_month_folds"] = api.timed(
        "/v1/products/pairs", 3, start=month_days(earlier[-1])[0], end=last
    )
    same = api.get("/v1/products/pairs", start=first, end=last, limit=5, min_orders=5)
    figures["top_pairs"] = [(p["a"], p["b"], p["orders"], p["lift"]) for p in same["pairs"]]
    figures["planted_in_top_10"] = sum(
        (p["a"], p["b"]) in planted_pairs(5)
        for p in api.get("/v1/products/pairs", start=first, end=last, limit=10)["pairs"]
    )
    return figures


def merge_cost(orders_per_month: int, days: int = 29, runs: int = 5) -> dict[str, Any]:
    """The read's own work, without DynamoDB: decode ``days`` day folds of a store of
    ``orders_per_month`` orders, add them up and rank the pairs (milliseconds, median of
    ``runs``). With the stack's figures it tells how much of a read is the store and how much is
    the requests to the table."""
    last = date(2026, 10, 31)
    raw = generate(days=3, orders_per_day=round(orders_per_month / 31), seed=5, end=last, tz=TZ)
    by_day: dict[date, list[Any]] = defaultdict(list)
    for event in raw:
        if event["type"] == "order.placed":
            day = parse_event(event, currency="USD").occurred_at.astimezone(ZONE).date()
            by_day[day].append(event["data"])
    day = max(by_day, key=lambda d: len(by_day[d]))
    fold = PairCounts.of(Basket(o["order_id"], frozenset(x["sku"] for x in o["lines"])) for o in by_day[day])
    blob = fold.encode()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        total = PairCounts()
        for _ in range(days):
            total.add(PairCounts.decode(blob))
        pairs(total, min_orders=5, limit=20)
        timings.append(time.perf_counter() - started)
    return {
        "day_orders": fold.orders,
        "day_pairs": len(fold.pair_orders),
        "day_fold_bytes": len(blob),
        "days": days,
        "decode_add_rank_ms": round(statistics.median(timings) * 1000, 1),
    }


def run(args: argparse.Namespace, out: Callable[[str], None] = print) -> dict[str, Any]:
    progress = not args.no_progress
    figures: dict[str, Any]
    if args.merge_only:
        figures = {"merge": merge_cost(args.orders_per_month)}
        out(json.dumps(figures, indent=2))
        return figures
    figures = {"seeds": []}
    with tempfile.TemporaryDirectory(prefix="storepulse-together-") as tmp:
        stack = LocalStack(throwaway_options(Path(tmp) / "data", store_timezone=TZ))
        try:
            stack.start()
        except StackError as exc:
            raise BenchFailed(f"the local stack did not start: {exc}") from None
        try:
            assert stack.keys is not None and stack.aws is not None and stack.resources is not None
            api = Api(stack.keys.read_key)
            dynamodb = stack.aws.client("dynamodb")
            table = stack.resources.environment["ANALYTICS_TABLE"]
            for seed in args.seeds:
                out(f"seed {seed}: 60 days, 10 orders a day, through the processors ...")
                result = found_and_exact(api, stack, seed, progress)
                out(f"  precision at 10 {result['precision_at_10']:.2f}, exact {result['exact_after_job']}")
                figures["seeds"].append(result)
            out(f"{args.orders_per_month:,} orders in a month ...")
            figures["scale"] = at_scale(api, stack, dynamodb, table, args.orders_per_month, progress)
            figures["merge"] = merge_cost(args.orders_per_month)
        finally:
            stack.stop(drain_timeout=0)
    precisions = [s["precision_at_10"] for s in figures["seeds"]]
    figures["precision_at_10_min"] = min(precisions)
    figures["all_exact"] = all(s["exact_before_job"] and s["exact_after_job"] for s in figures["seeds"])
    out(json.dumps(figures, indent=2, default=str))
    if figures["precision_at_10_min"] < PRECISION_TARGET or not figures["all_exact"]:
        raise BenchFailed(f"precision at 10 {precisions} (target {PRECISION_TARGET}) or not exact")
    return figures


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="3,11,29", help="the simulated stores, comma-separated")
    parser.add_argument("--orders-per-month", type=int, default=100_000, help="the store at scale")
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--merge-only", action="store_true", help="only the read's own work on day folds (no stack)"
    )
    args = parser.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        figures = run(args)
    except BenchFailed as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    path = (
        args.json
        or Path(os.environ.get("STOREPULSE_DATA_DIR") or ROOT / ".data") / "bench" / "insights_together.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, default=str))
    print(f"\nfigures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
