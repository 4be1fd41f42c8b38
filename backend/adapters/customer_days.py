"""The day customer sets ``C``, ``P``, ``M`` (:mod:`backend.domain.customers`), in items that
never grow.

A batch's memberships of a day are written as immutable items in the day's own partition,
``DAY#<date>``/``CB#<digest of the content>``, each holding up to
:data:`~backend.adapters.dynamo.PACKED_MAX_BYTES` of members ``<set>:<customer id>``, packed
into one compressed blob ``z`` (items written before December 2026 list them in the string set
``m``; both are read). Putting one again (a redelivery) rewrites the same item; a batch
redelivered with other company writes another item that repeats some members, and the reader
takes their union. So a day of 50,000 customers is some tens of items of a few KB each instead
of one item of megabytes, and a batch pays about one write unit per 150 members.

A day is read by key: its ``SALES`` and its index (:mod:`backend.adapters.day_index`, which
the writers of its member items keep) in one ``BatchGetItem`` for all the days read, then the
items the index names (``CB#``, the folded day content of lone stock-in items ``DP#<claim
day>#<i>``, counted once the fold's watermark reached the claim day, and the single
``CUSTOMERS`` item of releases before this layout) in another. A day without an index (nobody
has written its member items since indexes exist) or with too many items for one is read as
before, by one ``Query`` of its partition, sort keys ``CB#`` to ``SALES``. The lone items'
content not folded yet is added (:class:`~backend.adapters.stock_in.DayViews`). Cost:
O(days in the range), never a scan. A day's sales alone are read by key (:func:`read_sales`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from backend.adapters import day_index
from backend.adapters.dynamo import (
    DAY_PART,
    PACKED_MAX_BYTES,
    Key,
    add_counters,
    batch_get,
    batch_put,
    content_keyed_items,
    day_pk,
    members_of,
    part_members,
    part_sales,
    query_partition,
)
from backend.adapters.parallel import parallel_map
from backend.adapters.stock_in import DayView, DayViews, claim_days_of
from backend.domain.customers import SETS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

MEMBERS = "m"
SORT_PREFIX = "CB#"
LEGACY_SK = "CUSTOMERS"
SALES_SK = "SALES"
# The calls of a long range's reads side by side (BatchGetItems of 100 keys, or days' Queries).
READ_PARALLELISM = 8

DaySets = dict[str, set[str]]


def membership_items(per_day: Mapping[date, Mapping[str, set[str]]]) -> list[dict[str, Any]]:
    """The items that record these memberships (day -> set name -> customer ids).

    >>> items = membership_items({date(2025, 1, 2): {"C": {"a", "b"}, "P": {"b"}}})
    >>> [(i["pk"], sorted(members_of(i, MEMBERS))) for i in items]
    [('DAY#2025-01-02', ['C:a', 'C:b', 'P:b'])]
    """
    items: list[dict[str, Any]] = []
    for day, sets in sorted(per_day.items()):
        members = [f"{name}:{customer}" for name, customers in sets.items() for customer in customers]
        items += content_keyed_items(
            members,
            prefix="",
            shards=1,
            attribute=MEMBERS,
            max_bytes=PACKED_MAX_BYTES,
            partition=day_pk(day),
            sort_prefix=SORT_PREFIX,
            packed=True,
        )
    return items


def write(
    client: DynamoDBClient, table: str, per_day: Mapping[date, Mapping[str, set[str]]], *, now: float
) -> None:
    """Record these memberships (plain puts: idempotent, in any order), then name them in their
    days' indexes (``now``: the writer's clock, seconds since the epoch)."""
    items = membership_items(per_day)
    batch_put(client, table, items)
    day_index.name_day_items(client, table, items, now=now)


def _fields(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in ("pk", "sk")}


def _join(sets: DaySets, members: Iterable[str]) -> None:
    for member in members:
        name, _, customer = str(member).partition(":")
        sets[name].add(customer)


def _query(
    client: DynamoDBClient, table: str, day: date, low: str, consistent: bool
) -> Iterable[dict[str, Any]]:
    """The day's items from sort key ``low`` to its ``SALES``."""
    return query_partition(
        client,
        table,
        day_pk(day),
        KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
        ExpressionAttributeValues={
            ":pk": {"S": day_pk(day)},
            ":low": {"S": low},
            ":high": {"S": SALES_SK},
        },
        ConsistentRead=consistent,
    )


def _count(items: Iterable[Mapping[str, Any]], view: DayView) -> tuple[dict[str, Any], DaySets]:
    """A day's sales counters and sets from its items (``SALES``, member items, ``DP#`` items:
    those of claim days the view counts)."""
    sales: dict[str, Any] = {}
    sets: DaySets = {name: set() for name in SETS}
    for item in items:
        if item["sk"] == SALES_SK:
            add_counters(sales, _fields(item))
        elif item["sk"] == LEGACY_SK:
            for name in SETS:
                sets[name].update(str(c) for c in item.get(name, ()))
        elif item["sk"].startswith(DAY_PART):
            if view.counts(item["sk"]):
                add_counters(sales, part_sales(item))
                _join(sets, part_members(item))
        elif item["sk"].startswith(SORT_PREFIX):
            _join(sets, members_of(item, MEMBERS))
    return sales, sets


