"""Packed immutable items read together with the items of older releases.

Since December 2026 the orders processor packs the members of its immutable items (customer
sets, the segments' facts, SKU lines, and the baskets, which now ride in the part's SKU items)
into compressed blobs: an item is billed by its bytes, and the members of a batch repeat their
ids' prefixes (docs/cost.md). The items written before stay in the table and are never
rewritten, so every reader must add both forms, and a packet counted before the upgrade and
delivered again after it must not count twice.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backend.adapters import baskets, customer_days
from backend.adapters.analytics import FACT_SHARDS, AnalyticsTable, fact_items
from backend.adapters.dynamo import batch_put, day_sku_items, to_ddb
from backend.domain.products import SkuSales
from backend.domain.sales import Contributions
from backend.domain.together import Basket, PairCounts
from backend.processing.segments import customers_of, order_fact
from backend.settings import get_settings
from bench.meter import item_size, write_units
from tests import pipeline

DAY = date(2025, 3, 1)


@pytest.fixture
def table(stack: Any) -> str:
    pipeline.allow_read_key()
    pipeline.clear_analytics()
    return get_settings().require("analytics_table")


def test_a_day_written_before_and_after_packing_reads_as_one(table: str) -> None:
    client = pipeline.dynamodb()
    pk = f"DAY#{DAY.isoformat()}"
    # Given a day as an older release left it: a customer-set item, a basket item, a SKU part
    # item (attributes per SKU) and a facts item, each listing its members in a string set
    batch_put(
        client,
        table,
        [
            {"pk": pk, "sk": "CB#legacy", "m": {"C:a", "P:a"}},
            {"pk": pk, "sk": "BK#legacy", "baskets": {Basket("o1", frozenset({"A", "B"})).member()}},
            {"pk": pk, "sk": "SKUP#old#0", "u:A": Decimal(1), "r:A": Decimal("10.00")},
            {"pk": "FACTS#0", "sk": "B#legacy", "facts": {order_fact("a", "o1", DAY, Decimal("10.00"))}},
        ],
    )
    # And the same day written by this release: another customer, order o2, and o1 again (its
    # packet delivered again after the upgrade, in another part)
    sold = Contributions()
    sold.day_units[DAY].update({"A": Decimal(2), "B": Decimal(1)})
    sold.day_revenue[DAY].update({"A": Decimal("20.00"), "B": Decimal("10.00")})
    both = [Basket("o2", frozenset({"A", "B"})).member(), Basket("o1", frozenset({"A", "B"})).member()]
    packed = [
        *customer_days.membership_items({DAY: {"C": {"b"}}}),
        *day_sku_items("p-new#0", sold, {DAY: both}),
        *fact_items(
            [order_fact("b", "o2", DAY, Decimal("30.00")), order_fact("a", "o1", DAY, Decimal("10.00"))]
        ),
    ]
    batch_put(client, table, packed)
    analytics = AnalyticsTable(client, table)
    # When each reader reads the day
    _, [sets] = customer_days.read_days(client, table, [DAY], consistent=True)
    skus = analytics.day_sku_sales([DAY], consistent=True)[DAY]
    keys, listed = baskets.day_baskets(client, table, DAY)
    facts = [fact for shard in range(FACT_SHARDS) for fact in analytics.facts(shard)]
    # Then the customer sets are the union of both forms
    assert sets == {"C": {"a", "b"}, "P": {"a"}, "M": set()}
    # And the SKU sales add both forms
    assert skus == {"A": SkuSales(3, Decimal("30.00")), "B": SkuSales(1, Decimal("10.00"))}
    # And the baskets of both, o1 once
    counts = PairCounts.of(listed)
    assert counts.orders == 2 and counts.pair_orders[("A", "B")] == 2
    assert keys == {"BK#legacy", "SKUP#p-new#0#0"}
    assert baskets.day_basket_keys(client, table, DAY) == keys
    # And the facts of both, o1 once
    assert {c.customer_id: (c.orders, c.monetary) for c in customers_of(facts)} == {
        "a": (1, Decimal("10.00")),
        "b": (1, Decimal("30.00")),
    }
    # And each packed item of this small day is one write unit
    assert [write_units(item_size({k: to_ddb(v) for k, v in i.items()})) for i in packed] == [1] * len(packed)
