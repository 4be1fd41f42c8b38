"""The read-API benchmark: what each read route costs, and that the cost does not grow with history.

``python bench/read_api.py [--orders-per-day 500] [--processed-days 2] [--requests 5] [--lake-runs 2]``

The defaults take about 5 minutes on the 2-core reference machine (5 requests per route and
range with one year, 2 with ten years: enough for the flatness check, which compares items and
read units, not latencies); ``--requests 20 --requests-10x 7`` gives steadier percentiles.

1. Generates one year of a store (:func:`devstack.simulator.generate`, 500 orders a day by
   default, ending today in America/New_York) and writes it as the raw lake would hold it
   (gzipped NDJSON, one object per type and store day) into a temporary directory.
2. Starts a throwaway local stack (moto server and resources; the pollers stay idle), runs the
   ``stock-fold`` job once (a store's nightly fold: it sets the watermark, after which an order
   alone is a *lone* item) and loads the store's last ``--processed-days`` days (and its whole
   catalogue) by invoking the real processor handlers, as Lambda would, without the HTTP ingest
   path: catalogue, stock and customers in SQS batches of 100 events, orders and refunds as
   packets of up to 100 events of one type, one packet per invocation (a store whose requests
   arrive one at a time), so the orders of the processed days are lone items not folded yet.
3. Fills the rest of the year by copying those processed days' items (``SALES``, customer
   member items, SKU part items, ``DP#`` items) onto the other days, with their lone items'
   unfolded day content as the fold would have put it (``DP#`` items of a folded claim day),
   customer ids renamed per copy so the sets of different days stay distinct (cohorts follow
   from them), and bumps the months' change stamps as the processors do: a read's cost depends
   only on how many such items it reads and their size, which the copies reproduce. With
   ``--processed-days 365`` every day is processed for real and nothing is copied (slow).
4. Calls each read route in-process through the API handler (the Lambda's code, with the read
   key) over the last 30 and 365 days: latency p50/p95 over ``--requests`` calls, DynamoDB items
   and read units per request (units from item sizes, :mod:`bench.meter`).
   Then runs the ``rollups`` job for the year's closed months (as its nightly schedule would).
5. Adds nine more years of copied history before the year (10x), rolls up its months, and
   measures again
   (``--requests-10x`` calls each): items and read units per request must not change.
6. Recomputes the 365-day summary from the lake files with pandas (read, parse, aggregate),
   ``--lake-runs`` times, and compares it with the API's p95 for the same range; the money and
   order figures of the processed days are checked to agree between the two.

Prints the tables and writes every figure as JSON to ``.data/bench/read_api.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd
from tqdm import tqdm

from backend.adapters import day_index
from backend.adapters.dynamo import (
    DAY_PART,
    PACKED,
    PART_MEMBERS,
    batch_put,
    day_part_items,
    day_pk,
    pack,
    query_partition,
    touch_months,
    unpack,
)
from backend.adapters.packets import MAX_PACKET_EVENTS, pack_json
from backend.adapters.stock_in import day_view, watermark
from backend.domain.calendar import store_day
from backend.domain.events import parse_event
from backend.processing.ingest import hash_pii
from bench.meter import Meter, percentile
from bench.stack import throwaway_options
from devstack.runtime import HandlerRef, new_context
from devstack.simulator import generate
from devstack.spec import load_stack_spec
from devstack.stack import LocalStack, StackError

ROOT = Path(__file__).resolve().parents[1]
TZ = "America/New_York"
ZONE = ZoneInfo(TZ)
QUEUE_OF = {
    "order.placed": ("orders", "storepulse-orders"),
    "order.refunded": ("orders", "storepulse-orders"),
    "customer.registered": ("customers", "storepulse-customers"),
    "product.upserted": ("inventory", "storepulse-inventory"),
    "inventory.adjusted": ("inventory", "storepulse-inventory"),
}
RANGES = (30, 365)
SUMMARY_TARGET = 50.0


class BenchFailed(RuntimeError):
    """The stack failed or the figures disagree: the benchmark's numbers would mean nothing."""


