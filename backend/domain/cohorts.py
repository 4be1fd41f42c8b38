"""Cohorts and retention from per-customer states and per-cohort counters (pure).

A customer's *cohort* is the month (store time) of their first order ever; they are *active*
in every month in which they have an order. Each customer's profile keeps the state already
counted, ``"<cohort>:<active month>,<active month>,..."``; each cohort keeps one counter per
activity month, ``n:<YYYY-MM>``: the number of its customers active in that month. When a
customer's orders change their state (a first order, a first order in a new month, or an
earlier order that arrives late and moves their cohort back), the counters move by the
difference between the two states, in the transaction that replaces the state on the condition
that it is still the one read. So the counters are exact whatever the order of arrival.

``n:<cohort month>`` of a cohort is its size: every customer has an order in the month of their
first order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

COUNT_PREFIX = "n:"
_SHARE = Decimal("0.0001")


def month_of(day: date) -> str:
    """``YYYY-MM`` of a day.

    >>> month_of(date(2025, 3, 9))
    '2025-03'
    """
    return f"{day.year:04d}-{day.month:02d}"


def add_months(month: str, count: int) -> str:
    """The month ``count`` months after ``month`` (``YYYY-MM``).

    >>> add_months("2024-11", 3), add_months("2025-01", -1)
    ('2025-02', '2024-12')
    """
    year, number = int(month[:4]), int(month[5:7])
    index = year * 12 + number - 1 + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(first: str, last: str) -> int:
    """How many months from ``first`` to ``last`` (0 for the same month).

    >>> months_between("2024-11", "2025-02")
    3
    """
    return (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7])


def state(order_days: Iterable[date]) -> str | None:
    """The cohort state of a customer with orders on these store days (None without orders).

    >>> state([date(2025, 3, 9), date(2025, 1, 31), date(2025, 3, 1)])
    '2025-01:2025-01,2025-03'
    """
    months = sorted({month_of(day) for day in order_days})
    if not months:
        return None
    return f"{months[0]}:{','.join(months)}"


def joined(before: str | None, order_days: Iterable[date]) -> str | None:
    """The state of a customer in state ``before`` once orders on these days are added (the
    state is a set of months: adding an order twice changes nothing).

    >>> joined("2025-03:2025-03", [date(2025, 1, 9), date(2025, 3, 1)])
    '2025-01:2025-01,2025-03'
    """
    months = {month for _, month in _cells(before)} | {month_of(day) for day in order_days}
    if not months:
        return None
    ordered = sorted(months)
    return f"{ordered[0]}:{','.join(ordered)}"


def _cells(customer_state: str | None) -> list[tuple[str, str]]:
    if not customer_state:
        return []
    cohort, months = customer_state.split(":")
    return [(cohort, month) for month in months.split(",")]


def deltas(before: str | None, after: str | None) -> dict[tuple[str, str], int]:
    """How the (cohort, activity month) counters move when a customer's state changes.

    >>> sorted(deltas("2025-03:2025-03", "2025-01:2025-01,2025-03").items())
    [(('2025-01', '2025-01'), 1), (('2025-01', '2025-03'), 1), (('2025-03', '2025-03'), -1)]
    """
    moves: Counter[tuple[str, str]] = Counter()
    for cell in _cells(before):
        moves[cell] -= 1
    for cell in _cells(after):
        moves[cell] += 1
    return {cell: n for cell, n in moves.items() if n}


def share(part: int, whole: int) -> Decimal:
    """``part / whole`` rounded half-up to 4 decimals (0 when ``whole`` is 0).

    >>> share(1, 3), share(2, 3), share(0, 0)
    (Decimal('0.3333'), Decimal('0.6667'), Decimal('0'))
    """
    if not whole:
        return Decimal(0)
    return (Decimal(part) / Decimal(whole)).quantize(_SHARE, ROUND_HALF_UP)


def cohort_rows(
    counters: Mapping[str, Mapping[str, Any]], months: Iterable[str], last_month: str
) -> list[dict[str, Any]]:
    """The row of each cohort month: ``cohort``, ``size``, ``active`` (customers with an order
    in month ``cohort + k``) and ``retention`` (``active[k] / size``, 4 decimals), for ``k``
    from 0 up to ``last_month`` (the current month; later months have not happened). A cohort
    after ``last_month`` has no months yet (empty lists); an empty cohort has size 0 and zeros.

    Parameters
    ----------
    counters
        The ``n:<YYYY-MM>`` counters of each cohort month that has any.
    months
        The cohort months asked for.
    last_month
        The current month in the store's time zone.

    Examples
    --------
    >>> rows = cohort_rows({"2025-01": {"n:2025-01": 4, "n:2025-03": 1}}, ["2025-01"], "2025-03")
    >>> rows[0]["size"], rows[0]["active"], rows[0]["retention"]
    (4, [4, 0, 1], [Decimal('1.0000'), Decimal('0.0000'), Decimal('0.2500')])
    """
    rows = []
    for cohort in months:
        counts = counters.get(cohort, {})
        size = int(counts.get(COUNT_PREFIX + cohort, 0))
        span = months_between(cohort, last_month) + 1
        active = [int(counts.get(COUNT_PREFIX + add_months(cohort, k), 0)) for k in range(max(span, 0))]
        rows.append(
            {
                "cohort": cohort,
                "size": size,
                "active": active,
                "retention": [share(n, size) if size else Decimal(0) for n in active],
            }
        )
    return rows
