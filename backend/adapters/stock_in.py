"""Stock-in items: a packet part's on-hand deltas and order facts, counted without a transaction.

An order alone used to move on hand by an ``ADD`` to the on-hand inbox in its part's counting
transaction (4 of its write units: the inbox item twice, 1-2 KB). Instead, each part of a
packet puts **one immutable item**, ``STOCKIN#<claim day>``/``<packet>#<n>``: the part's stock
deltas and its placed orders' segment facts, packed, with a conditional put
(``attribute_not_exists``): a redelivery's put fails and is ignored. The ``fold`` job later moves
each day's items into the inbox, once (docs/architecture.md, "Stock-in items").

- ``<claim day>``: the smallest UTC day stored in the part's order claims when they were first
  made, so every delivery names the same item. One partition per day: a lone order writes one
  unit into it, and a partition takes 1,000 a second.
- A part whose claim day is not its writer's today or yesterday, or whose day the fold may have
  passed (a late packet, a DLQ replay), is counted the old way instead, in a transaction that
  also writes the part's item as a *tombstone* (its ``part`` attribute, no deltas) on the
  condition that no item of the part exists: the item's key is the one guard of the part's stock,
  whichever path counts it.
- The fold of a day: the facts into ``FACTS#`` items (content-keyed, idempotent), then per inbox
  item and chunk of SKUs one transaction: a fold marker ``~FOLD#<inbox>#<chunk>`` in the day's
  partition (condition: not exists; it lists the SKUs it folded), the merged ``ADD`` of those
  SKUs' deltas to the inbox item with ``ADD gen 1``, and a new revision of the watermark item.
  Then the watermark ``STOCKIN``/``FOLDED`` (``through``) moves to the day.
- Readers add the deltas of the days after the watermark, less the SKUs their fold markers list:
  the days a writer may still put an item for are queried on every read (today and yesterday,
  a third near midnight); the *closed* days after the watermark (no writer can put an item for
  them: :func:`closed_through`) are kept per container, keyed by the watermark item's
  ``through`` and ``rev``, which every write that changes a closed day's figures changes.
  A fold moves counters from here into the inbox like a settle does, bumping the inbox items'
  ``gen``, so the readers' settle-safe read (:func:`backend.adapters.stock.read_stock`) sees each
  delta once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from backend.adapters import day_index
from backend.adapters.dynamo import (
    DAY_PART,
    TRANSACTION_ATTEMPTS,
    Claim,
    Key,
    _backoff,
    batch_get,
    batch_put,
    day_part_items,
    key,
    query_partition,
    to_ddb,
)
from backend.adapters.parallel import READ_PARALLELISM, parallel_map
from backend.domain.rollups import CLOCK_MARGIN
from backend.domain.stock import ON_HAND_COUNTER, on_hand_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef
else:
    DynamoDBClient = Any

STOCK_IN_PREFIX = "STOCKIN#"
#: The watermark: every day up to ``through`` is folded into the inbox.
WATERMARK: Key = ("STOCKIN", "FOLDED")
THROUGH = "through"
#: A random token that every write of the watermark item replaces (its moves, and each fold
#: chunk's transaction): with ``through``, the key of the readers' cache of closed days.
REVISION = "rev"
#: The attribute every part item has (a tombstone has only it): the guard of the part's stock.
PART = "part"
#: The packed deltas and facts of a part item.
DELTAS = "d"
FOLD_PREFIX = "~FOLD#"
FOLD_SKUS = "skus"
#: SKUs folded per transaction (one inbox update of that many ``ADD`` terms, and the marker).
FOLD_CHUNK = 90
#: Days after the watermark that may hold unfolded items: a writer puts an item only for one
#: of them (else it takes the transaction), so a fold that stops running makes writers fall
#: back, never readers read an ever longer range or items outlive their TTL unfolded.
WINDOW = 4
#: Items leave by TTL (``expires_at``) this long after they are written: past the redelivery
#: horizon (14 days in the queue, 14 in its DLQ) with a month of margin. Only days after the
#: watermark are read, and writers stop putting items 4 days after it, so an item's expiry
#: changes no figure unless the fold stops for nearly two months.
TTL_DAYS = 60
TTL_ATTRIBUTE = "expires_at"
#: The generation counter of an inbox item (:data:`backend.adapters.stock.GENERATION`).
GENERATION = "gen"
#: The longest a writer may take between reading its clock and its last put (Lambda's longest
#: run; the orders processor's timeout is a minute).
WRITER_STALL = timedelta(minutes=15)
#: How long after a UTC day's end a writer's item for it may still arrive, by any clock: the
#: writer's and the reader's (or the fold's) clocks each within :data:`~backend.domain.rollups.
#: CLOCK_MARGIN` of the true time, and the writer's stall.
LATE = 2 * CLOCK_MARGIN + WRITER_STALL
#: Parts' conditional puts per transaction, when a batch has more than one (AWS: 100 actions,
#: 4 MB per transaction).
PUTS_PER_TRANSACTION = 100
TRANSACTION_BYTES = 3_000_000


def utc_now() -> datetime:
    """The clock of the writers' claim days and of the readers' open days (tests replace it)."""
    return datetime.now(UTC)


def closed_through(now: datetime) -> date:
    """The last day no writer can still put an item for, by a clock that reads ``now``.

    A writer puts an item only for its today or yesterday (UTC, read when its batch starts:
    :func:`takes_items`), so for day X until its clock reaches X + 2, and its put lands within
    :data:`WRITER_STALL`. With every clock within :data:`CLOCK_MARGIN` of the true time, once a
    clock reads X + 2 plus :data:`LATE` no put for X can come any more. The fold folds the days
    through this; readers keep the days after the watermark through this (they cannot change
    but by a fold).

    >>> [closed_through(datetime(2026, 12, 7, h, 20, tzinfo=UTC)).day for h in (1, 2)]
    [4, 5]
    """
    return (now.astimezone(UTC) - LATE).date() - timedelta(days=2)


def last_open(now: datetime) -> date:
    """The last day a writer may have put an item for by now, by a clock that reads ``now``:
    a writer's today, and its clock may run ahead by twice :data:`CLOCK_MARGIN`.

    >>> [last_open(datetime(2026, 12, 7, h, tzinfo=UTC)).day for h in (21, 22)]
    [7, 8]
    """
    return (now.astimezone(UTC) + 2 * CLOCK_MARGIN).date()


def days_after(folded: date | None, now: datetime) -> tuple[list[date], list[date]]:
    """The days whose items may not be folded yet, by a clock that reads ``now``: ``(closed,
    open)``, the closed ones (no writer can put an item for them any more: the readers' cache
    keeps them) and those a writer may still add to (read every time). None before the first
    fold (no item exists then).

    >>> noon = datetime(2026, 12, 7, 12, tzinfo=UTC)
    >>> [[d.day for d in days] for days in days_after(date(2026, 12, 5), noon)]
    [[], [6, 7]]
    >>> [[d.day for d in days] for days in days_after(date(2026, 12, 3), noon)]  # fold late
    [[4, 5], [6, 7]]
    >>> [[d.day for d in days] for days in days_after(date(2026, 12, 4), noon.replace(hour=1))]
    [[], [5, 6, 7]]
    """
    if folded is None:
        return [], []
    last = min(folded + timedelta(days=WINDOW), last_open(now))
    days = [folded + timedelta(days=n) for n in range(1, (last - folded).days + 1)]
    closed = closed_through(now)
    return [d for d in days if d <= closed], [d for d in days if d > closed]


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
    #: A lone part's placed orders' day content, by store day (:data:`DAY_CONTENT`): ``None``
    #: for a part whose day figures are counted elsewhere (the transaction, ``SKUP#``, ``CB#``).
    day_content: Mapping[date, DayContent] | None = None

    @property
    def expires_at(self) -> int:
        return expires_at(self.written or self.day)


#: The claim day of a part whose order claims were made by a release that kept none: a fixed
#: day, so every delivery names the same tombstone, and one never open, so it is counted late.
UNDATED = date(2000, 1, 1)


def partition(day: date) -> str:
    return f"{STOCK_IN_PREFIX}{day.isoformat()}"


def stock_in_key(day: date, ref: str) -> Key:
    """The key of a part's item (and of its tombstone)."""
    return (partition(day), ref)


