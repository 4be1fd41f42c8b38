"""Alert feed Lambda: stock alerts, stock-out risks and anomalies routed by the EventBridge
rule, kept for ``GET /v1/alerts``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from backend.adapters.analytics import AnalyticsStore
from backend.adapters.batch import Parsed
from backend.domain.alerts import Alert
from backend.handlers._sqs import ApplyFn, sqs_handler
from backend.wiring import analytics_adapter


def parse(record: SQSRecord) -> Alert:
    """The alert in an EventBridge event delivered to SQS."""
    return Alert.model_validate(json.loads(record.body)["detail"])


def keeping(analytics: Callable[[], AnalyticsStore]) -> ApplyFn:
    """Keep a batch's alerts in the feed of the table ``analytics()`` gives."""

    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        # The feed's key is made of the alert's own fields, so an alert sent twice is kept once.
        analytics().store_alerts(item.value for item in items)
        return {}

    return apply


handler = sqs_handler("storepulse-alert-feed", parse, keeping(analytics_adapter))
