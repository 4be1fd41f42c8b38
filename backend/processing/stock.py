"""Stock crossings: one alert per crossing into low or out, never lost, never listed twice.

After the stock counters moved, each touched SKU's status is compared with the status stored
in its own item (``CATALOG``/``<sku>``). A crossing is recorded first, with the alert *pending*
(one transaction: the status changes only if it is still the one read, and the pending alert
``STOCK#PENDING``/``<sku>`` only if none is); then the EventBridge event is sent; then the
pending alert is deleted. A crash in between leaves it, and the next evaluation of that SKU (or
the ``alert-sweep`` job) sends it again with the same ``alert_id``, which the alert feed stores
once.

Then any on-hand inbox item (``STOCK#OH#<n>``/``OH``) that has grown past
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
from typing import TYPE_CHECKING, Any

from backend.adapters.alerts import send_alert
from backend.adapters.dynamo import Key, batch_get, query_partition
from backend.adapters.stock import (
    BUCKET_KEYS,
    INBOX_KEYS,
    LEGACY_INBOX_KEYS,
    PENDING_PK,
    SETTLE_CHUNK,
    SkuStock,
    clear_pending,
    counters_of,
    migrate_pending,
    migrate_states,
    move_counters,
    read_stock,
    record_transition,
    remove_attributes,
    source_items,
)
from backend.domain.stock import SETTLE_AT_BYTES, crossing, item_size, on_hand_key, status

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
else:
    DynamoDBClient = EventBridgeClient = Any

logger = logging.getLogger(__name__)

MOVE_ATTEMPTS = 6
# Per transaction when moving an older release's bookkeeping out of a bucket.
MIGRATE_CHUNK = 40


def _alert_id(sku: str, sequence: int) -> str:
    return "al_" + hashlib.sha256(f"{sku}\x00{sequence}".encode()).hexdigest()[:24]


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
    settle_inbox(dynamodb, table, {on_hand_key(sku) for sku in wanted})
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
    """Empty the stock items of older releases: the on-hand inbox under ``STOCK`` into the SKUs'
    items; the 16 stock buckets' on-hand counters into the SKUs' items too, statuses and crossing
    numbers onto them (unless they have their own already), pending alerts into
    ``STOCK#PENDING``, reorder points dropped (the catalogue keeps them). Safe beside running
    processors and safe to repeat; returns how many SKUs' entries were moved."""
    moved = 0
    for inbox_key, item in sorted(batch_get(dynamodb, table, LEGACY_INBOX_KEYS, consistent=True).items()):
        moved += _settle_source(dynamodb, table, inbox_key, item)
    for bucket_key, item in sorted(batch_get(dynamodb, table, BUCKET_KEYS, consistent=True).items()):
        moved += _settle_source(dynamodb, table, bucket_key, item)
        states = sorted(name[3:] for name in item if name.startswith("st:"))
        for start in range(0, len(states), MIGRATE_CHUNK):
            moved += migrate_states(dynamodb, table, bucket_key, item, states[start : start + MIGRATE_CHUNK])
        for name in sorted(n for n in item if n.startswith("pend:")):
            migrate_pending(dynamodb, table, bucket_key, name[5:], item[name])
        stale = sorted(n for n in item if n.startswith(("rp:", "rpv:")))
        for start in range(0, len(stale), 90):
            remove_attributes(dynamodb, table, bucket_key, stale[start : start + 90])
    return moved


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
    if not record_transition(dynamodb, table, stock, after, sequence, alert):
        return None  # another processor made this transition and owns its alert
    if alert:
        _deliver_pending(dynamodb, events, table, bus, sku, json.dumps(alert))
    return alert


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
    if not clear_pending(dynamodb, table, sku, pending):
        logger.info("pending alert of %s already cleared", sku)
