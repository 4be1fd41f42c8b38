"""DynamoDB access: the exactly-once counter transaction and the item-level calls the
analytics table's adapter (:mod:`backend.adapters.analytics`) is built from.

The table's layout (every ``pk``/``sk``, what each item holds, who writes and reads it, and the
months' change stamps) is in docs/architecture.md, "The analytics table".
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from backend.adapters.parallel import parallel_map
from backend.domain.rollups import month_of, stamp_due
from backend.domain.sales import Contributions
from backend.domain.stock import on_hand_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef
else:
    DynamoDBClient = Any

Key = tuple[str, str]

MAX_TRANSACTION_ITEMS = 100
MAX_TERMS_PER_ACTION = 150
TRANSACTION_ATTEMPTS = 6

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_ddb(value: Any) -> dict[str, Any]:
    return cast(dict[str, Any], _serializer.serialize(value))


def from_ddb(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def day_pk(day: date) -> str:
    return f"DAY#{day.isoformat()}"


def profile_key(customer_id: str) -> Key:
    return (f"CUST#{customer_id}", "PROFILE")


#: The packed form of an immutable item's members: one zlib-compressed JSON list (binary).
PACKED = "z"
#: Bytes of members (before packing) in one packed item: about 3-5 KB once packed.
PACKED_MAX_BYTES = 16_000


def pack(members: Iterable[str]) -> bytes:
    """Members as one compressed blob. An item is billed by its bytes (1 write unit per KB),
    and the members of a batch repeat their ids' prefixes and JSON's punctuation: packed, a
    batch's facts, baskets or customer sets take a third to a fifth of the bytes of a string
    set (measured on the benchmark's store: docs/cost.md).

    >>> unpack(pack(["C:a", "P:b"]))
    ['C:a', 'P:b']
    """
    return zlib.compress(json.dumps(list(members), separators=(",", ":")).encode(), 9)


def unpack(value: Any) -> list[str]:
    """The members of a :func:`pack` blob (as stored: bytes, or boto3's ``Binary``)."""
    return [str(m) for m in json.loads(zlib.decompress(bytes(getattr(value, "value", value))))]


def members_of(item: Mapping[str, Any], attribute: str) -> list[str]:
    """The members an immutable item lists, in either form: packed (:data:`PACKED`), or the
    string set ``attribute`` of items written before packing (still read).

    >>> members_of({"m": {"C:a"}}, "m"), members_of({PACKED: pack(["C:b"])}, "m")
    (['C:a'], ['C:b'])
    """
    found = [str(m) for m in item.get(attribute, ())]
    if PACKED in item:
        found += unpack(item[PACKED])
    return found


DAY_SKU_PREFIX = "SKU"  # both layouts: ``SKUP#`` part items, ``SKUS#<n>`` shards of older releases
DAY_SKU_PART = "SKUP#"
DAY_SKU_ITEM_BYTES = 16_000
# A SKU's units and line revenue as attributes, in part items of older releases and shards.
UNITS_PREFIX, REVENUE_PREFIX = "u:", "r:"
#: The baskets of a part's orders on a day, packed, in its SKU items (``DAY#<d>``/``SKUP#``).
PART_BASKETS = "b"


def day_sku_items(
    ref: str, contributions: Contributions, baskets: Mapping[date, Sequence[str]] | None = None
) -> list[dict[str, Any]]:
    """The immutable items that record a counted packet part's units and line revenue per SKU
    and day, and its orders' ``baskets`` (each a member string, by store day):
    ``DAY#<date>``/``SKUP#<part>#<i>``, each SKU a line ``[sku, units, revenue]`` of the packed
    blob :data:`PACKED` (read by :func:`sku_lines`), the baskets packed in
    :data:`PART_BASKETS`, cut where they would pass :data:`DAY_SKU_ITEM_BYTES` before packing.

    Their keys and content follow from the part alone, so a redelivery puts the same items again
    (plain puts, one write unit per KB, outside the transaction): the part's marker says it is
    counted, and the orders processor puts its items after the transaction on every delivery, so
    a crash in between heals. Readers add every part item of a day (one Query per day). The
    baskets ride in the same items because one item of a few hundred bytes costs a write unit
    whatever it holds: a lone order's basket in an item of its own cost one unit more.

    >>> c = Contributions()
    >>> c.day_units[date(2025, 1, 2)]["MUG"] += 2
    >>> c.day_revenue[date(2025, 1, 2)]["MUG"] += Decimal("19.98")
    >>> items = day_sku_items("p-1#0", c, {date(2025, 1, 2): ['["o1", "MUG"]']})
    >>> [(i["pk"], i["sk"], sku_lines(i), unpack(i[PART_BASKETS])) for i in items]
    [('DAY#2025-01-02', 'SKUP#p-1#0#0', [('MUG', 2, Decimal('19.98'))], ['["o1", "MUG"]'])]
    """
    baskets = baskets or {}
    items: list[dict[str, Any]] = []
    for day in sorted(set(contributions.day_units) | set(contributions.day_revenue) | set(baskets)):
        units = contributions.day_units.get(day, {})
        revenue = contributions.day_revenue.get(day, {})
        lines = [
            (sku, int(units.get(sku, 0)), revenue.get(sku, Decimal(0)))
            for sku in sorted(set(units) | set(revenue))
        ]
        for index, (packed, listed, _) in enumerate(day_chunks(lines, baskets.get(day, ()), ())):
            item: dict[str, Any] = {"pk": day_pk(day), "sk": f"{DAY_SKU_PART}{ref}#{index}"}
            if packed:
                item[PACKED] = pack(packed)
            if listed:
                item[PART_BASKETS] = pack(listed)
            items.append(item)
    return items


def day_chunks(
    lines: Iterable[tuple[str, int, Decimal]], baskets: Iterable[str], members: Iterable[str]
) -> list[tuple[list[str], list[str], list[str]]]:
    """A day's SKU lines ``(sku, units, revenue)`` (each as its packed line), baskets and set
    members, cut into chunks of at most :data:`DAY_SKU_ITEM_BYTES` (before packing), in that
    order: the cut follows from the content alone.

    >>> [[len(kind) for kind in chunk] for chunk in day_chunks([("MUG", 2, Decimal("9.98"))], ["b"], ["C:a"])]
    [[1, 1, 1]]
    """
    chunks: list[tuple[list[str], list[str], list[str]]] = [([], [], [])]
    size = 0

    def place(kind: int, member: str, length: int) -> None:
        nonlocal size
        if any(chunks[-1]) and size + length > DAY_SKU_ITEM_BYTES:
            chunks.append(([], [], []))
            size = 0
        chunks[-1][kind].append(member)
        size += length

    for sku, units, revenue in sorted(lines):
        # The cut of the items of older releases (an attribute per SKU and figure), so a
        # part counted by one and delivered again to this one rewrites the same items.
        line = [sku, int(units), str(revenue)]
        place(0, json.dumps(line, separators=(",", ":")), 2 * (len(sku.encode()) + 2 + 21))
    for basket in sorted(set(baskets)):
        place(1, basket, len(basket.encode()) + 1)
    for member in sorted(set(members)):
        place(2, member, len(member.encode()) + 1)
    return chunks


def sku_lines(item: Mapping[str, Any]) -> list[tuple[str, int, Decimal]]:
    """``(sku, units, line revenue)`` of a day's SKU item: packed part items, and the attributes
    ``u:<sku>``, ``r:<sku>`` of older releases' part items and ``SKUS#<n>`` shards.

    >>> sku_lines({"u:MUG": Decimal(2), "r:MUG": Decimal("19.98"), "u:CAP": Decimal(1)})
    [('CAP', 1, Decimal('0')), ('MUG', 2, Decimal('19.98'))]
    """
    units: dict[str, int] = defaultdict(int)
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for name, value in item.items():
        if name.startswith(UNITS_PREFIX):
            units[name[len(UNITS_PREFIX) :]] += int(value)
        elif name.startswith(REVENUE_PREFIX):
            revenue[name[len(REVENUE_PREFIX) :]] += Decimal(value)
    if PACKED in item:
        for line in unpack(item[PACKED]):
            sku, sold, amount = json.loads(line)
            units[sku] += int(sold)
            revenue[sku] += Decimal(amount)
    skus = sorted(set(units) | set(revenue))
    return [(sku, units.get(sku, 0), revenue.get(sku, Decimal(0))) for sku in skus]


#: The folded day content of the lone stock-in items of one claim day ``X``, in a store day's
#: partition: ``DAY#<d>``/``DP#<X>#<i>`` (docs/architecture.md, "Stock-in items": readers count
#: it only once the fold's watermark has reached ``X``).
DAY_PART = "DP#"
#: Its sales counters (``[name, amount]`` lines, packed; on chunk 0) and its set members.
PART_SALES, PART_MEMBERS = "s", "c"


def day_part_items(
    day: date,
    ref: str,
    sales: Mapping[str, Decimal],
    lines: Iterable[tuple[str, int, Decimal]],
    baskets: Iterable[str],
    members: Iterable[str],
) -> list[dict[str, Any]]:
    """The immutable items that hold a day's ``sales`` counters, SKU ``lines``, ``baskets`` and
    customer-set ``members`` under ``DAY#<day>``/``DP#<ref>#<i>``: the counters
    (:data:`PART_SALES`, on chunk 0), the lines (:data:`PACKED`, read by :func:`sku_lines`), the
    baskets (:data:`PART_BASKETS`) and the members ``<set>:<customer>`` (:data:`PART_MEMBERS`),
    each packed, cut by :func:`day_chunks`. The keys follow from the content alone, so putting
    them again writes the same items.

    >>> [item] = day_part_items(date(2025, 1, 2), "2025-01-03", {"orders": Decimal(1)},
    ...                         [("MUG", 2, Decimal("19.98"))], [], ["C:a"])
    >>> item["sk"], part_sales(item), sku_lines(item), part_members(item)
    ('DP#2025-01-03#0', {'orders': Decimal('1')}, [('MUG', 2, Decimal('19.98'))], ['C:a'])
    """
    counters = [
        json.dumps([name, str(amount)], separators=(",", ":"))
        for name, amount in sorted(sales.items())
        if amount
    ]
    items: list[dict[str, Any]] = []
    for index, (packed, listed, joined) in enumerate(day_chunks(lines, baskets, members)):
        item: dict[str, Any] = {"pk": day_pk(day), "sk": f"{DAY_PART}{ref}#{index}"}
        if index == 0 and counters:
            item[PART_SALES] = pack(counters)
        for attribute, listing in ((PACKED, packed), (PART_BASKETS, listed), (PART_MEMBERS, joined)):
            if listing:
                item[attribute] = pack(listing)
        items.append(item)
    return items


def part_sales(item: Mapping[str, Any]) -> dict[str, Decimal]:
    """The sales counters a day part item holds (none on its further chunks)."""
    if PART_SALES not in item:
        return {}
    return {name: Decimal(amount) for name, amount in map(json.loads, unpack(item[PART_SALES]))}


def part_members(item: Mapping[str, Any]) -> list[str]:
    """The customer-set members (``<set>:<customer>``) a day part item lists."""
    return unpack(item[PART_MEMBERS]) if PART_MEMBERS in item else []


def add_counters(total: dict[str, Any], more: Mapping[str, Any]) -> dict[str, Any]:
    """``total`` with ``more``'s counters added (a day's ``SALES`` and its parts' sales)."""
    for name, amount in more.items():
        total[name] = total.get(name, Decimal(0)) + amount
    return total


def batch_get(
    client: DynamoDBClient,
    table: str,
    keys: Iterable[tuple[str, ...]],
    *,
    projection: Sequence[str] = (),
    consistent: bool = False,
    key_names: Sequence[str] = ("pk", "sk"),
    parallel: int = 1,
    chunk_size: int = 100,
) -> dict[Any, dict[str, Any]]:
    """Get many items (100 per call, unprocessed keys retried). Missing items are absent.

    Keys are tuples of string key values in the order of ``key_names``. With ``parallel`` > 1
    the calls of up to that many chunks of 100 keys are made side by side (boto3 clients are
    thread-safe): a read of a long range then waits for about one call, not one per 100 keys.
    """
    wanted = list(dict.fromkeys(keys))
    request_extra: dict[str, Any] = {"ConsistentRead": consistent}
    if projection:
        names = {f"#p{i}": n for i, n in enumerate(dict.fromkeys([*key_names, *projection]))}
        request_extra["ProjectionExpression"] = ", ".join(names)
        request_extra["ExpressionAttributeNames"] = names
    chunks = [
        [
            {name: {"S": value} for name, value in zip(key_names, k, strict=True)}
            for k in wanted[start : start + chunk_size]
        ]
        for start in range(0, len(wanted), chunk_size)
    ]

    def get_chunk(chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        pending: dict[str, Any] = {table: {"Keys": chunk, **request_extra}}
        attempt = 0
        while pending:
            response = client.batch_get_item(RequestItems=pending)
            got.extend(from_ddb(raw) for raw in response.get("Responses", {}).get(table, []))
            pending = response.get("UnprocessedKeys") or {}
            if pending:
                attempt += 1
                _backoff(attempt)
        return got

    results = parallel_map(get_chunk, chunks, workers=parallel)
    return {tuple(item[name] for name in key_names): item for got in results for item in got}


def content_keyed_items(
    members: Iterable[str],
    *,
    prefix: str,
    shards: int,
    attribute: str,
    max_bytes: int,
    partition: str | None = None,
    sort_prefix: str = "B#",
    packed: bool = False,
) -> list[dict[str, Any]]:
    """Immutable items listing ``members`` in the string set ``attribute`` (or, ``packed``, in
    one compressed blob :data:`PACKED`, read back by :func:`members_of`), up to ``max_bytes``
    of members each (before packing), under ``<prefix><n>``/``B#<digest of its members>`` (or
    all under ``partition``, sort keys ``<sort_prefix><digest>``, when it is given).

    An item's key follows from its content, so putting it again (a redelivered batch) rewrites
    the same item, and a batch redelivered with other company writes another item that repeats
    some members, which readers take as one. Shared this way, one write unit lists many members.

    Examples
    --------
    >>> items = content_keyed_items(["b", "a", "a"], prefix="P#", shards=8, attribute="ids", max_bytes=900)
    >>> len(items), sorted(items[0]["ids"]), items[0]["sk"].startswith("B#")
    (1, ['a', 'b'], True)
    >>> packed = content_keyed_items(
    ...     ["b", "a"], prefix="P#", shards=8, attribute="ids", max_bytes=900, packed=True
    ... )
    >>> packed[0]["sk"] == items[0]["sk"], members_of(packed[0], "ids")
    (True, ['a', 'b'])
    """
    chunks: list[list[str]] = [[]]
    size = 0
    for member in sorted(set(members)):
        length = len(member.encode()) + 1
        if chunks[-1] and size + length > max_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(member)
        size += length
    items = []
    for chunk in chunks:
        if not chunk:
            continue
        digest = hashlib.sha256("\n".join(chunk).encode()).hexdigest()
        pk = partition if partition is not None else f"{prefix}{int(digest[:8], 16) % shards}"
        content: dict[str, Any] = {PACKED: pack(chunk)} if packed else {attribute: set(chunk)}
        items.append({"pk": pk, "sk": f"{sort_prefix}{digest[:20]}", **content})
    return items


def batch_put(
    client: DynamoDBClient,
    table: str,
    items: Iterable[Mapping[str, Any]],
    key_names: tuple[str, ...] = ("pk", "sk"),
) -> None:
    """Put many items (25 per call, unprocessed items retried).

    An item given twice (by its key, ``key_names``) is put once, as last given: DynamoDB refuses
    a call that names one key twice, and the items put in batches are keyed by their content
    (an alert delivered twice, a fact two events of a batch find)."""
    last: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for item in items:
        last[tuple(item[name] for name in key_names)] = item
    requests = [{"PutRequest": {"Item": {k: to_ddb(v) for k, v in item.items()}}} for item in last.values()]
    for start in range(0, len(requests), 25):
        pending: dict[str, Any] = {table: requests[start : start + 25]}
        attempt = 0
        while pending:
            response = client.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if pending:
                attempt += 1
                _backoff(attempt)


def _backoff(attempt: int) -> None:
    time.sleep(min(2.0, 0.02 * 2**attempt) * random.uniform(0.5, 1.0))


class _Expression:
    """Builds one update expression with its own placeholders."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.adds: list[str] = []
        self.sets: list[str] = []
        self.conditions: list[str] = []

    def name(self, attribute: str) -> str:
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = to_ddb(value)
        return placeholder

    def add(self, attribute: str, amount: Any) -> None:
        self.adds.append(f"{self.name(attribute)} {self.value(amount)}")

    def set_if_absent(self, attribute: str, value: Any) -> None:
        """Set an attribute unless it is set: a note that the first writer leaves."""
        placeholder = self.name(attribute)
        self.sets.append(f"{placeholder} = if_not_exists({placeholder}, {self.value(value)})")

    def set_new(self, attribute: str, value: Any) -> None:
        """Set an attribute that must not exist yet: the claim of an event."""
        placeholder = self.name(attribute)
        self.sets.append(f"{placeholder} = {self.value(value)}")
        self.conditions.append(f"attribute_not_exists({placeholder})")

    @property
    def terms(self) -> int:
        return len(self.adds) + len(self.sets)

    def update(self, table: str, pk: str, sk: str) -> dict[str, Any]:
        parts = []
        if self.sets:
            parts.append("SET " + ", ".join(self.sets))
        if self.adds:
            parts.append("ADD " + ", ".join(self.adds))
        action: dict[str, Any] = {
            "TableName": table,
            "Key": key(pk, sk),
            "UpdateExpression": " ".join(parts),
            "ExpressionAttributeNames": self.names,
        }
        if self.values:
            action["ExpressionAttributeValues"] = self.values
        if self.conditions:
            action["ConditionExpression"] = " AND ".join(self.conditions)
        return action


@dataclass(frozen=True)
class Claim:
    """The conditional write that makes one event count once: attribute ``attribute`` of item
    ``item`` is set to ``value`` only if it does not exist yet."""

    item: Key
    attribute: str
    value: Any


@dataclass(frozen=True)
class Note:
    """An attribute set with an event's count unless already set (the first note wins)."""

    item: Key
    attribute: str
    value: Any


@dataclass
class Counted:
    """An event ready to be counted: its claim, what it adds, and the notes it leaves."""

    ref: str
    claim: Claim | None
    contributions: Contributions
    notes: tuple[Note, ...] = ()


@dataclass
class TransactionStats:
    transactions: int = 0
    items: int = 0
    retries: int = 0
    already_counted: list[str] = field(default_factory=list)


class TransactionFailed(RuntimeError):
    """The counters could not be written after several attempts (conflicts or throttling)."""


def _counter_actions(
    contributions: Iterable[Contributions],
) -> dict[Key, _Expression]:
    actions: dict[Key, _Expression] = defaultdict(_Expression)
    for contrib in contributions:
        for day, counters in contrib.day_sales.items():
            expr = actions[(day_pk(day), "SALES")]
            for name, amount in counters.items():
                if amount:
                    expr.add(name, amount)
        for sku, delta in contrib.stock.items():
            if delta:
                actions[on_hand_key(sku)].add(f"oh:{sku}", delta)
    return actions


def _merge_counters(contributions: Iterable[Contributions]) -> Contributions:
    merged = Contributions()
    for contrib in contributions:
        for day, counters in contrib.day_sales.items():
            for name, amount in counters.items():
                merged.day_sales[day][name] += amount
        for day, units in contrib.day_units.items():
            for sku, quantity in units.items():
                merged.day_units[day][sku] += quantity
        for day, revenue in contrib.day_revenue.items():
            for sku, amount in revenue.items():
                merged.day_revenue[day][sku] += amount
        for sku, delta in contrib.stock.items():
            merged.stock[sku] += delta
    return merged


def _build_transaction(table: str, group: Sequence[Counted]) -> list[dict[str, Any]]:
    claims: dict[Key, _Expression] = defaultdict(_Expression)
    for counted in group:
        if counted.claim is not None:
            claims[counted.claim.item].set_new(counted.claim.attribute, counted.claim.value)
        for note in counted.notes:
            claims[note.item].set_if_absent(note.attribute, note.value)
    counters = _counter_actions([_merge_counters(c.contributions for c in group)])
    items: list[dict[str, Any]] = []
    for (pk, sk), expr in claims.items():
        if (pk, sk) in counters:
            raise ValueError(f"claim item {pk}/{sk} is also a counter item")
        items.append({"Update": expr.update(table, pk, sk)})
    for (pk, sk), expr in counters.items():
        items.append({"Update": expr.update(table, pk, sk)})
    return items


class _GroupSize:
    """The size of the transaction :func:`_build_transaction` would make of a group, kept up to
    date as events join it: its number of actions and which of them have too many attribute
    names. Building the whole group's transaction again for each event that might join cost
    the square of the group's size: a third of the inventory processor's time on a batch of
    500 adjustments (a claim each, about 85 to a transaction)."""

    def __init__(self) -> None:
        self.claim_names: dict[Key, int] = {}
        self.amounts: dict[Key, dict[str, Any]] = {}  # the merged amounts of each counter item
        # A day's SALES action is built even when its amounts cancel out; an inbox item's only
        # while one of its SKUs' deltas is not zero.
        self.sales_items: set[Key] = set()
        self.actions = 0
        self.crowded: set[Key] = set()

    def fits(self, counted: Counted) -> bool:
        joined = _Joined(self, counted)
        return joined.actions <= MAX_TRANSACTION_ITEMS and not joined.crowded

    def add(self, counted: Counted) -> None:
        joined = _Joined(self, counted)
        self.actions, self.crowded = joined.actions, joined.crowded
        for item, names in joined.claim_names.items():
            self.claim_names[item] = self.claim_names.get(item, 0) + names
        self.amounts.update(joined.amounts)
        self.sales_items |= joined.sales_items

    def built(self, item: Key) -> bool:
        return item in self.sales_items or any(self.amounts.get(item, {}).values())


class _Joined:
    """A :class:`_GroupSize` with one more event, computed from the items that event touches."""

    def __init__(self, size: _GroupSize, counted: Counted) -> None:
        self.claim_names: dict[Key, int] = defaultdict(int)
        claim = [counted.claim.item] if counted.claim is not None else []
        for item in claim + [note.item for note in counted.notes]:
            self.claim_names[item] += 1  # a name for each claim and note, as _Expression gives
        self.amounts: dict[Key, dict[str, Any]] = {}
        self.sales_items: set[Key] = set()
        for day, counters in counted.contributions.day_sales.items():
            if counters:
                item = (day_pk(day), "SALES")
                self.sales_items.add(item)
                self._merge(size, item, counters.items())
        for sku, delta in counted.contributions.stock.items():
            self._merge(size, on_hand_key(sku), [(f"oh:{sku}", delta)])
        self.actions = size.actions
        self.crowded = set(size.crowded)
        for item, names in self.claim_names.items():
            before = size.claim_names.get(item, 0)
            self.actions += before == 0
            if before + names > MAX_TERMS_PER_ACTION:
                self.crowded.add(item)
        for item, merged in self.amounts.items():
            names = sum(1 for amount in merged.values() if amount)
            built = names > 0 or item in self.sales_items or item in size.sales_items
            self.actions += built - size.built(item)
            if names > MAX_TERMS_PER_ACTION:
                self.crowded.add(item)
            else:
                self.crowded.discard(item)

    def _merge(self, size: _GroupSize, item: Key, amounts: Iterable[tuple[str, Any]]) -> None:
        merged = self.amounts.setdefault(item, dict(size.amounts.get(item, {})))
        for name, amount in amounts:
            merged[name] = merged.get(name, 0) + amount


def _groups(events: Sequence[Counted]) -> list[list[Counted]]:
    """The events cut, in order, into groups that each fit one transaction (an event too big
    for one alone is a group alone)."""
    groups: list[list[Counted]] = []
    current: list[Counted] = []
    size = _GroupSize()
    for counted in events:
        if current and not size.fits(counted):
            groups.append(current)
            current = []
            size = _GroupSize()
        current.append(counted)
        size.add(counted)
    if current:
        groups.append(current)
    return groups


MARKER_PREFIX = "PACKET#"
# A packet part's items in a transaction at most, estimated from its events' content alone (so
# the split is the same on every delivery), leaving room for the markers of a group.
PART_ITEMS = 90


def marker_key(packet: str, part: int) -> Key:
    """The marker of part ``part`` of a packet: it exists once the part is counted."""
    return (f"{MARKER_PREFIX}{packet}", f"PART#{part}")


def packet_parts(packet: str, events: Sequence[Counted]) -> list[tuple[Counted, list[Counted]]]:
    """Split a packet's events to count into parts that each fit a transaction, and make each
    part one :class:`Counted` claimed by its marker (``PACKET#<packet>``/``PART#<n>``), with
    the merged contributions and notes of its events.

    The split depends only on the events (sorted by ref, cut where the items they touch would
    pass :data:`PART_ITEMS` or one counter item's attributes :data:`MAX_TERMS_PER_ACTION`), so
    a packet delivered again is cut the same way, and a part whose marker exists was counted
    whole.

    Returns ``(part, its events)`` pairs.
    """
    chunks: list[list[Counted]] = [[]]
    touched: set[Key] = set()
    terms: dict[Key, set[str]] = defaultdict(set)  # the attributes each counter item adds to
    for event in sorted(events, key=lambda e: e.ref):
        actions = _counter_actions([event.contributions])
        keys = set(actions) | {n.item for n in event.notes}
        grown = {k: terms[k] | set(a.names.values()) for k, a in actions.items()}
        if chunks[-1] and (
            len(touched | keys) > PART_ITEMS or any(len(t) > MAX_TERMS_PER_ACTION for t in grown.values())
        ):
            chunks.append([])
            touched = set()
            terms = defaultdict(set)
            grown = {k: set(a.names.values()) for k, a in actions.items()}
        chunks[-1].append(event)
        touched |= keys
        terms.update(grown)
    parts = []
    for number, chunk in enumerate(c for c in chunks if c):
        marker = marker_key(packet, number)
        part = Counted(
            ref=f"{packet}#{number}",
            claim=Claim(marker, "events", len(chunk)),
            contributions=_merge_counters(e.contributions for e in chunk),
            notes=tuple(note for e in chunk for note in e.notes),
        )
        parts.append((part, chunk))
    return parts


def already_claimed(client: DynamoDBClient, table: str, claims: Iterable[Claim]) -> set[Claim]:
    """Which of these claims are already in the table (strongly consistent)."""
    by_item: dict[Key, list[Claim]] = defaultdict(list)
    for claim in claims:
        by_item[claim.item].append(claim)
    if not by_item:
        return set()
    attributes = sorted({c.attribute for cs in by_item.values() for c in cs})
    found: dict[Key, dict[str, Any]] = {}
    # Projection names are shared by every key of a request, so ask in slices of attributes.
    for start in range(0, len(attributes), 90):
        part = batch_get(client, table, by_item, projection=attributes[start : start + 90], consistent=True)
        for item_key, item in part.items():
            found.setdefault(item_key, {}).update(item)
    return {
        claim
        for item_key, item_claims in by_item.items()
        for claim in item_claims
        if claim.attribute in found.get(item_key, {})
    }


def count_once(
    client: DynamoDBClient,
    table: str,
    events: Sequence[Counted],
    *,
    touch: bool = True,
    clock: Callable[[], float] = time.time,
    zone: tzinfo | None = None,
) -> TransactionStats:
    """Add each event's contributions to the counters exactly once.

    Each group of events is one TransactWriteItems: the events' claims (conditional on not
    existing) and the merged ``ADD`` of their counters. An event whose claim exists was counted
    before (a redelivery, or a concurrent processor): it is dropped and the rest retried.
    Sales per SKU and day are not counters here: the orders processor puts them as part items
    (:func:`day_sku_items`).

    Parameters
    ----------
    client
        A DynamoDB client.
    table
        The analytics table.
    events
        The events to count, in any order.
    touch
        Bump the change stamps of the closed months whose days the events add to, after
        counting (:func:`touch_months`; the events found counted already included). ``False``
        when the caller touches them itself after its other writes to those days.
    clock
        The writer's clock (seconds since the epoch), read after counting, for ``touch``.
    zone
        The store's zone, for ``touch`` (``None``: the earliest zone, stamping a little more).

    Returns
    -------
    TransactionStats
        With the refs of the events found already counted.
    """
    stats = TransactionStats()
    # No read of the claims first: a redelivery is rare, and its transaction's failed condition
    # says which claims exist (then read, dropped and the rest retried). Reading every claim
    # beforehand cost one read unit per event on every first delivery.
    todo: dict[tuple[Key, str], Counted] = {}
    for event in events:
        if event.claim is None:
            raise ValueError(f"{event.ref} has no claim")
        if event.contributions.day_units or event.contributions.day_revenue:
            raise ValueError(f"{event.ref}: sales per SKU are put as part items (day_sku_items), not counted")
        slot = (event.claim.item, event.claim.attribute)
        if slot in todo:
            # Twice in this batch (a redelivery beside its original): the first one counts, as
            # the ingest API would have kept the first payload.
            stats.already_counted.append(event.ref)
        else:
            todo[slot] = event
    for group in _groups(list(todo.values())):
        _count_group(client, table, group, stats)
    if touch:
        touch_months(
            client,
            table,
            (month_of(day) for event in events for day in days_of(event.contributions)),
            datetime.fromtimestamp(clock(), UTC),
            zone,
        )
    return stats


def days_of(contributions: Contributions) -> set[date]:
    """The days whose ``DAY#`` items these contributions add to."""
    return set(contributions.day_sales) | set(contributions.day_units) | set(contributions.day_revenue)


MONTHS_PK = "MONTHS"


def touch_months(
    client: DynamoDBClient, table: str, months: Iterable[str], now: datetime, zone: tzinfo | None = None
) -> list[str]:
    """Bump the change stamp (``MONTHS``/``<YYYY-MM>``, ``ADD v 1``) of each of these months
    that is closed, or closes within the clocks' margin, at ``now`` (in ``zone``; ``None``: in
    the earliest zone): :func:`backend.domain.rollups.stamp_due`. Returns the months bumped.

    Called after writing to days of these months, and again on every redelivery, with ``now``
    read off the writer's clock *after* those writes, so that a month fold read together with
    the stamp it was computed at is known to be current. The months still open are not bumped
    (a lone order's write unit): no job folds them, and the pairs job's folds of their days are
    checked by their basket items' keys (docs/architecture.md, "Month rollups")."""
    due = sorted(m for m in set(months) if stamp_due(m, now, zone))
    for month in due:
        client.update_item(
            TableName=table,
            Key=key(MONTHS_PK, month),
            UpdateExpression="ADD #v :one",
            ExpressionAttributeNames={"#v": "v"},
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    return due


def _count_group(client: DynamoDBClient, table: str, group: list[Counted], stats: TransactionStats) -> None:
    attempt = 0
    while group:
        items = _build_transaction(table, group)
        try:
            client.transact_write_items(TransactItems=cast("list[TransactWriteItemTypeDef]", items))
        except client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            attempt += 1
            if attempt >= TRANSACTION_ATTEMPTS:
                raise TransactionFailed(
                    f"could not write counters after {attempt} attempts: "
                    + ", ".join(sorted({r.get("Code", "?") for r in reasons}))
                ) from exc
            stats.retries += 1
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                done = already_claimed(client, table, (e.claim for e in group if e.claim is not None))
                stats.already_counted.extend(e.ref for e in group if e.claim in done)
                group = [e for e in group if e.claim not in done]
                if not done:
                    _backoff(attempt)
            else:
                _backoff(attempt)
            continue
        stats.transactions += 1
        stats.items += len(items)
        return


def add_to_sets(client: DynamoDBClient, table: str, item: Key, sets: Mapping[str, set[str]]) -> None:
    """Add members to string-set attributes: idempotent, so safe to repeat after a crash."""
    expr = _Expression()
    for name, members in sets.items():
        if members:
            expr.add(name, set(members))
    if expr.terms:
        client.update_item(**expr.update(table, *item))


def remove_from_sets(client: DynamoDBClient, table: str, item: Key, sets: Mapping[str, set[str]]) -> None:
    """Remove members from string-set attributes (an emptied set disappears): idempotent."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    terms = []
    for name, members in sets.items():
        if members:
            placeholder = f"#n{len(names)}"
            names[placeholder] = name
            values[f":v{len(values)}"] = to_ddb(set(members))
            terms.append(f"{placeholder} :v{len(values) - 1}")
    if terms:
        client.update_item(
            TableName=table,
            Key=key(*item),
            UpdateExpression="DELETE " + ", ".join(terms),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )


def set_attributes(client: DynamoDBClient, table: str, item: Key, values: Mapping[str, Any]) -> None:
    """Set attributes to fixed values: idempotent, so safe to repeat after a crash."""
    expr = _Expression()
    for attribute, value in values.items():
        expr.sets.append(f"{expr.name(attribute)} = {expr.value(value)}")
    if expr.sets:
        client.update_item(**expr.update(table, *item))


def set_if_newer(
    client: DynamoDBClient,
    table: str,
    item: Key,
    values: Mapping[str, Any],
    *,
    version_attribute: str,
    version: str,
) -> bool:
    """Last writer wins by event time: set ``values`` unless a newer version is stored.

    Returns whether the values were written. Repeating a write is harmless.
    """
    expr = _Expression()
    version_name = expr.name(version_attribute)
    version_value = expr.value(version)
    expr.sets.append(f"{version_name} = {version_value}")
    for attribute, value in values.items():
        expr.sets.append(f"{expr.name(attribute)} = {expr.value(value)}")
    expr.conditions.append(f"(attribute_not_exists({version_name}) OR {version_name} <= {version_value})")
    return _update_if(client, table, item, expr)


def _update_if(client: DynamoDBClient, table: str, item: Key, expr: _Expression) -> bool:
    """Make a conditional update; whether its condition held."""
    try:
        client.update_item(**expr.update(table, *item))
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def set_if_version(
    client: DynamoDBClient,
    table: str,
    item: Key,
    values: Mapping[str, Any],
    *,
    version_attribute: str,
    version: Any,
) -> bool:
    """Optimistic locking: set ``values`` (the next version among them) only if
    ``version_attribute`` still holds ``version`` (``None``: absent). Returns whether they were
    written; ``False`` means the item changed since it was read."""
    expr = _Expression()
    for attribute, value in values.items():
        expr.sets.append(f"{expr.name(attribute)} = {expr.value(value)}")
    placeholder = expr.name(version_attribute)
    if version is None:
        expr.conditions.append(f"attribute_not_exists({placeholder})")
    else:
        expr.conditions.append(f"{placeholder} = {expr.value(version)}")
    return _update_if(client, table, item, expr)


def query_partition(
    client: DynamoDBClient, table: str, pk: str, *, projection: Sequence[str] = (), **extra: Any
) -> Iterable[dict[str, Any]]:
    """Every item of one partition, page by page (a Query by key, never a scan).

    ``extra`` goes into the request as it is (``ScanIndexForward``, ``Limit``, a narrower
    ``KeyConditionExpression`` with its values).
    """
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
        **extra,
    }
    if projection:
        names = {f"#p{i}": n for i, n in enumerate(projection)}
        request["ProjectionExpression"] = ", ".join(names)
        request["ExpressionAttributeNames"] = names
    while True:
        page = client.query(**request)
        for raw in page.get("Items", []):
            yield from_ddb(raw)
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
