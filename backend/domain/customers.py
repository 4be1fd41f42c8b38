"""Distinct customers over any range, exactly, from three monotone per-day sets.

For each store day ``d``:

- ``C`` — customers with an order on ``d``;
- ``P`` — customers with an order on ``d`` who also have an order on an earlier day;
- ``M`` — customers with two or more orders on ``d``.

Over a range: ``customers = |∪C|``; ``new = |{c : c ∈ C_d \\ P_d}|`` (the day of their first
order ever); ``returning = |∪(P ∪ M)|`` (an order in the range that is not their first). Adding
an order only ever adds members, so updates are idempotent and order-independent: a late earlier
order just adds the customer to ``P`` of their later days.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

SETS = ("C", "P", "M")


def memberships(order_days: Iterable[date], since: date | None = None) -> dict[date, set[str]]:
    """Which of the day sets a customer belongs to, for each of their order days.

    Parameters
    ----------
    order_days
        The store day of each of the customer's orders (all time; repeats for several orders
        on one day).
    since
        Only days from this one on (days before it cannot change when orders on ``since`` or
        later are added).

    Examples
    --------
    >>> m = memberships([date(2025, 1, 5), date(2025, 1, 3), date(2025, 1, 5)])
    >>> sorted(m[date(2025, 1, 5)]), sorted(m[date(2025, 1, 3)])
    (['C', 'M', 'P'], ['C'])
    """
    counts = Counter(order_days)
    if not counts:
        return {}
    first = min(counts)
    out: dict[date, set[str]] = {}
    for day, count in counts.items():
        if since is not None and day < since:
            continue
        sets = {"C"}
        if day > first:
            sets.add("P")
        if count >= 2:
            sets.add("M")
        out[day] = sets
    return out
