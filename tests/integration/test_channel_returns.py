"""Returns per channel: a refund counts under its order's channel whichever arrives first.

Given orders in every channel and their refunds (some on a later day, one of an order that never
comes), when the refunds are processed before, after, together with and concurrently with their
orders, and everything again, then each channel's returns and net sales equal the oracle's and
the channels add up to the store's returns.
"""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backend.settings import get_settings
from tests import oracle, pipeline

TZ = "America/New_York"
QUEUE = "storepulse-orders"
DAY = date(2025, 3, 9)
CHANNELS = ("web", "mobile", "marketplace", "pos")


def _history() -> list[dict[str, Any]]:
    events = []
    for n in range(16):
        events.append(
            {
                "event_id": f"o-{n}",
                "type": "order.placed",
                "occurred_at": f"2025-03-0{8 + n % 2}T15:00:00Z",
                "data": {
                    "order_id": f"O{n}",
                    "customer_id": f"C{n % 5}",
                    "lines": [{"sku": "MUG", "quantity": 1, "unit_price": f"{10 + n}.00"}],
                    "discount": "1.50",
                    "currency": "USD",
                    "channel": CHANNELS[n % 4],
                },
            }
        )
        events.append(
            {
                "event_id": f"r-{n}",
                "type": "order.refunded",
                # 2025-03-10T03:30Z is still 9 March in New York
                "occurred_at": "2025-03-10T03:30:00Z" if n % 3 else "2025-03-09T20:00:00Z",
                "data": {
                    "order_id": f"O{n}",
                    "refund_id": f"R{n}",
                    "amount": f"{n + 1}.25",
                    "currency": "USD",
                },
            }
        )
    events.append(
        {
            "event_id": "r-orphan",
            "type": "order.refunded",
            "occurred_at": "2025-03-09T18:00:00Z",
            "data": {"order_id": "O-never", "refund_id": "R-orphan", "amount": "3.00", "currency": "USD"},
        }
    )
    return pipeline.pipeline_form(events)


def _check(events: list[dict[str, Any]]) -> None:
    status, body = pipeline.api_get("/v1/metrics/channels", {"start": "2025-03-08", "end": "2025-03-09"})
    assert status == 200, body
    expected = oracle.channels(events, date(2025, 3, 8), DAY, tz=TZ)
    for row in body["channels"]:
        for name in ("gross_sales", "discounts", "returns", "net_sales"):
            assert Decimal(row[name]) == expected[row["channel"]][name], (row["channel"], name)
    unattributed = oracle.unattributed_returns(events, date(2025, 3, 8), DAY, tz=TZ)
    assert body["unattributed_returns"] == "3.00" == format(unattributed, "f")
    store = pipeline.summary(date(2025, 3, 8), DAY)
    assert sum(Decimal(r["returns"]) for r in body["channels"]) + unattributed == Decimal(store["returns"])


@pytest.fixture
def history(stack: Any, store_zone: None) -> list[dict[str, Any]]:
    pipeline.allow_read_key()
    pipeline.clear_analytics()
    return _history()


def test_refunds_before_after_and_with_their_orders(history: list[dict[str, Any]]) -> None:
    orders = [e for e in history if e["type"] == "order.placed"]
    refunds = [e for e in history if e["type"] == "order.refunded"]
    # Given half the refunds before their orders, a quarter after, a quarter in the same batch
    pipeline.deliver(refunds[:8], batch_size=3)
    pipeline.deliver(orders[:12], batch_size=5)
    pipeline.deliver(refunds[8:12] + orders[12:] + refunds[12:], batch_size=10)
    _check(history)
    # When everything is delivered again, in other batches
    pipeline.deliver(history[::-1], batch_size=7)
    # Then nothing counts twice
    _check(history)
    # And only the order that never came is still noted as refunded before it was counted
    assert _orphans() == {"O-never"}


def _orphans() -> set[str]:
    item = (
        pipeline.dynamodb()
        .get_item(
            TableName=get_settings().require("analytics_table"),
            Key={"pk": {"S": "REFUNDS"}, "sk": {"S": "ORPHANS"}},
            ConsistentRead=True,
        )
        .get("Item", {})
    )
    return set(item.get("orders", {}).get("SS", []))


def test_refunds_and_orders_processed_at_the_same_time(history: list[dict[str, Any]]) -> None:
    # Given each order and its refund delivered by two processors at once, each pair twice
    orders = [e for e in history if e["type"] == "order.placed"]
    refunds = [e for e in history if e["type"] == "order.refunded"]
    errors: list[BaseException] = []

    def run(events: list[dict[str, Any]]) -> None:
        try:
            for event in events:
                pipeline.deliver([event])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(part,)) for part in (orders, refunds, refunds[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    # Then each refund counts once, under its order's channel
    _check(history)
    assert "O-never" in _orphans()