def expires_at(day: date) -> int:
    """The TTL of a day's items (epoch seconds)."""
    return int(datetime.combine(day + timedelta(days=TTL_DAYS), time(), UTC).timestamp())


def _pack(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":"), sort_keys=True).encode(), 9)


def _unpack(value: Any) -> Any:
    return json.loads(zlib.decompress(bytes(getattr(value, "value", value))))


#: The packed day content of a lone part's item (docs/architecture.md, "Stock-in items"): what
#: its placed orders add to their store days, kept in the item instead of the day's counters.
DAY_CONTENT = "dc"
#: The most bytes of packed day content one item carries; a part with more is counted the old way.
DAY_CONTENT_MAX_BYTES = 64_000


@dataclass(frozen=True)
class DayContent:
    """What a part's placed orders add to one store day: the ``SALES`` counters they would
    ``ADD`` (zero ones left out), their SKU lines ``(sku, units, line revenue)`` sorted by SKU
    (as ``SKUP#`` items hold them), their baskets (as
    :func:`backend.domain.together.basket_members` gives them) and the customer-set members
    ``<set>:<customer id>`` (as ``CB#`` items hold them), both sorted."""

    sales: dict[str, Decimal] = field(default_factory=dict)
    lines: list[tuple[str, int, Decimal]] = field(default_factory=list)
    baskets: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)

    def merge(self, other: DayContent) -> DayContent:
        """Both contents summed: counters and SKU lines added, baskets and members united.

        >>> a = DayContent({"orders": Decimal(1)}, [("MUG", 1, Decimal("9.99"))], ["b1"], ["C:a"])
        >>> b = DayContent({"orders": Decimal(1)}, [("CAP", 2, Decimal("5"))], ["b2"], ["C:a", "P:b"])
        >>> a.merge(b)  # doctest: +NORMALIZE_WHITESPACE
        DayContent(sales={'orders': Decimal('2')},
                   lines=[('CAP', 2, Decimal('5')), ('MUG', 1, Decimal('9.99'))],
                   baskets=['b1', 'b2'], members=['C:a', 'P:b'])
        """
        sales: dict[str, Decimal] = defaultdict(Decimal)
        for name, value in [*self.sales.items(), *other.sales.items()]:
            sales[name] += value
        units: dict[str, int] = defaultdict(int)
        revenue: dict[str, Decimal] = defaultdict(Decimal)
        for sku, sold, amount in [*self.lines, *other.lines]:
            units[sku] += sold
            revenue[sku] += amount
        return DayContent(
            {name: value for name, value in sorted(sales.items()) if value},
            [(sku, units[sku], revenue[sku]) for sku in sorted(units)],
            sorted(set(self.baskets) | set(other.baskets)),
            sorted(set(self.members) | set(other.members)),
        )


