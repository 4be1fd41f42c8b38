"""Cohort counters kept exact under late events (see :mod:`backend.domain.cohorts`).

The orders processor reads the profiles of its batch's customers (strongly consistent) before
counting, and folds each customer's cohort state change into the counting transaction itself:
the profile's update that claims the orders (``o:<order_id>``) also sets the new
``cohort_state`` and ``order_count``, on the condition that ``order_count`` is still the one
read, and the transaction adds the counter moves to the ``COHORT#<month>``/``COUNTS`` items. A
profile changes only with its orders and its state together, so the state read is always the
state of the orders read; a failed condition means another processor added orders meanwhile:
the profiles are read again and the difference recomputed. After the transaction the processor
knows each profile exactly as written (the orders read plus its own), which the day sets use.

A customer's first order also enters them in the customer directory (``CUSTOMERS#<n>``), which
the ``segments`` job queries instead of scanning: items shared by the new customers of a batch
(:func:`directory_items`), immutable, put with a plain ``BatchWriteItem`` before the
transaction, so a crash in between only puts them again.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from backend.adapters.dynamo import Counted, Guarded, batch_get, content_keyed_items
from backend.domain import cohorts

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

STATE = "cohort_state"
ORDER_COUNT = "order_count"
DIRECTORY_SHARDS = 8
DIRECTORY_ITEM_BYTES = 900

Key = tuple[str, str]


def cohort_key(month: str) -> Key:
    return (f"COHORT#{month}", "COUNTS")


def directory_key(customer_id: str) -> Key:
    shard = int(hashlib.sha256(customer_id.encode()).hexdigest()[:8], 16) % DIRECTORY_SHARDS
    return (f"CUSTOMERS#{shard}", customer_id)


def directory_items(customer_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Directory items listing these customers, shared by the customers of one batch.

    Each item holds up to :data:`DIRECTORY_ITEM_BYTES` of customer ids in the string set
    ``ids``, under ``CUSTOMERS#<n>``/``B#<digest of its ids>``: its key follows from its content,
    so putting it again (a redelivery of the same batch) rewrites the same item, and a batch
    redelivered with other company writes another item that repeats some ids, which the reader
    ignores. One write unit then enters about 30 customers instead of one.
    """
    return content_keyed_items(
        customer_ids,
        prefix="CUSTOMERS#",
        shards=DIRECTORY_SHARDS,
        attribute="ids",
        max_bytes=DIRECTORY_ITEM_BYTES,
    )


def directory_members(item: Mapping[str, Any]) -> list[str]:
    """The customers a directory item lists (a shared item's ``ids``, or its sort key)."""
    if "ids" in item:
        return sorted(str(c) for c in item["ids"])
    return [str(item["sk"])]


class Profiles:
    """The profiles of a batch's customers, as last read or written, and the cohort state
    changes their new orders make (the :class:`backend.adapters.dynamo.Guards` of the orders'
    counting transaction).

    Parameters
    ----------
    dynamodb, table
        Where the profiles are.
    customers
        The customers whose orders the batch holds.
    profile_key
        Where a customer's profile is.
    order_days, order_prefix
        The store days of the orders a profile holds; the prefix of an order's attribute.
    """

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        customers: Iterable[str],
        *,
        profile_key: Callable[[str], Key],
        order_days: Callable[[Mapping[str, Any]], list[date]],
        order_prefix: str,
    ) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._key = profile_key
        self._order_days = order_days
        self._prefix = order_prefix
        self._customer_of = {profile_key(c): c for c in customers}
        self.views: dict[str, dict[str, Any]] = {}
        self._read(self._customer_of)

    def _read(self, keys: Iterable[Key]) -> None:
        wanted = list(keys)
        found = batch_get(self._dynamodb, self._table, wanted, consistent=True)
        for item_key in wanted:
            self.views[self._customer_of[item_key]] = dict(found.get(item_key, {}))

    def new_customers(self) -> list[str]:
        """Customers without any order on their profile (as read)."""
        return [c for c, view in self.views.items() if not self._order_days(view)]

    def _new_orders(self, group: Sequence[Counted]) -> dict[str, dict[str, Any]]:
        per_item: dict[Key, dict[str, Any]] = defaultdict(dict)
        for counted in group:
            claim = counted.claim
            if claim.item in self._customer_of and claim.attribute.startswith(self._prefix):
                per_item[claim.item][claim.attribute] = claim.value
        return {self._customer_of[k]: v for k, v in per_item.items()}

    def guarded(self, group: Sequence[Counted]) -> list[Guarded]:
        out = []
        for customer, orders in sorted(self._new_orders(group).items()):
            view = self.views[customer]
            count = view.get(ORDER_COUNT)
            held = int(count) if count is not None else len(self._order_days(view))
            before = view.get(STATE)
            after = cohorts.state([*self._order_days(view), *self._order_days(orders)])
            moves: dict[Key, dict[str, int]] = defaultdict(dict)
            for (cohort, month), delta in cohorts.deltas(before, after).items():
                moves[cohort_key(cohort)][cohorts.COUNT_PREFIX + month] = delta
            out.append(
                Guarded(
                    item=self._key(customer),
                    sets={STATE: after, ORDER_COUNT: held + len(orders)},
                    expected={ORDER_COUNT: count},
                    moves=moves,
                )
            )
        return out

    def stale(self, group: Sequence[Counted]) -> None:
        self._read(self._key(c) for c in self._new_orders(group))

    def committed(self, group: Sequence[Counted], guarded: Sequence[Guarded]) -> None:
        for customer, orders in self._new_orders(group).items():
            self.views[customer].update(orders)
        for guard in guarded:
            self.views[self._customer_of[guard.item]].update(guard.sets)
