"""The bodies the read routes answer, as pydantic models: their schemas and examples are what
``/v1/openapi.json`` says each route returns (:data:`RESPONSES`, used by
:func:`backend.api.openapi.complete`).

The models describe; the routes still build their bodies as they did. Every model allows extra
fields (``additionalProperties``): a client may rely on the fields named here, and a field added
later (the forecast fields of an ``/inventory`` row, say) is not a breaking change. A new route's
body is a model here and one line in :data:`RESPONSES`::

    ("/v1/products/{sku}", "get"): Product,

(:class:`Product`, :class:`Pairs` and :class:`Together` wait for their routes, issue 14.)
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Money = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", examples=["1234.50"])]
Day = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2025-03-01"])]
Month = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", examples=["2025-03"])]
Share = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0)]


def _described(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="allow", json_schema_extra={"examples": [example]})


class Health(BaseModel):
    model_config = _described({"status": "ok"})
    status: Literal["ok"]


class Metrics(BaseModel):
    """Every metric of docs/metrics.md over a range."""

    model_config = ConfigDict(extra="allow")
    gross_sales: Money
    discounts: Money
    returns: Money
    net_sales: Money
    average_order_value: Money
    orders: Count
    units: Count
    customers: Count
    new_customers: Count
    returning_customers: Count
    returning_customer_rate: Share


_METRICS = {
    "gross_sales": "1250.00",
    "discounts": "50.00",
    "returns": "20.00",
    "net_sales": "1180.00",
    "average_order_value": "48.00",
    "orders": 25,
    "units": 61,
    "customers": 20,
    "new_customers": 12,
    "returning_customers": 8,
    "returning_customer_rate": 0.4,
}


class Summary(BaseModel):
    model_config = _described(
        {
            "start": "2025-03-01",
            "end": "2025-03-31",
            "current": _METRICS,
            "previous_start": "2025-01-29",
            "previous_end": "2025-02-28",
            "previous": _METRICS,
            "change_pct": {"net_sales": 0.0, "orders": None},
        }
    )
    start: Day
    end: Day
    current: Metrics
    previous_start: Day | None = None
    previous_end: Day | None = None
    previous: Metrics | None = None
    change_pct: dict[str, float | None] | None = Field(
        None, description="percent change per metric; null where the previous value is 0"
    )


_SALES_POINT = {
    "period": "2025-03-03",
    "start": "2025-03-03",
    "end": "2025-03-09",
    "gross_sales": "310.00",
    "discounts": "10.00",
    "returns": "0.00",
    "net_sales": "300.00",
    "orders": 6,
    "units": 14,
}


class SalesPoint(BaseModel):
    model_config = ConfigDict(extra="allow")
    period: Day = Field(description="the first day of the period")
    start: Day
    end: Day
    gross_sales: Money
    discounts: Money
    returns: Money
    net_sales: Money
    orders: Count
    units: Count


class Sales(BaseModel):
    model_config = _described(
        {"start": "2025-03-01", "end": "2025-03-31", "granularity": "week", "series": [_SALES_POINT]}
    )
    start: Day
    end: Day
    granularity: Literal["day", "week", "month"]
    series: list[SalesPoint]


class ChannelFigures(BaseModel):
    model_config = ConfigDict(extra="allow")
    channel: str
    gross_sales: Money
    discounts: Money
    returns: Money
    net_sales: Money
    orders: Count


class Channels(BaseModel):
    model_config = _described(
        {
            "start": "2025-03-01",
            "end": "2025-03-31",
            "channels": [
                {
                    "channel": "web",
                    "gross_sales": "900.00",
                    "discounts": "40.00",
                    "returns": "20.00",
                    "net_sales": "840.00",
                    "average_order_value": "47.78",
                    "orders": 18,
                    "units": 44,
                }
            ],
            "unattributed_returns": "0.00",
        }
    )
    start: Day
    end: Day
    channels: list[ChannelFigures]
    unattributed_returns: Money


class TopProduct(BaseModel):
    model_config = ConfigDict(extra="allow")
    rank: Annotated[int, Field(ge=1)]
    sku: str
    name: str | None
    category: str | None
    units: Count
    net_sales: Money


class TopProducts(BaseModel):
    model_config = _described(
        {
            "start": "2025-03-01",
            "end": "2025-03-31",
            "by": "net_sales",
            "products": [
                {
                    "rank": 1,
                    "sku": "MUG-1",
                    "name": "Mug",
                    "category": "kitchen",
                    "units": 30,
                    "net_sales": "360.00",
                }
            ],
        }
    )
    start: Day
    end: Day
    by: Literal["net_sales", "units"]
    products: list[TopProduct]


class Cohort(BaseModel):
    model_config = ConfigDict(extra="allow")
    cohort: Month
    size: Count
    active: list[Count]
    retention: list[Share] = Field(description="share of the cohort active in month cohort + k")


class Cohorts(BaseModel):
    model_config = _described(
        {
            "as_of": "2025-03",
            "cohorts": [
                {"cohort": "2025-01", "size": 40, "active": [40, 9, 6], "retention": [1.0, 0.225, 0.15]},
                {"cohort": "2025-02", "size": 35, "active": [35, 7], "retention": [1.0, 0.2]},
            ],
        }
    )
    as_of: Month
    cohorts: list[Cohort]


class Segment(BaseModel):
    model_config = ConfigDict(extra="allow")
    segment: str
    label: str
    customers: Count
    share_of_revenue: Share


class Segments(BaseModel):
    model_config = _described(
        {
            "as_of": "2025-03-31",
            "computed_at": "2025-04-01T02:00:00+00:00",
            "customers": 120,
            "segments": [
                {"segment": "champions", "label": "Champions", "customers": 14, "share_of_revenue": 0.41}
            ],
        }
    )
    as_of: Day | None = Field(description="null before the segments job first ran")
    computed_at: str | None
    customers: Count
    segments: list[Segment]


_INVENTORY_ITEM = {
    "sku": "MUG-1",
    "name": "Mug",
    "category": "kitchen",
    "on_hand": 12,
    "reorder_point": 5,
    "units_sold_28d": 28,
    "days_of_cover": 12.0,
    "sell_through_28d": 0.7,
    "status": "ok",
    "abc_class": "A",
}


class InventoryItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    sku: str
    name: str | None
    category: str | None
    on_hand: int
    reorder_point: Count
    units_sold_28d: Count
    days_of_cover: float | None
    sell_through_28d: Share | None
    status: Literal["ok", "low", "out"]
    abc_class: Literal["A", "B", "C"]


class Inventory(BaseModel):
    model_config = _described(
        {
            "as_of": "2025-03-31",
            "items": [_INVENTORY_ITEM],
            "next_cursor": None,
        }
    )
    as_of: Day
    items: list[InventoryItem]
    next_cursor: str | None = Field(description="pass back as cursor; null on the last page")


class Alert(BaseModel):
    model_config = ConfigDict(extra="allow")
    alert_id: str
    type: str
    raised_at: str
    sku: str | None = None


class Alerts(BaseModel):
    model_config = _described(
        {
            "alerts": [
                {
                    "alert_id": "a-1",
                    "sku": "MUG-1",
                    "type": "low_stock",
                    "on_hand": 4,
                    "reorder_point": 5,
                    "raised_at": "2025-03-31T10:00:00+00:00",
                }
            ],
            "more": False,
        }
    )
    alerts: list[Alert]
    more: bool


_REPORT = {
    "report_id": "r-7f3a",
    "type": "sales_summary",
    "start": "2025-03-01",
    "end": "2025-03-31",
    "status": "ready",
    "download_url": "https://storepulse-reports.s3.amazonaws.com/r-7f3a.pdf?X-Amz-Signature=...",
    "expires_at": "2025-04-01T10:15:00+00:00",
    "created_at": "2025-04-01T10:00:00+00:00",
    "generated_at": "2025-04-01T10:00:05+00:00",
    "size_bytes": 48213,
}


class Report(BaseModel):
    model_config = _described(_REPORT)
    report_id: str
    type: Literal["sales_summary", "inventory", "customers"]
    start: Day
    end: Day
    status: Literal["pending", "ready", "failed"]
    download_url: str | None = Field(description="a presigned URL once ready, else null")
    expires_at: str | None
    created_at: str


class Reports(BaseModel):
    model_config = _described({"reports": [_REPORT]})
    reports: list[Report]


_SUBSCRIPTION = {
    "subscription_id": "s-91c2",
    "email": "owner@example.com",
    "frequency": "weekly",
    "report_type": "sales_summary",
    "status": "active",
    "created_at": "2025-03-01T09:00:00+00:00",
}


class Subscription(BaseModel):
    model_config = _described(_SUBSCRIPTION)
    subscription_id: str
    email: str
    frequency: Literal["daily", "weekly"]
    report_type: Literal["sales_summary", "inventory", "customers"]
    status: str
    created_at: str


class Subscriptions(BaseModel):
    model_config = _described({"subscriptions": [_SUBSCRIPTION]})
    subscriptions: list[Subscription]


class Cancelled(BaseModel):
    model_config = _described(
        {"subscription_id": "s-91c2", "status": "cancelled", "already_cancelled": False}
    )
    subscription_id: str
    status: Literal["cancelled"]
    already_cancelled: bool


class Pair(BaseModel):
    model_config = ConfigDict(extra="allow")
    a: str
    b: str
    orders: Count
    support: Share
    confidence_ab: Share
    confidence_ba: Share
    lift: Annotated[float, Field(ge=0)]


class Pairs(BaseModel):
    """``GET /v1/products/pairs`` (issue 14; registered in :data:`RESPONSES` with its route)."""

    model_config = _described(
        {
            "start": "2025-03-01",
            "end": "2025-03-31",
            "orders": 250,
            "pairs": [
                {
                    "a": "MUG-1",
                    "b": "TEA-2",
                    "orders": 30,
                    "support": 0.12,
                    "confidence_ab": 0.5,
                    "confidence_ba": 0.6,
                    "lift": 2.5,
                }
            ],
        }
    )
    pairs: list[Pair]


class Companion(BaseModel):
    model_config = ConfigDict(extra="allow")
    sku: str
    orders: Count
    confidence: Share
    lift: Annotated[float, Field(ge=0)]


_COMPANION = {"sku": "TEA-2", "orders": 30, "confidence": 0.5, "lift": 2.5}


class Together(BaseModel):
    """``GET /v1/products/{sku}/together`` (issue 14; registered with its route)."""

    model_config = _described(
        {"sku": "MUG-1", "start": "2025-03-01", "end": "2025-03-31", "orders": 60, "items": [_COMPANION]}
    )
    sku: str
    items: list[Companion]


class ProductDay(BaseModel):
    model_config = ConfigDict(extra="allow")
    period: Day
    units: Count
    net_sales: Money


class Product(InventoryItem):
    """``GET /v1/products/{sku}``: its ``/inventory`` row and more (issue 14; registered with its
    route)."""

    model_config = _described(
        {
            **_INVENTORY_ITEM,
            "price": "12.00",
            "as_of": "2025-03-31",
            "start": "2025-03-30",
            "end": "2025-03-31",
            "series": [
                {"period": "2025-03-30", "units": 2, "net_sales": "24.00"},
                {"period": "2025-03-31", "units": 0, "net_sales": "0.00"},
            ],
            "together": [_COMPANION],
        }
    )
    price: Money | None
    series: list[ProductDay]
    together: list[Companion]


#: (path, method) -> the model of its success body (200, or the 201/202 the route declares). A
#: route added elsewhere gets its model in one line.
RESPONSES: dict[tuple[str, str], type[BaseModel]] = {
    ("/v1/reports", "post"): Report,
    ("/v1/subscriptions", "post"): Subscription,
    ("/v1/health", "get"): Health,
    ("/v1/metrics/summary", "get"): Summary,
    ("/v1/metrics/sales", "get"): Sales,
    ("/v1/metrics/channels", "get"): Channels,
    ("/v1/products/top", "get"): TopProducts,
    ("/v1/customers/cohorts", "get"): Cohorts,
    ("/v1/customers/segments", "get"): Segments,
    ("/v1/inventory", "get"): Inventory,
    ("/v1/alerts", "get"): Alerts,
    ("/v1/reports", "get"): Reports,
    ("/v1/reports/{report_id}", "get"): Report,
    ("/v1/subscriptions", "get"): Subscriptions,
    ("/v1/subscriptions/{subscription_id}", "delete"): Cancelled,
    ("/v1/products/{sku}", "get"): Product,
    ("/v1/products/pairs", "get"): Pairs,
    ("/v1/products/{sku}/together", "get"): Together,
}
