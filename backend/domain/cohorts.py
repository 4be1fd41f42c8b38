"""Cohorts and retention from the month customer sets (pure).

A customer's *cohort* is the month (store time) of their first order ever; they are *active*
in every month in which they have an order. Both are sets the day items and month rollups keep
already (:mod:`backend.domain.rollups`): a month's ``N`` (customers whose first order ever is in
it) is its cohort, and its ``C`` (customers with an order in it) its active customers. So
``active[c][k] = |N_c ∩ C_{c+k}|``, exact under late events because the sets are (an earlier
order arriving late moves a customer out of a later ``N`` by adding them to that day's ``P``).
No counter is kept per cohort: counting an order writes nothing for cohorts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

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


def share(part: int, whole: int) -> Decimal:
    """``part / whole`` rounded half-up to 4 decimals (0 when ``whole`` is 0).

    >>> share(1, 3), share(2, 3), share(0, 0)
    (Decimal('0.3333'), Decimal('0.6667'), Decimal('0'))
    """
    if not whole:
        return Decimal(0)
    return (Decimal(part) / Decimal(whole)).quantize(_SHARE, ROUND_HALF_UP)


def cohort_rows(
    new: Mapping[str, set[str]], active: Mapping[str, set[str]], months: Iterable[str], last_month: str
) -> list[dict[str, Any]]:
    """The row of each cohort month: ``cohort``, ``size``, ``active`` (customers with an order
    in month ``cohort + k``) and ``retention`` (``active[k] / size``, 4 decimals), for ``k``
    from 0 up to ``last_month`` (the current month; later months have not happened). A cohort
    after ``last_month`` has no months yet (empty lists); an empty cohort has size 0 and zeros.

    Parameters
    ----------
    new
        ``N`` of each month that has any: customers whose first order ever is in it.
    active
        ``C`` of each month that has any: customers with an order in it.
    months
        The cohort months asked for.
    last_month
        The current month in the store's time zone.

    Examples
    --------
    >>> new = {"2025-01": {"a", "b", "c", "d"}}
    >>> active = {"2025-01": {"a", "b", "c", "d"}, "2025-03": {"b", "x"}}
    >>> rows = cohort_rows(new, active, ["2025-01"], "2025-03")
    >>> rows[0]["size"], rows[0]["active"], rows[0]["retention"]
    (4, [4, 0, 1], [Decimal('1.0000'), Decimal('0.0000'), Decimal('0.2500')])
    """
    rows = []
    for cohort in months:
        members = new.get(cohort, set())
        size = len(members)
        span = months_between(cohort, last_month) + 1
        counts = [len(members & active.get(add_months(cohort, k), set())) for k in range(max(span, 0))]
        rows.append(
            {
                "cohort": cohort,
                "size": size,
                "active": counts,
                "retention": [share(n, size) if size else Decimal(0) for n in counts],
            }
        )
    return rows
