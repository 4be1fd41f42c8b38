"""Alert feed Lambda: stock alerts, stock-out risks and anomalies routed by the EventBridge
rule, kept for ``GET /v1/alerts``."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from backend.adapters.batch import Parsed
from backend.adapters.clients import client
from backend.adapters.dynamo import batch_put
from backend.domain.alerts import Alert
from backend.handlers._sqs import sqs_handler
from backend.settings import get_settings


def parse(record: SQSRecord) -> Alert:
    """The alert in an EventBridge event delivered to SQS."""
    return Alert.model_validate(json.loads(record.body)["detail"])


def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
    # The key is made of the alert's own fields, so an alert sent twice is stored once.
    rows = [
        {
            "pk": "ALERTS",
            "sk": f"{alert.raised_at.isoformat()}#{alert.alert_id}",
            **alert.model_dump(mode="json", exclude_none=True),
        }
        for alert in (item.value for item in items)
    ]
    batch_put(client("dynamodb"), get_settings().require("analytics_table"), rows)
    return {}


handler = sqs_handler("storepulse-alert-feed", parse, apply)
