"""Several batches of one queue at once (Lambda's ``MaximumConcurrency``) count each order once.

The local stack runs ``maximum_concurrency`` batches of a queue side by side, as Lambda runs that
many invocations of a function on one queue. Given a history shuffled and partly delivered
twice, in packets on a queue whose poller runs four batches at once into the real orders
function (real moto server, real poller threads), the figures and the stock equal the oracle's.
"""

from __future__ import annotations

import contextlib
import random
import threading
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from tests import oracle, pipeline
from tests.figures import assert_same_figures, assert_same_stock
from tests.histories import small_history

TZ = "America/New_York"
ORDER_TYPES = {"order.placed", "order.refunded"}


class Overlapping:
    """The orders function, with its first two invocations held until both have started (so
    the test does not depend on the machine's speed to see batches overlap), counting how many
    ran at once."""

    def __init__(self, function: Any):
        self.function = function
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.invocations = 0
        self.first_two = threading.Barrier(2)

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        with self.lock:
            self.invocations += 1
            held = self.invocations <= 2
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            if held:
                # If they never meet, the peak assertion below says so.
                with contextlib.suppress(threading.BrokenBarrierError):
                    self.first_two.wait(timeout=30)
            return self.function(event, context)
        finally:
            with self.lock:
                self.running -= 1


def _message(entry_id: str, packet: list[dict[str, Any]], queue: str) -> dict[str, Any]:
    """A ``SendMessageBatch`` entry carrying ``packet`` as the ingest function publishes it."""
    record = pipeline.packet_record(packet, queue)
    types = record["messageAttributes"]["event_type"]["stringValue"]
    return {
        "Id": entry_id,
        "MessageBody": record["body"],
        "MessageAttributes": {"event_type": {"DataType": "String.Array", "StringValue": types}},
    }


@pytest.fixture
def fresh(stack: Any, store_zone: None) -> Iterator[None]:
    pipeline.allow_read_key()
    pipeline.clear_analytics()
    yield
    pipeline.clear_analytics()


def test_concurrent_batches_of_one_queue_give_the_oracles_figures(stack: Any, fresh: None) -> None:
    # Given a few weeks of a store, the catalogue and stock counted first
    raw = small_history(5, days=12, orders_per_day=12, tz=TZ)
    events = pipeline.pipeline_form(raw)
    orders = [e for e in events if e["type"] in ORDER_TYPES]
    pipeline.deliver([e for e in events if e["type"] not in ORDER_TYPES])
    # and the orders and refunds shuffled, a tenth of them twice, in packets of four
    rng = random.Random(11)
    delivered = orders + rng.sample(orders, len(orders) // 10)
    rng.shuffle(delivered)
    packets = [delivered[i : i + 4] for i in range(0, len(delivered), 4)]
    function = Overlapping(pipeline.handler("orders"))
    name = f"test-orders-{uuid.uuid4().hex[:8]}"
    queue = stack.local.add_queue_function(
        name, function, batch_size=2, timeout=60, visibility_timeout=60, maximum_concurrency=4
    )
    try:
        # When they arrive on a queue whose poller runs up to four batches at once
        sqs = stack.client("sqs")
        for start in range(0, len(packets), 10):
            sqs.send_message_batch(
                QueueUrl=queue.url,
                Entries=[
                    _message(str(i), packet, name) for i, packet in enumerate(packets[start : start + 10])
                ],
            )
        stack.wait_idle(timeout=300)
        dead = sqs.get_queue_attributes(
            QueueUrl=queue.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
    finally:
        stack.local.remove_queue_function(name)
    # Then batches ran side by side, none was dead-lettered
    assert function.peak >= 2, f"at most {function.peak} batch ran at once"
    assert queue.poller.peak_concurrency >= 2
    assert dead["Attributes"]["ApproximateNumberOfMessages"] == "0"
    # And every range's figures and the stock equal the oracle's over the events as sent
    first, last = date(2025, 3, 9), date(2025, 3, 20)
    for since, until in [(first, last), (first, first), (date(2025, 3, 14), last)]:
        assert_same_figures(
            pipeline.summary(since, until), oracle.summary(raw, since, until, tz=TZ), f"{since}..{until}"
        )
    assert_same_stock(pipeline.on_hand(), oracle.on_hand(raw))
