"""The partition model, measured: which DynamoDB items and partitions a busy store's orders
write, and how many orders per second one store sustains before any of them passes
DynamoDB's 1,000 write units per second per partition.

One busy store day goes through the real pipeline on a throwaway local stack (the real ingest
API, packets, the orders function's batches as its poller makes them): first the catalogue and
the stock (not measured), then ``--orders`` orders of that day in requests of 500 from 4
senders, as a store at its peak sends them. Every write is sized by AWS's rules
(:mod:`bench.meter`) and charged to its item. Then, per item and per partition key:

    orders per second before it throttles = 1,000 / (write units per order on it)

A partition key is the unit DynamoDB keeps together unless it splits a hot partition by sort
key ("split for heat"); an item is the smallest unit it can ever split to. So the partition
figure is the conservative bound and the item figure the one no adaptive capacity can pass.
The write units per order on an item fall as batches grow (one merged write per batch): the
model holds for batches the size the measured run made, which the table prints.

    .venv/bin/python bench/partitions.py                 # 3,000 orders, 2,000 SKUs
    .venv/bin/python bench/partitions.py --orders 6000 --skus 5000 --json out.json
    .venv/bin/python bench/partitions.py --request-size 10  # small requests: small batches
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.meter import Meter
from bench.pipeline import run_phase, start_stack, table

THROTTLE_WCU = 1_000
DAY = "2026-11-27"


def store_day(
    orders: int, skus: int, customers: int, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(catalogue and stock events, the day's orders) of a busy store: SKU codes of 30
    characters, sales skewed towards a few SKUs, customers drawn from a pool (some order twice)."""
    rng = random.Random(seed)
    codes = [f"SKU-{n:06d}-" + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ", k=19)) for n in range(skus)]
    setup: list[dict[str, Any]] = []
    for n, sku in enumerate(codes):
        setup.append(
            {
                "event_id": f"part-cat-{n}",
                "type": "product.upserted",
                "occurred_at": f"{DAY}T00:00:00Z",
                "data": {
                    "sku": sku,
                    "name": f"Item {n}",
                    "category": "misc",
                    "price": "9.99",
                    "reorder_point": 5,
                },
            }
        )
        setup.append(
            {
                "event_id": f"part-adj-{n}",
                "type": "inventory.adjusted",
                "occurred_at": f"{DAY}T00:00:01Z",
                "data": {"sku": sku, "delta": 1_000_000, "reason": "restock"},
            }
        )
    weights = [1 / (1 + n) ** 0.8 for n in range(skus)]
    placed = []
    for n in range(orders):
        lines = rng.choices(codes, weights=weights, k=rng.choice((1, 1, 2, 2, 3, 4)))
        placed.append(
            {
                "event_id": f"part-order-{n}",
                "type": "order.placed",
                "occurred_at": f"{DAY}T{8 + n * 12 // orders:02d}:{n % 60:02d}:{(n * 7) % 60:02d}Z",
                "data": {
                    "order_id": f"P{n}",
                    "customer_id": f"cust-{rng.randrange(customers):07d}",
                    "lines": [
                        {"sku": sku, "quantity": 1 + i % 2, "unit_price": "9.99"}
                        for i, sku in enumerate(dict.fromkeys(lines))
                    ],
                    "currency": "USD",
                    "channel": rng.choice(("web", "web", "mobile", "pos")),
                },
            }
        )
    return setup, placed


def model(per_item: dict[tuple[str, str, str], float], orders: int) -> dict[str, Any]:
    """Write units per order by item and by partition key, and the orders per second each
    sustains before 1,000 write units per second."""
    partitions: dict[tuple[str, str], float] = defaultdict(float)
    for (tbl, pk, _), units in per_item.items():
        partitions[(tbl, pk)] += units

    def rows(found: dict[Any, float]) -> list[dict[str, Any]]:
        ranked = sorted(found.items(), key=lambda kv: -kv[1])[:12]
        return [
            {
                "key": "/".join(k[1:]) if isinstance(k, tuple) else str(k),
                "table": k[0],
                "write_units_per_order": round(units / orders, 4),
                "orders_per_second": round(THROTTLE_WCU * orders / units) if units else None,
            }
            for k, units in ranked
        ]

    items, parts = rows(per_item), rows(partitions)
    return {
        "orders": orders,
        "write_units_per_order": round(sum(per_item.values()) / orders, 3),
        "hot_items": items,
        "hot_partitions": parts,
        "orders_per_second_items": items[0]["orders_per_second"] if items else None,
        "orders_per_second_partitions": parts[0]["orders_per_second"] if parts else None,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=3_000, help="orders of the busy day")
    parser.add_argument("--skus", type=int, default=2_000, help="SKUs of the catalogue")
    parser.add_argument("--customers", type=int, default=20_000, help="the pool customers are drawn from")
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument(
        "--request-size",
        type=int,
        default=500,
        help="orders per ingest request (1: a store fed by one webhook per order)",
    )
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1_800.0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    setup, placed = store_day(args.orders, args.skus, args.customers, args.seed)
    meter = Meter()
    with tempfile.TemporaryDirectory(prefix="storepulse-partitions-") as tmp, meter.handler_clients():
        stack = start_stack(meter, Path(tmp))
        try:
            progress = not args.no_progress
            run_phase(
                "catalogue and stock",
                stack,
                meter,
                setup,
                senders=args.senders,
                timeout=args.timeout,
                progress=progress,
            )
            meter.precise = True
            before = meter.write_units_by_item()
            phase = run_phase(
                "orders",
                stack,
                meter,
                placed,
                senders=args.senders,
                timeout=args.timeout,
                progress=progress,
                request_size=args.request_size,
            )
            after = meter.write_units_by_item()
            meter.precise = False
        finally:
            stack.stop(drain_timeout=0)
    per_item = {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0)}
    analytics = {k: v for k, v in per_item.items() if "ingest" not in k[0]}
    figures = model(per_item, args.orders)
    figures["analytics_table_only"] = model(analytics, args.orders)
    orders_fn = phase.tally.functions.get("orders")
    figures["orders_batches"] = orders_fn.count if orders_fn else None
    figures["store"] = {"orders": args.orders, "skus": args.skus, "customers": args.customers, "day": DAY}
    figures["request_size"] = args.request_size
    print(
        f"busy day: {args.orders} orders, {args.skus} SKUs, customers drawn from {args.customers}, "
        f"{args.request_size} orders per request; "
        f"the orders function ran {figures['orders_batches']} batches "
        f"(about {args.orders / max(figures['orders_batches'] or 1, 1):.0f} orders each)"
    )
    print(f"write units per order, all tables: {figures['write_units_per_order']}")
    for title, key in (("hottest items", "hot_items"), ("hottest partition keys", "hot_partitions")):
        print(f"\n{title} (orders/s before {THROTTLE_WCU} write units/s):")
        print(
            table(
                ["table", "key", "units/order", "orders/s"],
                [
                    [r["table"], r["key"], r["write_units_per_order"], r["orders_per_second"]]
                    for r in figures[key]
                ],
            )
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
