"""The inventory processor: the catalogue, reorder points and stock adjustments."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from backend.adapters.analytics import AnalyticsStore, Claim, Counted, adjustment_key
from backend.adapters.batch import Parsed
from backend.domain.events import Event, InventoryAdjusted, ProductUpserted
from backend.domain.sales import Contributions

#: Raises the alerts the current stock of these SKUs calls for (:func:`backend.processing.stock.
#: evaluate`, bound by the handler to its clients, table and bus).
EvaluateStock = Callable[[Iterable[str]], Any]


def apply(
    analytics: AnalyticsStore, evaluate_stock: EvaluateStock, *, zone: ZoneInfo, items: Sequence[Parsed]
) -> dict[str, BaseException]:
    """Record products (last change by event time wins), count adjustments once, then raise the
    alerts the new stock levels call for."""
    adjustments = []
    touched: set[str] = set()
    for item in items:
        event: Event = item.value
        data = event.data
        if isinstance(data, ProductUpserted):
            upsert_product(analytics, event)
            touched.add(data.sku)
        elif isinstance(data, InventoryAdjusted):
            contributions = Contributions()
            contributions.add(event, zone)
            claim = Claim(adjustment_key(event.event_id), "counted", data.sku)
            adjustments.append(Counted(item.message_id, claim, contributions))
            touched.add(data.sku)
    analytics.count_once(adjustments)
    evaluate_stock(touched)
    return {}


def upsert_product(analytics: AnalyticsStore, event: Event) -> None:
    """The catalogue entry (reorder point included) at its latest version, on the SKU's own item
    (which also holds its stock: :mod:`backend.domain.stock`)."""
    product: ProductUpserted = event.data
    fields: dict[str, Any] = {
        "sku": product.sku,
        "name": product.name,
        "category": product.category,
        "price": product.price,
        "reorder_point": product.reorder_point,
    }
    if product.lead_time_days is not None:
        fields["lead_time_days"] = product.lead_time_days
    analytics.upsert_product(product.sku, fields, event.version)
