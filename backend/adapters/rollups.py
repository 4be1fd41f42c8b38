"""Reading day and month rollups: one key per day, month or stamp, never a scan.

A month's rollup (``MONTH#<YYYY-MM>``/``ROLLUP``, written by the ``rollups`` job, see
:mod:`backend.processing.rollups`) holds the month's days folded into one compressed value
(:mod:`backend.domain.rollups`) and ``covered``, the month's change stamp (``MONTHS``/
``<YYYY-MM>``, ``v``; 0 when it has none) read before its days were. The job folds only months
that closed more than the clocks' margin ago, and the writers of the days bump a closed month's
stamp after each write (:func:`backend.adapters.dynamo.touch_months`), so a rollup is current
exactly while ``covered`` equals the stamp; otherwise the month is read day by day, as if it had
no rollup. A value too large for one item is split over ``ROLLUP``, ``ROLLUP#1``, ... (``parts``).

A month written only while it was open has no stamp: the job folds it once all the same, as one
of the months after the last it swept (``SWEPT``/``<job>``, ``through``: :func:`swept_through`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from backend.adapters import customer_days
from backend.adapters.dynamo import (
    DAY_PART,
    DAY_SKU_PREFIX,
    MONTHS_PK,
    batch_get,
    day_pk,
    query_partition,
    sku_lines,
)
from backend.adapters.parallel import READ_PARALLELISM, parallel_map
from backend.adapters.stock_in import DayView, DayViews
from backend.domain import cohorts, rollups
from backend.domain.calendar import days as days_between
from backend.domain.products import SkuSales
from backend.domain.rollups import first_unswept

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

# The largest piece of a rollup value in one item (DynamoDB's item limit is 400 KB).
PART_BYTES = 350_000

DaySales = dict[str, Any]
DaySets = customer_days.DaySets

#: A month rollup's first item, ``MONTH#<YYYY-MM>``/``ROLLUP`` (its further parts ``ROLLUP#<i>``).
ROLLUP_SK = "ROLLUP"
#: How far a job has folded every month: ``SWEPT``/``<job>``, ``through`` = ``YYYY-MM``.
SWEPT_PK = "SWEPT"
ROLLUPS_JOB = "rollups"


def month_pk(month: str) -> str:
    """A month's folds: its rollup (``ROLLUP``, ``ROLLUP#<i>``) and its pairs (``PAIRS``)."""
    return f"MONTH#{month}"


def part_sk(index: int) -> str:
    return ROLLUP_SK if index == 0 else f"{ROLLUP_SK}#{index}"


def rollup_items(
    month: str, rollup: rollups.MonthRollup, covered: int, days: int, computed_at: str
) -> list[dict[str, Any]]:
    """The items that hold a month's rollup, computed at change stamp ``covered``: the first
    (``ROLLUP``) last, so that a reader who finds it finds its other parts. Every part carries
    ``computed_at``: parts of different computations are never read as one."""
    blob = rollups.encode(rollup)
    pieces = [blob[start : start + PART_BYTES] for start in range(0, len(blob), PART_BYTES)] or [b""]
    items: list[dict[str, Any]] = []
    for index, piece in enumerate(pieces):
        item: dict[str, Any] = {
            "pk": month_pk(month),
            "sk": part_sk(index),
            "blob": piece,
            "computed_at": computed_at,
        }
        if index == 0:
            item.update({"covered": covered, "parts": len(pieces), "days": days})
        items.append(item)
    return items[1:] + items[:1]


def _blob(value: Any) -> bytes:
    return bytes(getattr(value, "value", value))


def day_rollups(
    client: DynamoDBClient,
    table: str,
    days: Sequence[date],
    *,
    consistent: bool = False,
    views: DayViews | None = None,
) -> tuple[list[DaySales], list[DaySets]]:
    """The sales counters and the customer sets of each day (absent days are empty; ``views``:
    the request's view of the lone items, else read for this call)."""
    return customer_days.read_days(client, table, days, consistent=consistent, views=views)


def month_stamps(
    client: DynamoDBClient, table: str, months: Sequence[str], *, consistent: bool = False
) -> dict[str, int]:
    """The change stamp of each month (0 for a month never written since stamps exist)."""
    items = batch_get(client, table, [(MONTHS_PK, m) for m in months], consistent=consistent)
    return {m: int(items.get((MONTHS_PK, m), {}).get("v", 0)) for m in months}


