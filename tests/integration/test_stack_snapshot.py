"""The local store survives a restart, a Ctrl-C and a kill -9: the journal of what was
acknowledged, point-in-time snapshots at shutdown and periodically, restore and replay at start.

Each test runs stacks of its own on one data directory, each with a fresh moto server, so that
what comes back can only have come from the snapshot.
"""

from __future__ import annotations

import gzip
import json
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.aws import free_port
from devstack.journal import JOURNAL_FILE
from devstack.snapshot import SNAPSHOT_FILE
from devstack.stack import LocalStack, StackError, StackOptions


def _options(data_dir: Path, **overrides: Any) -> StackOptions:
    settings: dict[str, Any] = {
        "snapshot_interval": None,
        "run_schedules": False,
        "batching_window_seconds": 0.2,
        "visibility_timeout": 2,
        **overrides,
    }
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


def _order(n: int, day: str = "2025-06-02") -> dict[str, Any]:
    return {
        "event_id": f"kill-{n}",
        "type": "order.placed",
        "occurred_at": f"{day}T12:00:00Z",
        "data": {
            "order_id": f"K-{n}",
            "customer_id": f"C-{n % 4}",
            "lines": [{"sku": "MUG", "quantity": 1, "unit_price": "10.00"}],
            "currency": "USD",
        },
    }


def _post(stack: LocalStack, events: list[dict[str, Any]]) -> requests.Response:
    assert stack.keys is not None
    return requests.post(
        f"{stack.api_url}/v1/events",
        json={"events": events},
        headers={"x-api-key": stack.keys.ingest_key},
        timeout=30,
    )


def _orders_counted(stack: LocalStack, day: str = "2025-06-02") -> tuple[int, str]:
    assert stack.keys is not None
    summary = requests.get(
        f"{stack.api_url}/v1/metrics/summary",
        params={"start": day, "end": day},
        headers={"x-api-key": stack.keys.read_key},
        timeout=10,
    ).json()["current"]
    return summary["orders"], summary["gross_sales"]


def test_what_was_acknowledged_survives_a_kill_9_and_the_data_dir_is_locked(data_dir: Path) -> None:
    # Given a stack that has acknowledged 30 orders, and no snapshot taken since
    first = LocalStack(_options(data_dir)).start()
    try:
        for start in range(0, 30, 10):
            response = _post(first, [_order(n) for n in range(start, start + 10)])
            assert response.status_code == 202, response.text
        # And a second stack on the same data directory is refused, naming the first
        second_try = LocalStack(_options(data_dir))
        with pytest.raises(StackError, match=f"in use by the stack with pid {os.getpid()}"):
            second_try.start()
    finally:
        # When the stack dies as under kill -9: moto and everything in memory is gone
        first.crash()
    assert not (data_dir / SNAPSHOT_FILE).exists()
    journal = (data_dir / JOURNAL_FILE).read_text()
    assert journal.count('"event_id":"kill-') == 30

    # Then a new stack on the same directory counts every acknowledged order, once
    second = LocalStack(_options(data_dir)).start()
    try:
        second.wait_idle(60)
        assert _orders_counted(second) == (30, "300.00")
        # And sending some again (a client that missed the answers) changes nothing
        assert _post(second, [_order(n) for n in range(10)]).status_code == 202
        second.wait_idle(30)
        assert _orders_counted(second) == (30, "300.00")
    finally:
        second.stop()


class Holding:
    """A stand-in for the orders function that keeps its batch in flight until released."""

    def __init__(self) -> None:
        self.seen = threading.Event()
        self.release = threading.Event()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.seen.set()
        self.release.wait(60)
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}


def test_a_snapshot_is_one_instant_holding_messages_in_flight(data_dir: Path) -> None:
    # Given an order acknowledged while the orders function holds its message in flight
    holding = Holding()
    first = LocalStack(_options(data_dir, handlers={"orders": holding})).start()
    try:
        assert _post(first, [_order(1)]).status_code == 202
        assert holding.seen.wait(15)
        # When a snapshot is taken while running, and then the stack dies as under kill -9
        first.snapshot()
        # the snapshot covers the journal, which starts afresh
        assert (data_dir / JOURNAL_FILE).read_text() == ""
    finally:
        first.crash()
        holding.release.set()

    # Then the new stack delivers the message that was in flight (the ingest table, which
    # remembers its event id, came back from the same instant)
    second = LocalStack(_options(data_dir)).start()
    try:
        second.wait_idle(60)
        assert _orders_counted(second) == (1, "10.00")
        assert _post(second, [_order(1)]).json()["duplicates"] == 1
    finally:
        second.stop()


def test_ctrl_c_does_not_wait_for_a_busy_function(data_dir: Path) -> None:
    # Given the orders function busy with a batch that takes a minute
    holding = Holding()
    first = LocalStack(_options(data_dir, handlers={"orders": holding})).start()
    try:
        assert _post(first, [_order(2)]).status_code == 202
        assert holding.seen.wait(15)
        # When the stack stops (Ctrl-C)
        started = time.monotonic()
        first.stop()
        stopped_in = time.monotonic() - started
    finally:
        holding.release.set()
    # Then it stops within seconds, and the next start counts the order
    assert stopped_in < 8, f"stop took {stopped_in:.1f} s"
    second = LocalStack(_options(data_dir)).start()
    try:
        second.wait_idle(60)
        assert _orders_counted(second) == (1, "10.00")
    finally:
        second.stop()


def test_a_new_store_is_empty_for_the_backfill_and_a_restart_keeps_what_came_in(data_dir: Path) -> None:
    # Given a stack started on a new data directory (its start writes its own bookkeeping: the
    # stock-in fold's first watermark)
    first = LocalStack(_options(data_dir)).start()
    try:
        # Then the store counts as empty, so `make run` backfills its demo data
        assert not first.has_data()
        # And once an order came in, it has data
        assert _post(first, [_order(0)]).status_code == 202
        first.wait_idle(30)
        assert first.has_data()
    finally:
        first.stop()
    # And after a restart it still has, so `make run` does not backfill it again
    second = LocalStack(_options(data_dir)).start()
    try:
        assert second.has_data()
    finally:
        second.stop()
