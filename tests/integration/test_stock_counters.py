"""On-hand counters in their own items, and the move from the layout of older releases.

Given a table written by a release that kept ``oh:`` counters in the 16 stock buckets, when
``move_on_hand`` runs (as the local stack runs it after loading a snapshot, and as the
``alert-sweep`` job runs it), then every counter is in its ``OH#<n>`` item with the same value,
the buckets keep their reorder points, and orders counted before the move add to the new items
while the stock evaluation counts both places.
"""

from __future__ import annotations

from typing import Any

import pytest

from backend.adapters.dynamo import to_ddb
from backend.domain.stock import bucket_of, on_hand_item
from backend.processing import stock
from backend.settings import get_settings
from tests import pipeline


@pytest.fixture
def fresh(stack: Any, store_zone: None) -> None:
    pipeline.allow_read_key()
    pipeline.clear_analytics()


def _order(n: int, sku: str, quantity: int) -> dict[str, Any]:
    return {
        "event_id": f"oh-order-{n}",
        "type": "order.placed",
        "occurred_at": "2025-03-02T10:00:00Z",
        "data": {
            "order_id": f"OH{n}",
            "customer_id": f"OHC{n}",
            "lines": [{"sku": sku, "quantity": quantity, "unit_price": "5.00"}],
            "currency": "USD",
        },
    }


def test_counters_left_in_the_buckets_are_moved(fresh: None) -> None:
    # Given the layout of an older release: counters beside the reorder points in the buckets
    table = get_settings().require("analytics_table")
    client = pipeline.dynamodb()
    skus = [f"LEGACY-{n}" for n in range(40)]
    for sku in skus:
        client.update_item(
            TableName=table,
            Key={"pk": {"S": "STOCK"}, "sk": {"S": bucket_of(sku)}},
            UpdateExpression="SET #oh = :oh, #rp = :rp",
            ExpressionAttributeNames={"#oh": f"oh:{sku}", "#rp": f"rp:{sku}"},
            ExpressionAttributeValues={":oh": to_ddb(100 + len(sku)), ":rp": to_ddb(3)},
        )
    before = pipeline.on_hand()
    assert before == {sku: 100 + len(sku) for sku in skus}
    # And orders counted by this release before the move (their counters go to OH#<n>)
    pipeline.deliver(pipeline.pipeline_form([_order(1, "LEGACY-1", 2), _order(2, "LEGACY-2", 200)]))
    counters = {
        (item["sk"]["S"], name)
        for item in client.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "STOCK"}},
            ConsistentRead=True,
        )["Items"]
        for name in item
        if name.startswith("oh:")
    }
    assert (on_hand_item("LEGACY-1"), "oh:LEGACY-1") in counters
    assert (bucket_of("LEGACY-1"), "oh:LEGACY-1") in counters
    # Then the evaluation that followed counted both places: LEGACY-2 went out (106 - 200)
    status = {
        sku: client.get_item(
            TableName=table, Key={"pk": {"S": "STOCK"}, "sk": {"S": bucket_of(sku)}}, ConsistentRead=True
        )["Item"].get(f"st:{sku}", {"S": "ok"})["S"]
        for sku in ("LEGACY-1", "LEGACY-2")
    }
    assert status == {"LEGACY-1": "ok", "LEGACY-2": "out"}
    # When the counters are moved, twice (the second time finds nothing)
    assert stock.move_on_hand(client, table) == len(skus)
    assert stock.move_on_hand(client, table) == 0
    # Then every SKU keeps its stock, each counter in one place, its own item
    after = pipeline.on_hand()
    assert after == {**before, "LEGACY-1": before["LEGACY-1"] - 2, "LEGACY-2": before["LEGACY-2"] - 200}
    items = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "STOCK"}},
        ConsistentRead=True,
    )["Items"]
    for item in items:
        for name in item:
            if name.startswith("oh:"):
                assert item["sk"]["S"] == on_hand_item(name[3:]), name
            if name.startswith("rp:"):
                assert item["sk"]["S"] == bucket_of(name[3:]), name
    assert sum(1 for item in items for name in item if name.startswith("rp:")) == len(skus)
    # When an older processor still adds to a bucket, the alert-sweep job moves that too
    client.update_item(
        TableName=table,
        Key={"pk": {"S": "STOCK"}, "sk": {"S": bucket_of("LEGACY-3")}},
        UpdateExpression="ADD #oh :d",
        ExpressionAttributeNames={"#oh": "oh:LEGACY-3"},
        ExpressionAttributeValues={":d": to_ddb(-4)},
    )
    pipeline.handler("jobs")({"job": "alert-sweep"}, pipeline.context("jobs"))
    assert pipeline.on_hand() == {**after, "LEGACY-3": after["LEGACY-3"] - 4}
