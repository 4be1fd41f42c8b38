"""The stock items: reading a SKU's stock exactly, paging through SKUs, settling the inbox.

The layout is :mod:`backend.domain.stock`'s: each SKU's own item (``CATALOG``/``<sku>``: ``oh``,
``st``, ``seq``, catalogue fields), the on-hand inbox (``STOCK``/``OH#<n>``, ``oh:<sku>``) that
counting transactions add to, and the pending alerts (``STOCK#PENDING``/``<sku>``). Releases
before the SKUs' own items kept ``oh:``, ``rp:``, ``rpv:``, ``st:``, ``seq:`` and ``pend:`` per
SKU in 16 buckets (``STOCK``/``00``..``15``); they are read as well until :func:`settle` and
  :func:`migrate_buckets` have emptied them.

A SKU's on hand is the sum of its ``oh`` and its counters in the inbox (and in a bucket). A
settle moves counters from an inbox item (or bucket) into the SKUs' items in one transaction and
bumps that source's ``gen``. Readers read the sources, then the SKUs' items, then the sources
again: if no ``gen`` moved in between, no settle fell between the reads and the sum is exact.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast

from backend.adapters.dynamo import Key, batch_get, key, query_partition, to_ddb
from backend.adapters.stock_in import REVISION, THROUGH, WATERMARK, Watermark, stock_in_skus, unfolded_stock
from backend.domain.stock import (
    ON_HAND_COUNTER,
    ON_HAND_ITEMS,
    ON_HAND_PK_PREFIX,
    ON_HAND_PREFIX,
    ON_HAND_SK,
    SETTLE_AT_BYTES,
    STOCK_BUCKETS,
    Status,
    bucket_of,
    item_size,
    legacy_on_hand_key,
    on_hand_key,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef
else:
    DynamoDBClient = Any

logger = logging.getLogger(__name__)

SKU_PK = "CATALOG"
STOCK_PK = "STOCK"
PENDING_PK = "STOCK#PENDING"
GENERATION = "gen"
READ_ATTEMPTS = 8
MOVE_ATTEMPTS = 6
# Per transaction when moving an older release's bookkeeping out of a bucket.
MIGRATE_CHUNK = 40
# Counters moved per transaction: one update of the source plus one per SKU item (<= 100).
SETTLE_CHUNK = 90

INBOX_KEYS: list[Key] = [(f"{ON_HAND_PK_PREFIX}{n}", ON_HAND_SK) for n in range(ON_HAND_ITEMS)]
LEGACY_INBOX_KEYS: list[Key] = [(STOCK_PK, f"{ON_HAND_PREFIX}{n}") for n in range(ON_HAND_ITEMS)]
BUCKET_KEYS: list[Key] = [(STOCK_PK, f"{n:02d}") for n in range(STOCK_BUCKETS)]

T = TypeVar("T")


class StockChanging(RuntimeError):
    """The stock items kept changing under a read or a settle; try again later."""


@dataclass(frozen=True)
class SkuStock:
    """What the stock items say of one SKU."""

    sku: str
    on_hand: int
    reorder_point: int | None
    status: Status
    crossings: int
    name: str | None = None
    category: str | None = None
    has_status: bool = False
    lead_time_days: int | None = None
    price: Decimal | None = None
    # Whether the SKU has an item of its own or a counter: a SKU the store never mentioned has neither.
    known: bool = False


def _sources(sku: str) -> list[Key]:
    return [on_hand_key(sku), legacy_on_hand_key(sku), (STOCK_PK, bucket_of(sku))]


def _stock_of(
    sku: str, own: Mapping[str, Any], sources: Mapping[Key, Mapping[str, Any]], unfolded: Mapping[str, int]
) -> SkuStock:
    counter = ON_HAND_COUNTER + sku
    counters = [sources[k][counter] for k in dict.fromkeys(_sources(sku)) if counter in sources.get(k, {})]
    if sku in unfolded:  # stock-in items not folded into the inbox yet
        counters.append(unfolded[sku])
    on_hand = int(own.get("oh", 0)) + sum(int(c) for c in counters)
    bucket = sources.get((STOCK_PK, bucket_of(sku)), {})
    if "st" in own:
        status, crossings = own["st"], int(own.get("seq", 0))
    else:  # the bookkeeping of an older release, until migrated
        status, crossings = bucket.get(f"st:{sku}", "ok"), int(bucket.get(f"seq:{sku}", 0))
    point = own.get("reorder_point", bucket.get(f"rp:{sku}"))
    return SkuStock(
        sku=sku,
        on_hand=on_hand,
        reorder_point=None if point is None else int(point),
        status=status,
        crossings=crossings,
        name=own.get("name"),
        category=own.get("category"),
        has_status="st" in own,
        lead_time_days=None if own.get("lead_time_days") is None else int(own["lead_time_days"]),
        price=None if own.get("price") is None else Decimal(own["price"]),
        known=bool(own) or bool(counters) or point is not None,
    )


def _between_settles(
    client: DynamoDBClient, table: str, sources: Iterable[Key], read_own: Callable[[Watermark], T]
) -> tuple[T, dict[Key, dict[str, Any]]]:
    """``read_own(watermark)`` and the source items, read so that no settle (nor fold of stock-in
    items) fell between the two. The stock-in watermark comes with the first read of the
    sources' generations (:mod:`backend.adapters.stock_in`)."""
    keys = sorted(set(sources))
    for _ in range(READ_ATTEMPTS):
        before = batch_get(
            client, table, [*keys, WATERMARK], projection=[GENERATION, THROUGH, REVISION], consistent=True
        )
        own = read_own(Watermark.of(before.get(WATERMARK, {})))
        after = batch_get(client, table, keys, consistent=True)
        if all(before.get(k, {}).get(GENERATION) == after.get(k, {}).get(GENERATION) for k in keys):
            return own, after
    raise StockChanging("the stock was being settled during every read; try again")


