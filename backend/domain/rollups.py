"""Month rollups: a calendar month's day rollups folded into one value (pure).

A range's summary needs, per day, the sales counters and the customer sets ``C``, ``P``, ``M``
of :mod:`backend.domain.customers`. Over a whole month the same figures follow from:

- the sums of the days' counters;
- ``C`` — the union of the days' ``C`` (customers with an order in the month);
- ``N`` — the union of ``C_d \\ P_d`` (customers whose first order ever is in the month);
- ``R`` — the union of ``P_d ∪ M_d`` (customers with an order in the month that is not their
  first).

:func:`as_day` gives a month back in the shape of one day with ``N`` and ``R`` given, so
:func:`backend.domain.metrics.summarize` takes months and days side by side and computes exactly
what it computes from the month's days: the unions of ``C``, of ``C_d \\ P_d`` and of
``P_d ∪ M_d`` over the range are the unions of the months' ``C``, ``N``, ``R`` and of the edge
days' own. A range is split by :func:`split` into its whole months and the days at its two edges.

When a month counts as closed, for the writers' change stamps and for the jobs that fold months
(:func:`stamp_due`, :func:`closed`), is here too: docs/architecture.md, "Month rollups", says why
the two rules keep a fold from being taken for current when it is not.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from backend.domain.cohorts import add_months

FORMAT = 2
_MONTH = re.compile(r"\d{4}-\d{2}")


@dataclass
class MonthRollup:
    """What a month's days add up to: counters, customer sets and sales per SKU."""

    sales: dict[str, Decimal] = field(default_factory=dict)
    customers: set[str] = field(default_factory=set)
    new: set[str] = field(default_factory=set)
    repeat: set[str] = field(default_factory=set)
    skus: dict[str, tuple[int, Decimal]] = field(default_factory=dict)


def month_of(day: date) -> str:
    """``YYYY-MM`` of a day.

    >>> month_of(date(2025, 3, 9))
    '2025-03'
    """
    return f"{day.year:04d}-{day.month:02d}"


def month_days(month: str) -> tuple[date, date]:
    """First and last day of a ``YYYY-MM`` month.

    >>> month_days("2024-02")
    (datetime.date(2024, 2, 1), datetime.date(2024, 2, 29))
    """
    try:
        if not _MONTH.fullmatch(month):
            raise ValueError
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ValueError(f"not a month (YYYY-MM): {month!r}") from None
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


#: How far apart the clocks of a writer and a job may be trusted to be from the true time: a
#: writer stamps a month from this long before it ends, a job folds it only this long after.
CLOCK_MARGIN = timedelta(hours=1)
#: A writer that does not know the store's zone takes the earliest any zone's month ends: its
#: last day's UTC midnight minus 14 hours (UTC+14, Kiribati).
EARLIEST_OFFSET = timedelta(hours=14)
#: Until the release of December 2026 (issue 11) every write to a month's days bumped its
#: change stamp; since, only writes to a closed month (:func:`stamp_due`). So a month before
#: this one (November 2026: a month's margin before that release) without a stamp has no data;
#: from this one on, a month written only while it was open has none, and the jobs find it by
#: its key (:func:`months_through` from :func:`first_unswept`).
STAMPED_BEFORE = "2026-11"


def month_end(month: str, zone: tzinfo | None) -> datetime:
    """The instant a month's last store day ends in ``zone`` (``None``: the earliest of any zone).

    >>> month_end("2027-01", UTC).isoformat(), month_end("2027-01", None).isoformat()
    ('2027-02-01T00:00:00+00:00', '2027-01-31T10:00:00+00:00')
    """
    following = month_days(month)[1] + timedelta(days=1)
    if zone is None:
        return datetime.combine(following, time(), UTC) - EARLIEST_OFFSET
    return datetime.combine(following, time(), zone).astimezone(UTC)


def stamp_due(month: str, now: datetime, zone: tzinfo | None = None) -> bool:
    """Whether a writer that wrote to ``month``'s days and then read ``now`` off its clock must
    bump the month's change stamp: the month has ended, or ends within :data:`CLOCK_MARGIN`
    (in ``zone``; ``None``: in the earliest zone, which stamps a few hours more, never fewer).

    >>> end = datetime(2027, 2, 1, tzinfo=UTC)
    >>> [stamp_due("2027-01", end - timedelta(minutes=m), UTC) for m in (61, 60, 0)]
    [False, True, True]
    """
    return now >= month_end(month, zone) - CLOCK_MARGIN


def closed(month: str, now: datetime, zone: tzinfo) -> bool:
    """Whether a job whose clock reads ``now`` may fold ``month``: it ended in the store's
    ``zone`` more than :data:`CLOCK_MARGIN` ago.

    >>> end = datetime(2027, 2, 1, tzinfo=UTC)
    >>> [closed("2027-01", end + timedelta(minutes=m), UTC) for m in (59, 61)]
    [False, True]
    """
    return now > month_end(month, zone) + CLOCK_MARGIN


def months_through(first: str, now: datetime, zone: tzinfo) -> list[str]:
    """The months from ``first`` to the last one :func:`closed` at ``now`` (none if that is
    before ``first``).

    >>> months_through("2026-11", datetime(2027, 1, 1, 1, 1, tzinfo=UTC), UTC)
    ['2026-11', '2026-12']
    """
    found: list[str] = []
    month = first
    while closed(month, now, zone):
        found.append(month)
        month = add_months(month, 1)
    return found