def swept_through(client: DynamoDBClient, table: str, job: str) -> str | None:
    """The last month ``job`` folded together with every month before it (``None``: never)."""
    items = batch_get(client, table, [(SWEPT_PK, job)], consistent=True)
    item = items.get((SWEPT_PK, job))
    return None if item is None else str(item["through"])


def set_swept_through(client: DynamoDBClient, table: str, job: str, month: str) -> None:
    client.put_item(
        TableName=table,
        Item={"pk": {"S": SWEPT_PK}, "sk": {"S": job}, "through": {"S": month}},
    )


def day_sku_sales(
    client: DynamoDBClient,
    table: str,
    days: Sequence[date],
    *,
    consistent: bool = False,
    views: DayViews | None = None,
) -> dict[date, dict[str, SkuSales]]:
    """Units and line revenue per SKU of each day that has any: the sum of each day's part items
    (``SKUP#``), the counter shards of older releases (``SKUS#<n>``) and its lone items' day
    content (folded: ``DP#`` items; or not yet: ``views``, the request's, else read for this
    call), one Query per day (sort keys ``DP#`` to ``SKU~``: the day's ``SALES`` comes along and
    is skipped), :data:`READ_PARALLELISM` at a time."""
    view = (views or DayViews(client, table))(days)
    found = parallel_map(
        lambda day: _day_skus(client, table, day, consistent or view.consistent(day), view),
        days,
        workers=READ_PARALLELISM,
    )
    return {day: skus for day, skus in zip(days, found, strict=True) if skus}


def _day_skus(
    client: DynamoDBClient, table: str, day: date, consistent: bool, view: DayView
) -> dict[str, SkuSales]:
    items = query_partition(
        client,
        table,
        day_pk(day),
        KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
        ExpressionAttributeValues={
            ":pk": {"S": day_pk(day)},
            ":low": {"S": DAY_PART},
            ":high": {"S": f"{DAY_SKU_PREFIX}~"},
        },
        ConsistentRead=consistent,
    )
    # The unfolded lines come merged per SKU (DayView.of): the items' lines are added to them.
    sold = {sku: SkuSales(units, revenue) for sku, units, revenue in view.of(day).lines}
    for item in items:
        if item["sk"] == customer_days.SALES_SK or (
            item["sk"].startswith(DAY_PART) and not view.counts(item["sk"])
        ):
            continue
        for sku, units, revenue in sku_lines(item):
            before = sold.get(sku)
            sold[sku] = (
                SkuSales(units, revenue)
                if before is None
                else SkuSales(before.units + units, before.revenue + revenue)
            )
    return dict(sorted(sold.items()))


def _month_keys(months: Sequence[str]) -> list[tuple[str, str]]:
    return [(MONTHS_PK, m) for m in months] + [(month_pk(m), ROLLUP_SK) for m in months]


def _current(
    client: DynamoDBClient, table: str, months: Sequence[str], items: dict[Any, dict[str, Any]]
) -> tuple[dict[str, rollups.MonthRollup], list[str]]:
    """The months whose rollup is current (decoded) and the others, from the stamps and first
    parts in ``items``; further parts of large rollups are read here."""
    heads: dict[str, dict[str, Any]] = {}
    stale: list[str] = []
    for month in months:
        head = items.get((month_pk(month), ROLLUP_SK))
        stamp = int(items.get((MONTHS_PK, month), {}).get("v", 0))
        if head is not None and int(head.get("covered", -1)) == stamp:
            heads[month] = head
        else:
            stale.append(month)
    more = [(month_pk(m), part_sk(i)) for m, head in heads.items() for i in range(1, int(head["parts"]))]
    parts = batch_get(client, table, more, parallel=READ_PARALLELISM) if more else {}
    current: dict[str, rollups.MonthRollup] = {}
    for month, head in heads.items():
        pieces = [head] + [parts.get((month_pk(month), part_sk(i)), {}) for i in range(1, int(head["parts"]))]
        if any(p.get("computed_at") != head["computed_at"] for p in pieces):
            stale.append(month)  # rewritten while we read (a forced recomputation): use the days
            continue
        current[month] = rollups.decode(b"".join(_blob(p["blob"]) for p in pieces))
    return current, stale


