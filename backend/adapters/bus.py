"""SNS: publishing a request's accepted events as packets (:mod:`backend.adapters.packets`).

One message per packet, usually one per request, carrying an ``event_type`` attribute of type
``String.Array`` with the distinct types in the packet: SNS delivers it to every queue whose
filter policy matches one of them, so each processor gets one message per request instead of
one per event, and ignores the events of the types it does not take. Its ``correlation_id``
attribute carries the request's correlation id to the processors' logs (:mod:`backend.logs`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from backend.adapters.packets import MAX_BODY_BYTES, Packet, pack
from backend.adapters.parallel import parallel_map
from backend.domain.events import Event
from backend.logs import CORRELATION_ATTRIBUTE, current_correlation_id

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import PublishBatchRequestEntryTypeDef
else:
    SNSClient = Any

MAX_BATCH_ENTRIES = 10
#: A ``PublishBatch`` call takes 256 KB in all, attributes included.
MAX_BATCH_BYTES = 256 * 1024 - 4096
PUBLISHERS = 8
logger = logging.getLogger(__name__)


def attributes(packet: Packet, correlation_id: str | None = None) -> dict[str, Any]:
    """The message attributes of a packet: what the subscriptions' filter policies match, and
    the correlation id of the request that sent it."""
    values = {
        "event_type": {"DataType": "String.Array", "StringValue": json.dumps(packet.types)},
        "packet_id": {"DataType": "String", "StringValue": packet.packet_id},
    }
    if correlation_id:
        values[CORRELATION_ATTRIBUTE] = {"DataType": "String", "StringValue": correlation_id}
    return values


def _batches(packets: Sequence[Packet]) -> list[list[Packet]]:
    batches: list[list[Packet]] = []
    current: list[Packet] = []
    size = 0
    for packet in packets:
        length = len(packet.body.encode()) + 512
        if current and (len(current) == MAX_BATCH_ENTRIES or size + length > MAX_BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(packet)
        size += length
    if current:
        batches.append(current)
    return batches


def publish(sns: SNSClient, topic_arn: str, events: Sequence[Event]) -> list[Event]:
    """Publish the events in packets; returns those SNS did not take (the caller retries or
    reports). A packet is taken or not as a whole.

    The ``PublishBatch`` calls of a request (one for a typical request of 500 events) are made
    up to :data:`PUBLISHERS` at a time (boto3 clients are thread-safe). Each runs in a copy of
    the caller's context (logging, tracing and metering state follow the work into the threads).
    The messages carry the running invocation's correlation id (:mod:`backend.logs`).
    """
    batches = _batches(pack(events, MAX_BODY_BYTES))
    correlation_id = current_correlation_id()
    results = parallel_map(
        lambda batch: _publish_batch(sns, topic_arn, batch, correlation_id), batches, workers=PUBLISHERS
    )
    return [event for failed in results for event in failed]


def _publish_batch(
    sns: SNSClient, topic_arn: str, batch: list[Packet], correlation_id: str | None
) -> list[Event]:
    entries: list[PublishBatchRequestEntryTypeDef] = [
        {"Id": str(i), "Message": packet.body, "MessageAttributes": attributes(packet, correlation_id)}
        for i, packet in enumerate(batch)
    ]
    try:
        response = sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=entries)
    except Exception:
        return [event for packet in batch for event in packet.events]
    failed = {int(f["Id"]) for f in response.get("Failed", [])}
    for index, packet in enumerate(batch):
        if index not in failed:
            logger.info(
                "packet published",
                extra={
                    "packet_id": packet.packet_id,
                    "event_ids": [e.event_id for e in packet.events],
                    "events": len(packet.events),
                },
            )
    return [event for index in sorted(failed) for event in batch[index].events]
