"""Stock crossings against the in-memory table: one alert per crossing into low or out, re-armed
when the stock recovers, never lost across a crash, never sent twice by two processors; and the
inventory processor's batch (the SQS event of ``events/``) evaluated with it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.adapters.batch import Parsed
from backend.processing import inventory, stock
from tests.unit.processing.conftest import process
from tests.unit.processing.fakes import FakeAnalytics
from tests.unit.processing.sqs_events import load

AT = datetime(2025, 3, 2, 9, 30, tzinfo=UTC)
ACCEPTS = frozenset({"product.upserted", "inventory.adjusted"})


class Bus:
    """The alerts put on the bus, in order."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def __call__(self, alert: dict[str, Any]) -> None:
        self.sent.append(alert)


def _table(on_hand: int, reorder_point: int = 8) -> FakeAnalytics:
    table = FakeAnalytics()
    table.upsert_product("MUG-1", {"sku": "MUG-1", "name": "Mug", "reorder_point": reorder_point}, "v1")
    table.on_hand["MUG-1"] = on_hand
    return table


def _evaluate(table: FakeAnalytics, send: stock.SendAlert) -> list[dict[str, Any]]:
    return stock.evaluate(table, send, ["MUG-1"], now=lambda: AT)


def test_each_crossing_raises_one_alert_and_recovering_re_arms_it() -> None:
    # Given a mug with reorder point 8, 5 on hand
    table, bus = _table(on_hand=5), Bus()
    # When its stock is evaluated twice
    first = _evaluate(table, bus)
    again = _evaluate(table, bus)
    # Then one low_stock alert went out, with the figures, and none the second time
    assert first == [
        {
            "alert_id": stock._alert_id("MUG-1", 1),
            "sku": "MUG-1",
            "type": "low_stock",
            "on_hand": 5,
            "reorder_point": 8,
            "raised_at": "2025-03-02T09:30:00.000+00:00",
        }
    ]
    assert again == [] and bus.sent == first
    # And nothing stays pending; the SKU is low after its first crossing
    assert table.pending_stock == {} and table.stock_states["MUG-1"] == ("low", 1)
    # When it runs out, then recovers to 20, then falls to 3
    sent = []
    for on_hand in (0, 20, 3):
        table.on_hand["MUG-1"] = on_hand
        sent.append([(a["type"], a["on_hand"]) for a in _evaluate(table, bus)])
    # Then running out is a second alert, recovering raises none, and the fall a third
    assert sent == [[("out_of_stock", 0)], [], [("low_stock", 3)]]
    assert len({a["alert_id"] for a in bus.sent}) == 3
    assert table.stock_states["MUG-1"] == ("low", 3)


def test_an_alert_left_pending_by_a_crash_is_sent_once_by_the_sweep() -> None:
    # Given an evaluation that crashed after recording the crossing, before the bus took it
    table = _table(on_hand=2)

    def bus_down(alert: dict[str, Any]) -> None:
        raise ConnectionError("EventBridge unreachable")

    with pytest.raises(ConnectionError):
        _evaluate(table, bus_down)
    (pending,) = table.pending_stock.values()
    # When the alert-sweep runs, twice
    bus = Bus()
    resent = [stock.sweep(table, bus), stock.sweep(table, bus)]
    # Then the recorded alert goes out once, unchanged (its id and raised_at fixed at recording)
    assert resent == [1, 0]
    assert bus.sent == [json.loads(pending)]
    assert bus.sent[0]["type"] == "low_stock" and bus.sent[0]["on_hand"] == 2
    # And a later evaluation raises nothing new: the crossing was recorded once
    assert _evaluate(table, bus) == [] and len(bus.sent) == 1


def test_of_two_processors_seeing_the_same_crossing_one_sends_it() -> None:
    # Given two processors that both read the mug as ok, 4 on hand
    table, bus = _table(on_hand=4), Bus()
    (read,) = table.sku_stock(["MUG-1"]).values()
    # When one records the crossing and the other then tries with what it read
    assert _evaluate(table, bus)[0]["type"] == "low_stock"
    second = stock._settle_status(table, bus, read, AT + timedelta(seconds=1))
    # Then the second sends nothing: the alert is the first's alone
    assert second is None and len(bus.sent) == 1


def test_the_inventory_batch_raises_the_alerts_of_the_stock_it_leaves() -> None:
    # Given the inventory queue's batch (MUG-1: +40 -3 and its latest reorder point 8; TEE-2:
    # +10, never described)
    table, bus = FakeAnalytics(), Bus()

    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        def evaluate_stock(skus: Iterable[str]) -> None:
            stock.evaluate(table, bus, skus, now=lambda: AT)

        return inventory.apply(table, evaluate_stock, zone=ZoneInfo("UTC"), items=items)

    # When the processor takes it
    answer = process(load("inventory_sqs_event.json"), ACCEPTS, apply)
    # Then the stock is ok (37 over 8; 10 with no reorder point): no alert, no state recorded
    assert answer == {"batchItemFailures": []}
    assert bus.sent == [] and table.stock_states == {}
    # When 29 mugs are written off and the stock evaluated as the processor does
    table.on_hand["MUG-1"] -= 29
    (alert,) = stock.evaluate(table, bus, ["MUG-1", "TEE-2"], now=lambda: AT)
    # Then the mug alone crosses into low, at its reorder point
    assert (alert["sku"], alert["type"], alert["on_hand"], alert["reorder_point"]) == (
        "MUG-1",
        "low_stock",
        8,
        8,
    )
    assert bus.sent == [alert]
    # And each evaluation settled the inbox of the SKUs it looked at
    assert table.calls["settle_stock_inbox"] == 2
