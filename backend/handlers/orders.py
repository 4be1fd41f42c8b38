"""Orders processor Lambda: ``order.placed`` and ``order.refunded`` from SQS, counted once."""

from __future__ import annotations

from collections.abc import Sequence

from backend.adapters.batch import Parsed
from backend.adapters.clients import client
from backend.handlers._sqs import sqs_handler
from backend.processing import orders
from backend.settings import get_settings


def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
    settings = get_settings()
    return orders.apply(
        client("dynamodb"),
        client("events"),
        table=settings.require("analytics_table"),
        bus=settings.require("event_bus_name"),
        zone=settings.zone,
        items=items,
    )


handler = sqs_handler("storepulse-orders", frozenset({"order.placed", "order.refunded"}), apply)
