"""Read routes over sales: the series by day, week or month, channels and top products."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from backend.api.errors import json_response
from backend.api.read_routes import EndDate, StartDate, check_range, require_read_key
from backend.domain import metrics, products, series
from backend.domain.calendar import days
from backend.domain.channels import by_channel, channel_day
from backend.domain.events import Channel
from backend.domain.money import format_money
from backend.wiring import analytics_adapter

MAX_TOP_PRODUCTS = 100

router = APIGatewayRouter()


@router.get(
    "/v1/metrics/sales",
    summary="Sales over time, by day, week or month",
    description=(
        "gross_sales, discounts, returns, net_sales, orders and units of each period of start..end. "
        "A week starts on Monday and a month on the 1st; `period` is that first day. Every period is "
        "listed, with zeros when nothing happened. The first and last periods may be partial: they "
        "count only the days inside the range (`start` and `end` of each point say which). "
        "With `channel`, the figures of that channel's orders alone (returns of refunds whose "
        "order is unknown belong to no channel)."
    ),
    responses={200: {"description": "{granularity, series: [{period, start, end, <figures>}]}"}},
    tags=["metrics"],
)
def metrics_sales(
    start: StartDate,
    end: EndDate,
    granularity: Annotated[
        series.Granularity,
        Query(description="day, week (from Monday) or month", examples=["week"]),
    ] = "day",
    channel: Annotated[
        Channel | None, Query(description="Only this channel's orders", examples=["pos"])
    ] = None,
) -> Response[Any]:
    require_read_key()
    check_range(start, end)
    sales = analytics_adapter().daily_sales(list(days(start, end)))
    if channel:
        sales = {day: channel_day(counters, channel) for day, counters in sales.items()}
    points = [
        {
            "period": period.period.isoformat(),
            "start": period.first_day.isoformat(),
            "end": period.last_day.isoformat(),
            **metrics.to_json(figures),
        }
        for period, figures in series.sales_series(sales, start, end, granularity)
    ]
    body: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat(), "granularity": granularity}
    if channel:
        body["channel"] = channel
    body["series"] = points
    return json_response(200, body)


@router.get(
    "/v1/metrics/channels",
    summary="Sales per channel",
    description=(
        "For each channel (web, mobile, marketplace, pos; all listed, zeros included) the orders "
        "placed in start..end: gross_sales, discounts, average_order_value, orders, units; and "
        "returns (refunds that occurred in the range, under the channel of the order they refund) "
        "and net_sales = gross_sales - discounts - returns. `unattributed_returns` holds refunds "
        "whose order was never received: the channels' returns plus it equal the summary's returns."
    ),
    responses={
        200: {"description": "{channels: [{channel, gross_sales, discounts, returns, net_sales, ...}], ...}"}
    },
    tags=["metrics"],
)
def metrics_channels(start: StartDate, end: EndDate) -> Response[Any]:
    require_read_key()
    check_range(start, end)
    sales = list(analytics_adapter().daily_sales(list(days(start, end))).values())
    rows, unattributed = by_channel(sales)
    channels = [{"channel": c.pop("channel"), **metrics.to_json(c)} for c in rows]
    body = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "channels": channels,
        "unattributed_returns": format_money(unattributed),
    }
    return json_response(200, body)


@router.get(
    "/v1/products/top",
    summary="Best-selling products",
    description=(
        "The SKUs that sold most in start..end, by net_sales or by units (ties: the smaller sku "
        "first), with their catalogue name and category (null for a SKU never described). "
        "A product's net_sales is its line revenue, the sum of quantity × unit_price over its "
        "order lines: discounts and refunds are amounts of a whole order, not of a product."
    ),
    responses={200: {"description": "{products: [{sku, name, category, units, net_sales}]}"}},
    tags=["metrics"],
)
def products_top(
    start: StartDate,
    end: EndDate,
    by: Annotated[
        products.RankBy, Query(description="Rank by net_sales (line revenue) or units", examples=["units"])
    ] = "net_sales",
    limit: Annotated[
        int,
        Query(ge=1, le=MAX_TOP_PRODUCTS, description=f"How many, 1 to {MAX_TOP_PRODUCTS}", examples=[10]),
    ] = 10,
) -> Response[Any]:
    require_read_key()
    check_range(start, end)
    analytics = analytics_adapter()
    sold = products.totals(analytics.range_sku_sales(start, end))
    best = products.top(sold, by, limit)
    entries = analytics.catalogue_entries([sku for sku, _ in best])
    rows = []
    for rank, (sku, sales) in enumerate(best, start=1):
        entry = entries.get(sku)
        rows.append(
            {
                "rank": rank,
                "sku": sku,
                "name": entry.name if entry else None,
                "category": entry.category if entry else None,
                "units": sales.units,
                "net_sales": format_money(sales.revenue),
            }
        )
    body = {"start": start.isoformat(), "end": end.isoformat(), "by": by, "products": rows}
    return json_response(200, body)
