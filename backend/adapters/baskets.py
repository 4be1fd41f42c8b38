"""Baskets and their pair counts in the analytics table: what ``/products/pairs`` reads.

The items (baskets in the parts' ``DAY#<date>``/``SKUP#<part>#<i>`` items, in ``BK#<digest>``
items until December 2026, and those of lone orders in their stock-in items until the fold puts
them into ``DP#<claim day>#<i>`` items; ``BT#PAIRS`` day folds, ``MONTH#<m>``/``PAIRS``
month folds) are in docs/architecture.md, "The analytics table"; how a fold stays exact under
late orders (its ``covered`` stamp, ``upto``): docs/insights.md, "How it is kept"; the counts
are :mod:`backend.domain.together`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from backend.adapters.dynamo import (
    DAY_PART,
    DAY_SKU_PART,
    PACKED_MAX_BYTES,
    PART_BASKETS,
    batch_get,
    content_keyed_items,
    day_pk,
    members_of,
    query_partition,
    to_ddb,
    unpack,
)
from backend.adapters.parallel import READ_PARALLELISM, parallel_map
from backend.adapters.rollups import month_pk, month_stamps
from backend.adapters.stock_in import DayView, DayViews, day_view
from backend.domain import rollups
from backend.domain.calendar import days as days_between
from backend.domain.rollups import STAMPED_BEFORE, month_of
from backend.domain.together import Basket, PairCounts

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

BASKET_PREFIX = "BK#"
#: A basket item's baskets: packed (``z``), or this string set in items before December 2026.
BASKETS = "baskets"
DAY_FOLD_SK = "BT#PAIRS"
MONTH_FOLD_SK = "PAIRS"
# A fold larger than this is not written (DynamoDB holds 400 KB per item): readers then fold
# the day's baskets, or the month's days, themselves: slower, never wrong.
MAX_FOLD_BYTES = 350_000


def basket_items(baskets: Iterable[tuple[date, Basket]]) -> list[dict[str, Any]]:
    """The immutable items listing these baskets under their store days.

    >>> items = basket_items([(date(2025, 3, 1), Basket("o1", frozenset({"A", "B"})))])
    >>> items[0]["pk"], items[0]["sk"][:3], members_of(items[0], BASKETS)
    ('DAY#2025-03-01', 'BK#', ['["o1", "A", "B"]'])
    """
    by_day: dict[date, list[str]] = defaultdict(list)
    for day, basket in baskets:
        by_day[day].append(basket.member())
    return [
        item
        for day, members in sorted(by_day.items())
        for item in content_keyed_items(
            members,
            prefix="",
            shards=1,
            attribute=BASKETS,
            max_bytes=PACKED_MAX_BYTES,
            partition=day_pk(day),
            sort_prefix=BASKET_PREFIX,
            packed=True,
        )
    ]


def _baskets_of(
    client: DynamoDBClient, table: str, day: date, view: DayView, *, keys_only: bool = False
) -> dict[str, list[str]]:
    """A day's items that list baskets, by sort key, with their baskets (none when
    ``keys_only``): its parts' SKU items that carry them (``SKUP#``, where the orders processor
    keeps them), the basket items of their own (``BK#``, written until December 2026), the
    folded day content of lone stock-in items that counts (``DP#``), each a Query of the day's
    partition, strongly consistent; and the lone items' baskets not folded yet
    (:meth:`~backend.adapters.stock_in.DayView.basket_keys`)."""
    found: dict[str, list[str]] = {}
    for prefix, projection in (
        (BASKET_PREFIX, ("sk",) if keys_only else ()),
        (DAY_SKU_PART, ("sk", PART_BASKETS)),
        (DAY_PART, ("sk", PART_BASKETS)),
    ):
        for item in query_partition(
            client,
            table,
            day_pk(day),
            projection=projection,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": day_pk(day)}, ":prefix": {"S": prefix}},
            ConsistentRead=True,
        ):
            if prefix == BASKET_PREFIX:
                found[item["sk"]] = [] if keys_only else members_of(item, BASKETS)
            elif PART_BASKETS in item and (prefix == DAY_SKU_PART or view.counts(item["sk"])):
                found[item["sk"]] = unpack(item[PART_BASKETS])
    return {**found, **view.basket_keys(day)}


def day_basket_keys(client: DynamoDBClient, table: str, day: date, view: DayView | None = None) -> set[str]:
    """The sort keys of a day's items that list baskets (keys-only Queries), and the keys of its
    lone items' baskets not folded yet (``view``: read here when not given)."""
    if view is None:
        view = day_view(client, table, [day])
    return set(_baskets_of(client, table, day, view, keys_only=True))


def day_baskets(
    client: DynamoDBClient, table: str, day: date, view: DayView | None = None
) -> tuple[set[str], list[Basket]]:
    """A day's items that list baskets: their keys and every basket they list (``view``: the
    lone items' day content, read here when not given)."""
    if view is None:
        view = day_view(client, table, [day])
    found = _baskets_of(client, table, day, view)
    return set(found), [Basket.from_member(member) for listed in found.values() for member in listed]


def _blob(value: Any) -> bytes:
    return bytes(getattr(value, "value", value))


@dataclass(frozen=True)
class DayPairs:
    """A day's pair counts, the basket items they come from, and whether they come from the
    day's fold at its month's change stamp (``stamped``: nothing to write) or not (current by
    its basket keys, or folded from the baskets by the reader); ``from_fold``: from the day's
    fold, at the stamp or current by its keys."""

    counts: PairCounts
    basket_keys: frozenset[str]
    stamped: bool
    from_fold: bool = False


def at_stamp(fold: Mapping[str, Any], month: str, stamp: int) -> bool:
    """Whether a day fold is current because it was folded at its month's ``stamp``: only a
    fold ``sealed`` (written once its month had closed, whose stamp every later write bumps)
    or one of a month before :data:`~backend.domain.rollups.STAMPED_BEFORE` (every write bumped
    the stamp then). A fold of a month still open has no ``covered``: its basket keys tell."""
    trusted = bool(fold.get("sealed")) or month < STAMPED_BEFORE
    return trusted and "covered" in fold and int(fold["covered"]) == stamp


def day_counts(
    client: DynamoDBClient,
    table: str,
    days: Sequence[date],
    stamps: Mapping[str, int] | None = None,
    *,
    views: DayViews | None = None,
) -> dict[date, DayPairs]:
    """Each day's pair counts: its fold where current, else folded here from its baskets.

    ``stamps`` are the change stamps of the days' months (read here when not given). Cost: the
    folds (batched); a fold not at its month's stamp (:func:`at_stamp`: a month still open has
    none) adds keys-only Queries of the day's basket items, and a day without a current fold
    reads its baskets instead (``SKUP#``, ``BK#``, ``DP#`` and the lone items' baskets not
    folded yet: the watermark's read, and the unfolded claim days for days near it).
    """
    if stamps is None:
        stamps = month_stamps(client, table, sorted({month_of(d) for d in days}))
    folds = batch_get(client, table, [(day_pk(d), DAY_FOLD_SK) for d in days], parallel=READ_PARALLELISM)
    view = (views or DayViews(client, table))(days)

    def one(day: date) -> DayPairs:
        fold = folds.get((day_pk(day), DAY_FOLD_SK))
        if fold is not None:
            folded = frozenset(fold.get("folded", ()))
            if at_stamp(fold, month_of(day), stamps[month_of(day)]):
                return DayPairs(PairCounts.decode(_blob(fold["blob"])), folded, True, True)
            keys = frozenset(day_basket_keys(client, table, day, view))
            if folded == keys:
                return DayPairs(PairCounts.decode(_blob(fold["blob"])), keys, False, True)
        read, found = day_baskets(client, table, day, view)
        return DayPairs(PairCounts.of(found), frozenset(read), False)

    return dict(zip(days, parallel_map(one, days, workers=READ_PARALLELISM), strict=True))


def month_folds(
    client: DynamoDBClient, table: str, months: Sequence[str], stamps: Mapping[str, int] | None = None
) -> tuple[dict[str, PairCounts], list[str]]:
    """The months whose fold is current (decoded), and the others (``stamps``: the months'
    change stamps, read here when not given)."""
    if stamps is None:
        stamps = month_stamps(client, table, months)
    heads = batch_get(client, table, [(month_pk(m), MONTH_FOLD_SK) for m in months])
    current: dict[str, PairCounts] = {}
    stale: list[str] = []
    for month in months:
        head = heads.get((month_pk(month), MONTH_FOLD_SK))
        if head is not None and int(head["covered"]) == stamps[month]:
            current[month] = PairCounts.decode(_blob(head["blob"]))
        else:
            stale.append(month)
    return current, stale


def _so_far(
    client: DynamoDBClient, table: str, runs: Sequence[Sequence[date]], stamps: Mapping[str, int]
) -> tuple[PairCounts, list[date]]:
    """The counts of runs of consecutive days, each inside one month, from the month-so-far
    counts of the folds at their month's stamp (the last day's minus the day's before the
    first); and the days of the runs this cannot answer."""

    def ends(run: Sequence[date]) -> list[date]:
        before = run[0] - timedelta(days=1)
        return [run[-1], *([before] if month_of(before) == month_of(run[0]) else [])]

    folds = batch_get(
        client,
        table,
        [(day_pk(d), DAY_FOLD_SK) for run in runs for d in ends(run)],
        projection=("covered", "upto", "sealed"),
    )
    total = PairCounts()
    rest: list[date] = []
    for run in runs:
        found = [folds.get((day_pk(d), DAY_FOLD_SK)) for d in ends(run)]
        month = month_of(run[0])
        if not all(f is not None and "upto" in f and at_stamp(f, month, stamps[month]) for f in found):
            rest.extend(run)
            continue
        last, *before = [PairCounts.decode(_blob(f["upto"])) for f in found if f is not None]
        total.add(last.minus(before[0]) if before else last)
    return total, rest


def range_counts(
    client: DynamoDBClient, table: str, start: date, end: date, *, views: DayViews | None = None
) -> PairCounts:
    """The pair counts of the orders placed ``start``..``end`` (store days), exactly: whole
    months from their current folds, the other days from the month-so-far counts of current
    folds, else from their own folds or their baskets."""
    months, edges = rollups.split(start, end)
    stamps = month_stamps(client, table, sorted({*months, *(month_of(d) for d in edges)}))
    current, stale = month_folds(client, table, months, stamps)
    total = PairCounts()
    for counts in current.values():
        total.add(counts)
    runs: dict[str, list[date]] = defaultdict(list)
    for edge in edges:
        runs[month_of(edge)].append(edge)
    from_so_far, rest = _so_far(client, table, list(runs.values()), stamps) if runs else (PairCounts(), [])
    total.add(from_so_far)
    stale_days = [d for month in stale for d in days_between(*rollups.month_days(month))]
    for day in day_counts(client, table, [*rest, *stale_days], stamps, views=views).values():
        total.add(day.counts)
    return total


def put_day_fold(
    client: DynamoDBClient,
    table: str,
    day: date,
    found: DayPairs,
    covered: int | None,
    computed_at: str,
    so_far: PairCounts,
) -> bool:
    """Write a day's fold (``BT#PAIRS``) of the counts of the basket items ``found`` lists, read
    after its closed month's change stamp was ``covered`` (``sealed``), with ``so_far``, the
    counts of the month's days up to this one at that stamp (left out when both would not fit in
    an item); whether it was written (not when too large for an item). ``covered`` is ``None``
    for a day of a month still open (no stamp, no ``so_far``: readers check its basket keys). A
    day without orders gets one too, so that readers need not look."""
    item: dict[str, Any] = {"pk": day_pk(day), "sk": DAY_FOLD_SK}
    item["computed_at"] = computed_at
    if found.basket_keys:  # DynamoDB has no empty sets: no attribute is no basket item
        item["folded"] = set(found.basket_keys)
    upto = so_far.encode()
    if covered is not None:
        item.update({"covered": covered, "sealed": True})
        if len(upto) + len(found.counts.encode()) <= MAX_FOLD_BYTES:
            item["upto"] = upto
    return _put_fold(client, table, item, found.counts)


def put_month_fold(
    client: DynamoDBClient, table: str, month: str, counts: PairCounts, covered: int, computed_at: str
) -> bool:
    """Write a closed month's fold, current at change stamp ``covered``; whether it was written."""
    item = {"pk": month_pk(month), "sk": MONTH_FOLD_SK, "covered": covered, "computed_at": computed_at}
    return _put_fold(client, table, item, counts)


def _put_fold(client: DynamoDBClient, table: str, item: dict[str, Any], counts: PairCounts) -> bool:
    blob = counts.encode()
    if len(blob) > MAX_FOLD_BYTES:
        return False
    full = {**item, "blob": blob, "orders": counts.orders}
    client.put_item(TableName=table, Item={name: to_ddb(value) for name, value in full.items()})
    return True