def read_stock(client: DynamoDBClient, table: str, skus: Iterable[str]) -> dict[str, SkuStock]:
    """The exact stock of these SKUs (strongly consistent), whether or not they have an item."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    (own, unfolded), sources = _between_settles(
        client,
        table,
        (k for sku in wanted for k in _sources(sku)),
        lambda mark: (
            batch_get(client, table, [(SKU_PK, sku) for sku in wanted], consistent=True),
            unfolded_stock(client, table, mark),
        ),
    )
    return {sku: _stock_of(sku, own.get((SKU_PK, sku), {}), sources, unfolded) for sku in wanted}


def source_items(client: DynamoDBClient, table: str, keys: Iterable[Key]) -> dict[Key, dict[str, Any]]:
    """The inbox items (or buckets) with these keys, strongly consistent."""
    return batch_get(client, table, list(keys), consistent=True)


def stock_page(
    client: DynamoDBClient, table: str, after: str | None, limit: int
) -> tuple[list[SkuStock], bool]:
    """Up to ``limit`` SKUs after ``after`` (all from the first when ``None``), by sku, with
    their exact stock, and whether more follow.

    The SKUs are those with an item of their own (the catalogue's, or settled stock) and those
    still only in the inbox. Cost: one Query of ``limit + 1`` SKU items and the 4 inbox items
    (and the 4 inbox items and 16 buckets of older releases), read twice: in proportion to the
    page, not to the store.
    """
    extra: dict[str, Any] = {"ConsistentRead": True, "Limit": limit + 1}
    if after is not None:
        extra["KeyConditionExpression"] = "pk = :pk AND sk > :after"
        extra["ExpressionAttributeValues"] = {":pk": {"S": SKU_PK}, ":after": {"S": after}}

    def own_items(mark: Watermark) -> tuple[list[dict[str, Any]], dict[str, int]]:
        found = []
        for item in query_partition(client, table, SKU_PK, **extra):
            found.append(item)
            if len(found) > limit:
                break
        return found, unfolded_stock(client, table, mark)

    (own, unfolded), sources = _between_settles(
        client, table, [*INBOX_KEYS, *LEGACY_INBOX_KEYS, *BUCKET_KEYS], own_items
    )
    by_sku = {item["sk"]: item for item in own}
    counted = {
        name.split(":", 1)[1]
        for item in sources.values()
        for name in item
        if name.startswith((ON_HAND_COUNTER, "st:", "rp:"))
    }
    candidates = sorted(set(by_sku) | stock_in_skus(counted, after) | stock_in_skus(unfolded, after))
    skus = candidates[:limit]
    more = len(candidates) > limit
    return [_stock_of(sku, by_sku.get(sku, {}), sources, unfolded) for sku in skus], more


def move_counters(client: DynamoDBClient, table: str, source: Key, counters: Mapping[str, int]) -> bool:
    """Move these ``oh:<sku>`` counters of ``source`` into their SKUs' items (one transaction,
    on the condition that each still holds the value read); returns whether it committed."""
    names = {f"#c{i}": name for i, name in enumerate(counters)}
    values = {f":c{i}": to_ddb(value) for i, value in enumerate(counters.values())}
    actions: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": table,
                "Key": key(*source),
                "UpdateExpression": "REMOVE " + ", ".join(names) + " ADD #gen :one",
                "ConditionExpression": " AND ".join(f"#c{i} = :c{i}" for i in range(len(names))),
                "ExpressionAttributeNames": {**names, "#gen": GENERATION},
                "ExpressionAttributeValues": {**values, ":one": to_ddb(1)},
            }
        }
    ]
    for name, value in counters.items():
        actions.append(
            {
                "Update": {
                    "TableName": table,
                    "Key": key(SKU_PK, name[len(ON_HAND_COUNTER) :]),
                    "UpdateExpression": "ADD #oh :oh",
                    "ExpressionAttributeNames": {"#oh": "oh"},
                    "ExpressionAttributeValues": {":oh": to_ddb(value)},
                }
            }
        )
    try:
        client.transact_write_items(TransactItems=cast("list[TransactWriteItemTypeDef]", actions))
    except client.exceptions.TransactionCanceledException:
        return False
    return True


def counters_of(item: Mapping[str, Any]) -> dict[str, int]:
    """The ``oh:<sku>`` counters an inbox item (or bucket) holds."""
    return {name: int(value) for name, value in item.items() if name.startswith(ON_HAND_COUNTER)}


class TransitionFailed(RuntimeError):
    """A status change met a conflict, not a changed status; the batch is tried again."""


def remove_attributes(client: DynamoDBClient, table: str, item_key: Key, names: Iterable[str]) -> None:
    """Remove these attributes of one item (at most 100 names)."""
    aliases = {f"#r{i}": name for i, name in enumerate(names)}
    client.update_item(
        TableName=table,
        Key=key(*item_key),
        UpdateExpression="REMOVE " + ", ".join(aliases),
        ExpressionAttributeNames=aliases,
    )


def migrate_states(
    dynamodb: DynamoDBClient, table: str, bucket_key: Key, item: Mapping[str, Any], skus: list[str]
) -> int:
    """Move these SKUs' statuses and crossing numbers out of an older release's bucket onto their
    own items (unless they have their own already); returns how many moved (0 when a status
    changed meanwhile: the next sweep moves them)."""
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


def migrate_pending(dynamodb: DynamoDBClient, table: str, bucket_key: Key, sku: str, alert: str) -> None:
    """Move one pending alert out of an older release's bucket into ``STOCK#PENDING``."""
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


