"""Bought together, the pure rules: support, confidence and lift equal a pandas computation
(:func:`tests.oracle.pairs`) on shuffled input with repeated events, and counts of disjoint days
add up to the counts of the whole range (what the day and month folds rely on)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from backend.adapters.baskets import BASKETS
from backend.adapters.dynamo import members_of
from backend.domain.events import parse_event
from backend.domain.together import Basket, PairCounts, companions, pairs
from backend.processing.together import basket_items
from devstack.simulator import generate, planted_bundles
from tests import oracle

TZ = "America/New_York"
FIGURES = ["a", "b", "orders", "support", "confidence_ab", "confidence_ba", "lift"]


def baskets_by_day(events: list[dict[str, Any]]) -> dict[date, list[Basket]]:
    """The baskets the orders processor would put for these order events, read back by day."""
    placed = [parse_event(raw, currency="USD") for raw in events if raw["type"] == "order.placed"]
    found: dict[date, list[Basket]] = {}
    for item in basket_items(placed, ZoneInfo(TZ)):
        day = date.fromisoformat(item["pk"].removeprefix("DAY#"))
        found.setdefault(day, []).extend(Basket.from_member(m) for m in members_of(item, BASKETS))
    return found


@pytest.mark.parametrize("seed", [3, 11, 29])
def test_pairs_equal_pandas_on_shuffled_repeated_input(seed: int) -> None:
    # Given two months of a store, shuffled, a fifth of the events twice
    end = date(2025, 3, 31)
    events = generate(days=60, orders_per_day=8, seed=seed, end=end, tz=TZ)
    rng = random.Random(seed)
    delivered = rng.sample(events, len(events)) + rng.sample(events, len(events) // 5)
    rng.shuffle(delivered)
    by_day = baskets_by_day(delivered)
    start = end - timedelta(days=40)
    # When the days are counted one by one and added up (as the folds are)
    counts = PairCounts()
    for day, found in by_day.items():
        if start <= day <= end:
            counts.add(PairCounts.of(found))
    # Then every pair's figures and their ranking are pandas'
    expected = oracle.pairs(delivered, start, end, min_orders=1, tz=TZ)
    got = pd.DataFrame([p.to_json() for p in pairs(counts, min_orders=1, limit=10**6)], columns=FIGURES)
    pd.testing.assert_frame_equal(got, expected[FIGURES], check_dtype=False)
    # And what is bought with the first pair's product is those pairs, seen from it
    sku = expected["a"].iloc[0]
    mine = expected[(expected["a"] == sku) | (expected["b"] == sku)]
    seen = companions(counts, sku, min_orders=1, limit=10**6)
    assert [(c.sku, c.orders, c.lift) for c in seen] == [
        (b if a == sku else a, n, lift)
        for a, b, n, lift in zip(mine["a"], mine["b"], mine["orders"], mine["lift"], strict=True)
    ]
    # The planted bundles are the strongest pairs
    planted = {
        (a, b) for bundle in planted_bundles(seed) for i, a in enumerate(bundle) for b in bundle[i + 1 :]
    }
    top = pairs(counts, min_orders=5, limit=10)
    assert sum((p.a, p.b) in planted for p in top) >= 9


def test_counts_survive_encoding_and_an_order_counts_once() -> None:
    counts = PairCounts.of(
        [
            Basket("1", frozenset({"A", "B", "C"})),
            Basket("1", frozenset({"A", "B", "C"})),
            Basket("2", frozenset("A")),
        ]
    )
    assert (counts.orders, counts.sku_orders["A"], counts.pair_orders[("A", "B")]) == (2, 2, 1)
    assert PairCounts.decode(counts.encode()) == counts
    ranked = pairs(counts, min_orders=1, limit=10)
    # B and C are only ever bought together: the strongest pair; then A+B, A+C by sku
    assert [(p.a, p.b) for p in ranked] == [("B", "C"), ("A", "B"), ("A", "C")]
    # n(A, B) = 1, N = 2, n(A) = 2, n(B) = 1
    ab = ranked[1]
    assert (ab.support, ab.confidence_ab, ab.confidence_ba, ab.lift) == (0.5, 0.5, 1.0, 1.0)