def encode_day_content(content: Mapping[date, DayContent]) -> bytes:
    """Day content packed as the item's :data:`DAY_CONTENT` (zlib of compact sorted JSON, money
    as Decimal strings): ``{"<day>": {"s": {counter: amount}, "l": [[sku, units, revenue]],
    "b": [basket], "m": [member]}}``, empty parts left out.

    >>> day = DayContent({"orders": Decimal(1), "gross": Decimal("19.98"), "refunds": Decimal(0)},
    ...                  [("MUG", 2, Decimal("19.98"))], ['["o1","MUG"]'], ["P:c1", "C:c1"])
    >>> decode_day_content(encode_day_content({date(2026, 12, 7): day}))  # doctest: +NORMALIZE_WHITESPACE
    {datetime.date(2026, 12, 7): DayContent(sales={'gross': Decimal('19.98'), 'orders': Decimal('1')},
        lines=[('MUG', 2, Decimal('19.98'))], baskets=['["o1","MUG"]'], members=['C:c1', 'P:c1'])}
    """
    packed: dict[str, dict[str, Any]] = {}
    for day, found in sorted(content.items()):
        entry: dict[str, Any] = {}
        sales = {name: str(value) for name, value in sorted(found.sales.items()) if value}
        if sales:
            entry["s"] = sales
        if found.lines:
            entry["l"] = [[sku, int(sold), str(amount)] for sku, sold, amount in sorted(found.lines)]
        if found.baskets:
            entry["b"] = sorted(set(found.baskets))
        if found.members:
            entry["m"] = sorted(set(found.members))
        if entry:
            packed[day.isoformat()] = entry
    return _pack(packed)


