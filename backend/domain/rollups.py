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
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

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
