"""Sales (``/sales``): gross, discounts, returns and net by day, week or month; channels; top
products."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from dashboard import api, figures
from dashboard.components import (
    empty,
    export_grid,
    graph,
    money_column,
    page_range,
    problem,
    range_bar,
    section,
)
from dashboard.dates import DateRange
from dashboard.settings import get_settings

dash.register_page(__name__, path="/sales", name="Sales", title="Sales · storepulse", order=1)

GRANULARITIES = ("day", "week", "month")


def breakdown(dates: DateRange, granularity: str, compare: bool = False) -> Any:
    try:
        series = api.get("/metrics/sales", **dates.params(), granularity=granularity)["series"]
        previous = (
            api.get("/metrics/sales", **dates.previous().params(), granularity=granularity)["series"]
            if compare
            else None
        )
    except api.ApiProblem as exc:
        return problem(exc, "The sales series", "sales-series-problem")
    if not figures.has_sales(series) and not (previous and figures.has_sales(previous)):
        return empty(f"No sales between {dates.start} and {dates.end}.", "sales-series-empty")
    figure = figures.sales_breakdown_figure(series, get_settings().currency, previous=previous)
    return graph("sales-breakdown-graph", figure)


def channels(dates: DateRange) -> Any:
    try:
        rows = api.get("/metrics/channels", **dates.params())["channels"]
    except api.ApiProblem as exc:
        return problem(exc, "Sales by channel", "sales-channels-problem")
    if not figures.has_channel_sales(rows):
        return empty("No orders in this range, on any channel.", "sales-channels-empty")
    return graph("sales-channels-graph", figures.channels_figure(rows, get_settings().currency))


def top_products(dates: DateRange) -> Any:
    currency = get_settings().currency
    try:
        products = api.get("/products/top", **dates.params(), by="net_sales", limit=25)["products"]
    except api.ApiProblem as exc:
        return problem(exc, "Top products", "sales-products-problem")
    if not products:
        return empty("No product sold in this range.", "sales-products-empty")
    columns: list[dict[str, Any]] = [
        {"field": "rank", "headerName": "#", "width": 70},
        {"field": "sku", "headerName": "SKU", "width": 120},
        {"field": "name", "headerName": "Product", "flex": 2, "minWidth": 200},
        {"field": "category", "headerName": "Category", "flex": 1, "minWidth": 170},
        {"field": "units", "headerName": "Units", "type": "rightAligned", "width": 100},
        money_column("net_sales", "Line revenue", currency),
    ]
    return export_grid(
        "sales-products",
        figures.product_rows(products),
        columns,
        f"storepulse-top-products-{dates.start}-{dates.end}.csv",
        height=360,
    )


def layout(
    start: str | None = None,
    end: str | None = None,
    granularity: str = "day",
    compare: str | None = None,
    **_: str,
) -> html.Div:
    dates = page_range(start, end)
    if granularity not in GRANULARITIES:
        granularity = "day"
    comparing = compare == "previous_period"
    previous = dates.previous()
    return html.Div(
        [
            html.H1("Sales", className="h3"),
            range_bar("sales", "/sales", dates),
            dcc.Store(id="sales-range", data=dates.params()),
            section(
                "Gross sales, discounts, returns and net sales",
                html.Div(breakdown(dates, granularity, comparing), id="sales-breakdown"),
                extra=html.Div(
                    [
                        dbc.Switch(
                            id="sales-compare",
                            label=f"Compare to previous period ({previous.start} – {previous.end})",
                            value=comparing,
                            class_name="small m-0",
                        ),
                        dbc.RadioItems(
                            id="sales-granularity",
                            options=[{"label": g.capitalize(), "value": g} for g in GRANULARITIES],
                            value=granularity,
                            inline=True,
                            class_name="small",
                        ),
                    ],
                    className="d-flex flex-wrap align-items-center gap-3",
                ),
            ),
            dbc.Row(
                [
                    dbc.Col(section("Sales by channel", channels(dates)), lg=4),
                    dbc.Col(section("Top products", top_products(dates)), lg=8),
                ]
            ),
        ]
    )


@dash.callback(
    Output("sales-breakdown", "children"),
    Input("sales-granularity", "value"),
    Input("sales-compare", "value"),
    State("sales-range", "data"),
    prevent_initial_call=True,
)
def regroup(granularity: str, compare: bool | None, shown: dict[str, str]) -> Any:
    """Redraw the breakdown by another granularity, with or without the previous period."""
    return breakdown(page_range(shown["start"], shown["end"]), granularity, bool(compare))
