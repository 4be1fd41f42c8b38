"""What the unit tests of the processing code share: the SQS events of ``events/`` parsed the
way the processors' handlers parse them, through Powertools' batch processing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from backend.adapters.batch import GroupBatchProcessor, Parsed
from backend.processing.common import parse_record


class NoFailures:
    """The failure log of a batch that must not fail: a failure is the test's failure."""

    def record(self, record: SQSRecord, reason: BaseException) -> None:
        raise AssertionError(f"message {record.message_id} failed: {reason!r}")


def process(
    event: dict[str, Any],
    accepts: frozenset[str] | Callable[[SQSRecord], Any],
    apply: Callable[[Sequence[Parsed]], dict[str, BaseException]],
) -> PartialItemFailureResponse:
    """Run an SQS event through the processors' batch path (parse each record, apply them
    together, answer the partial batch response, as :func:`backend.handlers._sqs.sqs_handler`
    does) with ``apply`` as the processor. ``accepts``: the pipeline event types the processor
    takes, or its own record parser."""

    def parse(record: SQSRecord) -> Any:
        if callable(accepts):
            return accepts(record)
        return parse_record(record, "USD", accepts)

    # NoFailures stands in for the DynamoDB-backed FailureLog
    processor = GroupBatchProcessor(apply=apply, failures=NoFailures)  # type: ignore[arg-type]
    return process_partial_response(event=event, record_handler=parse, processor=processor, context=None)


def parsed(event: dict[str, Any], accepts: frozenset[str]) -> list[list[Parsed]]:
    """Each record's events of the ``accepts`` types, as the processor gets them."""
    out = []
    for raw in event["Records"]:
        many = parse_record(SQSRecord(raw), "USD", accepts)
        out.append([Parsed(raw["messageId"], value, many.packet_id) for value in many.values])
    return out