# -- the store and its lake ---------------------------------------------------------------------


def day_of(event: dict[str, Any]) -> date:
    return store_day(datetime.fromisoformat(event["occurred_at"]), ZONE)


def write_lake(events: Sequence[dict[str, Any]], root: Path) -> int:
    """The events as the lake holds them: ``events/arrived=<hour>/<name>.ndjson.gz``, one object
    per lake batch of up to 2,000 events (the lake function's batch size), an hour apart."""
    size = 2000
    for number, start in enumerate(range(0, len(events), size)):
        lines = [json.dumps(event, separators=(",", ":")) for event in events[start : start + size]]
        folder = root / "events" / f"arrived=2026-01-01-{number % 24:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        body = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
        (folder / f"part-{number}.ndjson.gz").write_bytes(body)
    return -(-len(events) // size)


def _read_type(root: Path, event_type: str) -> pd.DataFrame:
    frames = [
        pd.read_json(path, lines=True, compression="gzip", dtype=False)
        for path in sorted((root / "events").glob("arrived=*/*.ndjson.gz"))
    ]
    every = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["type"])
    return every[every["type"] == event_type].reset_index(drop=True)


def summary_from_lake(root: Path, start: date, end: date) -> dict[str, Any]:
    """The summary of ``start``..``end`` recomputed from the raw lake with pandas, as an analyst
    without the rollups would: read every order and refund object, parse, aggregate."""
    orders = _read_type(root, "order.placed").drop_duplicates("event_id")
    data = pd.json_normalize(orders["data"].tolist())
    data["at"] = pd.to_datetime(orders["occurred_at"], utc=True, format="ISO8601").dt.tz_convert(TZ)
    data["day"] = data["at"].dt.date
    data = data.drop_duplicates("order_id")
    lines = data[["order_id", "lines"]].explode("lines")
    lines = pd.concat(
        [lines["order_id"].reset_index(drop=True), pd.json_normalize(lines["lines"].tolist())], axis=1
    )
    lines["amount"] = [Decimal(p) * q for p, q in zip(lines["unit_price"], lines["quantity"], strict=True)]
    per_order = lines.groupby("order_id").agg(gross=("amount", "sum"), units=("quantity", "sum"))
    data = data.join(per_order, on="order_id")
    first = data.sort_values(["at", "order_id"]).drop_duplicates("customer_id")
    placed = data[(data["day"] >= start) & (data["day"] <= end)]
    refunds = _read_type(root, "order.refunded").drop_duplicates("event_id")
    refund_data = pd.json_normalize(refunds["data"].tolist())
    refund_days = pd.to_datetime(refunds["occurred_at"], utc=True, format="ISO8601").dt.tz_convert(TZ).dt.date
    refund_data = refund_data.assign(day=refund_days.to_numpy()).drop_duplicates("refund_id")
    in_range = refund_data[(refund_data["day"] >= start) & (refund_data["day"] <= end)]
    gross = sum(placed["gross"], Decimal(0))
    discounts = sum(
        (Decimal(d) for d in placed.get("discount", pd.Series(dtype=object)).fillna("0")), Decimal(0)
    )
    returns = sum((Decimal(a) for a in in_range["amount"]), Decimal(0))
    customers = set(placed["customer_id"])
    new = set(first.loc[(first["day"] >= start) & (first["day"] <= end), "customer_id"])
    returning = set(placed.loc[~placed["order_id"].isin(first["order_id"]), "customer_id"])
    return {
        "gross_sales": gross,
        "discounts": discounts,
        "returns": returns,
        "net_sales": gross - discounts - returns,
        "orders": len(placed),
        "units": int(placed["units"].sum()),
        "customers": len(customers),
        "new_customers": len(new),
        "returning_customers": len(returning),
    }


# -- loading through the processors -------------------------------------------------------------


def _record(body: str, event_types: Sequence[str], queue: str) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": uuid.uuid4().hex,
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "bench"},
        "messageAttributes": {
            "event_type": {"stringValue": json.dumps(sorted(set(event_types))), "dataType": "String.Array"}
        },
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
        "awsRegion": "us-east-1",
    }


