"""Overview (``/``): KPI cards with the change vs the previous period, the sales trend, the
latest alerts; refreshed every minute."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from dashboard import api, figures
from dashboard.components import empty, graph, kpi_card, page_range, problem, range_bar, section
from dashboard.dates import DateRange
from dashboard.settings import get_settings

dash.register_page(__name__, path="/", name="Overview", title="Overview · storepulse", order=0)

REFRESH_MS = 60_000


def _alerts() -> Any:
    try:
        alerts = api.get("/alerts", limit=5)["alerts"]
    except api.ApiProblem as exc:
        return problem(exc, "The latest alerts", "overview-alerts-problem")
    if not alerts:
        return empty("No stock alerts.", "overview-alerts-empty")
    return html.Ul(
        [
            html.Li(
                [
                    html.Strong(row["type"]),
                    f" · {row['sku']} · on hand {row['on_hand']} · {row['raised_at']} UTC",
                ],
                className=f"sp-alert-{'out' if row['type'] == 'Out of stock' else 'low'}",
            )
            for row in figures.alert_rows(alerts)
        ],
        id="overview-alerts",
        className="sp-alert-list",
    )


def body(dates: DateRange) -> list[Any]:
    """Everything that depends on data: built on load and again on each refresh."""
    currency = get_settings().currency
    try:
        summary = api.get("/metrics/summary", **dates.params(), compare="previous_period")
    except api.ApiProblem as exc:
        return [problem(exc, "The overview", "overview-problem")]
    cards = dbc.Row(
        [kpi_card(kpi, "overview") for kpi in figures.overview_kpis(summary, None, currency)]
        # The stock figures cost the most to compute: that card fills in after the page is usable.
        + [kpi_card(figures.low_stock_kpi(None), "overview")],
        id="overview-kpis",
    )
    try:
        series = api.get("/metrics/sales", **dates.params(), granularity="day")["series"]
        previous = api.get("/metrics/sales", **dates.previous().params(), granularity="day")["series"]
        if figures.has_sales(series):
            trend: Any = graph("overview-trend-graph", figures.sales_trend_figure(series, previous, currency))
        else:
            trend = empty(f"No sales between {dates.start} and {dates.end}.", "overview-trend-empty")
    except api.ApiProblem as exc:
        trend = problem(exc, "The sales trend", "overview-trend-problem")
    return [
        cards,
        dbc.Row(
            [
                dbc.Col(section("Net sales per day", trend), lg=8),
                dbc.Col(section("Latest alerts", _alerts()), lg=4),
            ]
        ),
        html.Div(
            f"Updated {datetime.now().strftime('%H:%M:%S')}; refreshes every minute.",
            className="text-secondary small",
            id="overview-updated",
        ),
    ]


def layout(start: str | None = None, end: str | None = None, **_: str) -> html.Div:
    dates = page_range(start, end)
    return html.Div(
        [
            html.H1("Overview", className="h3"),
            range_bar("overview", "/", dates),
            dcc.Store(id="overview-range", data=dates.params()),
            dcc.Interval(id="overview-refresh", interval=REFRESH_MS),
            html.Div(body(dates), id="overview-body"),
        ]
    )


@dash.callback(
    Output("overview-kpi-low_stock_skus", "children"),
    Input("overview-kpis", "id"),
)
def low_stock(_: str) -> str:
    """SKUs at or under their reorder point (``low`` or ``out``), now."""
    try:
        inventory = api.get("/inventory")
    except api.ApiProblem:
        return "unavailable"
    return f"{figures.low_stock_skus(inventory):,}"


@dash.callback(
    Output("overview-body", "children"),
    Input("overview-refresh", "n_intervals"),
    State("overview-range", "data"),
    prevent_initial_call=True,
)
def refresh(_: int, shown: dict[str, str]) -> list[Any]:
    """Live refresh: the same range, fresh figures."""
    return body(page_range(shown["start"], shown["end"]))
