"""Inventory processor Lambda: ``product.upserted`` and ``inventory.adjusted`` from SQS."""

from __future__ import annotations

from collections.abc import Sequence

from backend.adapters.batch import Parsed
from backend.adapters.clients import client
from backend.handlers._sqs import sqs_handler
from backend.processing import inventory
from backend.settings import get_settings


def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
    settings = get_settings()
    return inventory.apply(
        client("dynamodb"),
        client("events"),
        table=settings.require("analytics_table"),
        bus=settings.require("event_bus_name"),
        zone=settings.zone,
        items=items,
    )


handler = sqs_handler("storepulse-inventory", frozenset({"product.upserted", "inventory.adjusted"}), apply)