def _batches(function: str, events: Sequence[dict[str, Any]], batch: int) -> list[list[list[dict[str, Any]]]]:
    """Each invocation's messages, each message's events. Orders and refunds travel as packets
    of one type, one packet per invocation: a store whose requests arrive one at a time, whose
    orders are lone items (a refund in a part makes it count the old way). The others: one
    event per message, ``batch`` messages per invocation."""
    if function != "orders":
        return [[[e] for e in events[start : start + batch]] for start in range(0, len(events), batch)]
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_type[event["type"]].append(event)
    return [
        [same[start : start + MAX_PACKET_EVENTS]]
        for same in by_type.values()
        for start in range(0, len(same), MAX_PACKET_EVENTS)
    ]


def process(events: Sequence[dict[str, Any]], *, progress: bool, batch: int = 100) -> None:
    """Invoke the processors' handlers with SQS batches, as the event source mappings would."""
    spec = {f.name: f for f in load_stack_spec().functions}
    now = datetime.now(UTC)
    pipeline = [hash_pii(parse_event(e, currency="USD", now=now), "bench-pepper").to_json() for e in events]
    routed: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for event in pipeline:
        routed[QUEUE_OF[event["type"]]].append(event)
    # Catalogue and stock first, then customers, then orders: the order a live store sees most.
    order = [
        ("inventory", "storepulse-inventory"),
        ("customers", "storepulse-customers"),
        ("orders", "storepulse-orders"),
    ]
    with tqdm(total=len(pipeline), desc="processors", unit="events", disable=not progress) as bar:
        for function, queue in order:
            handler = HandlerRef(spec[function].handler)
            for messages in _batches(function, routed.get((function, queue), []), batch):
                records = [
                    _record(
                        pack_json(m) if function == "orders" else json.dumps(m[0]),
                        [e["type"] for e in m],
                        queue,
                    )
                    for m in messages
                ]
                context = new_context(
                    function, memory=512, timeout=30, region="us-east-1", account_id="123456789012"
                )
                result = handler({"Records": records}, context)
                if result.get("batchItemFailures"):
                    raise BenchFailed(f"{function} failed on {len(result['batchItemFailures'])} records")
                bar.update(sum(len(m) for m in messages))


# -- copying processed days ---------------------------------------------------------------------


def _renamed_members(members: Iterable[str], copy: int) -> list[str]:
    """Customer-set members ``<set>:<id>`` made distinct for copy number ``copy``."""
    return [f"{member}~{copy}" for member in members]


def _renamed(item: dict[str, Any], copy: int) -> dict[str, Any]:
    """A day item holding customers (``CB#``, ``DP#``, or ``CUSTOMERS`` of older releases) with
    every customer id made distinct for copy number ``copy`` (``C:<id>`` becomes
    ``C:<id>~<copy>``), in string sets and in the packed member lists (``CB#``'s ``z``,
    ``DP#``'s ``c``)."""
    packed = (PART_MEMBERS,) if item["sk"].startswith(DAY_PART) else (PACKED,)
    return {
        name: (
            {f"{member}~{copy}" for member in value}
            if isinstance(value, set)
            else pack(_renamed_members(unpack(value), copy))
            if name in packed
            else value
        )
        for name, value in item.items()
    }


