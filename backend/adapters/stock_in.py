"""Stock-in items: a packet part's on-hand deltas and order facts, counted without a transaction.

An order alone used to move on hand by an ``ADD`` to the on-hand inbox in its part's counting
transaction (4 of its write units: the inbox item twice, 1-2 KB). Instead, each part of a
packet puts **one immutable item**, ``STOCKIN#<claim day>#<shard>``/``<packet>#<n>``: the
part's stock deltas and its placed orders' segment facts, packed, with a conditional put
(``attribute_not_exists``): a redelivery's put fails and is ignored. The ``fold`` job later moves
each day's items into the inbox, once (docs/architecture.md, "Stock-in items").

- ``<claim day>``: the smallest UTC day stored in the part's order claims when they were first
  made, so every delivery names the same item. ``<shard>``: ``crc32(packet) mod 4``, so a day's
  lone orders spread their write units over 4 partitions.
- A part whose claim day the fold may already have passed (a late packet, a DLQ replay) is
  counted the old way instead, in a transaction that also writes the part's item as a
  *tombstone* (its ``part`` attribute, no deltas) on the condition that no item of the part
  exists: the item's key is the one guard of the part's stock, whichever path counts it.
- The fold of a day and shard: the facts into ``FACTS#`` items (content-keyed, idempotent), then
  per inbox item and chunk of SKUs one transaction: a fold marker ``~FOLD#<inbox>#<chunk>`` in
  the day's partition (condition: not exists; it lists the SKUs it folded) and the merged
  ``ADD`` of those SKUs' deltas to the inbox item, with ``ADD gen 1``. Then the watermark
  ``STOCKIN``/``FOLDED`` (``through``) moves to the day.
- Readers add the deltas of the partitions of the :data:`WINDOW` days after the watermark,
  less the SKUs their fold markers list. A fold moves counters from here into the inbox like a
  settle does, bumping the inbox items' ``gen``, so the readers' settle-safe read
  (:func:`backend.adapters.stock.read_stock`) sees each delta once.
"""

from __future__ import annotations

import contextlib
import json
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast

from backend.adapters.dynamo import Key, batch_get, key, query_partition, to_ddb
from backend.adapters.parallel import READ_PARALLELISM, parallel_map
from backend.domain.stock import ON_HAND_COUNTER, on_hand_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef
else:
    DynamoDBClient = Any

STOCK_IN_PREFIX = "STOCKIN#"
STOCK_IN_SHARDS = 4
#: The watermark: every day up to ``through`` is folded into the inbox.
WATERMARK: Key = ("STOCKIN", "FOLDED")
THROUGH = "through"
#: The attribute every part item has (a tombstone has only it): the guard of the part's stock.
PART = "part"
#: The packed deltas and facts of a part item.
DELTAS = "d"
FOLD_PREFIX = "~FOLD#"
FOLD_SKUS = "skus"
#: SKUs folded per transaction (one inbox update of that many ``ADD`` terms, and the marker).
FOLD_CHUNK = 90
#: Days after the watermark that may hold unfolded items: readers query these, and a writer
#: puts an item only for one of them (else it takes the transaction): a fold that stops
#: running makes writers fall back, never readers miss an item.
WINDOW = 4
#: Items leave by TTL (``expires_at``) this long after their day: past the redelivery horizon
#: (14 days in the queue, 14 in its DLQ) with a month of margin. Only days after the watermark
#: are read, so an item's expiry changes no figure.
TTL_DAYS = 60
TTL_ATTRIBUTE = "expires_at"
#: The generation counter of an inbox item (:data:`backend.adapters.stock.GENERATION`).
GENERATION = "gen"


@dataclass(frozen=True)
class StockIn:
    """A packet part's stock deltas (by SKU) and its placed orders' facts, under its claim day."""

    ref: str  # <packet>#<n>
    day: date
    stock: Mapping[str, int]
    order_facts: tuple[str, ...] = ()
    #: The writer's UTC day, which the item's TTL counts from (its ``day`` may be
    #: :data:`UNDATED`).
    written: date | None = None

    @property
    def expires_at(self) -> int:
        return expires_at(self.written or self.day)


#: The claim day of a part whose order claims were made by a release that kept none: a fixed
#: day, so every delivery names the same tombstone, and one never open, so it is counted late.
UNDATED = date(2000, 1, 1)


def shard_of(ref: str) -> int:
    """The shard of a part's item: its packet's (so a packet's parts share a partition).

    >>> shard_of("p1#0") == shard_of("p1#3")
    True
    """
    return zlib.crc32(ref.rsplit("#", 1)[0].encode()) % STOCK_IN_SHARDS


def partition(day: date, shard: int) -> str:
    return f"{STOCK_IN_PREFIX}{day.isoformat()}#{shard}"


