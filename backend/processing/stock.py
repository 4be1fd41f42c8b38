"""Stock crossings: one alert per crossing into low or out, never lost, never listed twice.

After the stock counters moved, each touched SKU's status is compared with the status stored
in its own item (``CATALOG``/``<sku>``). A crossing is recorded first, with the alert *pending*
(one transaction: the status changes only if it is still the one read, and the pending alert
``STOCK#PENDING``/``<sku>`` only if none is); then the EventBridge event is sent; then the
pending alert is deleted. A crash in between leaves it, and the next evaluation of that SKU (or
the ``alert-sweep`` job) sends it again with the same ``alert_id``, which the alert feed stores
once.

Then any on-hand inbox item (``STOCK``/``OH#<n>``) that has grown past
:data:`backend.domain.stock.SETTLE_AT_BYTES` is settled: its counters move into their SKUs'
items (:mod:`backend.adapters.stock`), so no stock item grows with the store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from backend.adapters.dynamo import Key, batch_get, key, query_partition, to_ddb
from backend.adapters.stock import (
    BUCKET_KEYS,
    INBOX_KEYS,
    PENDING_PK,
    SETTLE_CHUNK,
    SKU_PK,
    SkuStock,
    counters_of,
    move_counters,
    read_stock,
    source_items,
)
from backend.domain.stock import SETTLE_AT_BYTES, crossing, item_size, on_hand_item, status

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef
    from mypy_boto3_events import EventBridgeClient
else:
    DynamoDBClient = EventBridgeClient = Any

logger = logging.getLogger(__name__)

ALERT_SOURCE = "storepulse.inventory"
INSIGHTS_SOURCE = "storepulse.insights"
DETAIL_TYPES = {
    "low_stock": "LowStock",
    "out_of_stock": "OutOfStock",
    "stockout_risk": "StockoutRisk",
    "sales_drop": "SalesDrop",
    "sales_spike": "SalesSpike",
    "refund_spike": "RefundSpike",
}
# Stock alerts (stock-out risks included) come from the inventory, anomalies from the insights
# jobs; the rule storepulse-stock-alerts routes both to the alerts topic and the feed.
SOURCES = {"sales_drop": INSIGHTS_SOURCE, "sales_spike": INSIGHTS_SOURCE, "refund_spike": INSIGHTS_SOURCE}
MOVE_ATTEMPTS = 6
# Per transaction when moving an older release's bookkeeping out of a bucket.
MIGRATE_CHUNK = 40


class AlertDeliveryFailed(RuntimeError):
    """EventBridge refused an alert; it stays pending and is sent again."""


class TransitionFailed(RuntimeError):
    """A status change met a conflict, not a changed status; the batch is tried again."""


def _alert_id(sku: str, sequence: int) -> str:
    return "al_" + hashlib.sha256(f"{sku}\x00{sequence}".encode()).hexdigest()[:24]


def send_alert(events: EventBridgeClient, bus: str, alert: dict[str, Any]) -> None:
    """Put one alert on the bus (source ``storepulse.inventory``, ``storepulse.insights`` for
    anomalies)."""
    response = events.put_events(
        Entries=[
            {
                "Source": SOURCES.get(alert["type"], ALERT_SOURCE),
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
    """Raise the alerts these SKUs' current stock calls for, then settle their inbox items if
    they have grown; returns the alerts sent."""
    wanted = sorted(set(skus))
    if not wanted:
        return []
    stock = read_stock(dynamodb, table, wanted)
    pending = _pending(dynamodb, table, wanted)
    sent = []
    for sku in wanted:
        if sku in pending:
            _deliver_pending(dynamodb, events, table, bus, sku, pending[sku])
        alert = _settle_status(dynamodb, events, table, bus, stock[sku])
        if alert:
            sent.append(alert)
    settle_inbox(dynamodb, table, {("STOCK", on_hand_item(sku)) for sku in wanted})
    return sent


def _pending(dynamodb: DynamoDBClient, table: str, skus: list[str]) -> dict[str, str]:
    """The alerts left pending for these SKUs (their ``STOCK#PENDING`` items). An older
    release's pending alerts, in its buckets, are moved there and sent by the ``alert-sweep``."""
    items = batch_get(dynamodb, table, [(PENDING_PK, sku) for sku in skus], consistent=True)
    return {sku: item["alert"] for (_, sku), item in items.items()}


def sweep(dynamodb: DynamoDBClient, events: EventBridgeClient, table: str, bus: str) -> int:
    """Send every alert left pending by an interrupted evaluation; returns how many. Moves an
    older release's stock bookkeeping out of the 16 buckets first, and settles the inbox."""
    migrate_buckets(dynamodb, table)
    settle_inbox(dynamodb, table, INBOX_KEYS)
    count = 0
    for item in query_partition(dynamodb, table, PENDING_PK, ConsistentRead=True):
        _deliver_pending(dynamodb, events, table, bus, item["sk"], item["alert"])
        count += 1
    return count


def settle_inbox(dynamodb: DynamoDBClient, table: str, inbox: Iterable[Key]) -> int:
    """Move the counters of each of these inbox items that holds more than
    :data:`SETTLE_AT_BYTES` into their SKUs' items; returns how many counters moved. Settling
    keeps items small: when the items keep changing under it, it gives up and the next
    evaluation tries again."""
    moved = 0
    for source, item in sorted(source_items(dynamodb, table, inbox).items()):
        if item_size(item) > SETTLE_AT_BYTES:
            moved += _settle_source(dynamodb, table, source, item)
    return moved


def _settle_source(dynamodb: DynamoDBClient, table: str, source: Key, item: Mapping[str, Any] | None) -> int:
    """Move every counter of ``source`` into the SKUs' items; returns how many moved."""
    moved = 0
    for attempt in range(1, MOVE_ATTEMPTS + 1):
        if item is None:
            item = source_items(dynamodb, table, [source]).get(source, {})
        counters = counters_of(item)
        if not counters:
            return moved
        names = sorted(counters)
        conflicts = 0
        for start in range(0, len(names), SETTLE_CHUNK):
            chunk = {name: counters[name] for name in names[start : start + SETTLE_CHUNK]}
            if move_counters(dynamodb, table, source, chunk):
                moved += len(chunk)
            else:
                conflicts += 1
        if not conflicts:
            return moved
        item = None
        _pause(attempt)
    logger.warning("stock item %s/%s kept changing; %d counters moved so far", *source, moved)
    return moved


def migrate_buckets(dynamodb: DynamoDBClient, table: str) -> int:
    """Empty the 16 stock buckets of an older release: on-hand counters into the SKUs' items,
    statuses and crossing numbers onto them (unless they have their own already), pending alerts
    into ``STOCK#PENDING``, reorder points dropped (the catalogue keeps them). Safe beside
    running processors and safe to repeat; returns how many SKUs' entries were moved."""
    moved = 0
    for bucket_key, item in sorted(batch_get(dynamodb, table, BUCKET_KEYS, consistent=True).items()):
        moved += _settle_source(dynamodb, table, bucket_key, item)
        states = sorted(name[3:] for name in item if name.startswith("st:"))
        for start in range(0, len(states), MIGRATE_CHUNK):
            moved += _migrate_states(dynamodb, table, bucket_key, item, states[start : start + MIGRATE_CHUNK])
        for name in sorted(n for n in item if n.startswith("pend:")):
            _migrate_pending(dynamodb, table, bucket_key, name[5:], item[name])
        stale = sorted(n for n in item if n.startswith(("rp:", "rpv:")))
        for start in range(0, len(stale), 90):
            names = {f"#r{i}": n for i, n in enumerate(stale[start : start + 90])}
            dynamodb.update_item(
                TableName=table,
                Key=key(*bucket_key),
                UpdateExpression="REMOVE " + ", ".join(names),
                ExpressionAttributeNames=names,
            )
    return moved


def _migrate_states(
    dynamodb: DynamoDBClient, table: str, bucket_key: Key, item: Mapping[str, Any], skus: list[str]
) -> int:
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    actions: list[dict[str, Any]] = []
    conditions = []
    for i, sku in enumerate(skus):
        state, sequence = item[f"st:{sku}"], int(item.get(f"seq:{sku}", 0))
        names[f"#s{i}"], names[f"#q{i}"] = f"st:{sku}", f"seq:{sku}"
        values[f":s{i}"] = to_ddb(state)
        conditions.append(f"#s{i} = :s{i}")
        actions.append(
            {
                "Update": {
                    "TableName": table,
                    "Key": key(SKU_PK, sku),
                    "UpdateExpression": "SET #st = if_not_exists(#st, :st), #seq = if_not_exists(#seq, :seq)",
                    "ExpressionAttributeNames": {"#st": "st", "#seq": "seq"},
                    "ExpressionAttributeValues": {":st": to_ddb(state), ":seq": to_ddb(sequence)},
                }
            }
        )
    actions.insert(
        0,
        {
            "Update": {
                "TableName": table,
                "Key": key(*bucket_key),
                "UpdateExpression": "REMOVE " + ", ".join(names),
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        },
    )
    try:
        dynamodb.transact_write_items(TransactItems=cast("list[TransactWriteItemTypeDef]", actions))
    except dynamodb.exceptions.TransactionCanceledException:
        logger.info("statuses in %s/%s changed while moving them; the next sweep moves them", *bucket_key)
        return 0
    return len(skus)


def _migrate_pending(dynamodb: DynamoDBClient, table: str, bucket_key: Key, sku: str, alert: str) -> None:
    try:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": {**key(PENDING_PK, sku), "alert": to_ddb(alert)},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": key(*bucket_key),
                        "UpdateExpression": "REMOVE #pend",
                        "ConditionExpression": "#pend = :pend",
                        "ExpressionAttributeNames": {"#pend": f"pend:{sku}"},
                        "ExpressionAttributeValues": {":pend": to_ddb(alert)},
                    }
                },
            ]
        )
    except dynamodb.exceptions.TransactionCanceledException:
        logger.info("the pending alert of %s changed while moving it; the next sweep moves it", sku)


