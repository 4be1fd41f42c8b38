"""SQS batches: parse each record on its own, apply the good ones together, report failures.

Powertools' :class:`BatchProcessor` calls a record handler per record. Exactly-once counting
wants the whole batch at once (one transaction per group of events), so
:class:`GroupBatchProcessor` keeps Powertools' partial-batch bookkeeping and response, parses
each record with the record handler, then hands every parsed value to an ``apply`` function
that says which messages failed. A record handler may return :class:`Many` for a message that
carries several values (a packet of events): each becomes its own :class:`Parsed`, all sharing
the message id, and the message fails or succeeds as a whole. Each failure's reason is written
where ``storepulse dlq list`` finds it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from backend.adapters.dynamo import key, to_ddb
from backend.adapters.packets import SHOWN_EVENT_IDS, describe
from backend.logs import keys as log_keys
from backend.logs import message_correlation_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parsed:
    """A record that parsed, with what its handler made of it."""

    message_id: str
    value: Any
    packet_id: str = ""

    @property
    def packet(self) -> str:
        """The packet the event travelled in (its own message before packets)."""
        return self.packet_id or self.message_id


@dataclass(frozen=True)
class Many:
    """A record handler's result for a message holding several values: a packet's events (of
    the types the processor takes; none is fine)."""

    packet_id: str
    values: tuple[Any, ...]


ApplyFn = Callable[[Sequence[Parsed]], dict[str, BaseException]]


class FailureLog:
    """Writes why a message failed, keyed by its queue and message id."""

    def __init__(self, client: DynamoDBClient, table: str):
        self.client = client
        self.table = table

    def record(self, record: SQSRecord, reason: BaseException) -> None:
        queue = record.event_source_arn.rsplit(":", 1)[-1]
        contents = describe(record.body)
        event_id = contents.event_ids[0] if contents.count == 1 and contents.event_ids else None
        item = {
            "queue": queue,
            "message_id": record.message_id,
            "event_id": event_id or "",
            "packet_id": contents.packet_id,
            "events": contents.count,
            "event_ids": " ".join(contents.event_ids[:SHOWN_EVENT_IDS]),
            "reason": _reason(reason),
            "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "receive_count": int(record.attributes.approximate_receive_count or 0),
        }
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    **key("FAILURE", f"{queue}#{record.message_id}"),
                    **{k: to_ddb(v) for k, v in item.items()},
                },
            )
        except Exception:  # the message is retried anyway; its reason is a convenience
            logger.exception("could not record the failure of message %s", record.message_id)
        with log_keys(correlation_id=correlation_id(record)):
            logger.warning(
                "message failed",
                extra={
                    "queue": queue,
                    "message_id": record.message_id,
                    "event_id": event_id,
                    "event_ids": list(contents.event_ids),
                    "packet_id": contents.packet_id,
                    "events": contents.count,
                    "reason": item["reason"],
                },
            )


def correlation_id(record: SQSRecord) -> str | None:
    """The correlation id ingest gave the request this message comes from (its
    ``correlation_id`` message attribute), if any."""
    return message_correlation_id(record.raw_event.get("messageAttributes"))


def log_applied(record: SQSRecord, items: Sequence[Parsed]) -> None:
    """One line per message applied: the ids of the events this function took from it, with
    the correlation id of the request that sent them (how an event is followed, in
    docs/operations.md)."""
    event_ids = [i.value.event_id for i in items if isinstance(getattr(i.value, "event_id", None), str)]
    with log_keys(correlation_id=correlation_id(record)):
        logger.info(
            "message applied",
            extra={
                "message_id": record.message_id,
                "packet_id": items[0].packet if items else record.message_id,
                "event_ids": event_ids,
                "events": len(event_ids),
            },
        )


def _reason(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:2000]


class GroupBatchProcessor(BatchProcessor):
    """A :class:`BatchProcessor` whose records are applied together after parsing."""

    def __init__(self, apply: ApplyFn, failures: Callable[[], FailureLog]):
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        self._apply = apply
        self._failures = failures

    def process(self) -> list[tuple]:
        parsed: list[tuple[SQSRecord, list[Parsed]]] = []
        results: list[tuple] = []
        for raw in self.records:
            record = SQSRecord(raw)
            try:
                value = self.handler(record=record)
            except Exception as exc:
                results.append(self._fail(record, exc))
                continue
            if isinstance(value, Many):
                items = [Parsed(record.message_id, v, value.packet_id) for v in value.values]
            else:
                items = [Parsed(record.message_id, value)]
            parsed.append((record, items))
        failed = self._apply_isolating([items for _, items in parsed])
        for record, items in parsed:
            if record.message_id in failed:
                results.append(self._fail(record, failed[record.message_id]))
            else:
                log_applied(record, items)
                results.append(self.success_handler(record=record, result=[i.value for i in items]))
        return results

    def _apply_isolating(self, messages: list[list[Parsed]]) -> dict[str, BaseException]:
        """Apply the batch; if it fails as a whole, apply each message (a whole packet) alone,
        so that one poison message fails by itself instead of taking its batch to the
        dead-letter queue. Applying is idempotent, so what the whole-batch attempt already
        wrote is not counted twice."""
        messages = [items for items in messages if items]
        if not messages:
            return {}
        try:
            return self._apply([item for items in messages for item in items])
        except Exception as exc:
            if len(messages) == 1:
                return {messages[0][0].message_id: exc}
            logger.warning("batch of %d messages failed (%s); applying them one by one", len(messages), exc)
        failed: dict[str, BaseException] = {}
        for items in messages:
            try:
                failed.update(self._apply(items))
            except Exception as exc:
                failed[items[0].message_id] = exc
        return failed

    def _fail(self, record: SQSRecord, error: BaseException) -> tuple:
        self._failures().record(record, error)
        try:
            raise error
        except BaseException:
            return self.failure_handler(record=record, exception=sys.exc_info())
