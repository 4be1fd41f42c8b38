"""Stock alerts, the raw lake and the dead-letter path, end to end through the local stack."""

from __future__ import annotations

import gzip
import json
import os
import re
import time
import zlib
from typing import Any

import pytest
import requests

from backend.processing import orders as orders_processing
from devstack.cli import main
from devstack.dlq import list_dead_letters, replay_dead_letters
from devstack.simulator import send
from tests.pipeline import drain_queue, subscribe_alert_topic

EMAIL = "Ada.Lovelace@Example.com"


def _event(event_id: str, kind: str, moment: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": event_id, "type": kind, "occurred_at": moment, "data": data}


def _order(n: int, sku: str, quantity: int, customer: str = "c-1") -> dict[str, Any]:
    return _event(
        f"order-{n}",
        "order.placed",
        f"2025-04-0{1 + n % 5}T15:00:00Z",
        {
            "order_id": f"o-{n}",
            "customer_id": customer,
            "lines": [{"sku": sku, "quantity": quantity, "unit_price": "12.00"}],
            "currency": "USD",
        },
    )


def _ingest(stack: Any, *events: dict[str, Any]) -> None:
    totals = send(list(events), stack.api_url, stack.ingest_key, progress=False)
    assert totals["rejected"] == 0, totals
    stack.wait_idle(60)


def _feed(stack: Any) -> list[dict[str, Any]]:
    items = stack.client("dynamodb").query(
        TableName="storepulse-analytics",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "ALERTS"}},
    )["Items"]
    return [{k: next(iter(v.values())) for k, v in item.items()} for item in items]


def test_one_alert_per_crossing_re_armed_by_a_restock(stack: Any) -> None:
    # Given a product with reorder point 5 and 10 in stock, and someone reading the alerts topic
    stack.reset()
    mail = subscribe_alert_topic(stack)
    _ingest(
        stack,
        _event(
            "p",
            "product.upserted",
            "2025-03-31T10:00:00Z",
            {
                "sku": "LAMP",
                "name": "Lamp",
                "category": "Home",
                "price": "12.00",
                "reorder_point": 5,
            },
        ),
        _event(
            "a0",
            "inventory.adjusted",
            "2025-03-31T11:00:00Z",
            {"sku": "LAMP", "delta": 10, "reason": "restock"},
        ),
    )
    assert _feed(stack) == []
    # When orders take it to 5 (low), then 3 (still low), then 0 (out)
    _ingest(stack, _order(1, "LAMP", 5))
    _ingest(stack, _order(2, "LAMP", 2))
    _ingest(stack, _order(3, "LAMP", 3))
    # Then one low_stock and one out_of_stock alert
    assert sorted(a["type"] for a in _feed(stack)) == ["low_stock", "out_of_stock"]
    # When a restock brings it back above the threshold, then an order takes it low again
    _ingest(
        stack,
        _event(
            "a1",
            "inventory.adjusted",
            "2025-04-04T09:00:00Z",
            {
                "sku": "LAMP",
                "delta": 20,
                "reason": "restock",
            },
        ),
    )
    assert len(_feed(stack)) == 2
    _ingest(stack, _order(4, "LAMP", 16))
    # Then the re-armed threshold raises once more, and each alert also reached the SNS topic
    feed = _feed(stack)
    assert sorted(a["type"] for a in feed) == ["low_stock", "low_stock", "out_of_stock"]
    low = [a for a in feed if a["on_hand"] == "4"]
    assert len(low) == 1 and low[0]["reorder_point"] == "5" and low[0]["sku"] == "LAMP"
    delivered = drain_queue(stack, mail)
    assert sorted(m["detail"]["alert_id"] for m in delivered) == sorted(a["alert_id"] for a in feed)
    assert {m["source"] for m in delivered} == {"storepulse.inventory"}
    assert {m["detail-type"] for m in delivered} == {"LowStock", "OutOfStock"}


def _readable(value: bytes) -> str:
    """A binary attribute as text: packed items (zlib-compressed JSON) opened, so that what they
    hold is checked too."""
    try:
        return zlib.decompress(value).decode()
    except zlib.error:
        return value.decode("latin-1")


