"""Overview (``/``): KPI cards with the change vs the compared period, the sales trend (a click
on a day opens that day), the latest alerts; live while the range holds today."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from dashboard import api, figures
from dashboard.components import (
    empty,
    graph,
    kpi_card,
    now,
    open_clicked_span,
    page_compare,
    page_range,
    problem,
    product_link,
    range_bar,
    section,
    today,
)
from dashboard.dates import COMPARISONS, DateRange
from dashboard.settings import get_settings

dash.register_page(__name__, path="/", name="Overview", title="Overview · storepulse", order=0)

# While the range holds today, the page asks every LIVE_MS for the range's summary (one read,
# never cached) and redraws only when it changed: a new order shows within seconds. The figures
# checked are the ones the cards show, so a redraw never misses what it was woken for.
LIVE_MS = 3_000


def _alerts() -> Any:
    try:
        # Fresh on every open: the newest alert is the point of this list (one small query)
        alerts = api.get_fresh("/alerts", limit=5)["alerts"]
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
                    product_link(row["sku"], f"overview-alert-{index}") if row["sku"] else row["detail"],
                    ("" if row["on_hand"] is None else f" · on hand {row['on_hand']}")
                    + f" · {row['raised_at']}",
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
        # The year before does not change: its summary may come from the cache
        summary["previous"] = api.get("/metrics/summary", **against.params())["current"]
        summary["change_pct"] = figures.change_pct(summary["current"], summary["previous"])
    return summary


def body(
    dates: DateRange, compare: str, *, fresh: bool = False, summary: dict[str, Any] | None = None
) -> tuple[list[Any], Any]:
    """Everything that depends on data, built on load and again when the figures change (with
    the ``summary`` the live check read); and the range's figures shown (what it compares)."""
    currency = get_settings().currency
    versus = COMPARISONS[compare].lower() if compare != "none" else ""
    try:
        summary = summary or summary_compared(dates, compare, fresh=fresh)
    except api.ApiProblem as exc:
        return [problem(exc, "The overview", "overview-problem")], None
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
        # The compared range is in the past: a live redraw reads it from the cache
        previous = (
            api.get("/metrics/sales", **against.params(), granularity="day")["series"] if against else None
        )
        if figures.has_sales(series):
            figure = figures.sales_trend_figure(series, previous, currency, COMPARISONS[compare])
            trend: Any = graph("overview-trend-graph", figure)
        else:
            trend = empty(f"No sales between {dates.start} and {dates.end}.", "overview-trend-empty")
    except api.ApiProblem as exc:
        trend = problem(exc, "The sales trend", "overview-trend-problem")
    children = [
        cards,
        dbc.Row(
            [
                dbc.Col(section("Net sales per day (click a day to open it)", trend), lg=8),
                dbc.Col(section("Latest alerts", _alerts()), lg=4),
            ]
        ),
    ]
    return children, summary["current"]


def _updated_text(live: bool) -> str:
    moment = now().strftime("%H:%M:%S")
    return f"Updated {moment}" + ("; live: today's figures refresh within seconds." if live else ".")


def layout(
    start: str | None = None, end: str | None = None, compare: str | None = None, **_: str
) -> html.Div:
    dates = page_range(start, end)
    compared = page_compare(compare)
    live = dates.start <= today() <= dates.end
    children, seen = body(dates, compared)
    return html.Div(
        [
            html.H1("Overview", className="h3"),
            range_bar("overview", "/", dates, compare=compared),
            dcc.Store(id="overview-view", data={**dates.params(), "compare": compared}),
            dcc.Store(id="overview-seen", data=seen),
            dcc.Interval(id="overview-live", interval=LIVE_MS, disabled=not live),
            dcc.Store(id="overview-tick"),
            html.Div(children, id="overview-body"),
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
    """Live refresh: the range's summary is read (one request); the page is redrawn from it,
    with a fresh daily series, when its figures changed."""
    dates, compare = page_range(view["start"], view["end"]), page_compare(view.get("compare"))
    try:
        summary = summary_compared(dates, compare, fresh=True)
    except api.ApiProblem as exc:
        # The figures shown stay; the line says they could not be checked, and why
        return dash.no_update, dash.no_update, f"Could not refresh at {now():%H:%M:%S}: {exc} Trying again."
    if summary["current"] == seen:
        return dash.no_update, dash.no_update, _updated_text(True)
    children, shown = body(dates, compare, fresh=True, summary=summary)
    return children, shown, _updated_text(True)


@dash.callback(
    Output("shell-url", "search", allow_duplicate=True),
    Input("overview-trend-graph", "clickData"),
    State("overview-view", "data"),
    prevent_initial_call=True,
)
def open_day(click: dict[str, Any] | None, view: dict[str, str]) -> str:
    """A click on a day of the trend opens that day (the comparison kept)."""
    return open_clicked_span(click, view)
