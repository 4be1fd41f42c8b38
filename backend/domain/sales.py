"""What events add to the day rollups and to stock: pure functions over validated events.

The processors turn these contributions into DynamoDB ``ADD`` updates applied exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from backend.domain.calendar import store_day
from backend.domain.events import Event, InventoryAdjusted, OrderPlaced, OrderRefunded

#: ``refunds`` counts the day's refunds (since 2026-12; a day counted before has ``returns``
#: without it: docs/insights.md, "Anomalies").
SALES_COUNTERS = ("gross_sales", "discounts", "returns", "refunds", "orders", "units", "shipping", "tax")
CHANNEL_COUNTERS = ("gross_sales", "discounts", "orders", "units")


def channel_counter(name: str, channel: str) -> str:
    """The name of a per-channel counter in a day rollup, e.g. ``gross_sales@web``."""
    return f"{name}@{channel}"


@dataclass
class Contributions:
    """Counter deltas of a group of events, merged per day and per SKU."""

    day_sales: dict[date, dict[str, Decimal]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Decimal))
    )
    day_units: dict[date, dict[str, Decimal]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Decimal))
    )
    day_revenue: dict[date, dict[str, Decimal]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Decimal))
    )
    stock: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, event: Event, zone: ZoneInfo) -> None:
        """Fold one event in."""
        day = store_day(event.occurred_at, zone)
        data = event.data
        if isinstance(data, OrderPlaced):
            self._add_order(day, data)
        elif isinstance(data, OrderRefunded):
            self.day_sales[day]["returns"] += data.amount
            self.day_sales[day]["refunds"] += 1
            for line in data.restock:
                self.stock[line.sku] += line.quantity
        elif isinstance(data, InventoryAdjusted):
            self.stock[data.sku] += data.delta
        else:
            raise TypeError(f"{event.type} adds nothing to sales or stock")

    def _add_order(self, day: date, order: OrderPlaced) -> None:
        sales = self.day_sales[day]
        gross = order.gross_sales
        values = {
            "gross_sales": gross,
            "discounts": order.discount,
            "orders": Decimal(1),
            "units": Decimal(order.units),
        }
        for name, value in values.items():
            sales[name] += value
            sales[channel_counter(name, order.channel)] += value
        sales["shipping"] += order.shipping
        sales["tax"] += order.tax
        for line in order.lines:
            self.day_units[day][line.sku] += line.quantity
            self.day_revenue[day][line.sku] += line.amount
            self.stock[line.sku] -= line.quantity

    def is_empty(self) -> bool:
        return not (self.day_sales or self.day_units or self.stock)
