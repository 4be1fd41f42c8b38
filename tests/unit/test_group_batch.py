"""GroupBatchProcessor with packets: one Parsed per event, failures by message, a poison packet
isolated whole.

The apply function and the failure log are stubs here (this is about the batch bookkeeping);
the real processors on packets are tested in tests/integration/test_exactly_once.py.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import process_partial_response

from backend.adapters.batch import GroupBatchProcessor, Many, Parsed
from backend.adapters.packets import pack_json, unpack
from backend.handlers import _sqs
from devstack.runtime import new_context


class Failures:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str]] = []

    def record(self, record: Any, reason: BaseException) -> None:
        self.recorded.append((record.message_id, str(reason)))


def _record(message_id: str, event_ids: list[str]) -> dict[str, Any]:
    body = pack_json([{"event_id": i, "type": "order.placed"} for i in event_ids])
    return {
        "messageId": message_id,
        "receiptHandle": "r",
        "body": body,
        "attributes": {},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:storepulse-orders",
        "awsRegion": "us-east-1",
    }


def test_a_poison_packet_fails_whole_and_alone() -> None:
    # Given three packets, the second holding a poison event, and an apply that fails on it
    calls: list[list[Parsed]] = []

    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        calls.append(list(items))
        if any(item.value == "bad" for item in items):
            raise RuntimeError("cannot count bad")
        return {}

    failures = Failures()  # a stand-in for the DynamoDB-backed FailureLog
    processor = GroupBatchProcessor(apply=apply, failures=lambda: failures)  # type: ignore[arg-type,return-value]

    def parse(record: Any) -> Many:
        unpacked = unpack(record.body)
        return Many(unpacked.packet_id, tuple(e["event_id"] for e in unpacked.events))

    event = {"Records": [_record("m1", ["a", "b"]), _record("m2", ["c", "bad"]), _record("m3", ["d"])]}
    # When the batch is processed
    result = process_partial_response(event=event, record_handler=parse, processor=processor, context=None)
    # Then the whole batch was tried with one Parsed per event, sharing its message's ids
    first = calls[0]
    assert [(p.message_id, p.value) for p in first] == [
        ("m1", "a"),
        ("m1", "b"),
        ("m2", "c"),
        ("m2", "bad"),
        ("m3", "d"),
    ]
    assert first[0].packet == first[1].packet != first[2].packet
    assert first[0].packet.startswith("p-")
    # And after it failed, each packet was applied whole on its own: only m2 failed, once
    assert [[p.value for p in call] for call in calls[1:]] == [["a", "b"], ["c", "bad"], ["d"]]
    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert failures.recorded == [("m2", "cannot count bad")]


def test_a_packet_without_events_for_this_processor_succeeds_without_apply() -> None:
    # Given a packet none of whose events this processor takes
    calls: list[Sequence[Parsed]] = []

    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        calls.append(items)
        return {}

    failures = Failures()  # a stand-in for the DynamoDB-backed FailureLog
    processor = GroupBatchProcessor(apply=apply, failures=lambda: failures)  # type: ignore[arg-type,return-value]
    event = {"Records": [_record("m1", ["a"])]}
    result = process_partial_response(
        event=event, record_handler=lambda record: Many("p-x", ()), processor=processor, context=None
    )
    # Then it succeeds without applying anything
    assert result == {"batchItemFailures": []} and calls == [] and failures.recorded == []


def test_concurrent_invocations_of_one_handler_answer_for_their_own_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given one SQS handler (as the local stack runs it: several batches of a queue in one
    # process), whose apply fails every event of the batch holding m1 and none of the other
    failures = Failures()
    monkeypatch.setattr(_sqs, "_failure_log", lambda: failures)
    second_applying = threading.Event()
    first_answered = threading.Event()

    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        if items[0].message_id == "m1":
            assert second_applying.wait(10), "the second batch never ran beside the first"
            return {item.message_id: RuntimeError("cannot count") for item in items}
        second_applying.set()
        assert first_answered.wait(10), "the first batch never answered"
        return {}

    def parse(record: Any) -> Many:
        unpacked = unpack(record.body)
        return Many(unpacked.packet_id, tuple(e["event_id"] for e in unpacked.events))

    handler = _sqs.sqs_handler("storepulse-test", parse, apply)
    results: dict[str, Any] = {}

    def invoke(name: str, records: list[dict[str, Any]]) -> None:
        context = new_context("orders", memory=512, timeout=30, region="us-east-1", account_id="1")
        results[name] = handler({"Records": records}, context)
        if name == "first":
            first_answered.set()

    # When the two batches run at the same time, the second answering after the first
    threads = [
        threading.Thread(target=invoke, args=("first", [_record("m1", ["a"]), _record("m2", ["b"])])),
        threading.Thread(target=invoke, args=("second", [_record("m3", ["c"])])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # Then each reports its own failures: the first both of its messages, the second none
    assert results["first"] == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
    assert results["second"] == {"batchItemFailures": []}
    assert sorted(m for m, _ in failures.recorded) == ["m1", "m2"]
