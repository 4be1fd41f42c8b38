"""Inventory processor Lambda: ``product.upserted`` and ``inventory.adjusted`` from SQS."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from backend.adapters.analytics import AnalyticsTable
from backend.adapters.batch import Parsed
from backend.adapters.clients import client
from backend.handlers._sqs import pipeline_events, sqs_handler
from backend.processing import inventory, stock
from backend.settings import get_settings


def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
    settings = get_settings()
    dynamodb, events = client("dynamodb"), client("events")
    table, bus = settings.require("analytics_table"), settings.require("event_bus_name")

    def evaluate_stock(skus: Iterable[str]) -> None:
        stock.evaluate(dynamodb, events, table, bus, skus)

    return inventory.apply(AnalyticsTable(dynamodb, table), evaluate_stock, zone=settings.zone, items=items)


handler = sqs_handler(
    "storepulse-inventory",
    pipeline_events(frozenset({"product.upserted", "inventory.adjusted"})),
    apply,
)
