"""Overview (``/``): KPI cards with the change vs the compared period, the sales trend (a click
on a day opens that day), the latest alerts; live while the range holds today."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import api, figures
from dashboard.components import (
    empty,
    graph,
    kpi_card,
    now,
    page_compare,
    page_range,
    problem,
    product_link,
    range_bar,
    section,
    today,
)
from dashboard.dates import COMPARISONS, DateRange, view_query
from dashboard.settings import get_settings

dash.register_page(__name__, path="/", name="Overview", title="Overview · storepulse", order=0)

# While the range holds today, the page asks every LIVE_MS for today's figures alone (one small
# read, never cached) and redraws only when they changed: a new order shows within seconds.
LIVE_MS = 3_000


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
                    " · ",
                    product_link(row["sku"], f"overview-alert-{index}"),
                    f" · on hand {row['on_hand']} · {row['raised_at']}",
                ],
                className=f"sp-alert-{'out' if row['type'] == 'Out of stock' else 'low'}",
            )
            for index, row in enumerate(figures.alert_rows(alerts, get_settings().zone))
        ],
        id="overview-alerts",
        className="sp-alert-list",
    )


def summary_compared(dates: DateRange, compare: str, *, fresh: bool = False) -> dict[str, Any]:
    """``/metrics/summary`` of the range with ``change_pct`` against the compared range (the
    API compares with the previous period itself; the year before is a second summary)."""
    read = api.get_fresh if fresh else api.get
    if compare == "previous_period":
        return dict(read("/metrics/summary", **dates.params(), compare="previous_period"))
    summary = dict(read("/metrics/summary", **dates.params()))
    against = dates.compared(compare)
    if against is not None:
        summary["previous"] = read("/metrics/summary", **against.params())["current"]
        summary["change_pct"] = figures.change_pct(summary["current"], summary["previous"])
    return summary


def body(dates: DateRange, compare: str, *, fresh: bool = False) -> list[Any]:
    """Everything that depends on data: built on load and again when today's figures change."""
    currency = get_settings().currency
    versus = COMPARISONS[compare].lower() if compare != "none" else ""
    try:
        summary = summary_compared(dates, compare, fresh=fresh)
    except api.ApiProblem as exc:
        return [problem(exc, "The overview", "overview-problem")]
    cards = dbc.Row(
        [kpi_card(kpi, "overview") for kpi in figures.overview_kpis(summary, None, currency, versus)]
        # The stock figures cost the most to compute: that card fills in after the page is usable.
        + [kpi_card(figures.low_stock_kpi(None), "overview")],
        id="overview-kpis",
    )
    read = api.get_fresh if fresh else api.get
    against = dates.compared(compare)
    try:
        series = read("/metrics/sales", **dates.params(), granularity="day")["series"]
        previous = (
            read("/metrics/sales", **against.params(), granularity="day")["series"] if against else None
        )
        if figures.has_sales(series):
            figure = figures.sales_trend_figure(series, previous, currency, COMPARISONS[compare])
            trend: Any = graph("overview-trend-graph", figure)
        else:
            trend = empty(f"No sales between {dates.start} and {dates.end}.", "overview-trend-empty")
    except api.ApiProblem as exc:
        trend = problem(exc, "The sales trend", "overview-trend-problem")
    return [
        cards,
        dbc.Row(
            [
                dbc.Col(section("Net sales per day (click a day to open it)", trend), lg=8),
                dbc.Col(section("Latest alerts", _alerts()), lg=4),
            ]
        ),
    ]


def _today_figures() -> Any:
    """Today's summary: what the live check compares (one day's figures, never cached)."""
    day = today().isoformat()
    return api.get_fresh("/metrics/summary", start=day, end=day)["current"]


def _updated_text(live: bool) -> str:
    moment = now().strftime("%H:%M:%S")
    return f"Updated {moment}" + ("; live: today's figures refresh within seconds." if live else ".")


def layout(
    start: str | None = None, end: str | None = None, compare: str | None = None, **_: str
) -> html.Div:
    dates = page_range(start, end)
    compared = page_compare(compare)
    live = dates.start <= today() <= dates.end
    try:
        seen = _today_figures() if live else None
    except api.ApiProblem:
        seen = None
    return html.Div(
        [
            html.H1("Overview", className="h3"),
            range_bar("overview", "/", dates, compare=compared),
            dcc.Store(id="overview-view", data={**dates.params(), "compare": compared}),
            dcc.Store(id="overview-seen", data=seen),
            dcc.Interval(id="overview-live", interval=LIVE_MS, disabled=not live),
            dcc.Store(id="overview-tick"),
            html.Div(body(dates, compared), id="overview-body"),
            html.Div(_updated_text(live), className="text-secondary small", id="overview-updated"),
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


# A tab in the background asks nothing: the tick reaches the server only while the page is seen.
dash.clientside_callback(
    """function (n) {
        if (document.hidden) { return window.dash_clientside.no_update; }
        return n;
    }""",
    Output("overview-tick", "data"),
    Input("overview-live", "n_intervals"),
    prevent_initial_call=True,
)


@dash.callback(
    Output("overview-body", "children"),
    Output("overview-seen", "data"),
    Output("overview-updated", "children"),
    Input("overview-tick", "data"),
    State("overview-view", "data"),
    State("overview-seen", "data"),
    prevent_initial_call=True,
)
def live(_: int, view: dict[str, str], seen: Any) -> tuple[Any, Any, str]:
    """Live refresh: today's figures alone are read; the page is redrawn when they changed."""
    try:
        figures_now = _today_figures()
    except api.ApiProblem:
        raise PreventUpdate from None
    if figures_now == seen:
        return dash.no_update, dash.no_update, _updated_text(True)
    dates = page_range(view["start"], view["end"])
    return body(dates, page_compare(view.get("compare")), fresh=True), figures_now, _updated_text(True)


@dash.callback(
    Output("shell-url", "search", allow_duplicate=True),
    Input("overview-trend-graph", "clickData"),
    State("overview-view", "data"),
    prevent_initial_call=True,
)
def open_day(click: dict[str, Any] | None, view: dict[str, str]) -> str:
    """A click on a day of the trend opens that day (the comparison kept)."""
    span = figures.clicked_span(click)
    if span is None:
        raise PreventUpdate
    return view_query({**view, "start": span[0], "end": span[1]})
