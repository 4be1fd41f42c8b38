"""Customers processor Lambda: ``customer.registered`` from SQS."""

from __future__ import annotations

from collections.abc import Sequence

from backend.adapters.analytics import AnalyticsTable
from backend.adapters.batch import Parsed
from backend.adapters.clients import client
from backend.handlers._sqs import pipeline_events, sqs_handler
from backend.processing import customers
from backend.settings import get_settings


def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
    analytics = AnalyticsTable(client("dynamodb"), get_settings().require("analytics_table"))
    return customers.apply(analytics, items=items)


handler = sqs_handler("storepulse-customers", pipeline_events(frozenset({"customer.registered"})), apply)
