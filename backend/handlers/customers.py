"""Customers processor Lambda: ``customer.registered`` from SQS."""

from __future__ import annotations

from collections.abc import Sequence

from backend.adapters.batch import Parsed
from backend.handlers._sqs import pipeline_events, sqs_handler
from backend.processing import customers
from backend.wiring import analytics_adapter


def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
    return customers.apply(analytics_adapter(), items=items)


handler = sqs_handler("storepulse-customers", pipeline_events(frozenset({"customer.registered"})), apply)