def stock_in_key(day: date, ref: str) -> Key:
    """The key of a part's item (and of its tombstone)."""
    return (partition(day, shard_of(ref)), ref)


def expires_at(day: date) -> int:
    """The TTL of a day's items (epoch seconds)."""
    return int(datetime.combine(day + timedelta(days=TTL_DAYS), time(), UTC).timestamp())


def _pack(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":"), sort_keys=True).encode(), 9)


def _unpack(value: Any) -> Any:
    return json.loads(zlib.decompress(bytes(getattr(value, "value", value))))


def item_of(part: StockIn) -> dict[str, Any]:
    """A part's item (plain Python values)."""
    pk, sk = stock_in_key(part.day, part.ref)
    stock = {sku: int(delta) for sku, delta in part.stock.items() if delta}
    return {
        "pk": pk,
        "sk": sk,
        PART: part.ref,
        DELTAS: _pack({"s": stock, "f": sorted(part.order_facts)}),
        TTL_ATTRIBUTE: part.expires_at,
    }


def _put_if_absent(client: DynamoDBClient, table: str, item: Mapping[str, Any]) -> bool:
    try:
        client.put_item(
            TableName=table,
            Item={name: to_ddb(value) for name, value in item.items()},
            ConditionExpression="attribute_not_exists(pk)",
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def put_parts(client: DynamoDBClient, table: str, parts: Sequence[StockIn]) -> int:
    """Put each part's item unless it exists (a redelivery's, or a tombstone); how many were new."""
    put = parallel_map(lambda p: _put_if_absent(client, table, item_of(p)), parts, workers=READ_PARALLELISM)
    return sum(put)


def watermark(client: DynamoDBClient, table: str) -> date | None:
    """The last day folded (``None`` before the first fold: then no part item is written)."""
    item = batch_get(client, table, [WATERMARK], consistent=True).get(WATERMARK, {})
    return date.fromisoformat(item[THROUGH]) if THROUGH in item else None


def set_watermark(client: DynamoDBClient, table: str, day: date) -> None:
    """Move the watermark to ``day`` unless it is there or further already."""
    with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
        client.update_item(
            TableName=table,
            Key=key(*WATERMARK),
            UpdateExpression="SET #t = :d",
            ConditionExpression="attribute_not_exists(#t) OR #t < :d",
            ExpressionAttributeNames={"#t": THROUGH},
            ExpressionAttributeValues={":d": to_ddb(day.isoformat())},
        )


def open_days(folded: date | None) -> list[date]:
    """The days whose items are not folded yet (none before the first fold).

    >>> [d.day for d in open_days(date(2026, 12, 3))]
    [4, 5, 6, 7]
    """
    if folded is None:
        return []
    return [folded + timedelta(days=n) for n in range(1, WINDOW + 1)]


def takes_items(day: date, folded: date | None, today: date) -> bool:
    """Whether a part of claim day ``day`` goes into an item (else the transaction): the day
    is one of the open days, and not older than the writer's yesterday (UTC), so the fold,
    which folds only days older than 2 days by its clock, cannot have passed it.

    >>> takes_items(date(2026, 12, 7), date(2026, 12, 4), date(2026, 12, 7))
    True
    >>> takes_items(date(2026, 12, 5), date(2026, 12, 4), date(2026, 12, 7))  # late
    False
    >>> takes_items(date(2026, 12, 7), None, date(2026, 12, 7))  # never folded
    False
    """
    return day >= today - timedelta(days=1) and day in open_days(folded)


@dataclass
class Partition:
    """What one day and shard holds: its parts' merged deltas and facts, and its fold markers."""

    deltas: dict[str, int]
    order_facts: list[str]
    markers: dict[str, list[str]]  # sort key -> the SKUs it folded

    @property
    def folded(self) -> set[str]:
        return {sku for skus in self.markers.values() for sku in skus}

    def unfolded(self) -> dict[str, int]:
        folded = self.folded
        return {sku: d for sku, d in self.deltas.items() if sku not in folded}


def read_partition(client: DynamoDBClient, table: str, day: date, shard: int) -> Partition:
    deltas: dict[str, int] = defaultdict(int)
    found_facts: list[str] = []
    markers: dict[str, list[str]] = {}
    for item in query_partition(client, table, partition(day, shard), ConsistentRead=True):
        if str(item["sk"]).startswith(FOLD_PREFIX):
            markers[str(item["sk"])] = [str(s) for s in _unpack(item[FOLD_SKUS])]
        elif DELTAS in item:  # a tombstone has none
            content = _unpack(item[DELTAS])
            for sku, delta in content["s"].items():
                deltas[sku] += int(delta)
            found_facts += content["f"]
    return Partition(dict(deltas), found_facts, markers)


def _open_partitions(client: DynamoDBClient, table: str) -> list[Partition]:
    places = [(day, shard) for day in open_days(watermark(client, table)) for shard in range(STOCK_IN_SHARDS)]
    return parallel_map(lambda p: read_partition(client, table, *p), places, workers=READ_PARALLELISM)


def unfolded_stock(client: DynamoDBClient, table: str) -> dict[str, int]:
    """The on-hand deltas not folded into the inbox yet, by SKU (strongly consistent; 1 read
    of the watermark and :data:`WINDOW` x 4 Queries, side by side)."""
    total: dict[str, int] = defaultdict(int)
    for found in _open_partitions(client, table):
        for sku, delta in found.unfolded().items():
            total[sku] += delta
    return {sku: d for sku, d in total.items() if d}


def unfolded_facts(client: DynamoDBClient, table: str) -> list[str]:
    """The facts of the part items not folded yet (a folded day's are in ``FACTS#`` items too:
    the segments job reads each order once, by its id)."""
    return [fact for found in _open_partitions(client, table) for fact in found.order_facts]


def fold_chunks(deltas: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """The merged deltas cut into the fold's transactions, by marker sort key: per inbox item,
    sorted SKUs in chunks of :data:`FOLD_CHUNK`. The cut depends on the deltas alone, so a fold
    run again after a crash finds the same markers.

    >>> sorted(fold_chunks({"SKU-1": 2, "SKU-2": 0}))
    ['~FOLD#0#0']
    """
    by_inbox: dict[str, list[str]] = defaultdict(list)
    for sku in sorted(sku for sku, delta in deltas.items() if delta):
        by_inbox[on_hand_key(sku)[0].rsplit("#", 1)[1]].append(sku)
    chunks = {}
    for inbox, skus in sorted(by_inbox.items()):
        for number, start in enumerate(range(0, len(skus), FOLD_CHUNK)):
            chunk = skus[start : start + FOLD_CHUNK]
            chunks[f"{FOLD_PREFIX}{inbox}#{number}"] = {sku: deltas[sku] for sku in chunk}
    return chunks


def _fold_chunk(
    client: DynamoDBClient, table: str, day: date, shard: int, sk: str, chunk: Mapping[str, int]
) -> bool:
    """One chunk's marker and inbox ``ADD`` in one transaction; False when its marker exists."""
    names = {f"#c{i}": ON_HAND_COUNTER + sku for i, sku in enumerate(chunk)}
    values = {f":c{i}": to_ddb(delta) for i, delta in enumerate(chunk.values())}
    inbox = on_hand_key(next(iter(chunk)))
    actions: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": table,
                "Item": {
                    **key(partition(day, shard), sk),
                    FOLD_SKUS: to_ddb(_pack(sorted(chunk))),
                    TTL_ATTRIBUTE: to_ddb(expires_at(day)),
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "Update": {
                "TableName": table,
                "Key": key(*inbox),
                "UpdateExpression": "ADD "
                + ", ".join(f"{n} {v}" for n, v in zip(names, values, strict=True))
                + ", #gen :one",
                "ExpressionAttributeNames": {**names, "#gen": GENERATION},
                "ExpressionAttributeValues": {**values, ":one": to_ddb(1)},
            }
        },
    ]
    try:
        client.transact_write_items(TransactItems=cast("list[TransactWriteItemTypeDef]", actions))
    except client.exceptions.TransactionCanceledException as exc:
        reasons = exc.response.get("CancellationReasons", [])
        if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
            return False  # folded by an earlier run (or a concurrent one)
        raise
    return True


def fold_partition(
    client: DynamoDBClient,
    table: str,
    day: date,
    shard: int,
    put_facts: Callable[[list[str]], None],
    settle: Callable[[Key], Any],
) -> int:
    """Fold one day and shard: its facts into ``FACTS#`` items (``put_facts``, idempotent), then
    each chunk of its merged deltas into the inbox with its marker, settling the inbox item
    after each chunk (``settle``: it moves the counters of an item grown past its threshold
    into the SKUs' items, so a day of 100,000 SKUs never grows an inbox item past a chunk);
    how many SKUs' deltas moved. Safe to run again and beside another run: a chunk whose marker
    exists is skipped."""
    found = read_partition(client, table, day, shard)
    if found.order_facts:
        put_facts(found.order_facts)
    moved = 0
    for sk, chunk in fold_chunks(found.deltas).items():
        if sk not in found.markers and _fold_chunk(client, table, day, shard, sk, chunk):
            moved += len(chunk)
            settle(on_hand_key(next(iter(chunk))))
    return moved


def stock_in_skus(deltas: Iterable[str], after: str | None) -> set[str]:
    """The SKUs of unfolded deltas that a page from ``after`` may list."""
    return {sku for sku in deltas if after is None or sku > after}