def copy_days(
    dynamodb: Any, table: str, sources: Sequence[date], targets: Iterable[date], first_copy: int
) -> int:
    """Copy the day items of the processed ``sources`` days onto ``targets``, round robin, with
    the sources' unfolded lone items' day content as ``DP#`` items of the last folded claim day
    (what the fold puts, counted by every reader)."""
    # A day's partition: its counters, SKU part items, customer member items (or the single
    # customer-set item of older releases) and folded lone content (DP#).
    found = {d: list(query_partition(dynamodb, table, day_pk(d))) for d in sources}
    folded = watermark(dynamodb, table)
    view = day_view(dynamodb, table, sources)
    written = []
    for n, target in enumerate(targets):
        source = sources[n % len(sources)]
        for item in found[source]:
            if item["sk"] == day_index.INDEX_SK:
                continue  # the copy's own index follows
            customers = item["sk"] == "CUSTOMERS" or item["sk"].startswith(("CB#", DAY_PART))
            copy = dict(_renamed(item, first_copy + n) if customers else item)
            copy["pk"] = day_pk(target)
            written.append(copy)
        content = view.of(source)
        if folded is not None and (content.sales or content.lines or content.members):
            written += day_part_items(
                target,
                folded.isoformat(),
                content.sales,
                content.lines,
                content.baskets,
                _renamed_members(content.members, first_copy + n),
            )
    # As the writers of member items do after them: each day's index names its items (the
    # source's unfolded content is a new DP# item here). The store's first index write is put at
    # the epoch: a store whose deploy of the index is long over, so readers trust every index
    # (the copies' and those the stack wrote while processing the sources).
    written += [
        {"pk": day_pk(day), "sk": day_index.INDEX_SK, day_index.LISTED_AT: int(time.time())}
        | ({day_index.KEYS: set(keys)} if len(keys) <= day_index.MAX_KEYS else {day_index.FULL: True})
        for day, keys in day_index.sort_keys_by_day(written).items()
    ]
    written.append(dict(zip(("pk", "sk"), day_index.SINCE_KEY, strict=True)) | {day_index.SINCE_AT: 0})
    batch_put(dynamodb, table, written)
    # As every writer of a day does: the months' change stamps move after the write.
    touch_months(dynamodb, table, {target.strftime("%Y-%m") for target in targets}, datetime.now(UTC))
    return len(written)


def months_back(end: date, count: int) -> list[str]:
    index = end.year * 12 + end.month - 1
    return [f"{(index - k) // 12:04d}-{(index - k) % 12 + 1:02d}" for k in range(count)][::-1]


# -- measuring the routes -------------------------------------------------------------------------


def routes(today: date, days: int) -> list[tuple[str, str, dict[str, str]]]:
    start = (today - timedelta(days=days - 1)).isoformat()
    span = {"start": start, "end": today.isoformat()}
    months = months_back(today, max(1, round(days / 30.4)))
    return [
        ("summary", "/v1/metrics/summary", span),
        ("summary vs previous", "/v1/metrics/summary", {**span, "compare": "previous_period"}),
        ("sales by day", "/v1/metrics/sales", {**span, "granularity": "day"}),
        ("sales by month", "/v1/metrics/sales", {**span, "granularity": "month"}),
        ("channels", "/v1/metrics/channels", span),
        ("top products", "/v1/products/top", {**span, "limit": "10"}),
        ("cohorts", "/v1/customers/cohorts", {"start_month": months[0], "end_month": months[-1]}),
    ]


FIXED: list[tuple[str, str, dict[str, str]]] = [
    ("inventory", "/v1/inventory", {}),
    ("alerts", "/v1/alerts", {}),
    ("segments", "/v1/customers/segments", {}),
]


def _event(path: str, params: dict[str, str], key: str) -> dict[str, Any]:
    return {
        "resource": path,
        "path": path,
        "httpMethod": "GET",
        "headers": {"x-api-key": key},
        "multiValueHeaders": {"x-api-key": [key]},
        "queryStringParameters": params or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in params.items()} or None,
        "pathParameters": None,
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {"stage": "v1", "requestId": uuid.uuid4().hex, "httpMethod": "GET", "path": path},
    }


def _read_units_by_kind(
    before: dict[tuple[str, str, str, str], float], after: dict[tuple[str, str, str, str], float]
) -> dict[str, float]:
    """The API's read units between two readings, by operation, item kind and consistency."""
    found = {}
    for (function, operation, kind, consistency), units in sorted(after.items()):
        used = units - before.get((function, operation, kind, consistency), 0.0)
        if function == "api" and used:
            found[f"{operation} {kind} ({consistency})"] = round(used, 1)
    return found


