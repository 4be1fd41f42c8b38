"""Stock crossings: one alert per crossing into low or out, never lost, never listed twice.

After the stock counters moved, each touched SKU's status is compared with the status stored
beside it. A crossing is recorded first, with the alert *pending* (a conditional write: only one
processor wins it); then the EventBridge event is sent; then the pending mark is cleared. A crash
in between leaves the mark, and the next evaluation of that SKU (or the ``alert-sweep`` job)
sends it again with the same ``alert_id``, which the alert feed stores once.

A SKU's on-hand counter (``oh:<sku>``) is in one of the four ``STOCK``/``OH#<n>`` items that the
counting transactions add to; its reorder point, the version of that, its status and its pending
alert are in its bucket (``STOCK``/``00`` to ``15``), which only the inventory processor and
this module write.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from backend.adapters.dynamo import batch_get, key, to_ddb
from backend.domain.stock import STOCK_BUCKETS, bucket_of, crossing, on_hand_item, status

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
else:
    DynamoDBClient = EventBridgeClient = Any

logger = logging.getLogger(__name__)

ALERT_SOURCE = "storepulse.inventory"
DETAIL_TYPES = {"low_stock": "LowStock", "out_of_stock": "OutOfStock"}
ON_HAND = "oh:"
MOVE_ATTEMPTS = 6
MOVE_CHUNK = 90


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
    keys = {("STOCK", bucket_of(s)) for s in wanted} | {("STOCK", on_hand_item(s)) for s in wanted}
    items = batch_get(dynamodb, table, keys, consistent=True)
    sent = []
    for sku in wanted:
        bucket = items.get(("STOCK", bucket_of(sku)), {})
        counters = items.get(("STOCK", on_hand_item(sku)), {})
        # A bucket still holding an on-hand counter predates the counters' own items: until
        # move_on_hand() has moved it, the SKU's stock is the sum of the two.
        on_hand = int(bucket.get(ON_HAND + sku, 0)) + int(counters.get(ON_HAND + sku, 0))
        alert = _settle(dynamodb, events, table, bus, sku, bucket, on_hand)
        if alert:
            sent.append(alert)
    return sent


def sweep(dynamodb: DynamoDBClient, events: EventBridgeClient, table: str, bus: str) -> int:
    """Send every alert left pending by an interrupted evaluation; returns how many. Moves any
    on-hand counter left in a bucket by an older release to its own item first."""
    buckets = _read_buckets(dynamodb, table)
    move_on_hand(dynamodb, table, buckets)
    count = 0
    for item in buckets.values():
        for attribute, value in item.items():
            if attribute.startswith("pend:"):
                _deliver_pending(dynamodb, events, table, bus, attribute[5:], value)
                count += 1
    return count


def _read_buckets(dynamodb: DynamoDBClient, table: str) -> dict[Any, dict[str, Any]]:
    return batch_get(dynamodb, table, [("STOCK", f"{n:02d}") for n in range(STOCK_BUCKETS)], consistent=True)


def move_on_hand(
    dynamodb: DynamoDBClient, table: str, buckets: dict[Any, dict[str, Any]] | None = None
) -> int:
    """Move the on-hand counters that releases before the ``OH#<n>`` items kept in the 16
    buckets into those items; returns how many were moved.

    Each move is one transaction: the counters are removed from the bucket on the condition
    that they still hold the values read, and added to their items. The sum of the two places
    never changes, so the move is safe beside running processors (an older one adding to a
    bucket makes the condition fail: the bucket is read again) and safe to repeat.
    ``buckets``: the 16 buckets, when the caller has just read them (strongly consistent).
    """
    moved = 0
    for attempt in range(1, MOVE_ATTEMPTS + 1):
        if buckets is None or attempt > 1:
            buckets = _read_buckets(dynamodb, table)
        left = {
            (bucket, name): int(value)
            for (_, bucket), item in buckets.items()
            for name, value in item.items()
            if name.startswith(ON_HAND)
        }
        if not left:
            return moved
        conflicts = 0
        for bucket in sorted({b for b, _ in left}):
            names = sorted(n for b, n in left if b == bucket)
            for start in range(0, len(names), MOVE_CHUNK):
                chunk = {name: left[(bucket, name)] for name in names[start : start + MOVE_CHUNK]}
                try:
                    dynamodb.transact_write_items(TransactItems=_move_actions(table, bucket, chunk))
                except dynamodb.exceptions.TransactionCanceledException:
                    conflicts += 1
                    continue
                moved += len(chunk)
        if conflicts:
            _pause(attempt)
    raise RuntimeError(f"on-hand counters still changing after {MOVE_ATTEMPTS} attempts to move them")


def _move_actions(table: str, bucket: str, counters: dict[str, int]) -> list[dict[str, Any]]:
    names = {f"#c{i}": name for i, name in enumerate(counters)}
    values = {f":c{i}": to_ddb(value) for i, value in enumerate(counters.values())}
    actions: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": table,
                "Key": key("STOCK", bucket),
                "UpdateExpression": "REMOVE " + ", ".join(names),
                "ConditionExpression": " AND ".join(f"#c{i} = :c{i}" for i in range(len(names))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
    ]
    per_item: dict[str, dict[str, int]] = {}
    for name, value in counters.items():
        per_item.setdefault(on_hand_item(name[len(ON_HAND) :]), {})[name] = value
    for item, moves in sorted(per_item.items()):
        item_names = {f"#c{i}": name for i, name in enumerate(moves)}
        actions.append(
            {
                "Update": {
                    "TableName": table,
                    "Key": key("STOCK", item),
                    "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(moves))),
                    "ExpressionAttributeNames": item_names,
                    "ExpressionAttributeValues": {
                        f":c{i}": to_ddb(value) for i, value in enumerate(moves.values())
                    },
                }
            }
        )
    return actions


def _pause(attempt: int) -> None:
    time.sleep(min(1.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))


def _settle(
    dynamodb: DynamoDBClient,
    events: EventBridgeClient,
    table: str,
    bus: str,
    sku: str,
    item: dict[str, Any],
    on_hand: int,
) -> dict[str, Any] | None:
    pending = item.get(f"pend:{sku}")
    if pending:
        _deliver_pending(dynamodb, events, table, bus, sku, pending)
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
