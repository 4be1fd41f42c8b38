"""Stock crossings: one alert per crossing into low or out, never lost, never listed twice.

After the stock counters moved, each touched SKU's status is compared with the status stored
beside it. A crossing is recorded first, with the alert *pending* (a conditional write: only one
processor wins it); then the EventBridge event is sent; then the pending mark is cleared. A crash
in between leaves the mark, and the next evaluation of that SKU (or the ``alert-sweep`` job)
sends it again with the same ``alert_id``, which the alert feed stores once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from backend.adapters.dynamo import batch_get, key, to_ddb
from backend.domain.stock import STOCK_BUCKETS, bucket_of, crossing, status

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
else:
    DynamoDBClient = EventBridgeClient = Any

logger = logging.getLogger(__name__)

ALERT_SOURCE = "storepulse.inventory"
DETAIL_TYPES = {"low_stock": "LowStock", "out_of_stock": "OutOfStock"}


class AlertDeliveryFailed(RuntimeError):
    """EventBridge refused an alert; it stays pending and is sent again."""


def _alert_id(sku: str, sequence: int) -> str:
    return "al_" + hashlib.sha256(f"{sku}\x00{sequence}".encode()).hexdigest()[:24]


def send_alert(events: EventBridgeClient, bus: str, alert: dict[str, Any]) -> None:
    """Put one alert on the bus (source ``storepulse.inventory``)."""
    response = events.put_events(
        Entries=[
            {
                "Source": ALERT_SOURCE,
                "DetailType": DETAIL_TYPES[alert["type"]],
                "Detail": json.dumps(alert),
                "EventBusName": bus,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise AlertDeliveryFailed(str(response["Entries"]))


def evaluate(
    dynamodb: DynamoDBClient,
    events: EventBridgeClient,
    table: str,
    bus: str,
    skus: Iterable[str],
) -> list[dict[str, Any]]:
    """Raise the alerts these SKUs' current stock calls for; returns the alerts sent."""
    wanted = sorted(set(skus))
    if not wanted:
        return []
    buckets = batch_get(dynamodb, table, {("STOCK", bucket_of(s)) for s in wanted}, consistent=True)
    sent = []
    for sku in wanted:
        item = buckets.get(("STOCK", bucket_of(sku)), {})
        alert = _settle(dynamodb, events, table, bus, sku, item)
        if alert:
            sent.append(alert)
    return sent


def sweep(dynamodb: DynamoDBClient, events: EventBridgeClient, table: str, bus: str) -> int:
    """Send every alert left pending by an interrupted evaluation; returns how many."""
    buckets = batch_get(
        dynamodb, table, [("STOCK", f"{n:02d}") for n in range(STOCK_BUCKETS)], consistent=True
    )
    count = 0
    for item in buckets.values():
        for attribute, value in item.items():
            if attribute.startswith("pend:"):
                _deliver_pending(dynamodb, events, table, bus, attribute[5:], value)
                count += 1
    return count


def _settle(
    dynamodb: DynamoDBClient,
    events: EventBridgeClient,
    table: str,
    bus: str,
    sku: str,
    item: dict[str, Any],
) -> dict[str, Any] | None:
    pending = item.get(f"pend:{sku}")
    if pending:
        _deliver_pending(dynamodb, events, table, bus, sku, pending)
    on_hand = int(item.get(f"oh:{sku}", 0))
    reorder_point = int(item.get(f"rp:{sku}", 0))
    before = item.get(f"st:{sku}", "ok")
    after = status(on_hand, reorder_point)
    if after == before:
        return None
    kind = crossing(before, after)
    sequence = int(item.get(f"seq:{sku}", 0)) + (1 if kind else 0)
    alert = None
    if kind:
        alert = {
            "alert_id": _alert_id(sku, sequence),
            "sku": sku,
            "type": kind,
            "on_hand": on_hand,
            "reorder_point": reorder_point,
            "raised_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
    if not _transition(dynamodb, table, sku, before, after, sequence, alert):
        return None  # another processor made this transition and owns its alert
    if alert:
        _deliver_pending(dynamodb, events, table, bus, sku, json.dumps(alert))
    return alert


def _transition(
    dynamodb: DynamoDBClient,
    table: str,
    sku: str,
    before: str,
    after: str,
    sequence: int,
    alert: dict[str, Any] | None,
) -> bool:
    names = {"#st": f"st:{sku}", "#seq": f"seq:{sku}", "#pend": f"pend:{sku}"}
    values: dict[str, Any] = {":after": to_ddb(after), ":seq": to_ddb(sequence)}
    update = "SET #st = :after, #seq = :seq"
    if alert:
        update += ", #pend = :pend"
        values[":pend"] = to_ddb(json.dumps(alert))
    if before == "ok":
        condition = "(attribute_not_exists(#st) OR #st = :before) AND attribute_not_exists(#pend)"
    else:
        condition = "#st = :before AND attribute_not_exists(#pend)"
    values[":before"] = to_ddb(before)
    try:
        dynamodb.update_item(
            TableName=table,
            Key=key("STOCK", bucket_of(sku)),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True


def _deliver_pending(
    dynamodb: DynamoDBClient,
    events: EventBridgeClient,
    table: str,
    bus: str,
    sku: str,
    pending: str,
) -> None:
    send_alert(events, bus, json.loads(pending))
    try:
        dynamodb.update_item(
            TableName=table,
            Key=key("STOCK", bucket_of(sku)),
            UpdateExpression="REMOVE #pend",
            ConditionExpression="#pend = :pend",
            ExpressionAttributeNames={"#pend": f"pend:{sku}"},
            ExpressionAttributeValues={":pend": to_ddb(pending)},
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        logger.info("pending alert of %s already cleared", sku)
