"""The customer directory's shared items: each under 1 KB, keyed by its content, read back whole."""

from __future__ import annotations

import random

from boto3.dynamodb.types import TypeSerializer

from backend.processing.cohorts import DIRECTORY_SHARDS, directory_items, directory_members


def _size(item: dict) -> int:
    """An item's size by DynamoDB's rules for strings and string sets (names + values)."""
    total = 0
    for name, value in item.items():
        total += len(name.encode())
        serialized = TypeSerializer().serialize(value)
        if "SS" in serialized:
            total += sum(len(v.encode()) + 1 for v in serialized["SS"]) + 3
        else:
            total += len(serialized["S"].encode())
    return total


def test_a_batch_of_new_customers_fits_in_few_small_items_listed_whole() -> None:
    # Given 200 new customers with ids of varied lengths, in any order
    rng = random.Random(3)
    customers = [f"cust-{n:05d}" + "x" * rng.randint(0, 30) for n in range(200)]
    items = directory_items(rng.sample(customers, len(customers)))
    # Then every item is under 1 KB (one write unit), in one of the shards the job queries
    assert all(_size(item) < 1024 for item in items)
    assert {item["pk"] for item in items} <= {f"CUSTOMERS#{n}" for n in range(DIRECTORY_SHARDS)}
    assert len(items) < 200 / 10
    # And reading them back lists every customer once
    listed = [c for item in items for c in directory_members(item)]
    assert sorted(listed) == sorted(customers)
    # And the same batch in another order gives the same items (a redelivery rewrites them)
    again = directory_items(reversed(customers))
    assert sorted((i["pk"], i["sk"]) for i in again) == sorted((i["pk"], i["sk"]) for i in items)


def test_an_item_of_the_older_layout_lists_its_sort_key() -> None:
    assert directory_members({"pk": "CUSTOMERS#3", "sk": "c-17"}) == ["c-17"]
    assert directory_items([]) == []
