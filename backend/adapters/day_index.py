"""A store day's index of its member items, so a reader fetches them by key instead of a Query.

A day's customer-set members are in items keyed by their content (``CB#<digest>``,
:mod:`backend.adapters.customer_days`) and in the folded lone content (``DP#<claim day>#<i>``,
:func:`backend.adapters.stock_in.fold_day`); their keys cannot be known beforehand, so each day
took a ``Query`` of its own, and a 365-day summary's 31 edge days 31 requests. Now every writer
of such items, **after** putting them, adds their sort keys to the day's index item
``DAY#<day>``/``~ITEMS`` (string set ``k``, an ``ADD``: idempotent, commutative), before it
stamps the month. A reader gets the days' ``SALES`` and indexes in one ``BatchGetItem`` and the
items listed in another, for any number of days.

- **Items of earlier releases.** The first writer of a day that has no index yet lists the day's
  member items already there (a keys-only Query of ``CB#``..``SALES``, strongly consistent: the
  ``CB#`` and ``DP#`` items and the single ``CUSTOMERS`` item of older releases) into it with
  its own. A day nobody has written since has no index and is read by its Query, as before.
- **Bounded.** An index lists at most :data:`MAX_KEYS` keys (under 1 KB: one write unit per
  update); a day with more items is marked ``full`` and read by its Query. So no index grows with
  the day's customers. A writer reads the index first (one read unit): keys already named (a
  redelivery) or a full day cost no write.
- **A crash** between the items and the index leaves items the index does not name: the
  batch's redelivery puts the batch's memberships again (the same items, or others holding the
  same facts as they stand then) and names those, before the month's stamp moves.
- **The deploy that brings the index.** A function of the older release still running then puts
  member items without naming them, in a day whose index the new release may have created. So
  the first index write ever puts the store-wide marker ``INDEX``/``SINCE`` (``at``: its
  writer's clock, put once), each index records ``c``, when it was created or last listed, and
  a reader trusts an index only when ``c >= at +`` :data:`MARGIN`, after which no older writer
  runs; an index created earlier is listed again (the keys-only Query) by its first writer past
  that time, and read by its Query until then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from backend.adapters.dynamo import DAY_PART, batch_get, day_pk, key, query_partition
from backend.domain.rollups import CLOCK_MARGIN

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

#: The index item's sort key: sorts after every other item of a day, so no reader's range of
#: sort keys (``CB#``..``SALES``, ``DP#``..``SKU~``) meets it.
INDEX_SK = "~ITEMS"
KEYS = "k"
FULL = "full"
#: The most sort keys one index lists (about 25 bytes each: the item stays under 1 KB).
MAX_KEYS = 36
DAY_PREFIX = "DAY#"
#: The items an index names: the day's customer-set items, whichever release wrote them.
MEMBER_PREFIXES = ("CB#", "CUSTOMERS", DAY_PART)
#: When the index was created or last listed (the writer's clock, seconds since the epoch).
LISTED_AT = "c"
#: The store-wide marker of the first index write ever: ``at``, its writer's clock.
SINCE_KEY = ("INDEX", "SINCE")
SINCE_AT = "at"
#: How long after the first index write an older release's writer may still put member items
#: without naming them: the deploy that brings the index (every function updated: minutes; an
#: hour is ample) and the longest function timeout (the orders processor's 60 s) after it, on
#: two clocks each within CLOCK_MARGIN of the true time (the marker's writer's and the index's).
MARGIN = 2 * CLOCK_MARGIN + timedelta(hours=1)


def index_key(day: date) -> tuple[str, str]:
    return (day_pk(day), INDEX_SK)


def names(sort_key: str) -> bool:
    """Whether an index lists an item of this sort key."""
    return sort_key.startswith(MEMBER_PREFIXES)


def name_day_items(
    client: DynamoDBClient, table: str, items: Iterable[Mapping[str, Any]], *, now: float
) -> None:
    """Name the day member items among these in their days' indexes; call it after they are
    put (``now``: the writer's clock, seconds since the epoch). The days' indexes and the
    marker are read in one strongly consistent ``BatchGetItem`` (a history batch touches
    hundreds of days), then each day is listed or added to."""
    by_day = sort_keys_by_day(items)
    if not by_day:
        return
    got = batch_get(client, table, [*(index_key(day) for day in by_day), SINCE_KEY], consistent=True)
    since = _since(got.get(SINCE_KEY))
    for day, wanted in sorted(by_day.items()):
        found = got.get(index_key(day))
        if found is not None and FULL in found:
            continue
        if since is None:
            since = _put_since(client, table, int(now))
        _add_to_day(client, table, day, wanted, int(now), found, since)


def sort_keys_by_day(items: Iterable[Mapping[str, Any]]) -> dict[date, list[str]]:
    """The sort keys of these items that a day's index names, by store day.

    >>> sort_keys_by_day([{"pk": "DAY#2025-01-02", "sk": "CB#ab"}, {"pk": "DAY#2025-01-02", "sk": "SKUP#0"}])
    {datetime.date(2025, 1, 2): ['CB#ab']}
    """
    found: dict[date, set[str]] = defaultdict(set)
    for item in items:
        pk, sk = str(item["pk"]), str(item["sk"])
        if pk.startswith(DAY_PREFIX) and names(sk):
            found[date.fromisoformat(pk.removeprefix(DAY_PREFIX))].add(sk)
    return {day: sorted(sort_keys) for day, sort_keys in found.items()}


def _add_to_day(
    client: DynamoDBClient,
    table: str,
    day: date,
    wanted: list[str],
    now: int,
    found: Mapping[str, Any] | None,
    since: int,
) -> None:
    """Add these keys to the day's index ``found`` (read first: a strongly consistent read costs a
    fifth of a refused conditional write, so a redelivery's keys, already named, cost no write
    at all), listing the day's items when it has none or an older writer may have missed some."""
    stale = found is not None and not _trusted(found, since) and now >= since + _margin()
    if found is None or stale:  # the day's first index, or one an older writer may have missed
        wanted = sorted({*wanted, *_items_of(client, table, day)})
    known = set() if found is None else {str(sort_key) for sort_key in found.get(KEYS, ())}
    if found is not None and not stale and known.issuperset(wanted):
        return
    if len(known | set(wanted)) > MAX_KEYS:
        client.update_item(
            TableName=table,
            Key=key(*index_key(day)),
            UpdateExpression="SET #full = :full REMOVE #k",
            ExpressionAttributeNames={"#k": KEYS, "#full": FULL},
            ExpressionAttributeValues={":full": {"BOOL": True}},
        )
        return
    # A union: writers racing here each add theirs (a few keys over the bound at most), and a
    # day marked full meanwhile stays full (readers check that first). A listing again moves
    # ``c``: the day's items were all listed at ``now``.
    listed_at = "#c = :now" if stale else "#c = if_not_exists(#c, :now)"
    client.update_item(
        TableName=table,
        Key=key(*index_key(day)),
        UpdateExpression=f"ADD #k :k SET {listed_at}",
        ExpressionAttributeNames={"#k": KEYS, "#c": LISTED_AT},
        ExpressionAttributeValues={":k": {"SS": wanted}, ":now": {"N": str(now)}},
    )


