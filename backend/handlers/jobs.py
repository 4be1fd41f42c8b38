"""Scheduled jobs Lambda: EventBridge schedules send ``{"job": NAME}``.

``storepulse run-job NAME`` calls this same handler with the same input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from backend.adapters.clients import client
from backend.processing import stock
from backend.settings import get_settings

logger = Logger(service="storepulse-jobs")


def alert_sweep() -> dict[str, Any]:
    """Send the stock alerts an interrupted evaluation left pending."""
    settings = get_settings()
    sent = stock.sweep(
        client("dynamodb"),
        client("events"),
        settings.require("analytics_table"),
        settings.require("event_bus_name"),
    )
    return {"resent": sent}


JOBS: dict[str, Callable[[], dict[str, Any]]] = {"alert-sweep": alert_sweep}


class UnknownJob(ValueError):
    pass


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    name = event.get("job")
    if name not in JOBS:
        raise UnknownJob(f"unknown job {name!r}; known jobs: {', '.join(sorted(JOBS))}")
    result = JOBS[name]()
    logger.info("job done", extra={"job": name, "result": result})
    return {"job": name, **result}