def test_lake_holds_every_event_partitioned_with_emails_hashed(stack: Any) -> None:
    # Given a registration with an e-mail and an order
    stack.reset()
    _ingest(
        stack,
        _event(
            "reg",
            "customer.registered",
            "2025-04-01T12:00:00Z",
            {
                "customer_id": "c-1",
                "country": "GB",
                "email": EMAIL,
            },
        ),
        _order(1, "MUG", 1),
    )
    # Then the lake has a gzipped NDJSON object per lake batch (one or two here), by arrival hour
    s3 = stack.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="storepulse-lake").get("Contents", [])]
    assert 1 <= len(keys) <= 2
    assert all(re.fullmatch(r"events/arrived=\d{4}-\d\d-\d\d-\d\d/[0-9a-f]{32}\.ndjson\.gz", k) for k in keys)
    lines = []
    for key in keys:
        obj = s3.get_object(Bucket="storepulse-lake", Key=key)
        assert obj.get("ServerSideEncryption") in {"AES256", "aws:kms"}
        lines += [json.loads(line) for line in gzip.decompress(obj["Body"].read()).decode().splitlines()]
    assert {e["event_id"] for e in lines} == {"reg", "order-1"}
    registration = next(e for e in lines if e["event_id"] == "reg")
    assert "email" not in registration["data"] and len(registration["data"]["email_hash"]) == 64
    # And the compaction job files each event under its table and store day
    assert stack.local.invoke_job("lake-compaction")["compacted"] == 2
    tables = [o["Key"] for o in s3.list_objects_v2(Bucket="storepulse-lake", Prefix="parquet/")["Contents"]]
    assert sorted(tables) == [
        "parquet/customers/dt=2025-04-01/part-00000.parquet",
        "parquet/orders/dt=2025-04-02/part-00000.parquet",
    ]
    # And the e-mail is nowhere in clear: not in the lake, the tables or the stack's logs
    assert EMAIL.lower() not in json.dumps(lines).lower()
    for table in ("storepulse-analytics", "storepulse-ingest"):
        dump = json.dumps(stack.client("dynamodb").scan(TableName=table)["Items"], default=_readable).lower()
        assert EMAIL.lower() not in dump
    for log in stack.data_dir.glob("**/*.log"):
        assert EMAIL.lower() not in log.read_text(errors="replace").lower()


def test_poison_message_ends_in_the_dlq_with_its_reason_and_replay_counts_it_once(
    stack: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a bug that breaks the orders processor after it counted customer c-bug's order
    stack.reset()
    real = orders_processing.customer_days.group

    def broken(memberships: dict[str, Any]) -> dict[Any, Any]:
        if "c-bug" in memberships:
            raise RuntimeError("customer sets are broken for c-bug")
        return real(memberships)

    monkeypatch.setattr(orders_processing.customer_days, "group", broken)
    # (one request, so one packet, holds c-bug's order and another; a second request a third)
    send(
        [_order(1, "MUG", 2, customer="c-bug"), _order(3, "MUG", 1, customer="c-3")],
        stack.api_url,
        stack.ingest_key,
        progress=False,
    )
    send([_order(2, "MUG", 1)], stack.api_url, stack.ingest_key, progress=False)
    # When it has failed five times
    aws = stack.aws
    deadline = time.monotonic() + 60
    letters: list[Any] = []
    while time.monotonic() < deadline and not letters:
        letters = list_dead_letters(aws, analytics_table="storepulse-analytics", queue="storepulse-orders")
        time.sleep(0.5)
    # Then its packet waits in the DLQ, whole, with the reason; the other packet was counted
    assert [(d.queue, d.events, d.event_ids) for d in letters] == [
        ("storepulse-orders", 2, ("order-1", "order-3"))
    ]
    assert letters[0].packet_id.startswith("p-")
    assert "customer sets are broken for c-bug" in (letters[0].reason or "")
    # And the command line says so in words
    saved = dict(os.environ)
    try:
        assert main(["dlq", "list"]) == 0
    finally:  # the command line sets the handlers' variables in this process
        os.environ.clear()
        os.environ.update(saved)
    listing = capsys.readouterr().out
    assert f"packet {letters[0].packet_id[:14]}: 2 events (order-1, order-3)" in listing, listing
    # When the bug is fixed and the DLQ replayed
    monkeypatch.setattr(orders_processing.customer_days, "group", real)
    assert sum(replay_dead_letters(aws, queue="storepulse-orders", progress=False).values()) == 1
    stack.wait_idle(60)
    # Then the order counts exactly once, although it was counted before each failure
    summary = requests.get(
        f"{stack.api_url}/v1/metrics/summary",
        params={"start": "2025-04-01", "end": "2025-04-05"},
        headers={"x-api-key": stack.read_key},
        timeout=10,
    ).json()["current"]
    assert (summary["orders"], summary["units"], summary["gross_sales"], summary["customers"]) == (
        3,
        4,
        "48.00",
        3,
    )
    assert list_dead_letters(aws, analytics_table="storepulse-analytics") == []