def _pause(attempt: int) -> None:
    time.sleep(min(1.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))


def _settle_status(
    dynamodb: DynamoDBClient,
    events: EventBridgeClient,
    table: str,
    bus: str,
    stock: SkuStock,
) -> dict[str, Any] | None:
    sku = stock.sku
    reorder_point = stock.reorder_point or 0
    before = stock.status
    after = status(stock.on_hand, reorder_point)
    if after == before:
        return None
    kind = crossing(before, after)
    sequence = stock.crossings + (1 if kind else 0)
    alert = None
    if kind:
        alert = {
            "alert_id": _alert_id(sku, sequence),
            "sku": sku,
            "type": kind,
            "on_hand": stock.on_hand,
            "reorder_point": reorder_point,
            "raised_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
    if not _transition(dynamodb, table, stock, after, sequence, alert):
        return None  # another processor made this transition and owns its alert
    if alert:
        _deliver_pending(dynamodb, events, table, bus, sku, json.dumps(alert))
    return alert


def _transition(
    dynamodb: DynamoDBClient,
    table: str,
    stock: SkuStock,
    after: str,
    sequence: int,
    alert: dict[str, Any] | None,
) -> bool:
    """Record the new status (and the alert, pending) if the status is still the one read."""
    update: dict[str, Any] = {
        "TableName": table,
        "Key": key(SKU_PK, stock.sku),
        "UpdateExpression": "SET #st = :after, #seq = :seq",
        "ConditionExpression": "#st = :before" if stock.has_status else "attribute_not_exists(#st)",
        "ExpressionAttributeNames": {"#st": "st", "#seq": "seq"},
        "ExpressionAttributeValues": {":after": to_ddb(after), ":seq": to_ddb(sequence)},
    }
    if stock.has_status:
        update["ExpressionAttributeValues"][":before"] = to_ddb(stock.status)
    if alert is None:
        try:
            dynamodb.update_item(**update)
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True
    pending = {
        "TableName": table,
        "Item": {**key(PENDING_PK, stock.sku), "alert": to_ddb(json.dumps(alert))},
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    try:
        items = [{"Update": update}, {"Put": pending}]
        dynamodb.transact_write_items(TransactItems=cast("list[TransactWriteItemTypeDef]", items))
    except dynamodb.exceptions.TransactionCanceledException as exc:
        reasons = exc.response.get("CancellationReasons", [])
        if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
            return False
        raise TransitionFailed(f"the status of {stock.sku} could not be recorded") from exc
    return True


def _deliver_pending(
    dynamodb: DynamoDBClient,
    events: EventBridgeClient,
    table: str,
    bus: str,
    sku: str,
    pending: str,
) -> None:
    """Send a pending alert, then delete it (if it is still that alert)."""
    send_alert(events, bus, json.loads(pending))
    try:
        dynamodb.delete_item(
            TableName=table,
            Key=key(PENDING_PK, sku),
            ConditionExpression="#pend = :pend",
            ExpressionAttributeNames={"#pend": "alert"},
            ExpressionAttributeValues={":pend": to_ddb(pending)},
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        logger.info("pending alert of %s already cleared", sku)