def first_unswept(through: str | None) -> str:
    """The first month that may hold days written only while it was open and not folded yet:
    the month after the last one swept, and never before :data:`STAMPED_BEFORE`.

    >>> first_unswept(None), first_unswept("2025-04"), first_unswept("2027-01")
    ('2026-11', '2026-11', '2027-02')
    """
    following = add_months(through, 1) if through else STAMPED_BEFORE
    return max(following, STAMPED_BEFORE)


def to_sweep(through: str | None, now: datetime, zone: tzinfo) -> list[str]:
    """The months a job that folds closed months sweeps at ``now``, given the last month it
    swept (``through``): from :func:`first_unswept` to the last :func:`closed` one.

    >>> to_sweep("2026-11", datetime(2027, 1, 1, 1, 1, tzinfo=UTC), UTC)
    ['2026-12']
    """
    return months_through(first_unswept(through), now, zone)


def split(start: date, end: date) -> tuple[list[str], list[date]]:
    """The whole months inside ``start``..``end`` and the days outside them.

    >>> months, edges = split(date(2025, 1, 30), date(2025, 4, 2))
    >>> months, [d.isoformat() for d in edges]
    (['2025-02', '2025-03'], ['2025-01-30', '2025-01-31', '2025-04-01', '2025-04-02'])
    """
    months: list[str] = []
    edges: list[date] = []
    day = start
    while day <= end:
        first, last = month_days(month_of(day))
        if day == first and last <= end:
            months.append(month_of(day))
            day = last + timedelta(days=1)
        else:
            edges.append(day)
            day += timedelta(days=1)
    return months, edges


def fold(
    day_sales: Iterable[Mapping[str, Any]],
    day_customers: Iterable[Mapping[str, set[str]]],
    day_skus: Iterable[Mapping[str, tuple[int, Decimal]]] = (),
) -> MonthRollup:
    """Fold days (counters, ``C``/``P``/``M`` sets, per-SKU units and revenue) into one rollup.

    >>> r = fold([{"orders": Decimal(2)}, {"orders": Decimal(1)}],
    ...          [{"C": {"a", "b"}, "P": {"b"}}, {"C": {"a"}, "P": {"a"}}])
    >>> r.sales["orders"], sorted(r.customers), sorted(r.new), sorted(r.repeat)
    (Decimal('3'), ['a', 'b'], ['a'], ['a', 'b'])
    """
    rollup = MonthRollup()
    for counters in day_sales:
        for name, value in counters.items():
            rollup.sales[name] = rollup.sales.get(name, Decimal(0)) + Decimal(value)
    for sets in day_customers:
        ordered = set(sets.get("C", ()))
        earlier = set(sets.get("P", ()))
        rollup.customers |= ordered
        rollup.new |= ordered - earlier
        rollup.repeat |= earlier | set(sets.get("M", ()))
    for skus in day_skus:
        for sku, (units, revenue) in skus.items():
            had_units, had_revenue = rollup.skus.get(sku, (0, Decimal(0)))
            rollup.skus[sku] = (had_units + units, had_revenue + revenue)
    return rollup


def as_day(rollup: MonthRollup) -> tuple[dict[str, Decimal], dict[str, set[str]]]:
    """The month in the shape of one day's counters and customer sets, for
    :func:`backend.domain.metrics.summarize`: ``C``, and ``N`` and ``R`` given directly (a day
    gives ``C``, ``P``, ``M``, from which ``N = C \\ P`` and ``R = P ∪ M``)."""
    return dict(rollup.sales), {"C": rollup.customers, "N": rollup.new, "R": rollup.repeat}


def encode(rollup: MonthRollup) -> bytes:
    """Compressed JSON of a rollup; money and counters as decimal strings, sets sorted."""
    # Each customer of the month once, in one of three disjoint lists: new and not repeat,
    # both, repeat and not new (N ∪ R = C: an order is a customer's first or it is not).
    document = {
        "format": FORMAT,
        "sales": {name: str(value) for name, value in sorted(rollup.sales.items())},
        "new_only": sorted(rollup.new - rollup.repeat),
        "new_repeat": sorted(rollup.new & rollup.repeat),
        "repeat_only": sorted(rollup.repeat - rollup.new),
        "skus": {sku: [units, str(revenue)] for sku, (units, revenue) in sorted(rollup.skus.items())},
    }
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 6)


def decode(blob: bytes) -> MonthRollup:
    """The rollup :func:`encode` wrote.

    >>> r = fold([{"gross_sales": Decimal("10.50")}], [{"C": {"a"}}], [{"S1": (2, Decimal("10.50"))}])
    >>> decode(encode(r)) == r
    True
    """
    document = json.loads(zlib.decompress(blob))
    if document.get("format") != FORMAT:
        raise ValueError(f"unknown month rollup format {document.get('format')!r}")
    both = document["new_repeat"]
    new = set(document["new_only"])
    new.update(both)
    repeat = set(document["repeat_only"])
    repeat.update(both)
    return MonthRollup(
        sales={name: Decimal(value) for name, value in document["sales"].items()},
        customers=new | repeat,
        new=new,
        repeat=repeat,
        skus={sku: (int(units), Decimal(revenue)) for sku, (units, revenue) in document["skus"].items()},
    )
