"""The SQS events of the unit tests, as JSON files in ``events/`` (as Powertools keeps example
events beside its tests): Lambda SQS records whose bodies are what the pipeline really sends.

A pipeline record's body is the packet :func:`backend.adapters.packets.pack` makes of its events
(the ingest function's own code); an alert feed record's body is the EventBridge event the
``storepulse-stock-alerts`` rule delivers. ``test_sqs_events.py`` checks that every file is
still what this module builds, so a change of the packet format shows here. To write them again:
``.venv/bin/python -m tests.unit.processing.sqs_events``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backend.adapters.packets import pack
from backend.domain.events import parse_event

EVENTS_DIR = Path(__file__).parent / "events"
REGION, ACCOUNT = "us-east-1", "123456789012"


def _event(event_id: str, kind: str, at: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": event_id, "type": kind, "occurred_at": at, "data": data}


def _line(sku: str, quantity: int, unit_price: str) -> dict[str, Any]:
    return {"sku": sku, "quantity": quantity, "unit_price": unit_price}


#: A small store's week: two products (one described twice, the later version arriving first),
#: stock adjustments, orders on two channels and refunds (one before its order is counted).
INVENTORY_EVENTS = [
    _event(
        "prod-mug-v2",
        "product.upserted",
        "2026-03-02T09:00:00Z",
        {"sku": "MUG-1", "name": "Mug (large)", "category": "kitchen", "price": "14.00", "reorder_point": 8},
    ),
    _event(
        "adj-mug-restock",
        "inventory.adjusted",
        "2026-03-01T10:00:00Z",
        {"sku": "MUG-1", "delta": 40, "reason": "restock"},
    ),
    _event(
        "adj-tee-restock",
        "inventory.adjusted",
        "2026-03-01T10:05:00Z",
        {"sku": "TEE-2", "delta": 10, "reason": "restock"},
    ),
]
LATE_INVENTORY_EVENTS = [
    _event(
        "prod-mug-v1",
        "product.upserted",
        "2026-03-01T09:00:00Z",
        {"sku": "MUG-1", "name": "Mug", "category": "kitchen", "price": "12.50", "reorder_point": 5},
    ),
    _event(
        "adj-mug-damage",
        "inventory.adjusted",
        "2026-03-03T16:30:00Z",
        {"sku": "MUG-1", "delta": -3, "reason": "damage"},
    ),
]
ORDER_EVENTS = [
    _event(
        "ord-o1",
        "order.placed",
        "2026-03-02T11:15:00Z",
        {
            "order_id": "o1",
            "customer_id": "c1",
            "currency": "USD",
            "channel": "web",
            "lines": [_line("MUG-1", 2, "14.00"), _line("TEE-2", 1, "20.00")],
            "discount": "3.00",
        },
    ),
    _event(
        "ref-r1",
        "order.refunded",
        "2026-03-04T08:00:00Z",
        {
            "order_id": "o1",
            "refund_id": "r1",
            "amount": "14.00",
            "currency": "USD",
            "restock": [{"sku": "MUG-1", "quantity": 1}],
        },
    ),
    _event(
        "ref-r2",
        "order.refunded",
        "2026-03-05T12:00:00Z",
        {"order_id": "o2", "refund_id": "r2", "amount": "20.00", "currency": "USD"},
    ),
    _event("cust-c3", "customer.registered", "2026-03-01T07:00:00Z", {"customer_id": "c3", "country": "FR"}),
]
LATE_ORDER_EVENTS = [
    _event(
        "ord-o2",
        "order.placed",
        "2026-03-03T19:40:00Z",
        {
            "order_id": "o2",
            "customer_id": "c2",
            "currency": "USD",
            "channel": "mobile",
            "lines": [_line("TEE-2", 2, "20.00")],
        },
    ),
    _event(
        "ord-o3",
        "order.placed",
        "2026-03-05T10:00:00Z",
        {
            "order_id": "o3",
            "customer_id": "c1",
            "currency": "USD",
            "channel": "web",
            "lines": [_line("MUG-1", 1, "14.00")],
        },
    ),
]


def _basket(order_id: str, at: str, customer: str, *skus: str) -> dict[str, Any]:
    data = {
        "order_id": order_id,
        "customer_id": customer,
        "currency": "USD",
        "lines": [_line(sku, 1, "10.00") for sku in skus],
    }
    return _event(f"ord-{order_id}", "order.placed", at, data)


#: Orders of a closed month (March 2026) and of the next, for the ``pairs`` job: mugs go with
#: tees, pens with pads; one order lists a SKU twice; o9 is the next month's.
BASKET_EVENTS = [
    _basket("b1", "2026-03-02T10:00:00Z", "c1", "MUG-1", "TEE-2"),
    _basket("b2", "2026-03-02T15:00:00Z", "c2", "MUG-1", "TEE-2", "PEN-3"),
    _basket("b3", "2026-03-09T09:00:00Z", "c3", "PEN-3", "PAD-4"),
    _basket("b4", "2026-03-09T11:00:00Z", "c1", "PEN-3", "PAD-4", "PEN-3"),
    _basket("b5", "2026-03-20T18:00:00Z", "c4", "MUG-1"),
    _basket("b6", "2026-03-31T23:30:00Z", "c2", "MUG-1", "TEE-2"),
    _basket("b7", "2026-04-01T08:00:00Z", "c5", "PEN-3", "PAD-4"),
    _basket("b8", "2026-04-03T12:00:00Z", "c3", "MUG-1", "PAD-4"),
]
#: An order of March that arrives after March was folded.
LATE_BASKET_EVENTS = [_basket("b9", "2026-03-15T12:00:00Z", "c6", "PEN-3", "PAD-4")]

#: Alerts as the stock processor and the anomalies job put them on the bus.
LOW_STOCK = {
    "alert_id": "st_MUG-1_1",
    "type": "low_stock",
    "raised_at": "2026-03-03T16:30:02.120000+00:00",
    "sku": "MUG-1",
    "on_hand": 7,
    "reorder_point": 8,
}
SALES_DROP = {
    "alert_id": "an_5c1d0c8e2f7a4b3c9d1e0f2a",
    "type": "sales_drop",
    "raised_at": "2026-03-06T00:05:00+00:00",
    "metric": "net_sales",
    "day": "2026-03-05",
    "value": "14.00",
    "expected": "61.00",
    "score": -4.2,
}


def _message_id(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _record(
    name: str, queue: str, body: str, attributes: dict[str, Any], receive_count: int = 1
) -> dict[str, Any]:
    """A record as Lambda's SQS event source hands it to the function."""
    return {
        "messageId": _message_id(name),
        "receiptHandle": "AQEB" + hashlib.sha256(f"receipt {name}".encode()).hexdigest(),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1772960400000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1772960400100",
        },
        "messageAttributes": attributes,
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
        "awsRegion": REGION,
    }


