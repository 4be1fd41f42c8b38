"""The inventory processor on an SQS event of real packets, against the in-memory table: the
catalogue at its latest version, each adjustment counted once, the stock evaluated."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from backend.adapters.batch import Parsed
from backend.processing import inventory
from tests import oracle
from tests.unit.processing.conftest import process
from tests.unit.processing.fakes import FakeAnalytics
from tests.unit.processing.sqs_events import INVENTORY_EVENTS, LATE_INVENTORY_EVENTS, load

ACCEPTS = frozenset({"product.upserted", "inventory.adjusted"})
UTC = ZoneInfo("UTC")


def test_a_batch_with_a_late_version_and_a_redelivery_counts_each_adjustment_once() -> None:
    # Given the inventory queue's batch: a packet, a packet of an older product version and a
    # later adjustment, and the first packet delivered again
    table = FakeAnalytics()
    evaluated: list[set[str]] = []

    def evaluate_stock(skus: Iterable[str]) -> None:
        evaluated.append(set(skus))

    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        return inventory.apply(table, evaluate_stock, zone=UTC, items=items)

    # When the processor takes it
    answer = process(load("inventory_sqs_event.json"), ACCEPTS, apply)
    # Then no message fails
    assert answer == {"batchItemFailures": []}
    # And on hand is the oracle's, each adjustment once though its packet came twice:
    # MUG-1 40 - 3 = 37, TEE-2 10
    delivered = [*INVENTORY_EVENTS, *LATE_INVENTORY_EVENTS, *INVENTORY_EVENTS]
    assert dict(table.on_hand) == oracle.on_hand(delivered) == {"MUG-1": 37, "TEE-2": 10}
    # And the catalogue holds the later version (2 March), though the older arrived after it
    (mug,) = table.catalogue_entries(["MUG-1", "TEE-2"]).values()
    assert (mug.name, mug.reorder_point) == ("Mug (large)", 8)
    assert mug.reorder_point == oracle.reorder_points(delivered)["MUG-1"]
    # And the stock of every SKU the batch touched is evaluated once, after counting
    assert evaluated == [{"MUG-1", "TEE-2"}]


def test_a_packet_delivered_alone_again_adds_nothing() -> None:
    # Given the first packet counted
    table = FakeAnalytics()
    event = load("inventory_sqs_event.json")
    first = {"Records": event["Records"][:1]}
    process(first, ACCEPTS, lambda items: inventory.apply(table, lambda skus: None, zone=UTC, items=items))
    counted = dict(table.on_hand)
    # When the same packet comes again in a batch of its own (a retry after a crash)
    again = {"Records": event["Records"][2:]}
    process(again, ACCEPTS, lambda items: inventory.apply(table, lambda skus: None, zone=UTC, items=items))
    # Then the stock is what one delivery made: MUG-1 +40, TEE-2 +10
    assert dict(table.on_hand) == counted == {"MUG-1": 40, "TEE-2": 10}
