"""SNS: publishing accepted events with their ``event_type`` attribute, ten per call."""

from __future__ import annotations

import contextvars
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from backend.domain.events import Event

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
else:
    SNSClient = Any

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024 - 4096  # room for attributes and the envelope
PUBLISHERS = 8


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
    """Publish each event; returns those SNS did not take (the caller retries or reports).

    The ``PublishBatch`` calls of a request (50 for 500 events) are made up to
    :data:`PUBLISHERS` at a time (boto3 clients are thread-safe): a Lambda is billed for the
    time it waits, and the calls do not depend on each other. Each runs in a copy of the
    caller's context (logging, tracing and metering state follow the work into the threads).
    """
    batches = _batches(events)
    if len(batches) <= 1:
        results = [_publish_batch(sns, topic_arn, batch) for batch in batches]
    else:
        with ThreadPoolExecutor(max_workers=min(PUBLISHERS, len(batches))) as pool:
            futures = [
                pool.submit(contextvars.copy_context().run, _publish_batch, sns, topic_arn, batch)
                for batch in batches
            ]
            results = [future.result() for future in futures]
    return [event for failed in results for event in failed]


def _publish_batch(sns: SNSClient, topic_arn: str, batch: list[tuple[Event, str]]) -> list[Event]:
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
        return [event for event, _ in batch]
    return [batch[int(f["Id"])][0] for f in response.get("Failed", [])]
