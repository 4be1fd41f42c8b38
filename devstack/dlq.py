"""Dead-letter queues: what is in them, why, and sending it back; beside them the conflicts and
the webhooks that could not be mapped.

How a message is matched with its reason, and what is listed: docs/architecture.md, "Dead
letters, conflicts and unmapped webhooks"; the commands: docs/operations.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError
from tqdm import tqdm

from backend.adapters.analytics import AnalyticsTable, Unmapped
from backend.adapters.packets import SHOWN_EVENT_IDS, describe
from devstack.aws import AwsClients
from devstack.snapshot import peek_messages
from devstack.spec import DLQ_SUFFIX, StackSpec, load_stack_spec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    """One message in a DLQ, with the failure that put it there when known."""

    queue: str
    message_id: str
    event_id: str | None
    type: str | None
    receive_count: int
    reason: str | None
    failed_at: str | None
    #: A packet's id ("" for a message holding one event, as before packets).
    packet_id: str = ""
    #: How many events the message holds, and the first few of their ids.
    events: int = 1
    event_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


CONFLICTS = "conflicts"
WEBHOOKS = "webhooks"


@dataclass(frozen=True)
class Conflict:
    """An event not counted because its business id was counted from another event."""

    event_id: str
    type: str
    kind: str
    business_id: str
    counted_event_id: str
    found_at: str

    @property
    def reason(self) -> str:
        return (
            f"conflict: {self.kind} {self.business_id} was counted from event {self.counted_event_id}; "
            "this event is kept, not counted"
        )

    def to_json(self) -> dict[str, Any]:
        """The shape of a :class:`DeadLetter` (queue ``conflicts``), for one listing."""
        return {
            "queue": CONFLICTS,
            "message_id": None,
            "event_id": self.event_id,
            "type": self.type,
            "receive_count": 0,
            "reason": self.reason,
            "failed_at": self.found_at,
            "kind": self.kind,
            "business_id": self.business_id,
            "counted_event_id": self.counted_event_id,
        }


def list_conflicts(aws: AwsClients, *, analytics_table: str | None) -> list[Conflict]:
    """Every conflict the orders processor kept, oldest first (a query of one partition)."""
    if not analytics_table:
        return []
    found = []
    try:
        for item in AnalyticsTable(aws.dynamodb, analytics_table).conflicting_events():
            found.append(
                Conflict(**{name: str(item.get(name, "")) for name in Conflict.__dataclass_fields__})
            )
    except ClientError as exc:
        logger.warning("cannot read conflicts from %s: %s", analytics_table, exc)
    return sorted(found, key=lambda c: (c.found_at, c.event_id))


def list_webhooks(aws: AwsClients, *, analytics_table: str | None) -> list[Unmapped]:
    """Every store webhook the connectors function answered but could not map, oldest first
    (:mod:`backend.adapters.connector_state`)."""
    if not analytics_table:
        return []
    try:
        kept = AnalyticsTable(aws.dynamodb, analytics_table).unmapped_webhooks()
        return sorted(kept, key=lambda u: (u.received_at, u.delivery_id))
    except ClientError as exc:
        logger.warning("cannot read unmapped webhooks from %s: %s", analytics_table, exc)
        return []


def dead_letter_queues(
    aws: AwsClients, *, prefix: str = "", queue: str | None = None, spec: StackSpec | None = None
) -> dict[str, str]:
    """DLQ URLs by source queue name, for this deployment's queues only.

    Parameters
    ----------
    prefix
        The deployment's name prefix (AWS); its queues are ``<prefix><name>``.
    queue
        Only this source queue (its name with or without ``-dlq``).
    spec
        The deployment's description (``infra/stack.json`` by default).
    """
    spec = spec or load_stack_spec()
    ours = {f"{prefix}{q.name}{DLQ_SUFFIX}" for q in spec.queues}
    ours |= {f"{prefix}{b.queue_name}{DLQ_SUFFIX}" for b in spec.bridges()}
    found: dict[str, str] = {}
    for page in aws.sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix):
        for url in page.get("QueueUrls", []):
            name = url.rsplit("/", 1)[-1]
            if name in ours:
                found[name.removesuffix(DLQ_SUFFIX)] = url
    if queue is not None:
        source = queue.removesuffix(DLQ_SUFFIX)
        if source not in found:
            known = ", ".join(sorted(found)) or "none"
            raise LookupError(f"{queue} has no dead-letter queue; queues with one: {known}")
        return {source: found[source]}
    return dict(sorted(found.items()))


def describe_body(body: str) -> tuple[str | None, str | None]:
    """``(event_id, type)`` of a message body: a pipeline event or an EventBridge event (for a
    packet, see :func:`backend.adapters.packets.describe`).

    Examples
    --------
    >>> describe_body('{"event_id": "e1", "type": "order.placed"}')
    ('e1', 'order.placed')
    >>> describe_body('{"id": "x", "detail-type": "LowStock", "detail": {"event_id": "e2"}}')
    ('e2', 'LowStock')
    >>> describe_body("not json")
    (None, None)
    """
    try:
        value = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(value, dict):
        return None, None
    if "detail-type" in value:
        detail = value.get("detail")
        detail = detail if isinstance(detail, dict) else {}
        event_id = detail.get("event_id") or value.get("id")
        return (str(event_id) if event_id else None), str(value["detail-type"])
    event_id, kind = value.get("event_id"), value.get("type")
    return (str(event_id) if event_id else None), (str(kind) if kind else None)


def _failures(aws: AwsClients, table: str | None, source: str) -> Iterator[dict[str, Any]]:
    if not table:
        return
    try:
        yield from AnalyticsTable(aws.dynamodb, table).failure_reasons(source)
    except ClientError as exc:
        logger.warning("cannot read failure reasons from %s: %s", table, exc)


def list_dead_letters(
    aws: AwsClients,
    *,
    analytics_table: str | None,
    queue: str | None = None,
    prefix: str = "",
) -> list[DeadLetter]:
    """Every message waiting in a DLQ, with its reason; the messages stay where they are.

    Parameters
    ----------
    aws
        Clients for the stack's endpoint (or AWS).
    analytics_table
        Where the processors record failure reasons; ``None`` lists without reasons.
    queue
        Only this source queue's DLQ.
    prefix
        The deployment's name prefix (AWS).

    Examples
    --------
    With the stack's moto server (so not run as a doctest)::

        for letter in list_dead_letters(aws, analytics_table="storepulse-analytics"):
            print(letter.queue, letter.event_id, letter.reason)
    """
    letters: list[DeadLetter] = []
    for source, url in dead_letter_queues(aws, prefix=prefix, queue=queue).items():
        messages = peek_messages(aws, url)
        if not messages:
            continue
        by_message: dict[str, dict[str, Any]] = {}
        by_content: dict[str, dict[str, Any]] = {}
        for failure in sorted(
            _failures(aws, analytics_table, source), key=lambda f: str(f.get("failed_at", ""))
        ):
            by_message[str(failure.get("message_id", ""))] = failure
            for name in ("event_id", "packet_id"):
                if failure.get(name):
                    by_content[str(failure[name])] = failure
        for message in messages:
            contents = describe(message["Body"])
            packet_id = contents.packet_id
            event_id, kind = (None, ",".join(contents.types)) if packet_id else describe_body(message["Body"])
            failure = (
                by_message.get(message["MessageId"]) or by_content.get(packet_id or event_id or "") or {}
            )
            letters.append(
                DeadLetter(
                    queue=source,
                    message_id=message["MessageId"],
                    event_id=event_id or (str(failure["event_id"]) if failure.get("event_id") else None),
                    type=kind,
                    receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
                    reason=failure.get("reason"),
                    failed_at=failure.get("failed_at"),
                    packet_id=packet_id,
                    events=contents.count if packet_id else 1,
                    event_ids=contents.event_ids[:SHOWN_EVENT_IDS] if packet_id else (),
                )
            )
    return letters


def replay_dead_letters(
    aws: AwsClients, *, queue: str | None = None, prefix: str = "", progress: bool = True
) -> dict[str, int]:
    """Move every DLQ message back to its source queue (same body and attributes).

    A message is deleted from the DLQ only once its copy is in the source queue. Messages
    that fail again and come back to the DLQ while the replay runs are left for the next one.

    Returns
    -------
    dict
        Messages replayed, by source queue.

    Examples
    --------
    With the stack's moto server (so not run as a doctest)::

        replay_dead_letters(aws, queue="storepulse-orders")
        # {'storepulse-orders': 3}
    """
    queues = dead_letter_queues(aws, prefix=prefix, queue=queue)
    waiting = {
        source: int(
            aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
        )
        for source, url in queues.items()
    }
    replayed: dict[str, int] = {}
    total = sum(waiting.values())
    with tqdm(total=total, desc="replaying", unit="msg", disable=not progress or total < 20 or None) as bar:
        for source, url in queues.items():
            if not waiting[source]:
                continue
            target = str(aws.sqs.get_queue_url(QueueName=source)["QueueUrl"])
            replayed[source] = _replay_queue(aws, url, target, bar)
    return replayed


def _replay_queue(aws: AwsClients, dlq_url: str, target_url: str, bar: tqdm[Any]) -> int:
    sent_ids: set[str] = set()
    count = 0
    while True:
        messages = aws.sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        back_again = [m for m in messages if m["MessageId"] in sent_ids]
        messages = [m for m in messages if m["MessageId"] not in sent_ids]
        if back_again:
            aws.sqs.change_message_visibility_batch(
                QueueUrl=dlq_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(back_again)
                ],
            )
        if not messages:
            return count
        entries = []
        for i, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(i), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        response = aws.sqs.send_message_batch(QueueUrl=target_url, Entries=entries)
        sent = response.get("Successful", [])
        for failure in response.get("Failed", []):
            logger.error(
                "could not send message %s back: %s",
                messages[int(failure["Id"])]["MessageId"],
                failure.get("Message"),
            )
        sent_ids.update(s["MessageId"] for s in sent)
        delivered = [messages[int(s["Id"])] for s in sent]
        if delivered:
            aws.sqs.delete_message_batch(
                QueueUrl=dlq_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(delivered)
                ],
            )
        count += len(delivered)
        bar.update(len(delivered))
        if not sent:
            return count