def measure(
    meter: Meter, api: Callable[..., Any], key: str, path: str, params: dict[str, str], requests: int
) -> dict[str, Any]:
    """Latency over ``requests`` calls (cheap metering), then items and units of one (precise)."""
    context = new_context("api", memory=512, timeout=10, region="us-east-1", account_id="123456789012")
    latencies = []
    timed_from = meter.snapshot()
    for _ in range(requests):
        started = time.perf_counter()
        result = api(_event(path, params, key), context)
        latencies.append(time.perf_counter() - started)
        if result["statusCode"] != 200:
            raise BenchFailed(f"{path} {params}: {result['statusCode']} {result['body'][:300]}")
    timed = meter.snapshot() - timed_from
    meter.precise = True
    before, kinds_before = meter.snapshot(), meter.read_units_by_kind()
    api(_event(path, params, key), context)
    sized = meter.snapshot() - before
    kinds = meter.read_units_by_kind()
    used = sized.usage(function="api", service="dynamodb")
    meter.precise = False
    profiles = timed.functions["api"].profiles
    return {
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "requests": used.calls,
        "items": used.items,
        "read_units": round(used.read_units, 1),
        # Where a request's time goes: per DynamoDB operation, its calls, items and the time
        # they took as the handler saw them (summed over calls side by side); the handler's own
        # time (no call in flight) and its time waiting on at least one call.
        "by_operation": {
            operation: {
                "calls": sized.usage(function="api", service="dynamodb", operation=operation).calls,
                "items": sized.usage(function="api", service="dynamodb", operation=operation).items,
                "call_ms": round(
                    timed.usage(function="api", service="dynamodb", operation=operation).seconds
                    * 1000
                    / requests,
                    1,
                ),
            }
            for (service, operation) in sized.operations()
            if service == "dynamodb"
        },
        "read_units_by_kind": _read_units_by_kind(kinds_before, kinds),
        "own_ms": round(statistics.median(p.own_seconds for p in profiles) * 1000, 1),
        "waited_ms": round(statistics.median(p.waited_seconds for p in profiles) * 1000, 1),
    }


def measure_all(
    meter: Meter, api: Callable[..., Any], key: str, today: date, requests: int, progress: bool
) -> dict[str, Any]:
    cases = [
        (f"{name} ({days} d)", path, params) for days in RANGES for name, path, params in routes(today, days)
    ]
    cases += FIXED
    out = {}
    for name, path, params in tqdm(cases, desc="routes", unit="route", disable=not progress):
        out[name] = {"path": path, "params": params, **measure(meter, api, key, path, params, requests)}
    return out


# -- the run --------------------------------------------------------------------------------------


