"""Customer profiles: the bounded state that new and returning customers need, kept exact under
late events (see :mod:`backend.domain.customers`).

A profile (``CUST#<id>``/``PROFILE``) holds, whatever the number of the customer's orders:

- ``first`` and ``first_ids``: the store day of their first order ever and the (at most two)
  smallest order ids of that day (:class:`backend.domain.customers.FirstOrders`);
- ``version``: bumped with every change, the condition of the next one.

The state is a join (idempotent, commutative), so it needs no transaction: after the counting
transaction the orders processor joins each customer's counted orders into the profile it read
(strongly consistent) and writes it by a plain ``UpdateItem`` on the condition that ``version``
is still the one read (one write unit), and only when the state changes: a customer's first
order, a second order on their first day, an earlier order arriving late. A later order changes
nothing and writes nothing. A failed condition means another processor moved the profile
meanwhile: it is read again and joined anew. A crash before the write heals on the packet's next
delivery, which joins the same orders (whoever counted them) and writes what is still missing.

When an order arrives on a day before the customer's known first day, that day stops being the
first: the customer joins its ``P`` set. That membership is written *before* the profile moves
(:meth:`Profiles.prepare`), so a crash in between cannot lose it: whoever reads the profile
after the move no longer knows the old first day.

Cohorts need nothing here: a cohort is the ``N`` set of a month (customers whose first order is
in it) and its activity the ``C`` sets of later months, which the day items and month rollups
hold already (:func:`backend.adapters.rollups.month_customers`). Profiles of older releases may
carry a ``cohort_state``; it is no longer read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from backend.adapters.analytics import PROFILE_FIRST, PROFILE_FIRST_IDS, PROFILE_VERSION, AnalyticsStore
from backend.adapters.parallel import parallel_map
from backend.domain.customers import FirstOrders
from backend.domain.rollups import month_of

LEGACY_ORDER_PREFIX = "o:"
# Profile writes of a batch made side by side (each is one small conditional UpdateItem).
WRITE_PARALLELISM = 8
WRITE_ATTEMPTS = 8


@dataclass(frozen=True)
class PlacedOrder:
    """What the profiles need of one counted order."""

    customer_id: str
    order_id: str
    day: date


def _legacy_orders(profile: Mapping[str, Any]) -> list[tuple[date, str]]:
    """The orders a profile of an older release lists (``o:<order_id> = "<time>|<day>|..."``)."""
    return [
        (date.fromisoformat(str(value).split("|")[1]), name[len(LEGACY_ORDER_PREFIX) :])
        for name, value in profile.items()
        if name.startswith(LEGACY_ORDER_PREFIX)
    ]


def first_orders(profile: Mapping[str, Any]) -> FirstOrders:
    """The :class:`FirstOrders` state a profile holds."""
    if PROFILE_FIRST in profile:
        return FirstOrders(
            date.fromisoformat(str(profile[PROFILE_FIRST])),
            tuple(str(i) for i in profile.get(PROFILE_FIRST_IDS, ())),
        )
    return FirstOrders().join(_legacy_orders(profile))


class ProfileChanged(RuntimeError):
    """A profile kept changing under this processor: the batch is retried."""


class Profiles:
    """The profiles of a batch's customers, as last read or written.

    Parameters
    ----------
    analytics
        The analytics table, where the profiles are.
    orders
        Every order of the batch that counts (by this batch or by another packet), by customer.
    """

    def __init__(self, analytics: AnalyticsStore, orders: Mapping[str, Sequence[PlacedOrder]]) -> None:
        self._analytics = analytics
        self._orders = orders
        self.views: dict[str, dict[str, Any]] = {}
        self._read(orders)

    def _read(self, customers: Iterable[str]) -> None:
        wanted = list(customers)
        found = self._analytics.customer_profiles(wanted)
        for customer in wanted:
            self.views[customer] = dict(found.get(customer, {}))

    def _prepare(self, customers: Iterable[str]) -> None:
        """Put these customers in ``P`` of their known first day when the batch holds an
        earlier order of theirs (a true fact whatever happens next)."""
        per_day: dict[date, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for customer in customers:
            old_first = first_orders(self.views[customer]).earlier(o.day for o in self._orders[customer])
            if old_first is not None:
                per_day[old_first]["P"].add(customer)
        if per_day:
            self._analytics.put_customer_sets(per_day)
            # Bumped at once: a redelivery after the profile moved no longer finds these days.
            self._analytics.stamp_months({month_of(day) for day in per_day})

    def _changed(self) -> list[str]:
        return [
            customer
            for customer, orders in sorted(self._orders.items())
            if PROFILE_FIRST not in self.views[customer]
            or first_orders(self.views[customer]).join((o.day, o.order_id) for o in orders)
            != first_orders(self.views[customer])
        ]

    def _write(self, customer: str) -> bool:
        """Write one customer's joined state if the profile is still the one read."""
        view = self.views[customer]
        after = first_orders(view).join((o.day, o.order_id) for o in self._orders[customer])
        version = view.get(PROFILE_VERSION)
        sets: dict[str, Any] = {
            PROFILE_FIRST: after.first.isoformat() if after.first else None,
            PROFILE_FIRST_IDS: list(after.ids),
            PROFILE_VERSION: int(version or 0) + 1,
        }
        if not self._analytics.set_profile_if_version(customer, sets, version):
            return False
        view.update(sets)
        return True

    def join(self) -> None:
        """Join every customer's counted orders into their profile (call after counting).

        Writes only the profiles whose state changes, each after the ``P`` membership its move
        implies; a profile changed by another processor meanwhile is read again and joined
        anew."""
        pending = self._changed()
        for _ in range(WRITE_ATTEMPTS):
            if not pending:
                return
            self._prepare(pending)
            written = parallel_map(self._write, pending, workers=WRITE_PARALLELISM)
            lost = [c for c, ok in zip(pending, written, strict=True) if not ok]
            if lost:
                self._read(lost)
            still = set(self._changed())
            pending = [c for c in lost if c in still]
        if pending:
            raise ProfileChanged(f"{len(pending)} customer profiles kept changing: retried later")

    def memberships(self) -> dict[str, dict[date, set[str]]]:
        """Customer -> day -> the sets their batch orders put them in, from the profiles as
        joined (call after :meth:`join`)."""
        return {
            customer: first_orders(self.views[customer]).memberships(o.day for o in orders)
            for customer, orders in self._orders.items()
        }
