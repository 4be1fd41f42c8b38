"""The local store survives a restart: snapshot at shutdown (and periodically), restore at start.

Each test runs stacks of its own on one data directory, each with a fresh moto server, so that
what comes back can only have come from the snapshot.
"""

from __future__ import annotations

import gzip
import json
import stat
import threading
import time
from pathlib import Path
from typing import Any

import requests

from backend.local import LocalStack, StackOptions, free_port
from backend.local.snapshot import SNAPSHOT_FILE


def _options(data_dir: Path, **overrides: Any) -> StackOptions:
    settings: dict[str, Any] = {"snapshot_interval": None, "run_schedules": False, **overrides}
    return StackOptions.from_environment(
        {}, data_dir=data_dir, api_port=free_port(), aws_port=free_port(), **settings
    )


class Orders:
    """A stand-in for the orders function that fails until told otherwise."""

    def __init__(self, failing: bool):
        self.failing = failing
        self.bodies: list[str] = []
        self.seen = threading.Event()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.bodies += [r["body"] for r in event["Records"]]
        self.seen.set()
        failed = event["Records"] if self.failing else []
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in failed]}


def test_items_objects_and_queued_messages_survive_a_restart(data_dir: Path) -> None:
    # Given a stack holding items, an object, a dead letter and a message its function fails on
    broken = Orders(failing=True)
    first = LocalStack(_options(data_dir, handlers={"orders": broken})).start()
    try:
        aws = first.aws
        assert aws is not None
        env = first.environment
        aws.dynamodb.put_item(
            TableName=env["ANALYTICS_TABLE"],
            Item={
                "pk": {"S": "DAY#2025-03-01"},
                "sk": {"S": "TOTAL"},
                "net": {"N": "19.99"},
                "tags": {"SS": ["a"]},
                # binary values (a month rollup's blob), nested too
                "blob": {"B": b"\x00\xffrollup"},
                "parts": {"M": {"more": {"BS": [b"\x01", b"\x02"]}, "list": {"L": [{"B": b"\x03"}]}}},
            },
        )
        aws.dynamodb.put_item(TableName=env["INGEST_TABLE"], Item={"event_id": {"S": "e1"}})
        aws.s3.put_object(
            Bucket=env["LAKE_BUCKET"],
            Key="raw/dt=2025-03-01/part-1.ndjson.gz",
            Body=b"\x1f\x8b binary",
            ContentType="application/x-ndjson",
            ContentEncoding="gzip",
            Metadata={"events": "12"},
        )
        dlq = first.dlq_urls()["storepulse-orders-dlq"]
        attributes = {"event_type": {"DataType": "String", "StringValue": "order.placed"}}
        aws.sqs.send_message(QueueUrl=dlq, MessageBody='{"event_id": "dead-1"}', MessageAttributes=attributes)
        orders = first.main_queue_urls()["storepulse-orders"]
        aws.sqs.send_message(
            QueueUrl=orders, MessageBody='{"event_id": "pending-1"}', MessageAttributes=attributes
        )
        assert broken.seen.wait(10)
    finally:
        # When the stack stops while that message is still in flight
        first.stop(drain_timeout=0.5)
    snapshot = data_dir / SNAPSHOT_FILE
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600

    # And a new stack starts on the same data directory, with a fresh moto server
    fixed = Orders(failing=False)
    second = LocalStack(_options(data_dir, handlers={"orders": fixed})).start()
    try:
        aws = second.aws
        assert aws is not None
        env = second.environment
        second.wait_idle(15)
        # Then everything is back
        item = aws.dynamodb.get_item(
            TableName=env["ANALYTICS_TABLE"], Key={"pk": {"S": "DAY#2025-03-01"}, "sk": {"S": "TOTAL"}}
        )["Item"]
        assert item["net"] == {"N": "19.99"} and item["tags"] == {"SS": ["a"]}
        assert item["blob"] == {"B": b"\x00\xffrollup"}
        assert item["parts"]["M"]["list"] == {"L": [{"B": b"\x03"}]}
        assert sorted(item["parts"]["M"]["more"]["BS"]) == [b"\x01", b"\x02"]
        assert "Item" in aws.dynamodb.get_item(TableName=env["INGEST_TABLE"], Key={"event_id": {"S": "e1"}})
        stored = aws.s3.get_object(Bucket=env["LAKE_BUCKET"], Key="raw/dt=2025-03-01/part-1.ndjson.gz")
        assert stored["Body"].read() == b"\x1f\x8b binary"
        assert stored["ContentType"] == "application/x-ndjson"
        assert stored["ContentEncoding"] == "gzip"
        assert stored["Metadata"] == {"events": "12"}
        dead = aws.sqs.receive_message(
            QueueUrl=second.dlq_urls()["storepulse-orders-dlq"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=0,
        )["Messages"]
        assert [m["Body"] for m in dead] == ['{"event_id": "dead-1"}']
        assert dead[0]["MessageAttributes"]["event_type"]["StringValue"] == "order.placed"
        # And the message that was in flight was delivered again, to the fixed function
        assert fixed.bodies == ['{"event_id": "pending-1"}']
    finally:
        second.stop(drain_timeout=5)
    # And the dev keys are the same, kept private, and only their digests reach the handlers
    assert first.keys == second.keys
    assert first.keys is not None and first.keys.ingest_key != first.keys.read_key
    assert stat.S_IMODE((data_dir / "keys.json").stat().st_mode) == 0o600
    assert first.keys.ingest_key not in second.environment.values()


def test_a_periodic_snapshot_follows_activity(data_dir: Path) -> None:
    # Given a stack that snapshots every 0.3 s once something ran
    stack = LocalStack(_options(data_dir, snapshot_interval=0.3)).start()
    try:
        assert stack.aws is not None
        stack.aws.dynamodb.put_item(
            TableName=stack.environment["INGEST_TABLE"], Item={"event_id": {"S": "p1"}}
        )
        # When a request runs
        requests.get(f"{stack.api_url}/v1/health", timeout=10)
        # Then a snapshot with the item appears without a shutdown
        snapshot = data_dir / SNAPSHOT_FILE
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not snapshot.exists():
            time.sleep(0.1)
        with gzip.open(snapshot, "rt") as lines:
            records = [json.loads(line) for line in lines]
        assert {"kind": "item", "table": "storepulse-ingest", "item": {"event_id": {"S": "p1"}}} in records
    finally:
        stack.stop(drain_timeout=1)