def _git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("-|-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace, out: Callable[[str], None] = print) -> dict[str, Any]:
    progress = not args.no_progress
    today = datetime.now(ZONE).date()
    first = today - timedelta(days=364)
    started = time.monotonic()
    out(f"generating one year ({first}..{today}) at about {args.orders_per_day} orders a day ...")
    events = generate(days=365, orders_per_day=args.orders_per_day, seed=args.seed, end=today, tz=TZ)
    counts: dict[str, int] = defaultdict(int)
    for event in events:
        counts[event["type"]] += 1
    out(f"  {len(events):,} events ({counts['order.placed']:,} orders) in {time.monotonic() - started:.0f} s")
    figures: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}",
        "events": len(events),
        "events_by_type": dict(counts),
        "orders_per_day": args.orders_per_day,
        "processed_days": args.processed_days,
    }
    processed_first = today - timedelta(days=args.processed_days - 1)
    sample = [e for e in events if day_of(e) >= processed_first or e["type"] == "product.upserted"]
    meter = Meter()
    with tempfile.TemporaryDirectory(prefix="storepulse-readbench-") as tmp, meter.handler_clients():
        lake = Path(tmp) / "lake"
        objects = write_lake(events, lake)
        out(f"  written as the raw lake: {objects} objects")
        stack = LocalStack(throwaway_options(Path(tmp) / "data", store_timezone=TZ))
        try:
            stack.start()
        except StackError as exc:
            raise BenchFailed(f"the local stack did not start: {exc}") from None
        try:
            assert stack.keys is not None and stack.aws is not None and stack.resources is not None
            dynamodb = stack.aws.client("dynamodb")
            table = stack.resources.environment["ANALYTICS_TABLE"]
            jobs = HandlerRef("backend.handlers.jobs.handler")

            def run_job(name: str, **options: Any) -> dict[str, Any]:
                """Invoke the jobs function as its schedule would, with ``options`` added."""
                context = new_context(
                    "jobs", memory=512, timeout=300, region="us-east-1", account_id="123456789012"
                )
                result: dict[str, Any] = jobs({"job": name, **options}, context)
                return result

            # The nightly fold has run once: the watermark is set, orders alone are lone items.
            run_job("stock-fold")
            load_started = time.monotonic()
            out(
                f"processing the last {args.processed_days} days ({len(sample):,} events) "
                "through the processors ..."
            )
            process(sample, progress=progress)
            figures["processing_seconds"] = round(time.monotonic() - load_started, 1)
            run_job("segments")
            sources = [processed_first + timedelta(days=n) for n in range(args.processed_days)]
            others = [first + timedelta(days=n) for n in range(365 - args.processed_days)]
            copied = copy_days(dynamodb, table, sources, others, first_copy=0) if others else 0
            figures["copied_items"] = copied
            out(f"  {figures['processing_seconds']} s; copied {copied:,} day items to fill the year")
            # The rollups job of the months copied into, as its nightly run would find them by
            # their stamps.
            rollup_started = time.monotonic()
            rolled = run_job("rollups", months=months_back(today, 13))["months"]
            figures["rollups"] = {
                "months": len(rolled),
                "seconds": round(time.monotonic() - rollup_started, 1),
            }
            out(f"  rollups job: {len(rolled)} closed months in {figures['rollups']['seconds']} s")
            api = meter.function("api", HandlerRef("backend.handlers.api.handler"))
            key = stack.keys.read_key
            figures["one_year"] = measure_all(meter, api, key, today, args.requests, progress)
            # The API and the lake agree on the processed days
            check_start = processed_first
            result = api(
                _event(
                    "/v1/metrics/summary", {"start": check_start.isoformat(), "end": today.isoformat()}, key
                ),
                new_context("api", memory=512, timeout=10, region="us-east-1", account_id="123456789012"),
            )
            api_summary = json.loads(result["body"])["current"]
            lake_summary = summary_from_lake(lake, check_start, today)
            for name in ("gross_sales", "discounts", "returns", "net_sales"):
                if Decimal(api_summary[name]) != lake_summary[name].quantize(Decimal("0.01")):
                    raise BenchFailed(f"{name}: API {api_summary[name]} != lake {lake_summary[name]}")
            for name in ("orders", "units"):
                if api_summary[name] != lake_summary[name]:
                    raise BenchFailed(f"{name}: API {api_summary[name]} != lake {lake_summary[name]}")
            figures["api_equals_lake_on_processed_days"] = True
            out("adding nine more years of history (10x) ...")
            older = [first - timedelta(days=n) for n in range(1, 9 * 365 + 1)]
            figures["copied_items_10x"] = copy_days(dynamodb, table, sources, older, first_copy=365)
            # Every month of the older history gets its rollup too, as the nightly job keeps it.
            run_job("rollups", months=months_back(today, 10 * 12 + 1))
            figures["ten_years"] = measure_all(meter, api, key, today, args.requests_10x, progress)
        finally:
            stack.stop(drain_timeout=0)
        out(f"recomputing the 365-day summary from the lake with pandas ({args.lake_runs} runs) ...")
        lake_seconds = []
        for _ in range(args.lake_runs):
            lake_started = time.perf_counter()
            summary_from_lake(lake, first, today)
            lake_seconds.append(time.perf_counter() - lake_started)
    api_p95 = figures["one_year"]["summary (365 d)"]["p95_ms"] / 1000
    figures["lake_recompute"] = {
        "seconds": [round(s, 2) for s in lake_seconds],
        "median_s": round(statistics.median(lake_seconds), 2),
        "api_summary_365_p95_s": api_p95,
        "speedup": round(statistics.median(lake_seconds) / api_p95, 1),
        "target": SUMMARY_TARGET,
    }
    figures["total_seconds"] = round(time.monotonic() - started)
    report(figures, out)
    return figures


