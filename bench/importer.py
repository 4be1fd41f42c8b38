"""The import benchmark: how fast ``storepulse import shopify-orders`` brings a store's history in.

``python bench/importer.py [--days 365] [--orders-per-day 40]``

1. Starts a throwaway local stack (its own ports and data directory).
2. Writes a Shopify orders export of a simulated store (``--days`` of ``--orders-per-day``; one
   row per line item, refunds on every ninth and thirteenth order: bench/shopify_export.py).
3. Imports it exactly as the command does (reading the CSV, mapping, hashing e-mails into
   customer ids, 500-event requests): events per second and orders per second through the
   ingest API, and how long until ``GET /v1/metrics/summary`` counts every order.
4. Imports it again: every event a duplicate, and how fast that goes.
5. Webhooks: ``--webhooks`` signed Shopify ``orders/create`` deliveries (the documented payload
   of tests/fixtures/connectors, a new order id each), one after another: p50 / p95 of the
   answer (Shopify wants one within 5 s).

Prints the figures; writes them as JSON to ``.data/bench/import.json``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from backend.processing.connectors import customer_ids
from bench.meter import percentile
from bench.shopify_export import write_export
from bench.stack import measured_on, throwaway_options, write_figures
from devstack import importer
from devstack.simulator import generate
from devstack.stack import LocalStack

ROOT = Path(__file__).resolve().parents[1]
# A summary over the export's months is a heavy request for moto: asking often slows the count.
POLL_SECONDS = 5.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--orders-per-day", type=int, default=40)
    parser.add_argument("--webhooks", type=int, default=60)
    args = parser.parse_args(argv)
    results = measured_on()
    with tempfile.TemporaryDirectory(prefix="storepulse-bench-import-") as directory:
        data_dir = Path(directory)
        stack = LocalStack(throwaway_options(data_dir / "stack")).start()
        try:
            assert stack.keys is not None
            zone = stack.options.store_timezone
            history = generate(
                days=args.days, orders_per_day=args.orders_per_day, seed=5, end=date(2025, 6, 30), tz=zone
            )
            export = data_dir / "orders_export.csv"
            meant = write_export(history, export)
            rows = sum(1 for _ in export.open()) - 1
            orders = sum(1 for e in meant if e["type"] == "order.placed")
            print(f"export: {orders} orders, {rows} rows, {export.stat().st_size / 1e6:.1f} MB")
            customers = customer_ids("shopify", stack.keys.pii_hash_key)
            for run in ("first", "again"):
                started = time.perf_counter()
                items = list(
                    importer.read_shopify_orders(
                        export, currency=stack.options.store_currency, customers=customers
                    )
                )
                read_s = time.perf_counter() - started
                checkpoint = importer.checkpoint_for(export, data_dir)
                summary = importer.send_events(
                    items, stack.api_url, stack.keys.ingest_key, checkpoint, progress=False
                )
                sent_s = time.perf_counter() - started
                wait_counted(stack, meant, orders)
                counted_s = time.perf_counter() - started
                figures = {
                    "events": summary.events,
                    "accepted": summary.accepted,
                    "duplicates": summary.duplicates,
                    "rejected": len(summary.rejected),
                    "read_and_map_s": round(read_s, 1),
                    "through_ingest_s": round(sent_s, 1),
                    "events_per_s": round(summary.events / sent_s, 1),
                    "orders_per_s": round(orders / sent_s, 1),
                    "until_counted_s": round(counted_s, 1),
                }
                results[run] = figures
                print(f"{run}: {figures}")
            results["webhooks"] = webhook_latency(stack, args.webhooks)
            print(f"webhooks: {results['webhooks']}")
        finally:
            stack.stop(drain_timeout=5)
    write_figures("import", results)
    return 0


def wait_counted(stack: LocalStack, meant: list[dict[str, Any]], orders: int, timeout: float = 1800) -> None:
    """Until ``GET /v1/metrics/summary`` over the export's days counts all its orders (the lake's
    five-minute window is not waited for: the figures do not depend on it)."""
    assert stack.keys is not None
    zone = ZoneInfo(stack.options.store_timezone)
    days = sorted(datetime.fromisoformat(e["occurred_at"]).astimezone(zone).date() for e in meant)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            answer = requests.get(
                f"{stack.api_url}/v1/metrics/summary",
                params={"start": days[0].isoformat(), "end": days[-1].isoformat()},
                headers={"x-api-key": stack.keys.read_key},
                timeout=300,
            )
        except requests.Timeout:
            continue  # a busy machine: ask again
        if answer.status_code == 200 and answer.json()["current"]["orders"] >= orders:
            return
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"the pipeline had not counted the {orders} orders after {timeout:.0f} s")


def webhook_latency(stack: LocalStack, count: int) -> dict[str, Any]:
    """Seconds from sending a signed orders/create to its 200, one delivery after another."""
    assert stack.keys is not None
    fixture = ROOT / "tests" / "fixtures" / "connectors" / "shopify_orders_create.json"
    order = json.loads(fixture.read_text())
    timings = []
    with requests.Session() as http:
        for number in range(count):
            body = json.dumps(order | {"id": 9_000_000 + number}).encode()
            signature = hmac.new(stack.keys.shopify_secret.encode(), body, hashlib.sha256).digest()
            started = time.perf_counter()
            answer = http.post(
                f"{stack.api_url}/v1/connectors/shopify",
                data=body,
                headers={
                    "X-Shopify-Topic": "orders/create",
                    "X-Shopify-Webhook-Id": f"bench-{number}",
                    "X-Shopify-Hmac-Sha256": base64.b64encode(signature).decode(),
                },
                timeout=30,
            )
            timings.append(time.perf_counter() - started)
            if answer.status_code != 200 or answer.json().get("accepted") != 1:
                raise SystemExit(f"the connector answered {answer.status_code}: {answer.text[:300]}")
    return {
        "deliveries": count,
        "p50_s": round(percentile(timings, 0.5), 3),
        "p95_s": round(percentile(timings, 0.95), 3),
        "max_s": round(max(timings), 3),
    }


if __name__ == "__main__":
    raise SystemExit(main())
