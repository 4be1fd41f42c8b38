"""Customer profiles: the bounded state that new/returning customers and cohorts need, kept
exact under late events (see :mod:`backend.domain.customers` and :mod:`backend.domain.cohorts`).

A profile (``CUST#<id>``/``PROFILE``) holds, whatever the number of the customer's orders:

- ``first`` and ``first_ids``: the store day of their first order ever and the (at most two)
  smallest order ids of that day (:class:`backend.domain.customers.FirstOrders`);
- ``cohort_state``: their cohort month and the months they ordered in (bounded by months);
- ``version``: bumped with every change, the condition of the next one.

The orders processor reads the profiles of its batch's customers (strongly consistent) and
folds each customer's change into the counting transaction of the packet part that counts the
orders: the profile is set to the joined state on the condition that ``version`` is still the
one read, and the transaction adds the cohort counter moves (``COHORT#<month>``/``COUNTS``). An
order that changes nothing (a later order in a month already active) writes nothing here. A
failed condition means another processor changed the profile meanwhile: it is read again and
the difference computed anew. The states are joins (idempotent, commutative), so an order
joined twice or by two processors changes the state, and moves the counters, once.

When an order arrives on a day before the customer's known first day, that day stops being the
first: the customer joins its ``P`` set. That membership is written *before* the profile moves
(:meth:`Profiles.prepare`), so a crash in between cannot lose it: whoever reads the profile
after the move no longer knows the old first day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from backend.adapters import customer_days
from backend.adapters.dynamo import Counted, Guarded, Key, batch_get, profile_key, touch_months
from backend.domain import cohorts
from backend.domain.customers import FirstOrders
from backend.domain.rollups import month_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

STATE = "cohort_state"
FIRST = "first"
FIRST_IDS = "first_ids"
VERSION = "version"
LEGACY_ORDER_PREFIX = "o:"


@dataclass(frozen=True)
class PlacedOrder:
    """What the profiles need of one counted order."""

    customer_id: str
    order_id: str
    day: date


def cohort_key(month: str) -> Key:
    return (f"COHORT#{month}", "COUNTS")


def _legacy_orders(profile: Mapping[str, Any]) -> list[tuple[date, str]]:
    """The orders a profile of an older release lists (``o:<order_id> = "<time>|<day>|..."``)."""
    return [
        (date.fromisoformat(str(value).split("|")[1]), name[len(LEGACY_ORDER_PREFIX) :])
        for name, value in profile.items()
        if name.startswith(LEGACY_ORDER_PREFIX)
    ]


def first_orders(profile: Mapping[str, Any]) -> FirstOrders:
    """The :class:`FirstOrders` state a profile holds."""
    if FIRST in profile:
        return FirstOrders(
            date.fromisoformat(str(profile[FIRST])), tuple(str(i) for i in profile.get(FIRST_IDS, ()))
        )
    return FirstOrders().join(_legacy_orders(profile))


class Profiles:
    """The profiles of a batch's customers, as last read or written, and the changes their
    counted orders make (the :class:`backend.adapters.dynamo.Guards` of the counting
    transactions).

    Parameters
    ----------
    dynamodb, table
        Where the profiles are.
    orders
        Every order of the batch that counts (by this batch or by another packet), by customer.
    part_orders
        The orders each packet part counts, by the part's ref.
    """

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        orders: Mapping[str, Sequence[PlacedOrder]],
        part_orders: Mapping[str, Sequence[PlacedOrder]],
    ) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._orders = orders
        self._part_orders = part_orders
        self.views: dict[str, dict[str, Any]] = {}
        self._read(orders)

    def _read(self, customers: Iterable[str]) -> None:
        wanted = {profile_key(c): c for c in customers}
        found = batch_get(self._dynamodb, self._table, wanted, consistent=True)
        for item_key, customer in wanted.items():
            self.views[customer] = dict(found.get(item_key, {}))

    def prepare(self, customers: Iterable[str] | None = None) -> None:
        """Put these customers (all: ``None``) in ``P`` of their known first day when the batch
        holds an earlier order of theirs (a true fact whatever happens next)."""
        per_day: dict[date, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for customer in self._orders if customers is None else customers:
            old_first = first_orders(self.views[customer]).earlier(o.day for o in self._orders[customer])
            if old_first is not None:
                per_day[old_first]["P"].add(customer)
        if per_day:
            customer_days.write(self._dynamodb, self._table, per_day)
            # Bumped at once: a redelivery after the profile moved no longer finds these days.
            touch_months(self._dynamodb, self._table, {month_of(day) for day in per_day})

    def memberships(self) -> dict[str, dict[date, set[str]]]:
        """Customer -> day -> the sets their batch orders put them in, from the profiles as
        counted (call after counting)."""
        return {
            customer: first_orders(self.views[customer]).memberships(o.day for o in orders)
            for customer, orders in self._orders.items()
        }

    def _group_orders(self, group: Sequence[Counted]) -> dict[str, list[PlacedOrder]]:
        per_customer: dict[str, list[PlacedOrder]] = defaultdict(list)
        for counted in group:
            for order in self._part_orders.get(counted.ref, ()):
                per_customer[order.customer_id].append(order)
        return per_customer

    def guarded(self, group: Sequence[Counted]) -> list[Guarded]:
        out = []
        for customer, orders in sorted(self._group_orders(group).items()):
            view = self.views[customer]
            before_first = first_orders(view)
            after_first = before_first.join((o.day, o.order_id) for o in orders)
            before = view.get(STATE)
            after = cohorts.joined(before, (o.day for o in orders))
            if after_first == before_first and after == before and FIRST in view:
                continue
            moves: dict[Key, dict[str, int]] = defaultdict(dict)
            for (cohort, month), delta in cohorts.deltas(before, after).items():
                moves[cohort_key(cohort)][cohorts.COUNT_PREFIX + month] = delta
            version = view.get(VERSION)
            out.append(
                Guarded(
                    item=profile_key(customer),
                    sets={
                        FIRST: after_first.first.isoformat() if after_first.first else None,
                        FIRST_IDS: list(after_first.ids),
                        STATE: after,
                        VERSION: int(version or 0) + 1,
                    },
                    expected={VERSION: version},
                    moves=moves,
                )
            )
        return out

    def stale(self, group: Sequence[Counted]) -> None:
        customers = list(self._group_orders(group))
        self._read(customers)
        self.prepare(customers)

    def committed(self, group: Sequence[Counted], guarded: Sequence[Guarded]) -> None:
        by_key = {profile_key(c): c for c in self.views}
        for guard in guarded:
            self.views[by_key[guard.item]].update(guard.sets)
