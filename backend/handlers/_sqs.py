"""What every SQS processor Lambda shares: parse, apply together, partial batch response."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from backend.adapters.batch import FailureLog, GroupBatchProcessor, Many, Parsed
from backend.adapters.clients import client
from backend.logs import function, function_logger
from backend.processing import stock
from backend.processing.common import parse_record
from backend.settings import get_settings
from backend.wiring import analytics_adapter, stock_alerts

Handler = Callable[[dict[str, Any], Any], Any]


def _failure_log() -> FailureLog:
    return FailureLog(client("dynamodb"), get_settings().require("analytics_table"))


ApplyFn = Callable[[Sequence[Parsed]], dict[str, BaseException]]


def stock_keeping(processor_apply: Callable[..., dict[str, BaseException]]) -> ApplyFn:
    """Bind a processor that keeps stock (and so raises alerts) to the analytics table and to
    the stock alerts of the SKUs it touches (which go to the bus)."""

    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        analytics, send = analytics_adapter(), stock_alerts()

        def evaluate_stock(skus: Iterable[str]) -> None:
            stock.evaluate(analytics, send, skus)

        return processor_apply(analytics, evaluate_stock, zone=get_settings().zone, items=items)

    return apply


def pipeline_events(accepts: frozenset[str]) -> Callable[[SQSRecord], Many]:
    """Parse records holding pipeline events (packets): those of the ``accepts`` types."""

    def parse(record: SQSRecord) -> Many:
        return parse_record(record, get_settings().store_currency, accepts)

    return parse


def sqs_handler(
    service: str,
    parse: Callable[[SQSRecord], Any],
    apply: ApplyFn,
) -> Handler:
    """A Lambda handler for an SQS event source with ``ReportBatchItemFailures``.

    Each record is parsed on its own (a poison record fails alone, with its reason recorded for
    ``storepulse dlq list``), then ``apply`` gets every parsed record at once.
    """
    logger = function_logger(service)

    @function(logger)
    def handler(event: dict[str, Any], context: Any) -> Any:
        # A processor per invocation, not one per module as in Powertools' examples: it keeps the
        # batch's records and results on itself, and the local stack runs several batches of a
        # queue at once in one process (Lambda gives each its own).
        processor = GroupBatchProcessor(apply=apply, failures=_failure_log)
        return process_partial_response(
            event=event, record_handler=parse, processor=processor, context=context
        )

    return handler
