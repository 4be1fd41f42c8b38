"""The SQS -> Lambda mappings of the local stack behave as Lambda's do in AWS.

Each test registers a stub function on a throwaway queue of the session's stack (real moto
server, real poller thread), so the semantics are tested apart from the processors.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from devstack.cli import main
from devstack.stack import QueueFunction

if TYPE_CHECKING:
    from tests.conftest import StackFixture


class Recorder:
    """A stub function: records each delivery, fails the messages ``fail`` picks."""

    def __init__(self, fail: Callable[[dict[str, Any]], bool] = lambda record: False, raises: int = 0):
        self.fail = fail
        self.raises = raises
        self.batches: list[list[dict[str, Any]]] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with self.lock:
            self.batches.append(event["Records"])
            if self.raises:
                self.raises -= 1
                raise RuntimeError("the function crashed")
        failed = [r for r in event["Records"] if self.fail(r)]
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in failed]}

    def deliveries(self, body: str) -> list[dict[str, Any]]:
        return [r for batch in self.batches for r in batch if r["body"] == body]


@pytest.fixture
def queue_function(stack: StackFixture) -> Iterator[Callable[..., QueueFunction]]:
    added: list[str] = []

    def add(handler: Any, **settings: Any) -> QueueFunction:
        name = f"test-{uuid.uuid4().hex[:10]}"
        added.append(name)
        return stack.local.add_queue_function(name, handler, **settings)

    yield add
    for name in added:
        stack.local.remove_queue_function(name)


def _send(stack: StackFixture, url: str, *bodies: str) -> list[str]:
    entries = [
        {
            "Id": str(i),
            "MessageBody": body,
            "MessageAttributes": {"event_type": {"DataType": "String", "StringValue": "order.placed"}},
        }
        for i, body in enumerate(bodies)
    ]
    response = stack.client("sqs").send_message_batch(QueueUrl=url, Entries=entries)
    return [entry["MessageId"] for entry in sorted(response["Successful"], key=lambda e: int(e["Id"]))]


def test_records_have_lambdas_shape(
    stack: StackFixture, queue_function: Callable[..., QueueFunction]
) -> None:
    # Given a function on a queue
    recorder = Recorder()
    function = queue_function(recorder)
    # When a message with an attribute arrives
    (message_id,) = _send(stack, function.url, "hello")
    stack.wait_idle(10)
    # Then the function got one Lambda SQS record for it
    (record,) = recorder.deliveries("hello")
    assert record["messageId"] == message_id
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == function.arn
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["event_type"] == {
        "stringValue": "order.placed",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["receiptHandle"] and record["md5OfBody"]


def test_batching_window_gathers_one_batch(
    stack: StackFixture, queue_function: Callable[..., QueueFunction]
) -> None:
    # Given a function with batches of up to 25 and a one-second window
    recorder = Recorder()
    function = queue_function(recorder, batch_size=25, batching_window_seconds=1.0)
    # When 25 messages arrive in three sends within the window
    bodies = [f"m{i}" for i in range(25)]
    for start in (0, 10, 20):
        _send(stack, function.url, *bodies[start : start + 10])
    stack.wait_idle(10)
    # Then they were handed over in a single invocation (ReceiveMessage gives 10 at most)
    assert [len(batch) for batch in recorder.batches] == [25]


def test_partial_batch_failure_redelivers_only_the_failed_message(
    stack: StackFixture, queue_function: Callable[..., QueueFunction]
) -> None:
    # Given a function that fails message "b" the first time it sees it
    recorder = Recorder(fail=lambda r: r["body"] == "b" and r["attributes"]["ApproximateReceiveCount"] == "1")
    function = queue_function(recorder, batching_window_seconds=0.5, visibility_timeout=1)
    # When a, b and c arrive together
    _send(stack, function.url, "a", "b", "c")
    stack.wait_idle(15)
    # Then a and c were handled once and deleted; b came back after its visibility timeout
    assert len(recorder.batches[0]) == 3
    assert len(recorder.deliveries("a")) == 1
    assert len(recorder.deliveries("c")) == 1
    assert [r["attributes"]["ApproximateReceiveCount"] for r in recorder.deliveries("b")] == ["1", "2"]


def test_raising_function_gets_the_whole_batch_again(
    stack: StackFixture, queue_function: Callable[..., QueueFunction]
) -> None:
    # Given a function that crashes on its first invocation
    recorder = Recorder(raises=1)
    function = queue_function(recorder, batching_window_seconds=0.5, visibility_timeout=1)
    # When two messages arrive
    _send(stack, function.url, "x", "y")
    stack.wait_idle(15)
    # Then both came back after the visibility timeout, none was lost or dead-lettered
    for body in ("x", "y"):
        assert [r["attributes"]["ApproximateReceiveCount"] for r in recorder.deliveries(body)] == ["1", "2"]
    dlq = stack.client("sqs").get_queue_attributes(QueueUrl=function.dlq_url, AttributeNames=["All"])
    assert dlq["Attributes"]["ApproximateNumberOfMessages"] == "0"


def _record_failure(stack: StackFixture, record: dict[str, Any], reason: str) -> None:
    """What the processors do for ``storepulse dlq list``: the reason, keyed by queue and id."""
    queue = record["eventSourceARN"].rsplit(":", 1)[-1]
    stack.client("dynamodb").put_item(
        TableName=stack.local.environment["ANALYTICS_TABLE"],
        Item={
            "pk": {"S": "FAILURE"},
            "sk": {"S": f"{queue}#{record['messageId']}"},
            "queue": {"S": queue},
            "message_id": {"S": record["messageId"]},
            "event_id": {"S": json.loads(record["body"])["event_id"]},
            "reason": {"S": reason},
            "failed_at": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
        },
    )


def _deploy_queue(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make a test's queue one of the deployment's, as ``stack.json`` names them."""
    import dataclasses

    from devstack import dlq
    from devstack.spec import QueueSpec, load_stack_spec

    spec = load_stack_spec()
    extra = QueueSpec(name=name, function="test", max_receive_count=5)
    deployed = dataclasses.replace(spec, queues=(*spec.queues, extra))
    monkeypatch.setattr(dlq, "load_stack_spec", lambda: deployed)