def packet_records(
    name: str, queue: str, events: Sequence[dict[str, Any]], receive_count: int = 1
) -> list[dict[str, Any]]:
    """The records of the packets the ingest function publishes for these events (raw SNS
    delivery: the body is the packet, the ``event_type`` attribute lists its types)."""
    packets = pack([parse_event(e, currency="USD", inbound=False) for e in events])
    return [
        _record(
            f"{name}#{n}",
            queue,
            packet.body,
            {
                "event_type": {
                    "stringValue": json.dumps(packet.types),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": "String.Array",
                }
            },
            receive_count,
        )
        for n, packet in enumerate(packets)
    ]


def alert_record(name: str, alert: dict[str, Any]) -> dict[str, Any]:
    """A record of the alert-feed queue: the EventBridge event the rule routes to it."""
    detail_type = {"low_stock": "LowStock", "sales_drop": "SalesDrop"}[alert["type"]]
    event = {
        "version": "0",
        "id": _message_id(f"event {name}"),
        "detail-type": detail_type,
        "source": "storepulse.inventory" if alert["type"] == "low_stock" else "storepulse.insights",
        "account": ACCOUNT,
        "time": alert["raised_at"][:19] + "Z",
        "region": REGION,
        "resources": [],
        "detail": alert,
    }
    return _record(name, "storepulse-alert-feed", json.dumps(event), {})


def fixtures() -> dict[str, dict[str, Any]]:
    """Each file's name and content."""
    first = packet_records("inventory", "storepulse-inventory", INVENTORY_EVENTS)
    return {
        # A batch: a packet, a later packet, and the first one delivered again (a redelivery
        # after a crash: same body, new message id, received twice).
        "inventory_sqs_event.json": {
            "Records": [
                *first,
                *packet_records("inventory-late", "storepulse-inventory", LATE_INVENTORY_EVENTS),
                *packet_records("inventory-again", "storepulse-inventory", INVENTORY_EVENTS, receive_count=2),
            ]
        },
        # The orders queue gets every packet holding an order or a refund, other types included
        # (the customer registration here): the processor keeps its own.
        "orders_sqs_event.json": {
            "Records": [
                *packet_records("orders", "storepulse-orders", ORDER_EVENTS),
                *packet_records("orders-late", "storepulse-orders", LATE_ORDER_EVENTS),
            ]
        },
        # Orders over two months for the pairs job, then a late one.
        "baskets_sqs_event.json": {"Records": packet_records("baskets", "storepulse-orders", BASKET_EVENTS)},
        "late_basket_sqs_event.json": {
            "Records": packet_records("baskets-late", "storepulse-orders", LATE_BASKET_EVENTS)
        },
        # The same low-stock alert twice (an interrupted send), and an anomaly.
        "alert_feed_sqs_event.json": {
            "Records": [
                alert_record("alert-low", LOW_STOCK),
                alert_record("alert-low-again", LOW_STOCK),
                alert_record("alert-drop", SALES_DROP),
            ]
        },
    }


def load(name: str) -> dict[str, Any]:
    """The SQS event of a file of ``events/``."""
    return json.loads((EVENTS_DIR / name).read_text())


def write() -> None:
    for name, content in fixtures().items():
        (EVENTS_DIR / name).write_text(json.dumps(content, indent=2) + "\n")


if __name__ == "__main__":
    write()
