"""Idempotent puts of one call may name the same item twice.

DynamoDB refuses a ``BatchWriteItem`` that names one key twice (``ValidationException``:
"Provided list of item keys contains duplicates"), and the items storepulse puts in batches are
keyed by their content: an alert sent twice, a fact found by two events of a batch. Before,
such a batch failed and its messages were applied again one by one (the alert feed logged it
during the 30,000-event benchmark, with two batches of a queue at once). Now the batch writes
each item once, the last one given.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from backend.adapters.dynamo import batch_put, from_ddb
from backend.settings import get_settings
from tests import pipeline


@pytest.fixture
def table(stack: Any) -> str:
    pipeline.allow_read_key()
    pipeline.clear_analytics()
    return get_settings().require("analytics_table")


def test_an_item_named_twice_in_one_batch_is_put_once_the_last_one_wins(table: str) -> None:
    # Given 30 items (two calls of 25): one of them given again as it is, one key given again
    # with other content (AWS refuses both in one call; moto only the first)
    items = [{"pk": "TEST#dup", "sk": f"n{n}", "v": n} for n in range(27)]
    items += [{"pk": "TEST#dup", "sk": "n25", "v": 25}, {"pk": "TEST#dup", "sk": "n3", "v": 103}]
    items += [{"pk": "TEST#dup", "sk": "n26", "v": 126}]
    # When they are put in a batch
    batch_put(pipeline.dynamodb(), table, items)
    # Then each key holds one item, the last one given
    stored = pipeline.dynamodb().query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "TEST#dup"}},
    )["Items"]
    values = {item["sk"]: item["v"] for item in map(from_ddb, stored)}
    assert len(values) == 27
    assert values["n3"] == 103 and values["n26"] == 126 and values["n25"] == 25 and values["n5"] == 5


def test_the_alert_feed_keeps_an_alert_sent_twice_in_one_batch_without_a_retry(
    table: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given one low-stock alert delivered twice in one batch (EventBridge is at-least-once)
    alert = {
        "alert_id": "low-MUG-1",
        "type": "low_stock",
        "raised_at": "2025-03-10T12:00:00+00:00",
        "sku": "MUG",
        "on_hand": 2,
        "reorder_point": 5,
    }
    record = pipeline.sqs_record({"event_id": "x", "type": "alert"}, "storepulse-alert-feed")
    records = [dict(record, messageId=f"m{n}", body=json.dumps({"detail": alert})) for n in range(2)]
    # When the alert feed takes the batch
    result = pipeline.handler("alert_feed")({"Records": records}, pipeline.context("alert_feed"))
    # Then nothing fails, the batch was not applied again one message at a time, and the feed has it once
    assert result.get("batchItemFailures", []) == []
    assert "one by one" not in caplog.text
    status, body = pipeline.api_get("/v1/alerts", {"since": "2025-03-10T00:00:00Z"})
    assert status == 200, body
    assert [a["alert_id"] for a in body["alerts"]] == ["low-MUG-1"]
