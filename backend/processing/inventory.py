"""The inventory processor: the catalogue, reorder points and stock adjustments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from backend.adapters.batch import Parsed
from backend.adapters.dynamo import Claim, Counted, count_once, set_if_newer
from backend.domain.events import Event, InventoryAdjusted, ProductUpserted
from backend.domain.sales import Contributions
from backend.processing import stock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
else:
    DynamoDBClient = EventBridgeClient = Any


def apply(
    dynamodb: DynamoDBClient,
    events_client: EventBridgeClient,
    *,
    table: str,
    bus: str,
    zone: ZoneInfo,
    items: Sequence[Parsed],
) -> dict[str, BaseException]:
    """Record products (last change by event time wins), count adjustments once, then raise the
    alerts the new stock levels call for."""
    adjustments = []
    touched: set[str] = set()
    for item in items:
        event: Event = item.value
        data = event.data
        if isinstance(data, ProductUpserted):
            upsert_product(dynamodb, table, event)
            touched.add(data.sku)
        elif isinstance(data, InventoryAdjusted):
            contributions = Contributions()
            contributions.add(event, zone)
            claim = Claim((f"ADJ#{event.event_id}", "MARKER"), "counted", data.sku)
            adjustments.append(Counted(item.message_id, claim, contributions))
            touched.add(data.sku)
    count_once(dynamodb, table, adjustments)
    stock.evaluate(dynamodb, events_client, table, bus, touched)
    return {}


def upsert_product(dynamodb: DynamoDBClient, table: str, event: Event) -> None:
    """The catalogue entry (reorder point included) at its latest version, on the SKU's own item
    (which also holds its stock: :mod:`backend.domain.stock`)."""
    product: ProductUpserted = event.data
    version = event.version
    fields: dict[str, Any] = {
        "sku": product.sku,
        "name": product.name,
        "category": product.category,
        "price": product.price,
        "reorder_point": product.reorder_point,
    }
    if product.lead_time_days is not None:
        fields["lead_time_days"] = product.lead_time_days
    set_if_newer(
        dynamodb,
        table,
        ("CATALOG", product.sku),
        fields,
        version_attribute="version",
        version=version,
    )
