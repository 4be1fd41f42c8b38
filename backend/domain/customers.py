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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FirstOrders:
    """What a customer's profile keeps for ``C``, ``P``, ``M``: the store day of their first
    order ever and the (at most two) smallest order ids of that day, which say whether that day
    had two or more orders. Bounded, whatever the number of orders.

    It is a join-semilattice: :meth:`join` is commutative, associative and idempotent, so
    joining an order twice, or in any order, gives the same state.
    """

    first: date | None = None
    ids: tuple[str, ...] = ()

    def join(self, orders: Iterable[tuple[date, str]]) -> FirstOrders:
        """The state with these ``(store day, order id)`` orders added.

        >>> s = FirstOrders().join([(date(2025, 1, 5), "o2"), (date(2025, 1, 5), "o1")])
        >>> s.join([(date(2025, 1, 3), "o9")]), s.join([(date(2025, 1, 5), "o0")]).ids
        (FirstOrders(first=datetime.date(2025, 1, 3), ids=('o9',)), ('o0', 'o1'))
        """
        first, ids = self.first, set(self.ids)
        for day, order_id in orders:
            if first is None or day < first:
                first, ids = day, {order_id}
            elif day == first:
                ids.add(order_id)
        return FirstOrders(first, tuple(sorted(ids)[:2]))

    def memberships(self, days: Iterable[date]) -> dict[date, set[str]]:
        """The sets of each of these order days that this state (already joined with their
        orders) puts the customer in: ``C`` always, ``P`` after the first day, ``M`` on the
        first day when it had two orders (``M`` on a later day changes nothing: ``P`` holds).

        >>> s = FirstOrders(date(2025, 1, 3), ("o1", "o2"))
        >>> {d.day: sorted(m) for d, m in s.memberships([date(2025, 1, 3), date(2025, 1, 4)]).items()}
        {3: ['C', 'M'], 4: ['C', 'P']}
        """
        out: dict[date, set[str]] = {}
        for day in days:
            sets = {"C"}
            if self.first is not None and day > self.first:
                sets.add("P")
            if day == self.first and len(self.ids) >= 2:
                sets.add("M")
            out[day] = sets
        return out

    def earlier(self, days: Iterable[date]) -> date | None:
        """The first day as known, when an order on an earlier day arrives: that day is no
        longer the first, so the customer joins its ``P`` (written before the new state)."""
        if self.first is None:
            return None
        return self.first if any(day < self.first for day in days) else None