def decode_day_content(value: Any) -> dict[date, DayContent]:
    """The day content of an item's :data:`DAY_CONTENT` (bytes, or boto3's ``Binary``)."""
    return {
        date.fromisoformat(day): DayContent(
            {str(name): Decimal(str(amount)) for name, amount in entry.get("s", {}).items()},
            [(str(sku), int(sold), Decimal(str(amount))) for sku, sold, amount in entry.get("l", [])],
            [str(basket) for basket in entry.get("b", [])],
            [str(member) for member in entry.get("m", [])],
        )
        for day, entry in _unpack(value).items()
    }


def item_of(part: StockIn) -> dict[str, Any]:
    """A part's item (plain Python values)."""
    pk, sk = stock_in_key(part.day, part.ref)
    stock = {sku: int(delta) for sku, delta in part.stock.items() if delta}
    item = {
        "pk": pk,
        "sk": sk,
        PART: part.ref,
        DELTAS: _pack({"s": stock, "f": sorted(part.order_facts)}),
        TTL_ATTRIBUTE: part.expires_at,
    }
    if part.day_content is not None:
        item[DAY_CONTENT] = encode_day_content(part.day_content)
    return item


def _put_action(table: str, item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "TableName": table,
        "Item": {name: to_ddb(value) for name, value in item.items()},
        "ConditionExpression": "attribute_not_exists(pk)",
    }


