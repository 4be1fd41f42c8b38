"""Lake processor Lambda: every event from SQS to S3 as gzipped NDJSON, by arrival hour."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from backend.adapters.batch import Parsed
from backend.adapters.clients import client
from backend.domain.events import EVENT_TYPES
from backend.handlers._sqs import pipeline_events, sqs_handler
from backend.processing import lake
from backend.settings import get_settings


def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
    bucket = get_settings().require("lake_bucket")
    return lake.apply(client("s3"), bucket=bucket, items=items, now=datetime.now(UTC))


handler = sqs_handler("storepulse-lake", pipeline_events(frozenset(EVENT_TYPES)), apply)
