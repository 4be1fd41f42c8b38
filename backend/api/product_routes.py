"""Read routes of one product: its page (catalogue, stock, daily series, bought together).

``/v1/products/top`` and ``/v1/products/pairs`` are fixed paths: the resolver matches fixed paths
before paths with a parameter, so neither is ever taken for a sku (a test keeps it so).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from backend.adapters.clients import client
from backend.api.errors import ApiError, json_response
from backend.api.read_routes import EndDate, StartDate, check_range, require_read_key
from backend.api.stock_routes import store_today
from backend.domain import together
from backend.domain.calendar import days
from backend.domain.money import format_money
from backend.processing.context import Context
from backend.processing.figures import inventory_row
from backend.settings import get_settings
from backend.wiring import analytics_adapter

router = APIGatewayRouter()

MAX_PAIRS = 100
MAX_COMPANIONS = 50
DEFAULT_PAIR_MIN_ORDERS = 5
# A product page asks for a few suggestions for one product, whose orders are fewer than the
# store's: a smaller threshold than /pairs', still above a single coincidence.
DEFAULT_COMPANION_MIN_ORDERS = 3

Sku = Annotated[str, Path(description="The product's sku", examples=["MUG-1"])]


_MIN_ORDERS = "Only pairs in at least this many orders of the range"
PairMinOrders = Annotated[
    int, Query(ge=1, le=1_000_000, description=_MIN_ORDERS, examples=[DEFAULT_PAIR_MIN_ORDERS])
]
CompanionMinOrders = Annotated[
    int, Query(ge=1, le=1_000_000, description=_MIN_ORDERS, examples=[DEFAULT_COMPANION_MIN_ORDERS])
]


PAIRS_DESCRIPTION = (
    "Over the orders placed in start..end (N orders; an order counts each of its distinct SKUs "
    "once, whatever the quantities): for each pair of products a < b bought together in at least "
    "`min_orders` orders, `orders` = n(a, b), `support` = n(a, b) / N, `confidence_ab` = n(a, b) / "
    "n(a), `confidence_ba` = n(a, b) / n(b), `lift` = n(a, b) N / (n(a) n(b)) (1 is chance), as "
    "numbers rounded to six decimals; by lift, then orders, descending (then a, b). Exact: counted "
    "from the baskets of the orders the pipeline counted, through folds a nightly job keeps "
    "(docs/insights.md)."
)


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
    # One view of the lone items for the stock figures, the series and the companions.
    context = Context.of(get_settings(), client).for_request()
    found = inventory_row(context, today, sku)
    if found is None:
        raise ApiError(
            404, "not_found", f"sku: no product {sku!r} in the catalogue or in stock", [{"parameter": "sku"}]
        )
    row, stock = found
    range_days = list(days(start, end))
    sold = context.analytics.day_sku_sales(range_days)
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
        "together": _named(
            together.companions(
                context.analytics.range_pair_counts(start, end),
                sku,
                min_orders=DEFAULT_COMPANION_MIN_ORDERS,
                limit=5,
            )
        ),
    }
    return json_response(200, body)


def _named(items: list[together.Companion]) -> list[dict[str, Any]]:
    """The items as JSON with each product's catalogue name (null for one never described)."""
    entries = analytics_adapter().catalogue_entries([item.sku for item in items])
    return [{**item.to_json(), "name": getattr(entries.get(item.sku), "name", None)} for item in items]


@router.get(
    "/v1/products/pairs",
    summary="Products bought together",
    description=PAIRS_DESCRIPTION,
    responses={
        200: {
            "description": "{start, end, orders, pairs: [{a, b, orders, support, confidence_ab, "
            "confidence_ba, lift}]}"
        }
    },
    tags=["products"],
)
def products_pairs(
    start: StartDate,
    end: EndDate,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAIRS, description=f"How many pairs, 1 to {MAX_PAIRS}", examples=[20])
    ] = 20,
    min_orders: PairMinOrders = DEFAULT_PAIR_MIN_ORDERS,
) -> Response[Any]:
    require_read_key()
    check_range(start, end)
    counts = analytics_adapter().range_pair_counts(start, end)
    found = together.pairs(counts, min_orders=min_orders, limit=limit)
    body = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "orders": counts.orders,
        "pairs": [p.to_json() for p in found],
    }
    return json_response(200, body)


@router.get(
    "/v1/products/<sku>/together",
    summary="What is bought with a product",
    description=(
        "Over the orders placed in start..end that hold `sku`: each other product in at least "
        "`min_orders` of them, with `orders` (how many), `confidence` (the share of the orders "
        "with `sku` that hold it) and `lift` (as /v1/products/pairs), ranked as the pairs are "
        "(lift, then orders). `orders` at the top is how many orders of the range hold `sku`. "
        "An unknown sku has no orders: an empty list."
    ),
    responses={
        200: {"description": "{sku, start, end, orders, items: [{sku, name, orders, confidence, lift}]}"}
    },
    tags=["products"],
)
def product_together(
    sku: Sku,
    start: StartDate,
    end: EndDate,
    limit: Annotated[
        int,
        Query(ge=1, le=MAX_COMPANIONS, description=f"How many, 1 to {MAX_COMPANIONS}", examples=[5]),
    ] = 5,
    min_orders: CompanionMinOrders = DEFAULT_COMPANION_MIN_ORDERS,
) -> Response[Any]:
    require_read_key()
    check_range(start, end)
    counts = analytics_adapter().range_pair_counts(start, end)
    items = together.companions(counts, sku, min_orders=min_orders, limit=limit)
    body = {
        "sku": sku,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "orders": counts.sku_orders.get(sku, 0),
        "items": _named(items),
    }
    return json_response(200, body)
