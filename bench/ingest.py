"""The ingest benchmark: how long ``POST /v1/events`` takes by batch size, and how soon an
accepted order is counted.

``python bench/ingest.py [--requests 20] [--samples 15]``

1. Starts a throwaway local stack (its own ports and data directory; the batching windows of
   ``infra/stack.json``, so the orders queue's 1 s window is in the end-to-end figure) and
   loads a simulated store's catalogue and first orders.
2. ``POST /v1/events`` with batches of 1, 100 and 500 new events, one request after another
   (``--requests`` each, fewer for 500): p50 / p95 latency, and events per second through the
   ingest API alone (the sum of events over the sum of request times).
3. From ``202`` to counted: one new order at a time, then ``GET /v1/metrics/summary`` for today
   every 25 ms until the order count has grown by one (``--samples`` times): p50 / p95.

Prints the figures; writes them as JSON to ``.data/bench/ingest.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from bench.meter import percentile
from bench.stack import measured_on, throwaway_options, write_figures
from devstack.simulator import generate, send
from devstack.stack import LocalStack

BATCH_SIZES = (1, 100, 500)


def post(session: requests.Session, url: str, key: str, events: list[dict[str, Any]]) -> float:
    """One request; its latency in seconds (the request must be answered 202, all accepted)."""
    body = json.dumps({"events": events}, separators=(",", ":"))
    started = time.perf_counter()
    answer = session.post(
        url, data=body, headers={"x-api-key": key, "content-type": "application/json"}, timeout=60
    )
    elapsed = time.perf_counter() - started
    if answer.status_code != 202 or answer.json().get("accepted") != len(events):
        raise SystemExit(f"ingest answered {answer.status_code}: {answer.text[:300]}")
    return elapsed


def fresh_order(template: dict[str, Any], n: int) -> dict[str, Any]:
    """A new order like ``template``, placed now, with its own ids."""
    order = copy.deepcopy(template)
    order["event_id"] = f"bench-ingest-order-{n}-{time.time_ns()}"
    order["data"]["order_id"] = order["event_id"]
    order["occurred_at"] = datetime.now(UTC).isoformat()
    return order


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="requests per batch size (5 of 500)")
    parser.add_argument("--samples", type=int, default=15, help="orders timed from 202 to counted")
    args = parser.parse_args()
    results = measured_on()
    with tempfile.TemporaryDirectory(prefix="storepulse-bench-ingest-") as data_dir:
        stack = LocalStack(throwaway_options(Path(data_dir))).start()
        try:
            assert stack.keys is not None
            zone = stack.options.store_timezone
            today = datetime.now(ZoneInfo(zone)).date()
            store = generate(days=120, orders_per_day=40, seed=9, end=today, tz=zone)
            catalogue = [e for e in store if e["type"] == "product.upserted"]
            rest = [e for e in store if e["type"] != "product.upserted"]
            send(catalogue + rest[:500], stack.api_url, stack.keys.ingest_key, progress=False)
            pool = rest[500:]
            url = stack.api_url + "/v1/events"
            session = requests.Session()
            by_size: dict[str, Any] = {}
            for size in BATCH_SIZES:
                count = max(2, args.requests // 4) if size == 500 else args.requests
                latencies = []
                for _ in range(count):
                    batch, pool = pool[:size], pool[size:]
                    if len(batch) < size:
                        raise SystemExit("the simulated store ran out of events: lower --requests")
                    latencies.append(post(session, url, stack.keys.ingest_key, batch))
                by_size[str(size)] = {
                    "requests": count,
                    "p50_ms": round(statistics.median(latencies) * 1000, 1),
                    "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
                    "events_per_second": round(size * count / sum(latencies), 1),
                }
                print(f"batch of {size}: {by_size[str(size)]}")
            results["post_events"] = by_size
            stack.wait_idle(600)

            template = next(e for e in store if e["type"] == "order.placed")
            summary_url = stack.api_url + "/v1/metrics/summary"
            params = {"start": today.isoformat(), "end": today.isoformat()}
            read = {"x-api-key": stack.keys.read_key}

            def orders_today() -> int:
                return int(
                    session.get(summary_url, params=params, headers=read, timeout=30).json()["current"][
                        "orders"
                    ]
                )

            counted = []
            for n in range(args.samples):
                before = orders_today()
                started = time.perf_counter()
                post(session, url, stack.keys.ingest_key, [fresh_order(template, n)])
                while orders_today() < before + 1:
                    if time.perf_counter() - started > 60:
                        raise SystemExit("an accepted order was not counted within 60 s")
                    time.sleep(0.025)
                counted.append(time.perf_counter() - started)
            results["accepted_to_counted"] = {
                "samples": len(counted),
                "p50_s": round(statistics.median(counted), 2),
                "p95_s": round(percentile(counted, 0.95), 2),
            }
            print(f"from 202 to counted in the summary: {results['accepted_to_counted']}")
        finally:
            stack.stop(drain_timeout=5)
    write_figures("ingest", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