def _put_if_absent(client: DynamoDBClient, table: str, item: Mapping[str, Any]) -> bool:
    try:
        client.put_item(**_put_action(table, item))
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def _put_all_if_absent(
    client: DynamoDBClient, table: str, items: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The conditional puts of these items in one transaction: the items found to exist (a
    redelivery's) are dropped and the rest put again; the items that were new."""
    todo = list(items)
    attempt = 0
    while todo:
        actions = [{"Put": _put_action(table, item)} for item in todo]
        try:
            client.transact_write_items(TransactItems=cast("list[TransactWriteItemTypeDef]", actions))
        except client.exceptions.TransactionCanceledException as exc:
            attempt += 1
            if attempt >= TRANSACTION_ATTEMPTS:
                raise
            reasons = exc.response.get("CancellationReasons", [])
            exist = {i for i, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"}
            if exist:
                todo = [item for i, item in enumerate(todo) if i not in exist]
            else:  # a conflict with another transaction: try again
                _backoff(attempt)
            continue
        return todo
    return []


def _transactions(items: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Items cut into transactions of at most :data:`PUTS_PER_TRANSACTION` puts and about
    :data:`TRANSACTION_BYTES`."""
    groups: list[list[dict[str, Any]]] = [[]]
    size = 0
    for item in items:
        grows = len(item[DELTAS]) + len(item.get(DAY_CONTENT, b"")) + 200
        if groups[-1] and (len(groups[-1]) >= PUTS_PER_TRANSACTION or size + grows > TRANSACTION_BYTES):
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += grows
    return [group for group in groups if group]


def put_parts(client: DynamoDBClient, table: str, parts: Sequence[StockIn]) -> set[str]:
    """Put each part's item unless it exists (a redelivery's, or a tombstone); the refs of the
    parts whose items were new.

    One part (an order alone): one conditional put, one write unit. More: their conditional
    puts in one transaction (per 100), one call however many parts, at two write units each."""
    items = [item_of(part) for part in parts]
    if len(items) == 1:
        return {str(items[0][PART])} if _put_if_absent(client, table, items[0]) else set()
    groups = _transactions(items)
    return {str(item[PART]) for group in groups for item in _put_all_if_absent(client, table, group)}


@dataclass(frozen=True)
class Watermark:
    """The watermark item: the last day folded, and its revision (``None``: no item)."""

    through: date | None = None
    revision: str | None = None

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> Watermark:
        through = item.get(THROUGH)
        revision = item.get(REVISION)
        return cls(
            None if through is None else date.fromisoformat(str(through)),
            None if revision is None else str(revision),
        )


def read_watermark(client: DynamoDBClient, table: str) -> Watermark:
    """The watermark item, strongly consistent."""
    return Watermark.of(batch_get(client, table, [WATERMARK], consistent=True).get(WATERMARK, {}))


def watermark(client: DynamoDBClient, table: str) -> date | None:
    """The last day folded (``None`` before the first fold: then no part item is written)."""
    return read_watermark(client, table).through


def markers_and_watermark(
    client: DynamoDBClient, table: str, markers: Iterable[Claim]
) -> tuple[set[Claim], date | None]:
    """Which of these parts' markers exist, and the watermark: one strongly consistent read."""
    wanted = list(markers)
    names = sorted({claim.attribute for claim in wanted} | {THROUGH})
    keys = [*(claim.item for claim in wanted), WATERMARK]
    found = batch_get(client, table, keys, projection=names, consistent=True)
    exist = {claim for claim in wanted if claim.attribute in found.get(claim.item, {})}
    return exist, Watermark.of(found.get(WATERMARK, {})).through


def _revision() -> dict[str, Any]:
    return to_ddb(uuid.uuid4().hex)


def set_watermark(client: DynamoDBClient, table: str, day: date) -> None:
    """Move the watermark to ``day`` unless it is there or further already (a new revision)."""
    with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
        client.update_item(
            TableName=table,
            Key=key(*WATERMARK),
            UpdateExpression="SET #t = :d, #r = :r",
            ConditionExpression="attribute_not_exists(#t) OR #t < :d",
            ExpressionAttributeNames={"#t": THROUGH, "#r": REVISION},
            ExpressionAttributeValues={":d": to_ddb(day.isoformat()), ":r": _revision()},
        )


def takes_items(day: date, folded: date | None, today: date) -> bool:
    """Whether a part of claim day ``day`` goes into an item (else the transaction): the day is
    the writer's today or yesterday (UTC), so the fold cannot have passed it
    (:func:`closed_through`) and readers read it (:func:`days_after`), and one of the
    :data:`WINDOW` days after the watermark.

    >>> takes_items(date(2026, 12, 7), date(2026, 12, 4), date(2026, 12, 7))
    True
    >>> takes_items(date(2026, 12, 5), date(2026, 12, 4), date(2026, 12, 7))  # late
    False
    >>> takes_items(date(2026, 12, 8), date(2026, 12, 4), date(2026, 12, 7))  # claimed ahead
    False
    >>> takes_items(date(2026, 12, 7), None, date(2026, 12, 7))  # never folded
    False
    """
    if folded is None:
        return False
    return today - timedelta(days=1) <= day <= today and folded < day <= folded + timedelta(days=WINDOW)


@dataclass
class Partition:
    """What one day holds: its parts' merged deltas and facts, its fold markers, and its lone
    items' day content merged by store day."""

    deltas: dict[str, int]
    order_facts: list[str]
    markers: dict[str, list[str]]  # sort key -> the SKUs it folded
    content: dict[date, DayContent] = field(default_factory=dict)

    @property
    def folded(self) -> set[str]:
        return {sku for skus in self.markers.values() for sku in skus}

    def unfolded(self) -> dict[str, int]:
        folded = self.folded
        return {sku: d for sku, d in self.deltas.items() if sku not in folded and d}


def read_partition(client: DynamoDBClient, table: str, day: date) -> Partition:
    deltas: dict[str, int] = defaultdict(int)
    found_facts: list[str] = []
    markers: dict[str, list[str]] = {}
    content: dict[date, DayContent] = {}
    for item in query_partition(client, table, partition(day), ConsistentRead=True):
        if str(item["sk"]).startswith(FOLD_PREFIX):
            markers[str(item["sk"])] = [str(s) for s in _unpack(item[FOLD_SKUS])]
        elif DELTAS in item:  # a tombstone has none
            packed = _unpack(item[DELTAS])
            for sku, delta in packed["s"].items():
                deltas[sku] += int(delta)
            found_facts += packed["f"]
        if DAY_CONTENT in item:
            for store_day, more in decode_day_content(item[DAY_CONTENT]).items():
                content[store_day] = content[store_day].merge(more) if store_day in content else more
    return Partition(dict(deltas), found_facts, markers, content)


@dataclass(frozen=True)
class Unfolded:
    """What a claim day after the watermark adds to the readers: its on-hand deltas not folded
    into the inbox yet, and its lone items' day content by store day."""

    stock: dict[str, int]
    content: dict[date, DayContent]

    @classmethod
    def of(cls, found: Partition) -> Unfolded:
        return cls(found.unfolded(), found.content)


#: The closed days this container read, by table (its endpoint and name): the watermark item
#: they were read under, and what each adds (:class:`Unfolded`). Valid while that item is
#: unchanged: a closed day gets no item any more (so its day content is final), and every fold
#: marker put into it changes the item's revision in the same transaction (docs/architecture.md,
#: "Stock-in items").
_closed_days: dict[tuple[str, str], tuple[Watermark, dict[date, Unfolded]]] = {}


def _place(client: DynamoDBClient, table: str) -> tuple[str, str]:
    return (str(getattr(getattr(client, "meta", None), "endpoint_url", "")), table)


def unfolded_days(client: DynamoDBClient, table: str, mark: Watermark) -> dict[date, Unfolded]:
    """What each claim day after the watermark adds, given the watermark item read (strongly
    consistent): the days a writer may still add to are queried, the closed days after the
    watermark come from this container's cache when it was filled under the same watermark item
    (else queried, and kept)."""
    closed, still_open = days_after(mark.through, utc_now())
    place = _place(client, table)
    cached_under, cached = _closed_days.get(place, (None, {}))
    known = cached if cached_under == mark and mark.revision is not None else {}
    missing = [day for day in closed if day not in known]
    to_read = [*missing, *still_open]
    found = parallel_map(
        lambda d: Unfolded.of(read_partition(client, table, d)), to_read, workers=READ_PARALLELISM
    )
    read = dict(zip(to_read, found, strict=True))
    if mark.revision is not None and (missing or cached_under != mark):
        _closed_days[place] = (mark, {day: known[day] if day in known else read[day] for day in closed})
    return {day: known[day] if day in known else read[day] for day in [*closed, *still_open]}


def unfolded_stock(client: DynamoDBClient, table: str, mark: Watermark) -> dict[str, int]:
    """The on-hand deltas not folded into the inbox yet, by SKU (:func:`unfolded_days`)."""
    total: dict[str, int] = defaultdict(int)
    for unfolded in unfolded_days(client, table, mark).values():
        for sku, delta in unfolded.stock.items():
            total[sku] += delta
    return {sku: d for sku, d in total.items() if d}


def unfolded_content(
    client: DynamoDBClient, table: str, mark: Watermark
) -> dict[date, dict[date, DayContent]]:
    """The lone items' day content the fold has not put into the days yet: store day -> claim
    day (after the watermark) -> its merged content (:func:`unfolded_days`)."""
    by_store_day: dict[date, dict[date, DayContent]] = defaultdict(dict)
    for claim_day, unfolded in unfolded_days(client, table, mark).items():
        for store_day, content in unfolded.content.items():
            by_store_day[store_day][claim_day] = content
    return dict(by_store_day)


#: How far a lone part's orders' store days may be from its claim day (the writer's rule:
#: ``backend.processing.stock_in.LONE_DAYS``): a day either side.
LONE_DAYS = timedelta(days=1)


def claim_days_of(day: date) -> list[date]:
    """The claim days whose lone items may hold content for a store day, so the only ``DP#``
    items its partition can have: ``DP#<claim day>#<i>``.

    >>> [d.day for d in claim_days_of(date(2026, 12, 7))]
    [6, 7, 8]
    """
    return [day + timedelta(days=n) for n in range(-LONE_DAYS.days, LONE_DAYS.days + 1)]


#: A store day this many days before the clock's UTC day has no lone item's day content left
#: unfolded: its items' claim days are at most a day after it, they were written on their claim
#: day or the next, and they expire :data:`TTL_DAYS` after that (content that old is lost only
#: if the fold stopped for two months). Readers of such days read no watermark.
SETTLED_AFTER = TTL_DAYS + 3


@dataclass(frozen=True)
class DayView:
    """How a reader of store days counts the lone items' day content, given the watermark's
    ``through`` it read: a day's ``DP#<X>#<i>`` items count iff ``X`` <= ``through``, and the
    unfolded ``content`` (store day -> claim day ``X`` > ``through`` -> content) counts as it
    is. The fold puts a claim day's ``DP#`` items before the watermark reaches it and the items
    stay until their TTL, so each order counts once, on either side of the fold.

    >>> view = DayView(date(2026, 12, 5))
    >>> view.counts("DP#2026-12-05#0"), view.counts("DP#2026-12-06#0")
    (True, False)
    """

    through: date | None
    content: Mapping[date, Mapping[date, DayContent]] = field(default_factory=dict)
    #: Each store day's unfolded content merged over its claim days, once per view: a range's
    #: readers ask for it once per day and reader.
    merged: Mapping[date, DayContent] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        merged = {}
        for day, by_claim_day in self.content.items():
            total = DayContent()
            for content in by_claim_day.values():
                total = total.merge(content)
            merged[day] = total
        object.__setattr__(self, "merged", merged)

    def counts(self, sort_key: str) -> bool:
        """Whether a day part item (its sort key ``DP#<X>#<i>``) counts."""
        return self.through is not None and self.counts_claim_day(
            date.fromisoformat(sort_key[len(DAY_PART) :].split("#", 1)[0])
        )

    def counts_claim_day(self, claim_day: date) -> bool:
        """Whether the ``DP#`` items of a claim day count (the watermark has reached it)."""
        return self.through is not None and claim_day <= self.through

    def consistent(self, day: date) -> bool:
        """Whether a Query of the store day must be strongly consistent: a day near the
        watermark may have ``DP#`` items put just before it moved (a fold catching up
        :data:`WINDOW` days of items included)."""
        return (
            self.through is not None
            and self.through < date.max
            and (day >= self.through - timedelta(days=WINDOW + 2))
        )

    def of(self, day: date) -> DayContent:
        """The unfolded content of a store day, merged."""
        return self.merged.get(day, EMPTY_DAY)

    def basket_keys(self, day: date) -> dict[str, list[str]]:
        """The unfolded baskets of a store day by claim day, each under a key that changes
        whenever they change (a day's pair fold lists the keys of the items it folded)."""
        keys: dict[str, list[str]] = {}
        for claim_day, content in sorted(self.content.get(day, {}).items()):
            if content.baskets:
                digest = hashlib.sha256("\n".join(sorted(content.baskets)).encode()).hexdigest()[:16]
                keys[f"{partition(claim_day)}#{digest}"] = list(content.baskets)
        return keys


EMPTY_DAY = DayContent()

#: The view of days no lone item can still hold unfolded: every ``DP#`` item counts.
SETTLED = DayView(date.max)


class DayViews:
    """The views of the store days one request reads (:class:`DayView`), from one reading of
    the lone items: the watermark and the unfolded claim days are read at most once, however
    many readers ask and for whichever days (a summary's range and its comparison, the months
    it reads day by day, a report's series and products), so they also agree with each other.
    Free for days the lone items have all left (:data:`SETTLED_AFTER`); else the watermark's
    strongly consistent read, and only for days from the day before the watermark's on, the
    unfolded claim days' partitions (the open ones queried, the closed ones cached:
    :func:`unfolded_days`). Safe to share between a request's threads; made per request and
    dropped after it, so that the next request reads the items written since."""

    def __init__(self, client: DynamoDBClient, table: str):
        self.client = client
        self.table = table
        self._lock = threading.Lock()
        self._mark: Watermark | None = None
        self._full: DayView | None = None

    def __call__(self, days: Iterable[date]) -> DayView:
        wanted = set(days)
        if not wanted or max(wanted) < utc_now().date() - timedelta(days=SETTLED_AFTER):
            return SETTLED
        # The lock makes a request's threads wait for the one reading rather than each read.
        with self._lock:
            if self._mark is None:
                self._mark = read_watermark(self.client, self.table)
            mark = self._mark
            if mark.through is None:  # never folded: no lone item exists
                return DayView(None)
            if self._full is None and max(wanted) < mark.through - timedelta(days=1):
                return DayView(mark.through)
            if self._full is None:
                self._full = DayView(mark.through, unfolded_content(self.client, self.table, mark))
            return self._full


def day_view(client: DynamoDBClient, table: str, days: Iterable[date]) -> DayView:
    """The view of these store days, read for this call alone (:class:`DayViews`)."""
    return DayViews(client, table)(days)


def unfolded_facts(client: DynamoDBClient, table: str) -> list[str]:
    """The facts of the part items not folded yet (a folded day's are in ``FACTS#`` items too:
    the segments job reads each order once, by its id)."""
    closed, still_open = days_after(watermark(client, table), utc_now())
    days = [*closed, *still_open]
    found = parallel_map(lambda d: read_partition(client, table, d), days, workers=READ_PARALLELISM)
    return [fact for day in found for fact in day.order_facts]


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


def _fold_chunk(client: DynamoDBClient, table: str, day: date, sk: str, chunk: Mapping[str, int]) -> bool:
    """One chunk's marker, its inbox ``ADD`` and a new revision of the watermark item in one
    transaction (so a reader's cache of the day, kept under the revision before, is not used
    again); False when its marker exists."""
    names = {f"#c{i}": ON_HAND_COUNTER + sku for i, sku in enumerate(chunk)}
    values = {f":c{i}": to_ddb(delta) for i, delta in enumerate(chunk.values())}
    inbox = on_hand_key(next(iter(chunk)))
    actions: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": table,
                "Item": {
                    **key(partition(day), sk),
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
        {
            "Update": {
                "TableName": table,
                "Key": key(*WATERMARK),
                "UpdateExpression": "SET #r = :r",
                "ExpressionAttributeNames": {"#r": REVISION},
                "ExpressionAttributeValues": {":r": _revision()},
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


def day_part_items_of(claim_day: date, content: Mapping[date, DayContent]) -> list[dict[str, Any]]:
    """The items that hold a claim day's merged day content in its store days:
    ``DAY#<store day>``/``DP#<claim day>#<i>``.

    >>> content = {date(2026, 12, 4): DayContent({"orders": Decimal(1)}, [("MUG", 1, Decimal("9.99"))])}
    >>> [(i["pk"], i["sk"]) for i in day_part_items_of(date(2026, 12, 5), content)]
    [('DAY#2026-12-04', 'DP#2026-12-05#0')]
    """
    return [
        item
        for store_day, found in sorted(content.items())
        for item in day_part_items(
            store_day, claim_day.isoformat(), found.sales, found.lines, found.baskets, found.members
        )
    ]


def fold_day(
    client: DynamoDBClient,
    table: str,
    day: date,
    put_facts: Callable[[list[str]], None],
    settle: Callable[[Key], Any],
    *,
    now: float,
) -> int:
    """Fold one day: its facts into ``FACTS#`` items (``put_facts``, idempotent), then each
    chunk of its merged deltas into the inbox with its marker, settling the inbox item after
    each chunk (``settle``: it moves the counters of an item grown past its threshold into the
    SKUs' items, so a day of 100,000 SKUs never grows an inbox item past a chunk); how many
    SKUs' deltas moved (``now``: the writer's clock, for the days' indexes). Safe to run again
    and beside another run: a chunk whose marker exists is skipped.

    First of all, the day's lone items' day content goes into its store days (:func:`day_part_items`,
    plain puts of items that follow from the content alone: a closed day's content never
    changes, so a rerun puts the same items), before the watermark can reach the day: readers
    count them from then on, and the items' content until then (:class:`DayView`)."""
    found = read_partition(client, table, day)
    if found.content:
        parts = day_part_items_of(day, found.content)
        batch_put(client, table, parts)
        day_index.name_day_items(client, table, parts, now=now)
    if found.order_facts:
        put_facts(found.order_facts)
    moved = 0
    for sk, chunk in fold_chunks(found.deltas).items():
        if sk not in found.markers and _fold_chunk(client, table, day, sk, chunk):
            moved += len(chunk)
            settle(on_hand_key(next(iter(chunk))))
    return moved


def stock_in_skus(deltas: Iterable[str], after: str | None) -> set[str]:
    """The SKUs of unfolded deltas that a page from ``after`` may list."""
    return {sku for sku in deltas if after is None or sku > after}
