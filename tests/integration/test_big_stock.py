"""A big store's stock: 15,000 SKUs with 40-character codes, counted exactly, in small items.

Given a store of 15,000 SKUs (codes of 40 characters), each adjusted, and orders of 100 lines
that sell every one of them, when the inventory and orders processors count it all, then no
stock item ever grows past 100 KB (the on-hand inbox settles into the SKUs' own items as it
grows), every SKU's on hand equals the oracle's, and ``GET /v1/inventory`` pages over every SKU
once, in order, with those figures.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from backend.adapters.stock import INBOX_KEYS
from backend.settings import get_settings
from bench.meter import item_size
from tests import oracle, pipeline
from tests.figures import assert_same_stock

SKUS = 15_000
LINES = 100
ORDERS = 15  # on 15 days: 1,500 SKUs sold, 100 a day
LIMIT_BYTES = 100 * 1024
INBOX_PARTITIONS = tuple(pk for pk, _ in INBOX_KEYS)
STOCK_PARTITIONS = (*INBOX_PARTITIONS, "STOCK", "CATALOG", "STOCK#PENDING")


def _sku(n: int) -> str:
    code = f"BIGSTORE-{n:05d}-WAREHOUSE-AISLE-{n % 97:02d}-"
    return (code + "X" * 40)[:40]


def _history() -> list[dict[str, Any]]:
    skus = [_sku(n) for n in range(SKUS)]
    events: list[dict[str, Any]] = []
    for n, sku in enumerate(skus):
        events.append(
            {
                "event_id": f"big-adj-{n}",
                "type": "inventory.adjusted",
                "occurred_at": "2025-03-01T08:00:00Z",
                "data": {"sku": sku, "delta": 20 + n % 7, "reason": "restock"},
            }
        )
    shuffled = random.Random(11).sample(skus, len(skus))
    for order in range(ORDERS):
        lines = shuffled[order * LINES : (order + 1) * LINES]
        events.append(
            {
                "event_id": f"big-order-{order}",
                "type": "order.placed",
                "occurred_at": f"2025-03-{2 + order:02d}T10:00:00Z",
                "data": {
                    "order_id": f"BIG{order}",
                    "customer_id": f"BIGC{order % 17}",
                    "lines": [
                        {"sku": sku, "quantity": 1 + (order + i) % 3, "unit_price": "2.50"}
                        for i, sku in enumerate(lines)
                    ],
                    "currency": "USD",
                },
            }
        )
    return events


def _largest(partitions: tuple[str, ...]) -> tuple[int, str]:
    table = get_settings().require("analytics_table")
    paginator = pipeline.dynamodb().get_paginator("query")
    largest = (0, "")
    for pk in partitions:
        for page in paginator.paginate(
            TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
        ):
            for item in page["Items"]:
                largest = max(largest, (item_size(item), f"{pk}/{item['sk']['S']}"))
    return largest


def _settled() -> int:
    """How many SKUs have stock settled into their own item."""
    paginator = pipeline.dynamodb().get_paginator("query")
    return sum(
        1
        for page in paginator.paginate(
            TableName=get_settings().require("analytics_table"),
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "CATALOG"}},
        )
        for item in page["Items"]
        if "oh" in item
    )


@pytest.mark.timeout(1200)
def test_a_store_of_15000_long_skus_is_counted_exactly_in_small_items(
    stack: Any, store_zone: None, emptied_after: None
) -> None:
    pipeline.allow_read_key()
    pipeline.clear_analytics()
    history = _history()
    events = pipeline.pipeline_form(history)
    # When the adjustments, then the orders, are counted in batches of 500, checking the
    # inbox items (the only stock items that hold many SKUs) after every 1,500 events
    largest_inbox = (0, "")
    for start in range(0, len(events), 1_500):
        pipeline.deliver(events[start : start + 1_500], batch_size=500)

        largest_inbox = max(largest_inbox, _largest(INBOX_PARTITIONS))
    # Then no stock item came near DynamoDB's 400 KB: the inbox stayed small all along
    largest = max(largest_inbox, _largest(STOCK_PARTITIONS))
    assert largest[0] < LIMIT_BYTES, f"{largest[1]} holds {largest[0]} bytes"
    assert largest_inbox[0] < 16 * 1024, largest_inbox
    # And every SKU is counted exactly: most of them settled into their own items
    expected = oracle.on_hand(history)
    assert len(expected) == SKUS
    kept = pipeline.on_hand()
    assert_same_stock(kept, expected)
    assert _settled() > SKUS // 2
    # And /v1/inventory pages over every SKU once, in order, with the oracle's on hand
    seen: list[tuple[str, int]] = []
    pages = 0
    cursor: str | None = None
    while True:
        params = {"limit": "1000"} | ({"cursor": cursor} if cursor else {})
        status, body = pipeline.api_get("/v1/inventory", params)
        assert status == 200, body
        assert len(body["items"]) <= 1000
        seen += [(item["sku"], item["on_hand"]) for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == SKUS // 1000
    assert [sku for sku, _ in seen] == sorted(expected)
    assert dict(seen) == expected
