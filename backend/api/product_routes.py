"""Read routes of one product: its page (catalogue, stock, daily series, bought together).

``/v1/products/top`` and ``/v1/products/pairs`` are fixed paths: the resolver matches fixed paths
before paths with a parameter, so neither is ever taken for a sku (a test keeps it so).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from backend.adapters import reads
from backend.adapters.clients import client
from backend.api.errors import ApiError, json_response
from backend.api.read_routes import EndDate, StartDate, check_range, require_read_key
from backend.api.stock_routes import store_today
from backend.domain.calendar import days
from backend.domain.money import format_money
from backend.processing.figures import inventory_row
from backend.settings import get_settings

router = APIGatewayRouter()

Sku = Annotated[str, Path(description="The product's sku", examples=["MUG-1"])]


@router.get(
    "/v1/products/<sku>",
    summary="One product: catalogue, stock, daily sales and what is bought with it",
    description=(
        "The product's catalogue fields (name, category, price), its stock fields exactly as its "
        "row of /v1/inventory (on_hand, reorder_point, units_sold_28d, days_of_cover, "
        "sell_through_28d, status, abc_class, and any field /v1/inventory adds), figured as of "
        "today (`as_of`); `series`, its units and line revenue (`net_sales`, as /v1/products/top "
        "counts it) of every store day of start..end, zeros included; and `together`, the "
        "products most often bought with it in the range (as /v1/products/{sku}/together). "
        "404 for a sku neither in the catalogue nor in stock."
    ),
    responses={
        200: {
            "description": "{sku, name, category, price, on_hand, ..., as_of, start, end, series, together}"
        },
        404: {"description": "no such product"},
    },
    tags=["products"],
)
def product(sku: Sku, start: StartDate, end: EndDate) -> Response[Any]:
    require_read_key()
    check_range(start, end)
    today = store_today()
    found = inventory_row(today, sku)
    if found is None:
        raise ApiError(
            404, "not_found", f"sku: no product {sku!r} in the catalogue or in stock", [{"parameter": "sku"}]
        )
    row, stock = found
    range_days = list(days(start, end))
    sold = reads.day_sku_sales(client("dynamodb"), get_settings().require("analytics_table"), range_days)
    series = []
    for day in range_days:
        figures = sold.get(day, {}).get(sku)
        series.append(
            {
                "period": day.isoformat(),
                "units": figures.units if figures else 0,
                "net_sales": format_money(figures.revenue) if figures else "0.00",
            }
        )
    body = {
        **row.to_json(),
        "price": None if stock.price is None else format_money(stock.price),
        "as_of": today.isoformat(),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "series": series,
        "together": [],
    }
    return json_response(200, body)