def _days_of_months(months: Sequence[str]) -> list[date]:
    return [d for m in months for d in days_between(*rollups.month_days(m))]


def range_rollups(
    client: DynamoDBClient, table: str, start: date, end: date, *, views: DayViews | None = None
) -> tuple[list[DaySales], list[DaySets]]:
    """The days of ``start``..``end`` as :func:`day_rollups` gives them, except that each whole
    month with a current rollup comes as one entry in their place (same figures, fewer items).

    One BatchGetItem round for the stamps and rollups of the whole months, beside the edge
    days' two (their ``SALES`` and indexes, then the items these name:
    :func:`~backend.adapters.customer_days.read_days`); more only for the days of months without
    a current rollup (and the further parts of rollups too large for one item). The lone items
    are read once for both (``views``: the request's, else read for this call).
    """
    views = views or DayViews(client, table)
    months, edges = rollups.split(start, end)
    # The months' items and the edge days' items in separate requests, side by side: large
    # rollups in one request with many set-holding day items make that request much slower (in
    # moto, which sizes the answer item by item), and nothing is gained by mixing them.
    reads: list[Callable[[], Any]] = [
        lambda: batch_get(client, table, _month_keys(months)),
        lambda: day_rollups(client, table, edges, views=views),
    ]
    items, (sales, customers) = parallel_map(lambda read: read(), reads, workers=2)
    current, stale = _current(client, table, months, items)
    if stale:
        stale_sales, stale_customers = day_rollups(client, table, _days_of_months(stale), views=views)
        sales += stale_sales
        customers += stale_customers
    for rollup in current.values():
        month_sales, month_sets = rollups.as_day(rollup)
        sales.append(month_sales)
        customers.append(month_sets)
    return sales, customers


def range_sku_sales(
    client: DynamoDBClient, table: str, start: date, end: date, *, views: DayViews | None = None
) -> list[dict[str, SkuSales]]:
    """Units and line revenue per SKU of ``start``..``end``: one entry per day with sales, or per
    whole month with a current rollup in place of its days (their sum is the range's)."""
    months, edges = rollups.split(start, end)
    current, stale = _current(client, table, months, batch_get(client, table, _month_keys(months)))
    by_day = day_sku_sales(client, table, [*edges, *_days_of_months(stale)], views=views)
    return list(by_day.values()) + [
        {sku: SkuSales(units, revenue) for sku, (units, revenue) in rollup.skus.items()}
        for rollup in current.values()
    ]


def month_customers(
    client: DynamoDBClient, table: str, first: str, today: date, *, views: DayViews | None = None
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """``N`` and ``C`` of every month from ``first`` to the month of ``today`` (what cohorts
    are made of, :func:`backend.domain.cohorts.cohort_rows`), from each month's current rollup
    or else its days up to ``today``.

    A month with neither a rollup nor a change stamp, before the first one the rollups job has
    not swept (:func:`first_unswept`), has had no day written (a write to a closed month bumps
    its stamp, and the job rolled up every swept month), so its days are not read: a cohort
    table of two years on a young store reads only the months that have orders, and the months
    still open.
    """
    last = rollups.month_of(today)
    if first > last:
        return {}, {}
    months = [cohorts.add_months(first, k) for k in range(cohorts.months_between(first, last) + 1)]
    items = batch_get(client, table, [*_month_keys(months), (SWEPT_PK, ROLLUPS_JOB)])
    current, stale = _current(client, table, months, items)
    swept = items.get((SWEPT_PK, ROLLUPS_JOB))
    unswept = first_unswept(None if swept is None else str(swept["through"]))
    written = [
        m for m in stale if (MONTHS_PK, m) in items or (month_pk(m), ROLLUP_SK) in items or m >= unswept
    ]
    days = [d for d in _days_of_months(written) if d <= today]
    _, sets = day_rollups(client, table, days, views=views)
    by_month: dict[str, list[DaySets]] = {}
    for day, day_sets in zip(days, sets, strict=True):
        by_month.setdefault(rollups.month_of(day), []).append(day_sets)
    for month, month_sets in by_month.items():
        current[month] = rollups.fold((), month_sets)
    return (
        {m: r.new for m, r in current.items() if r.new},
        {m: r.customers for m, r in current.items() if r.customers},
    )
