"""What replaced the items that grew with customers: bounded profiles and shared immutable items.

- A customer's profile keeps :class:`FirstOrders` (first day, at most two order ids): applying
  their orders in any batches and any order, with the ``P`` of a superseded first day written
  as the orders processor does, gives the day sets of the full-history rule.
- Day memberships and the segments' facts are shared content-keyed items, packed, each under
  16 KB, read back whole, rewritten identically when a batch comes again.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from boto3.dynamodb.types import TypeSerializer

from backend.adapters.analytics import FACTS
from backend.adapters.customer_days import MEMBERS, membership_items
from backend.adapters.dynamo import PACKED_MAX_BYTES, members_of
from backend.domain.customers import FirstOrders, memberships
from backend.processing.segments import customers_of, fact_items, order_fact, refund_fact
from bench.meter import item_size

START = date(2025, 1, 1)


def _serialized(item: dict) -> dict:
    return {name: TypeSerializer().serialize(value) for name, value in item.items()}


def test_first_orders_in_any_batches_give_the_full_history_sets() -> None:
    rng = random.Random(8)
    for _ in range(300):
        orders = [(START + timedelta(days=rng.randrange(6)), f"o{n}") for n in range(rng.randint(1, 7))]
        # Given the orders in a random order, cut into random batches, some twice
        arrival = rng.sample(orders, len(orders)) + rng.sample(orders, rng.randint(0, len(orders)))
        cuts = sorted(rng.sample(range(1, len(arrival)), rng.randint(0, len(arrival) - 1)))
        batches = [arrival[a:b] for a, b in zip([0, *cuts], [*cuts, len(arrival)], strict=True)]
        state = FirstOrders()
        sets: dict[date, set[str]] = defaultdict(set)
        for batch in batches:
            # When each batch writes P of a superseded first day, joins, then its memberships
            superseded = state.earlier(day for day, _ in batch)
            if superseded is not None:
                sets[superseded].add("P")
            state = state.join(batch)
            for day, names in state.memberships(day for day, _ in batch).items():
                sets[day] |= names
        # Then C, C \ P and P ∪ M of every day are those of the full-history rule
        expected = memberships([day for day, _ in orders])
        for day in {d for d, _ in orders}:
            assert ("C" in sets[day], "P" in sets[day]) == (True, "P" in expected[day]), (orders, day)
            assert bool(sets[day] & {"P", "M"}) == bool(expected[day] & {"P", "M"}), (orders, day)
        assert state.ids == tuple(sorted({o for d, o in orders if d == state.first})[:2])


def test_memberships_of_a_big_day_are_small_items_read_back_whole() -> None:
    rng = random.Random(3)
    customers = [f"{rng.getrandbits(128):032x}" + "x" * rng.randint(0, 90) for _ in range(5_000)]
    sets = {"C": set(customers), "P": set(customers[::3]), "M": set(customers[::50])}
    items = membership_items({START: sets})
    # Then every item is under 16 KB (random hex ids pack to about half), in the day's partition
    assert max(item_size(_serialized(i)) for i in items) < PACKED_MAX_BYTES * 0.6
    assert {i["pk"] for i in items} == {"DAY#2025-01-01"}
    # And they hold each membership once
    members = sorted(m for i in items for m in members_of(i, MEMBERS))
    assert members == sorted(f"{name}:{c}" for name, cs in sets.items() for c in cs)
    # And the same memberships in another order give the same items (a redelivery rewrites them)
    again = membership_items({START: {name: set(reversed(sorted(cs))) for name, cs in sets.items()}})
    assert sorted(i["sk"] for i in again) == sorted(i["sk"] for i in items)


def test_facts_count_each_order_and_refund_once() -> None:
    facts = [
        order_fact(f"c{n % 7}", f"o{n}", START + timedelta(days=n % 5), Decimal("10.25")) for n in range(400)
    ]
    facts += [refund_fact("c1", "r1", Decimal("3.00"))]
    items = fact_items(facts)
    assert max(item_size(_serialized(i)) for i in items) < 4_096
    read_back = [f for i in items for f in members_of(i, FACTS)] + facts[:50]
    customers = {c.customer_id: c for c in customers_of(read_back)}
    assert sum(c.orders for c in customers.values()) == 400
    assert customers["c1"].monetary == Decimal("10.25") * customers["c1"].orders - Decimal("3.00")
