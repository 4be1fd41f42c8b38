"""Alert feed Lambda: stock alerts routed by the EventBridge rule, kept for ``GET /v1/alerts``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from backend.adapters.batch import FailureLog, GroupBatchProcessor, Parsed
from backend.adapters.clients import client
from backend.adapters.dynamo import batch_put
from backend.domain.alerts import Alert
from backend.settings import get_settings

logger = Logger(service="storepulse-alert-feed")


def parse(record: SQSRecord) -> Alert:
    """The alert in an EventBridge event delivered to SQS."""
    return Alert.model_validate(json.loads(record.body)["detail"])


def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
    # The key is made of the alert's own fields, so an alert sent twice is stored once.
    rows = [
        {
            "pk": "ALERTS",
            "sk": f"{alert.raised_at.isoformat()}#{alert.alert_id}",
            **alert.model_dump(mode="json"),
        }
        for alert in (item.value for item in items)
    ]
    batch_put(client("dynamodb"), get_settings().require("analytics_table"), rows)
    return {}


def failure_log() -> FailureLog:
    return FailureLog(client("dynamodb"), get_settings().require("analytics_table"))


processor = GroupBatchProcessor(apply=apply, failures=failure_log)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(event=event, record_handler=parse, processor=processor, context=context)
