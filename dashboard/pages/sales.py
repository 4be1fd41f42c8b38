"""Sales (``/sales``): gross, discounts, returns and net by day, week or month, compared with
the previous period or the same period last year; channels; top products.

Every control is in the URL (``granularity``, ``compare``, ``channel``); a click on a period of
the chart opens those days, a click on a channel shows that channel's sales alone.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import api, figures
from dashboard.components import (
    empty,
    export_grid,
    graph,
    money_column,
    open_clicked_span,
    page_compare,
    page_range,
    problem,
    range_bar,
    section,
    sku_link_column,
    view_select,
    with_product_links,
)
from dashboard.dates import COMPARISONS, DEFAULT_GRANULARITY, GRANULARITIES, DateRange, view_query
from dashboard.settings import get_settings

dash.register_page(__name__, path="/sales", name="Sales", title="Sales · storepulse", order=1)

CHANNELS = ("web", "mobile", "marketplace", "pos")


def breakdown(dates: DateRange, granularity: str, compare: str, channel: str) -> Any:
    against = dates.compared(compare)
    only = {"channel": channel} if channel else {}
    try:
        series = api.get("/metrics/sales", **dates.params(), granularity=granularity, **only)["series"]
        previous = (
            api.get("/metrics/sales", **against.params(), granularity=granularity, **only)["series"]
            if against
            else None
        )
    except api.ApiProblem as exc:
        return problem(exc, "The sales series", "sales-series-problem")
    if not figures.has_sales(series) and not (previous and figures.has_sales(previous)):
        where = f" on {channel}" if channel else ""
        return empty(f"No sales{where} between {dates.start} and {dates.end}.", "sales-series-empty")
    figure = figures.sales_breakdown_figure(
        series, get_settings().currency, previous=previous, previous_name=COMPARISONS[compare].lower()
    )
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
        sku_link_column(),
        {"field": "name", "headerName": "Product", "flex": 2, "minWidth": 200},
        {"field": "category", "headerName": "Category", "flex": 1, "minWidth": 170},
        {"field": "units", "headerName": "Units", "type": "rightAligned", "width": 100},
        money_column("net_sales", "Line revenue", currency),
    ]
    return export_grid(
        "sales-products",
        with_product_links(figures.product_rows(products)),
        columns,
        f"storepulse-top-products-{dates.start}-{dates.end}.csv",
        height=360,
        label="Top products",
    )


def layout(
    start: str | None = None,
    end: str | None = None,
    granularity: str = DEFAULT_GRANULARITY,
    compare: str | None = None,
    channel: str = "",
    **_: str,
) -> html.Div:
    dates = page_range(start, end)
    if granularity not in GRANULARITIES:
        granularity = DEFAULT_GRANULARITY
    compared = page_compare(compare)
    if channel not in CHANNELS:
        channel = ""
    view = {"granularity": granularity, "channel": channel}
    channel_names = [(c, "POS" if c == "pos" else c.capitalize()) for c in CHANNELS]
    controls = html.Div(
        [
            view_select(
                "sales", "granularity", "Group by", [(g, g.capitalize()) for g in GRANULARITIES], granularity
            ),
            view_select("sales", "channel", "Channel", [("", "All channels"), *channel_names], channel),
        ],
        className="d-flex flex-wrap align-items-end gap-3",
    )
    title = "Gross sales, discounts, returns and net sales" + (f" on {channel}" if channel else "")
    return html.Div(
        [
            html.H1("Sales", className="h3"),
            range_bar("sales", "/sales", dates, compare=compared, view=view),
            dcc.Store(id="sales-view", data={**dates.params(), "compare": compared, **view}),
            section(
                title,
                html.Div(breakdown(dates, granularity, compared, channel), id="sales-breakdown"),
                extra=controls,
            ),
            dbc.Row(
                [
                    dbc.Col(section("Sales by channel (click one to see it alone)", channels(dates)), lg=4),
                    dbc.Col(section("Top products", top_products(dates)), lg=8),
                ]
            ),
        ]
    )


@dash.callback(
    Output("shell-url", "search", allow_duplicate=True),
    Input("sales-breakdown-graph", "clickData"),
    State("sales-view", "data"),
    prevent_initial_call=True,
)
def open_period(click: dict[str, Any] | None, view: dict[str, str]) -> str:
    """A click on a period opens its days, by day."""
    return open_clicked_span(click, view, granularity="day")


@dash.callback(
    Output("shell-url", "search", allow_duplicate=True),
    Input("sales-channels-graph", "clickData"),
    State("sales-view", "data"),
    prevent_initial_call=True,
)
def filter_channel(click: dict[str, Any] | None, view: dict[str, str]) -> str:
    """A click on a channel shows that channel's sales alone (again: all channels)."""
    channel = figures.clicked_label(click)
    if channel not in CHANNELS:
        raise PreventUpdate
    return view_query({**view, "channel": "" if view.get("channel") == channel else channel})
