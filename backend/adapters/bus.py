"""SNS: publishing accepted events with their ``event_type`` attribute, ten per call."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from backend.domain.events import Event

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
else:
    SNSClient = Any

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024 - 4096  # room for attributes and the envelope


def _batches(events: Sequence[Event]) -> list[list[tuple[Event, str]]]:
    batches: list[list[tuple[Event, str]]] = []
    current: list[tuple[Event, str]] = []
    size = 0
    for event in events:
        body = json.dumps(event.to_json(), separators=(",", ":"))
        if current and (len(current) == MAX_BATCH_ENTRIES or size + len(body) > MAX_BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append((event, body))
        size += len(body)
    if current:
        batches.append(current)
    return batches


def publish(sns: SNSClient, topic_arn: str, events: Sequence[Event]) -> list[Event]:
    """Publish each event; returns those SNS did not take (the caller retries or reports)."""
    failed: list[Event] = []
    for batch in _batches(events):
        entries = [
            {
                "Id": str(i),
                "Message": body,
                "MessageAttributes": {"event_type": {"DataType": "String", "StringValue": event.type}},
            }
            for i, (event, body) in enumerate(batch)
        ]
        try:
            response = sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=entries)
        except Exception:
            failed.extend(event for event, _ in batch)
            continue
        failed.extend(batch[int(f["Id"])][0] for f in response.get("Failed", []))
    return failed
