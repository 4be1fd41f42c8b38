"""The alerts' bus: one EventBridge event per alert (stock crossings, stock-out risks, anomalies).

The rule ``storepulse-stock-alerts`` routes them to the alerts topic and the alert feed
(``docs/architecture.md``, "Alerts: never lost, never listed twice").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
else:
    EventBridgeClient = Any

ALERT_SOURCE = "storepulse.inventory"
INSIGHTS_SOURCE = "storepulse.insights"
DETAIL_TYPES = {
    "low_stock": "LowStock",
    "out_of_stock": "OutOfStock",
    "stockout_risk": "StockoutRisk",
    "sales_drop": "SalesDrop",
    "sales_spike": "SalesSpike",
    "refund_spike": "RefundSpike",
}
# Stock alerts (stock-out risks included) come from the inventory, anomalies from the insights
# jobs; the rule storepulse-stock-alerts routes both to the alerts topic and the feed.
SOURCES = {"sales_drop": INSIGHTS_SOURCE, "sales_spike": INSIGHTS_SOURCE, "refund_spike": INSIGHTS_SOURCE}


#: Puts an alert on the bus: :func:`send_alert` bound to a client and a bus
#: (:func:`alert_sender`), what the stock, forecast and anomaly code is handed.
SendAlert = Callable[[dict[str, Any]], None]


class AlertDeliveryFailed(RuntimeError):
    """EventBridge refused an alert; it stays pending and is sent again."""


def send_alert(events: EventBridgeClient, bus: str, alert: dict[str, Any]) -> None:
    """Put one alert on the bus (source ``storepulse.inventory``, ``storepulse.insights`` for
    anomalies)."""
    response = events.put_events(
        Entries=[
            {
                "Source": SOURCES.get(alert["type"], ALERT_SOURCE),
                "DetailType": DETAIL_TYPES[alert["type"]],
                "Detail": json.dumps(alert),
                "EventBusName": bus,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise AlertDeliveryFailed(str(response["Entries"]))


def alert_sender(events: EventBridgeClient, bus: str) -> SendAlert:
    """:func:`send_alert` bound to a client and a bus: what the processing code is handed."""
    return lambda alert: send_alert(events, bus, alert)
