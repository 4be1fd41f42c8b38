"""The ``anomalies`` job: a closed store day against the same weekday of the 8 weeks before.

After each store day closes (``storepulse-anomalies``), and on ``storepulse run-job anomalies
[--day D]``: the sales counters of the day and of the 8 weeks before it (``DAY#<d>``/``SALES``,
the day aggregates the orders processor keeps: 57 items by key; the same weekday's are the
baseline, all of them measure the store's noise) go to
:func:`backend.domain.anomalies.detect`. Each unusual metric raises one alert for that day and
metric, whatever the number of runs: the alert is first recorded, with its ``alert_id`` and
``raised_at`` fixed, as ``ANOMALY#<day>``/``<metric>`` if no such item exists (a conditional
put), then put on the bus, then marked sent. A run that finds the item unsent (an interrupted
run) sends that same alert again, which the feed stores once; a sent one is left alone.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from backend.adapters.alerts import send_alert
from backend.adapters.dynamo import from_ddb, key, to_ddb
from backend.adapters.reads import day_sales
from backend.domain import anomalies

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
else:
    DynamoDBClient = EventBridgeClient = Any


def _alert_id(day: date, metric: str) -> str:
    return "an_" + hashlib.sha256(f"{day.isoformat()}\x00{metric}".encode()).hexdigest()[:24]


def alert_of(found: anomalies.Anomaly, now: datetime) -> dict[str, Any]:
    """The alert of an anomaly as it goes on the bus."""
    return {
        "alert_id": _alert_id(found.day, found.metric),
        "type": found.type,
        "metric": found.metric,
        "day": found.day.isoformat(),
        "value": str(found.value),
        "expected": str(found.expected),
        "score": found.score,
        "raised_at": now.isoformat(),
    }


def run(
    dynamodb: DynamoDBClient, events: EventBridgeClient, table: str, bus: str, day: date, now: datetime
) -> dict[str, Any]:
    """Check ``day`` (a closed store day); ``now`` (UTC) is when new alerts are raised."""
    figures = day_sales(dynamodb, table, [day, *anomalies.history_days(day)])
    found = anomalies.detect(day, figures)
    sent = []
    for anomaly in found:
        record = _record(dynamodb, table, alert_of(anomaly, now))
        if record.get("sent"):
            continue
        alert = json.loads(record["alert"])
        send_alert(events, bus, alert)
        dynamodb.update_item(
            TableName=table,
            Key=key(f"ANOMALY#{day.isoformat()}", anomaly.metric),
            UpdateExpression="SET #sent = :yes",
            ExpressionAttributeNames={"#sent": "sent"},
            ExpressionAttributeValues={":yes": to_ddb(True)},
        )
        sent.append(alert)
    return {
        "day": day.isoformat(),
        "baseline_days": sum(1 for d in anomalies.baseline_days(day) if d in figures),
        "anomalies": [{"type": a.type, "metric": a.metric, "score": a.score} for a in found],
        "sent": len(sent),
    }


def _record(dynamodb: DynamoDBClient, table: str, alert: dict[str, Any]) -> dict[str, Any]:
    """The stored record of this day's and metric's alert: this one if it is the first."""
    item = {"pk": f"ANOMALY#{alert['day']}", "sk": alert["metric"], "alert": json.dumps(alert), "sent": False}
    try:
        dynamodb.put_item(
            TableName=table,
            Item={name: to_ddb(value) for name, value in item.items()},
            ConditionExpression="attribute_not_exists(pk)",
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        stored = dynamodb.get_item(TableName=table, Key=key(item["pk"], item["sk"]), ConsistentRead=True)
        return from_ddb(stored["Item"])
    return item