def record_transition(
    dynamodb: DynamoDBClient,
    table: str,
    stock: SkuStock,
    after: str,
    sequence: int,
    alert: Mapping[str, Any] | None,
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


def clear_pending(client: DynamoDBClient, table: str, sku: str, pending: str) -> bool:
    """Delete a SKU's pending alert if it is still ``pending``; False when it was not."""
    try:
        client.delete_item(
            TableName=table,
            Key=key(PENDING_PK, sku),
            ConditionExpression="#pend = :pend",
            ExpressionAttributeNames={"#pend": "alert"},
            ExpressionAttributeValues={":pend": to_ddb(pending)},
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def pending_alerts(client: DynamoDBClient, table: str, skus: Iterable[str]) -> dict[str, str]:
    """The alerts left pending (``STOCK#PENDING``/``<sku>``) of these SKUs, by SKU."""
    items = batch_get(client, table, [(PENDING_PK, sku) for sku in skus], consistent=True)
    return {sku: item["alert"] for (_, sku), item in items.items()}


def every_pending_alert(client: DynamoDBClient, table: str) -> dict[str, str]:
    """Every alert left pending, by SKU (one Query of ``STOCK#PENDING``)."""
    found = query_partition(client, table, PENDING_PK, ConsistentRead=True)
    return {item["sk"]: item["alert"] for item in found}


def settle_inbox(client: DynamoDBClient, table: str, inbox: Iterable[Key]) -> int:
    """Move the counters of each of these inbox items that holds more than
    :data:`SETTLE_AT_BYTES` into their SKUs' items; returns how many counters moved. Settling
    keeps items small: when the items keep changing under it, it gives up and the next
    evaluation tries again."""
    moved = 0
    for source, item in sorted(source_items(client, table, inbox).items()):
        if item_size(item) > SETTLE_AT_BYTES:
            moved += _settle_source(client, table, source, item)
    return moved


def _settle_source(client: DynamoDBClient, table: str, source: Key, item: Mapping[str, Any] | None) -> int:
    """Move every counter of ``source`` into the SKUs' items; returns how many moved."""
    moved = 0
    for attempt in range(1, MOVE_ATTEMPTS + 1):
        if item is None:
            item = source_items(client, table, [source]).get(source, {})
        counters = counters_of(item)
        if not counters:
            return moved
        names = sorted(counters)
        conflicts = 0
        for start in range(0, len(names), SETTLE_CHUNK):
            chunk = {name: counters[name] for name in names[start : start + SETTLE_CHUNK]}
            if move_counters(client, table, source, chunk):
                moved += len(chunk)
            else:
                conflicts += 1
        if not conflicts:
            return moved
        item = None
        _pause(attempt)
    logger.warning("stock item %s/%s kept changing; %d counters moved so far", *source, moved)
    return moved


def migrate_buckets(client: DynamoDBClient, table: str) -> int:
    """Empty the stock items of older releases: the on-hand inbox under ``STOCK`` into the SKUs'
    items; the 16 stock buckets' on-hand counters into the SKUs' items too, statuses and crossing
    numbers onto them (unless they have their own already), pending alerts into
    ``STOCK#PENDING``, reorder points dropped (the catalogue keeps them). Safe beside running
    processors and safe to repeat; returns how many SKUs' entries were moved."""
    moved = 0
    for inbox_key, item in sorted(batch_get(client, table, LEGACY_INBOX_KEYS, consistent=True).items()):
        moved += _settle_source(client, table, inbox_key, item)
    for bucket_key, item in sorted(batch_get(client, table, BUCKET_KEYS, consistent=True).items()):
        moved += _settle_source(client, table, bucket_key, item)
        states = sorted(name[3:] for name in item if name.startswith("st:"))
        for start in range(0, len(states), MIGRATE_CHUNK):
            moved += migrate_states(client, table, bucket_key, item, states[start : start + MIGRATE_CHUNK])
        for name in sorted(n for n in item if n.startswith("pend:")):
            migrate_pending(client, table, bucket_key, name[5:], item[name])
        stale = sorted(n for n in item if n.startswith(("rp:", "rpv:")))
        for start in range(0, len(stale), 90):
            remove_attributes(client, table, bucket_key, stale[start : start + 90])
    return moved


def _pause(attempt: int) -> None:
    time.sleep(min(1.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