def test_poison_message_is_dead_lettered_listed_and_replayed(
    stack: StackFixture,
    queue_function: Callable[..., QueueFunction],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a function that rejects every message while it is broken, saying why
    broken = threading.Event()
    broken.set()
    reason = "ValueError: data.lines[0].quantity: must be at least 1"

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        handled.append(event["Records"])
        if not broken.is_set():
            return {"batchItemFailures": []}
        for record in event["Records"]:
            _record_failure(stack, record, reason)
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    handled: list[list[dict[str, Any]]] = []
    function = queue_function(handler, visibility_timeout=0, max_receive_count=5)
    # (the dlq commands take only the deployment's queues: this test's queue is one of them)
    _deploy_queue(monkeypatch, function.name)
    body = json.dumps({"event_id": "evt-poison-1", "type": "order.placed", "data": {}})
    # When a message fails five times
    (message_id,) = _send(stack, function.url, body)
    stack.wait_idle(20)
    # Then it was tried five times and is in the DLQ, under the same message id
    assert [b[0]["attributes"]["ApproximateReceiveCount"] for b in handled] == ["1", "2", "3", "4", "5"]
    assert main(["dlq", "list", "--json", "--queue", function.name]) == 0
    (letter,) = json.loads(capsys.readouterr().out)
    assert letter["message_id"] == message_id
    assert letter["queue"] == function.name
    assert (letter["event_id"], letter["type"], letter["reason"]) == ("evt-poison-1", "order.placed", reason)
    # And the table form says the same in words
    assert main(["dlq", "list", "--queue", function.name]) == 0
    table = capsys.readouterr().out
    assert "evt-poison-1" in table and reason in table
    # When the function is fixed and the DLQ replayed
    broken.clear()
    assert main(["dlq", "replay", "--queue", function.name]) == 0
    assert "Replayed 1 message(s)" in capsys.readouterr().out
    stack.wait_idle(10)
    # Then the message was handled once more, successfully, and the DLQ is empty
    assert len(handled) == 6
    assert handled[-1][0]["body"] == body
    assert main(["dlq", "list", "--json", "--queue", function.name]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_dlq_commands_name_an_unknown_queue(stack: StackFixture, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dlq", "list", "--queue", "no-such-queue"]) == 1
    error = capsys.readouterr().err
    assert "no-such-queue has no dead-letter queue" in error
    assert "storepulse-orders" in error
    assert "Traceback" not in error


def test_rule_with_an_sns_target_reaches_the_topic_through_its_bridge(stack: StackFixture) -> None:
    # Given a queue subscribed to the alerts topic (where e-mail goes in AWS)
    sqs, sns = stack.client("sqs"), stack.client("sns")
    listener = sqs.create_queue(QueueName=f"listen-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    listener_arn = sqs.get_queue_attributes(QueueUrl=listener, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = stack.local.environment["ALERTS_TOPIC_ARN"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=listener_arn)["SubscriptionArn"]
    try:
        # When a stock alert is put on the bus
        alert = {
            "alert_id": f"a-{uuid.uuid4().hex[:8]}",
            "sku": "SKU-1",
            "type": "low_stock",
            "on_hand": 2,
            "reorder_point": 5,
            "raised_at": "2025-03-01T10:00:00+00:00",
        }
        stack.client("events").put_events(
            Entries=[
                {
                    "EventBusName": stack.local.environment["EVENT_BUS_NAME"],
                    "Source": "storepulse.inventory",
                    "DetailType": "LowStock",
                    "Detail": json.dumps(alert),
                }
            ]
        )
        stack.wait_idle(15)
        # Then the topic got the EventBridge event, as an SNS target would deliver it
        messages = sqs.receive_message(QueueUrl=listener, WaitTimeSeconds=2).get("Messages", [])
        assert len(messages) == 1
        event = json.loads(json.loads(messages[0]["Body"])["Message"])
        assert event["detail-type"] == "LowStock"
        assert event["detail"] == alert
    finally:
        sns.unsubscribe(SubscriptionArn=subscription)
        sqs.delete_queue(QueueUrl=listener)