def flatness(one: dict[str, Any], ten: dict[str, Any]) -> str:
    """Whether a request costs as much with ten years of history as with one (issue 4: its
    read units): ``yes`` (the same units), ``fewer`` (less with ten years: the 1-year store's
    comparison range lies before it opened, so it has no month rollups and is read as empty
    days, each Query billed its half unit, while the 10-year store's is rolled up: fewer units,
    though more items) or ``NO`` (more: the cost grows with history)."""
    if one["read_units"] == ten["read_units"]:
        return "yes"
    if ten["read_units"] < one["read_units"]:
        return "fewer"
    return "NO"


def report(figures: dict[str, Any], out: Callable[[str], None]) -> None:
    one, ten = figures["one_year"], figures["ten_years"]
    rows = []
    for name, m in one.items():
        t = ten[name]
        flat = flatness(m, t)
        rows.append(
            [
                name,
                f"{m['p50_ms']} / {m['p95_ms']}",
                str(m["items"]),
                str(m["read_units"]),
                str(m["requests"]),
                f"{t['p50_ms']} / {t['p95_ms']}",
                f"{t['items']} / {t['read_units']}",
                flat,
            ]
        )
    out("")
    out(
        _table(
            rows,
            [
                "route",
                "1 y: p50 / p95 ms",
                "items",
                "read units",
                "DynamoDB requests",
                "10 y: p50 / p95 ms",
                "10 y: items / units",
                "flat",
            ],
        )
    )
    summary = one["summary (365 d)"]
    out("")
    out(
        f"the 365-day summary (1 y): handler's own time {summary['own_ms']} ms, waiting on DynamoDB "
        f"{summary['waited_ms']} ms (medians)"
    )
    out(
        _table(
            [
                [operation, str(m["calls"]), str(m["items"]), str(m["call_ms"])]
                for operation, m in summary["by_operation"].items()
            ],
            ["operation", "calls", "items", "call ms (summed, mean request)"],
        )
    )
    for kind, units in summary["read_units_by_kind"].items():
        out(f"  {kind}: {units} read units")
    lake = figures["lake_recompute"]
    out("")
    runs = ", ".join(f"{s:.2f}" for s in lake["seconds"])
    out(
        f"summary over 365 days: API p95 {lake['api_summary_365_p95_s'] * 1000:.1f} ms; "
        f"recomputed from the lake with pandas: median {lake['median_s']:.2f} s ({runs}); "
        f"{lake['speedup']}x faster (target >= {lake['target']:.0f}x)"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders-per-day", type=int, default=500, help="the store's average orders a day")
    parser.add_argument(
        "--processed-days", type=int, default=2, help="days loaded through the processors (365: all)"
    )
    parser.add_argument(
        "--requests", type=int, default=5, help="requests per route and range for the latencies"
    )
    parser.add_argument(
        "--requests-10x", type=int, default=2, help="requests per route and range with 10x the history"
    )
    parser.add_argument(
        "--lake-runs", type=int, default=2, help="recomputations of the summary from the lake"
    )
    parser.add_argument("--seed", type=int, default=7, help="the simulated store")
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if not 1 <= args.processed_days <= 365 or min(args.requests, args.requests_10x) < 2 or args.lake_runs < 1:
        parser.error("--processed-days must be 1 to 365, --requests(-10x) at least 2, --lake-runs at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        figures = run(args)
    except BenchFailed as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    path = (
        args.json or Path(os.environ.get("STOREPULSE_DATA_DIR") or ROOT / ".data") / "bench" / "read_api.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, default=str))
    print(f"\nfigures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