def _margin() -> int:
    return int(MARGIN.total_seconds())


def _since(marker: Mapping[str, Any] | None) -> int | None:
    return None if marker is None else int(marker[SINCE_AT])


def _put_since(client: DynamoDBClient, table: str, now: int) -> int:
    """Put the marker of the first index write, or read the one another writer put first."""
    try:
        client.put_item(
            TableName=table,
            Item={**key(*SINCE_KEY), SINCE_AT: {"N": str(now)}},
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return int(batch_get(client, table, [SINCE_KEY], consistent=True)[SINCE_KEY][SINCE_AT])
    return now


def _trusted(index: Mapping[str, Any], since: int | None) -> bool:
    """Whether the index was created or listed after every older release's writer stopped."""
    return since is not None and LISTED_AT in index and int(index[LISTED_AT]) >= since + _margin()


def _items_of(client: DynamoDBClient, table: str, day: date) -> list[str]:
    """The sort keys of the day's member items (keys only, strongly consistent)."""
    return [
        str(item["sk"])
        for item in query_partition(
            client,
            table,
            day_pk(day),
            projection=["sk"],
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": {"S": day_pk(day)},
                ":low": {"S": "CB#"},
                ":high": {"S": "SALES"},
            },
            ConsistentRead=True,
        )
        if names(str(item["sk"]))
    ]


def listed(index: Mapping[str, Any] | None, marker: Mapping[str, Any] | None) -> list[str] | None:
    """The sort keys a day's index item names, or ``None`` when the day must be read by its
    Query (no index: nobody has written its items since indexes exist; ``full``; or not
    trusted yet: created or listed before :data:`MARGIN` after the first index write, the
    ``marker``)."""
    if index is None or FULL in index or not _trusted(index, _since(marker)):
        return None
    return sorted(str(sort_key) for sort_key in index.get(KEYS, ()))