def _get(
    client: DynamoDBClient, table: str, keys: Mapping[date, list[Key]], consistent: Callable[[date], bool]
) -> dict[Any, dict[str, Any]]:
    """These days' items by key, strongly consistent for the days that need it."""
    found: dict[Any, dict[str, Any]] = {}
    for strong in (False, True):
        wanted = [k for day, day_keys in keys.items() if consistent(day) is strong for k in day_keys]
        if wanted:
            found.update(batch_get(client, table, wanted, consistent=strong, parallel=READ_PARALLELISM))
    return found


def read_days(
    client: DynamoDBClient,
    table: str,
    days: Sequence[date],
    *,
    consistent: bool = False,
    views: DayViews | None = None,
) -> tuple[list[dict[str, Any]], list[DaySets]]:
    """The sales counters and the ``C``/``P``/``M`` sets of each day (absent days are empty),
    by key: the days' ``SALES`` and indexes, then the items the indexes name, in
    ``BatchGetItem`` calls of 100 keys, :data:`READ_PARALLELISM` side by side; a day without a
    usable index by its Query, as many at a time; with the lone items' day content (``views``:
    the request's, else read for this call)."""
    view = (views or DayViews(client, table))(days)

    def strong(day: date) -> bool:
        return consistent or view.consistent(day)

    # The marker of the first index write rides with the first day's keys (strongly consistent
    # when that day is: it is put once and never changes, so either read is right once it
    # exists).
    head_keys = {d: [(day_pk(d), SALES_SK), day_index.index_key(d)] for d in days}
    if days:
        head_keys[days[0]].append(day_index.SINCE_KEY)
    heads = _get(client, table, head_keys, strong)
    marker = heads.pop(day_index.SINCE_KEY, None)
    listed = {d: day_index.listed(heads.get(day_index.index_key(d)), marker) for d in days}
    named = {
        d: [(day_pk(d), sk) for sk in sort_keys if not sk.startswith(DAY_PART) or view.counts(sk)]
        for d, sort_keys in listed.items()
        if sort_keys is not None
    }
    unindexed = [d for d in days if listed[d] is None]

    def query(day: date) -> list[dict[str, Any]]:
        return list(_query(client, table, day, SORT_PREFIX, strong(day)))

    # The named items and the other days' Queries side by side.
    reads: list[Callable[[], Any]] = [
        lambda: _get(client, table, named, strong),
        lambda: parallel_map(query, unindexed, workers=READ_PARALLELISM),
    ]
    items, found_by_query = parallel_map(lambda read: read(), reads, workers=2)
    queried = dict(zip(unindexed, found_by_query, strict=True))
    items.update(heads)
    sales_of: list[dict[str, Any]] = []
    sets_of: list[DaySets] = []
    for day in days:
        if day in queried:
            day_items = queried[day]
        else:
            keys = [(day_pk(day), SALES_SK), *named[day]]
            day_items = [items[k] for k in keys if k in items]
        sales, sets = _count(day_items, view)
        unfolded = view.of(day)
        add_counters(sales, unfolded.sales)
        _join(sets, unfolded.members)
        sales_of.append(sales)
        sets_of.append(sets)
    return sales_of, sets_of


def _sales_keys(day: date, view: DayView) -> list[Key]:
    """The items that hold a day's sales counters: its ``SALES``, and the first ``DP#`` item
    (the one with the counters) of each claim day around it whose lone content has been folded
    (:func:`~backend.adapters.stock_in.claim_days_of`)."""
    return [
        (day_pk(day), SALES_SK),
        *(
            (day_pk(day), f"{DAY_PART}{claim_day.isoformat()}#0")
            for claim_day in claim_days_of(day)
            if view.counts_claim_day(claim_day)
        ),
    ]


def read_sales(
    client: DynamoDBClient, table: str, days: Sequence[date], *, views: DayViews | None = None
) -> dict[date, dict[str, Any]]:
    """The sales counters of each day that has any: its ``SALES``, its lone items' day content
    (folded: the counters of the ``DP#`` items, by key; or not yet: ``views``, the request's,
    else read for this call), in ``BatchGetItem`` calls of 100 keys, :data:`READ_PARALLELISM`
    side by side (strongly consistent for the days near the watermark: DayView.consistent)."""
    view = (views or DayViews(client, table))(days)
    keys = {day: _sales_keys(day, view) for day in days}
    items: dict[Any, dict[str, Any]] = {}
    for consistent in (False, True):
        wanted = [k for day in days if view.consistent(day) is consistent for k in keys[day]]
        if wanted:
            items.update(batch_get(client, table, wanted, consistent=consistent, parallel=READ_PARALLELISM))
    found: dict[date, dict[str, Any]] = {}
    for day in days:
        sales: dict[str, Any] = {}
        for item_key in keys[day]:
            item = items.get(item_key)
            if item is not None:
                add_counters(sales, _fields(item) if item_key[1] == SALES_SK else part_sales(item))
        add_counters(sales, view.of(day).sales)
        if sales:
            found[day] = sales
    return found


def group(memberships: Mapping[str, Mapping[date, set[str]]]) -> dict[date, dict[str, set[str]]]:
    """Customer -> day -> sets, turned into day -> set -> customers."""
    per_day: dict[date, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for customer, days in memberships.items():
        for day, names in days.items():
            for name in names:
                per_day[day][name].add(customer)
    return per_day
