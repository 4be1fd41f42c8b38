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

A day is read with one ``Query`` of its partition, sort keys ``CB#`` to ``SALES``: the day's
counters (``SALES``), its membership items, and the single ``CUSTOMERS`` item of releases
before this layout, all in one call. Cost: O(days in the range), never a scan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from backend.adapters.dynamo import (
    PACKED_MAX_BYTES,
    batch_put,
    content_keyed_items,
    day_pk,
    members_of,
    query_partition,
)
from backend.adapters.parallel import parallel_map
from backend.domain.customers import SETS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

MEMBERS = "m"
SORT_PREFIX = "CB#"
LEGACY_SK = "CUSTOMERS"
SALES_SK = "SALES"
# The days of a long range are queried this many at a time.
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


def write(client: DynamoDBClient, table: str, per_day: Mapping[date, Mapping[str, set[str]]]) -> None:
    """Record these memberships (plain puts: idempotent, in any order)."""
    batch_put(client, table, membership_items(per_day))


def _day(client: DynamoDBClient, table: str, day: date, consistent: bool) -> tuple[dict[str, Any], DaySets]:
    sales: dict[str, Any] = {}
    sets: DaySets = {name: set() for name in SETS}
    items = query_partition(
        client,
        table,
        day_pk(day),
        KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
        ExpressionAttributeValues={
            ":pk": {"S": day_pk(day)},
            ":low": {"S": SORT_PREFIX},
            ":high": {"S": SALES_SK},
        },
        ConsistentRead=consistent,
    )
    for item in items:
        if item["sk"] == SALES_SK:
            sales = {name: value for name, value in item.items() if name not in ("pk", "sk")}
        elif item["sk"] == LEGACY_SK:
            for name in SETS:
                sets[name].update(str(c) for c in item.get(name, ()))
        elif item["sk"].startswith(SORT_PREFIX):
            for member in members_of(item, MEMBERS):
                name, _, customer = str(member).partition(":")
                sets[name].add(customer)
    return sales, sets


def read_days(
    client: DynamoDBClient, table: str, days: Sequence[date], *, consistent: bool = False
) -> tuple[list[dict[str, Any]], list[DaySets]]:
    """The sales counters and the ``C``/``P``/``M`` sets of each day (absent days are empty),
    one query per day, :data:`READ_PARALLELISM` at a time."""
    found = parallel_map(lambda d: _day(client, table, d, consistent), days, workers=READ_PARALLELISM)
    return [sales for sales, _ in found], [sets for _, sets in found]


def group(memberships: Mapping[str, Mapping[date, set[str]]]) -> dict[date, dict[str, set[str]]]:
    """Customer -> day -> sets, turned into day -> set -> customers."""
    per_day: dict[date, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for customer, days in memberships.items():
        for day, names in days.items():
            for name in names:
                per_day[day][name].add(customer)
    return per_day
