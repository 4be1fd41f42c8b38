"""The adapters as the handlers and the API routes use them, built in one place from the
settings and the shared clients (:func:`backend.adapters.clients.client`).

The processing code never calls these: it is handed what they build (issue 16).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.adapters.alerts import alert_sender
from backend.adapters.analytics import AnalyticsTable
from backend.adapters.clients import client
from backend.adapters.reports_store import ReportsTable
from backend.settings import get_settings


def analytics_adapter() -> AnalyticsTable:
    """The analytics table (``ANALYTICS_TABLE``) on the shared DynamoDB client, in the store's
    zone (when its months close, for their change stamps)."""
    settings = get_settings()
    return AnalyticsTable(client("dynamodb"), settings.require("analytics_table"), zone=settings.zone)


def reports_adapter() -> ReportsTable:
    """The reports table (``REPORTS_TABLE``): reports, subscriptions, digest sends."""
    return ReportsTable(client("dynamodb"), get_settings().require("reports_table"))


def stock_alerts() -> Callable[[dict[str, Any]], None]:
    """Puts an alert on the store's bus (``EVENT_BUS_NAME``)."""
    return alert_sender(client("events"), get_settings().require("event_bus_name"))
