"""Report Lambda: ``storepulse-reports`` queue -> render each queued report to PDF.

Each message is ``{"report_id": ...}``. A report that cannot be made is retried by SQS; on
its last receive (the queue's ``max_receive_count``) it is marked ``failed`` with the reason,
and the message goes on to the DLQ.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from backend.adapters.batch import Parsed
from backend.adapters.clients import client
from backend.handlers._sqs import sqs_handler
from backend.processing.context import Context
from backend.processing.reports import generate
from backend.settings import get_settings
from backend.wiring import reports_adapter

# The queue's max_receive_count in infra/stack.json: the last attempt before the DLQ.
ATTEMPTS = 5


@dataclass(frozen=True)
class QueuedReport:
    report_id: str
    receive_count: int


def parse(record: SQSRecord) -> QueuedReport:
    body = json.loads(record.body)
    if not isinstance(body, dict) or not isinstance(body.get("report_id"), str):
        raise ValueError('the message is not {"report_id": ...}')
    return QueuedReport(body["report_id"], int(record.attributes.approximate_receive_count or 1))


def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
    failed: dict[str, BaseException] = {}
    for item in items:
        queued: QueuedReport = item.value
        try:
            generate(Context.of(get_settings(), client), queued.report_id)
        except Exception as exc:
            failed[item.message_id] = exc
            if queued.receive_count >= ATTEMPTS:
                reports_adapter().mark_failed(
                    queued.report_id,
                    f"the report could not be made after {ATTEMPTS} attempts ({type(exc).__name__}: {exc})",
                )
    return failed


handler = sqs_handler("storepulse-reports", parse, apply)
