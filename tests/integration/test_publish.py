"""Publishing a request's events to SNS as packets, routed by an ``event_type`` String.Array.

Given a topic with the stack's own subscriptions (their filter policies from infra/stack.json),
when a request's events are published, then each queue whose filter matches one of the types
gets one message for the whole request, holding every event (the processors keep their own
types), under a packet id that the same events always get. A request too big for one message
is split under the 256 KB limit; a packet SNS refuses is reported event by event.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from backend.adapters import bus
from backend.adapters.packets import MAX_BODY_BYTES, MAX_PACKET_EVENTS, pack, packet_id, unpack
from backend.domain.events import Event, parse_event
from devstack.spec import load_stack_spec
from tests.pipeline import SPEC


def _event(n: int, kind: str, data: dict[str, Any]) -> Event:
    raw = {"event_id": f"pub-{n:04d}", "type": kind, "occurred_at": "2025-06-02T12:00:00Z", "data": data}
    return parse_event(raw, currency="USD", inbound=False)


def _mixed(count: int) -> list[Event]:
    """Orders and catalogue updates, no registrations."""
    return [
        _event(
            n,
            "order.placed",
            {
                "order_id": f"o{n}",
                "customer_id": f"c{n % 7}",
                "currency": "USD",
                "lines": [{"sku": "MUG", "quantity": 1, "unit_price": "9.50"}],
            },
        )
        if n % 2
        else _event(
            n,
            "product.upserted",
            {"sku": f"S{n}", "name": "Mug", "category": "kitchen", "price": "9.50", "reorder_point": 3},
        )
        for n in range(count)
    ]


def _bulky(count: int, seed: int = 7) -> list[Event]:
    """Orders of 200 lines with random SKUs: they compress badly and need several packets."""
    rng = random.Random(seed)
    return [
        _event(
            n,
            "order.placed",
            {
                "order_id": f"big-{n}",
                "customer_id": "c1",
                "currency": "USD",
                "lines": [
                    {
                        "sku": "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=24)),
                        "quantity": 1,
                        "unit_price": "1.00",
                    }
                    for _ in range(200)
                ],
            },
        )
        for n in range(count)
    ]


@pytest.fixture
def mirror(stack: Any) -> Iterator[dict[str, str]]:
    """A topic subscribed like storepulse-events, with queues no poller drains: name -> URL."""
    sns, sqs = stack.client("sns"), stack.client("sqs")
    topic = sns.create_topic(Name="test-packets")["TopicArn"]
    urls: dict[str, str] = {}
    for queue in SPEC["queues"]:
        subscription = queue.get("subscription")
        if not subscription:
            continue
        url = sqs.create_queue(QueueName=f"test-packets-{queue['function']}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {"RawMessageDelivery": "true"}
        if subscription.get("filter_policy"):
            attributes["FilterPolicy"] = json.dumps(subscription["filter_policy"])
            attributes["FilterPolicyScope"] = "MessageAttributes"
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
        urls[queue["function"]] = url
    urls["topic"] = topic
    yield urls
    for name, url in urls.items():
        if name != "topic":
            sqs.delete_queue(QueueUrl=url)
    sns.delete_topic(TopicArn=topic)


def _received(stack: Any, url: str) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        if not got.get("Messages"):
            return out
        for message in got["Messages"]:
            out.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_a_request_is_one_message_per_matching_queue(stack: Any, mirror: dict[str, str]) -> None:
    # Given 500 orders and product updates
    events = _mixed(500)
    # When they are published
    assert bus.publish(stack.client("sns"), mirror["topic"], events) == []
    # Then the orders, inventory and lake queues each hold the 500 events in 5 messages of 100
    # (MAX_PACKET_EVENTS), in the request's order, and the customers queue (no registration in
    # the request) nothing
    ids = [e.event_id for e in events]
    runs = [ids[start : start + MAX_PACKET_EVENTS] for start in range(0, len(ids), MAX_PACKET_EVENTS)]
    for function in ("orders", "inventory", "lake"):
        messages = _received(stack, mirror[function])
        assert len(messages) == len(runs) == 5, function
        by_first = {unpack(m["Body"]).events[0]["event_id"]: m for m in messages}
        for run in runs:
            message = by_first[run[0]]
            unpacked = unpack(message["Body"])
            assert [e["event_id"] for e in unpacked.events] == run
            assert (
                unpacked.packet_id
                == packet_id(run)
                == message["MessageAttributes"]["packet_id"]["StringValue"]
            )
            assert json.loads(message["MessageAttributes"]["event_type"]["StringValue"]) == [
                "order.placed",
                "product.upserted",
            ]
    assert _received(stack, mirror["customers"]) == []


def test_a_request_travels_in_packets_of_at_most_100_events_so_a_batch_is_bounded_in_events() -> None:
    # Given a request of 250 small events (an import's)
    events = [
        _event(n, "inventory.adjusted", {"sku": f"CAP-{n % 7}", "delta": 1, "reason": "restock"})
        for n in range(250)
    ]
    # Then they travel as 100 + 100 + 50, in the order given, the same packets each time
    packets = pack(events)
    assert [len(p.events) for p in packets] == [MAX_PACKET_EVENTS, MAX_PACKET_EVENTS, 50]
    assert [e for p in packets for e in p.events] == events
    assert [p.packet_id for p in pack(events)] == [p.packet_id for p in packets]
    # And the orders function's batch (in messages) holds at most 1,000 events
    orders = next(f for f in load_stack_spec().functions if f.name == "orders")
    assert orders.source is not None and orders.source.batch_size * MAX_PACKET_EVENTS <= 1_000


def test_a_big_request_is_split_under_the_message_limit_the_same_way_each_time(
    stack: Any, mirror: dict[str, str]
) -> None:
    # Given 60 orders of 200 lines with random SKUs (about 1 MiB of JSON)
    events = _bulky(60)
    packets = pack(events)
    # Then they need several packets, each under the limit, holding every event once,
    # and packing them again gives the same packet ids
    assert len(packets) > 1
    assert all(len(p.body.encode()) <= MAX_BODY_BYTES for p in packets)
    assert [e for p in packets for e in p.events] == events
    assert [p.packet_id for p in pack(events)] == [p.packet_id for p in packets]
    # When they are published, SNS takes each (no message over 256 KB) and the lake gets them all
    assert bus.publish(stack.client("sns"), mirror["topic"], events) == []
    bodies = [m["Body"] for m in _received(stack, mirror["lake"])]
    assert sorted(e["event_id"] for b in bodies for e in unpack(b).events) == sorted(
        e.event_id for e in events
    )


class FailingFor:
    """A real SNS client whose ``publish_batch`` fails when a batch holds one of ``poison``."""

    def __init__(self, sns: Any, poison: set[str]):
        self._sns = sns
        self._poison = poison
        self.lock = threading.Lock()
        self.published: list[str] = []

    def publish_batch(self, **request: Any) -> Any:
        ids = [
            e["event_id"]
            for entry in request["PublishBatchRequestEntries"]
            for e in unpack(entry["Message"]).events
        ]
        if self._poison & set(ids):
            raise ConnectionError("SNS did not answer")
        response = self._sns.publish_batch(**request)
        with self.lock:
            self.published.extend(ids)
        return response


def test_a_refused_packet_reports_its_events_and_only_theirs(stack: Any, mirror: dict[str, str]) -> None:
    # Given a request split in several packets and SNS failing the call that carries pub-0003
    events = _bulky(60)
    sns = FailingFor(stack.client("sns"), {"pub-0003"})
    # When they are published
    # (FailingFor stands in for the typed SNS client: it has the one method publish calls)
    failed = bus.publish(sns, mirror["topic"], events)  # type: ignore[arg-type]
    # Then the events of that packet are not taken, and every other event was published once
    refused = next(p for p in pack(events) if any(e.event_id == "pub-0003" for e in p.events))
    assert failed == list(refused.events)
    assert sorted(sns.published) == sorted({e.event_id for e in events} - {e.event_id for e in failed})
