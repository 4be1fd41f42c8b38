"""The reports benchmark: POST /v1/reports -> ready, PDF sizes, and digests sent per second.

``python bench/reports.py [--orders-per-day N] [--subscriptions N] [--repeat N]``

1. Starts a throwaway local stack (moto server, HTTP API, pollers; its own ports and a
   temporary data directory; no schedules).
2. Loads one year of a simulated store (:func:`devstack.simulator.generate`) directly through the
   processors (the orders, customers and inventory handlers called with SQS batches of 100, as
   their event-source mappings would), not through the ingest API: the benchmark is about
   reports, not ingest.
3. For 30- and 365-day ranges ending yesterday and each report type, times ``POST /v1/reports``
   to the first ``GET /v1/reports/{id}`` that says ``ready`` (polled every 20 ms), and
   downloads the PDF through its presigned URL for its size.
4. Subscribes N addresses (daily and weekly alternately) and runs the digests job for a Monday,
   so that every one is due: digests per second, and then the same run again (all already sent).

Prints the figures and writes them as JSON to ``.data/bench/reports.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests
from tqdm import tqdm

from backend.domain.events import parse_event
from devstack.aws import free_port
from devstack.runtime import HandlerRef, new_context
from devstack.simulator import generate
from devstack.stack import LocalStack, StackOptions

ROOT = Path(__file__).resolve().parents[1]
TYPES = ("sales_summary", "inventory", "customers")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders-per-day", type=int, default=30, help="orders per day of the year (30)")
    parser.add_argument("--subscriptions", type=int, default=1000, help="digest subscriptions (1000)")
    parser.add_argument("--repeat", type=int, default=3, help="reports per type and range (3)")
    return parser.parse_args(argv)


def load_year(stack: LocalStack, orders_per_day: int, end: date) -> int:
    """One year of events applied by the processors themselves; returns how many."""
    events = generate(days=365, orders_per_day=orders_per_day, seed=2025, end=end, tz="UTC")
    now = datetime.now(UTC)
    routes: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for queue in stack.spec.queues:
        if queue.subscription is None or queue.function == "lake":
            continue
        accepted = (queue.subscription.filter_policy or {}).get("event_type", [])
        for event_type in accepted:
            routes[event_type].append((queue.function, queue.name))
    batches: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for raw in events:
        raw["data"].pop("email", None)  # the ingest function would hash it; no address is needed here
        pipeline = parse_event(raw, currency="USD", now=now).to_json()
        for route in routes[raw["type"]]:
            batches[route].append(pipeline)
    total = sum(len(b) for b in batches.values())
    with tqdm(total=total, desc="loading a year through the processors", unit="event") as bar:
        for (function, queue_name), routed in batches.items():
            handler = HandlerRef(stack.spec.function(function).handler)
            for start in range(0, len(routed), 100):
                batch = routed[start : start + 100]
                records = [
                    {
                        "messageId": secrets.token_hex(8),
                        "receiptHandle": secrets.token_hex(8),
                        "body": json.dumps(event),
                        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                        "messageAttributes": {
                            "event_type": {"stringValue": event["type"], "dataType": "String"}
                        },
                        "md5OfBody": "",
                        "eventSource": "aws:sqs",
                        "eventSourceARN": f"arn:aws:sqs:us-east-1:000000000000:{queue_name}",
                        "awsRegion": "us-east-1",
                    }
                    for event in batch
                ]
                context = new_context(function, memory=512, timeout=30, region="us-east-1", account_id="0")
                result = handler({"Records": records}, context)
                if result.get("batchItemFailures"):
                    raise SystemExit(
                        f"{function} failed {len(result['batchItemFailures'])} events while loading"
                    )
                bar.update(len(batch))
    return len(events)


def time_report(api: str, key: str, report_type: str, start: date, end: date) -> dict[str, Any]:
    headers = {"x-api-key": key}
    began = time.perf_counter()
    body = {"type": report_type, "start": start.isoformat(), "end": end.isoformat()}
    created = requests.post(f"{api}/v1/reports", json=body, headers=headers, timeout=30)
    created.raise_for_status()
    report_id = created.json()["report_id"]
    while True:
        report = requests.get(f"{api}/v1/reports/{report_id}", headers=headers, timeout=30).json()
        if report["status"] != "pending":
            break
        if time.perf_counter() - began > 120:
            raise SystemExit(f"report {report_type} {start}..{end} not ready after 120 s")
        time.sleep(0.02)
    seconds = time.perf_counter() - began
    if report["status"] != "ready":
        raise SystemExit(f"report {report_type} failed: {report.get('reason')}")
    size = len(requests.get(report["download_url"], timeout=30).content)
    return {"seconds": seconds, "bytes": size}


def machine() -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "commit": commit.stdout.strip() or "unknown",
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="storepulse-bench-reports-") as tmp:
        options = StackOptions(
            data_dir=Path(tmp),
            api_port=free_port(),
            aws_port=free_port(),
            snapshot_interval=None,
            restore=False,
            run_schedules=False,
        )
        stack = LocalStack(options).start()
        try:
            return measure(stack, args)
        finally:
            stack.stop(drain_timeout=5)


def measure(stack: LocalStack, args: argparse.Namespace) -> dict[str, Any]:
    from backend.adapters import reports_store
    from backend.adapters.clients import client
    from backend.processing.context import Context
    from backend.processing.digests import run_digests
    from backend.settings import get_settings

    assert stack.keys is not None
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    loaded = load_year(stack, args.orders_per_day, yesterday)
    figures: dict[str, Any] = {"machine": machine(), "events_loaded": loaded, "reports": []}
    for days in (30, 365):
        for report_type in TYPES:
            runs = [
                time_report(
                    stack.api_url,
                    stack.keys.read_key,
                    report_type,
                    yesterday - timedelta(days=days - 1),
                    yesterday,
                )
                for _ in range(args.repeat)
            ]
            row = {
                "days": days,
                "type": report_type,
                "median_seconds": statistics.median(r["seconds"] for r in runs),
                "max_seconds": max(r["seconds"] for r in runs),
                "pdf_bytes": runs[-1]["bytes"],
            }
            figures["reports"].append(row)
            print(
                f"{days:>4} days {report_type:<14} POST->ready median {row['median_seconds']:.2f} s, "
                f"max {row['max_seconds']:.2f} s, PDF {row['pdf_bytes'] / 1024:.0f} KiB"
            )
    settings = get_settings()
    dynamodb, table = client("dynamodb"), settings.require("reports_table")
    now = datetime.now(UTC)
    # Straight into the table, confirmed as their addresses would (the API caps a store at 50
    # subscriptions; the job's throughput is what is measured here).
    for n in tqdm(range(args.subscriptions), desc="subscribing", unit="subscription"):
        created = reports_store.create_subscription(
            dynamodb,
            table,
            secrets.token_urlsafe(18),
            email=f"reader{n}@example.com",
            frequency="daily" if n % 2 else "weekly",
            report_type=TYPES[n % 3],
            now=now,
            seen_version=reports_store.subscriptions_version(dynamodb, table),
        )
        reports_store.confirm_subscription(dynamodb, table, created["subscription_id"], now)
    monday = today - timedelta(days=today.weekday())
    began = time.perf_counter()
    context = Context.of(get_settings(), client)
    first = run_digests(context, monday)
    first_seconds = time.perf_counter() - began
    began = time.perf_counter()
    second = run_digests(context, monday)
    second_seconds = time.perf_counter() - began
    figures["digests"] = {
        "subscriptions": args.subscriptions,
        "sent": first.sent,
        "reports_made": first.reports,
        "seconds": first_seconds,
        "per_second": first.sent / first_seconds,
        "rerun_seconds": second_seconds,
        "rerun_already_sent": second.already_sent,
    }
    print(
        f"digests: {first.sent} sent in {first_seconds:.1f} s ({first.sent / first_seconds:.0f}/s; "
        f"{first.reports} PDFs made); the same run again: {second.already_sent} already sent, "
        f"{second_seconds:.1f} s"
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    figures = run(parse_args(argv))
    out = ROOT / ".data" / "bench" / "reports.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
