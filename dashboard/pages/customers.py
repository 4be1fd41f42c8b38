"""Customers (``/customers``): new vs returning, cohort retention, RFM segments."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboard import api, figures
from dashboard.components import empty, export_grid, graph, page_range, problem, range_bar, section
from dashboard.dates import DateRange
from dashboard.settings import get_settings

dash.register_page(__name__, path="/customers", name="Customers", title="Customers · storepulse", order=2)

COHORT_MONTHS = 12


def cohort_months(dates: DateRange) -> tuple[str, str]:
    """The twelve cohort months ending with the range's last month (a heatmap needs depth)."""
    year, month = dates.end.year, dates.end.month - (COHORT_MONTHS - 1)
    while month < 1:
        month += 12
        year -= 1
    first = f"{year:04d}-{month:02d}"
    return min(first, dates.start.strftime("%Y-%m")), dates.end.strftime("%Y-%m")


def new_vs_returning(dates: DateRange) -> Any:
    try:
        summary = api.get("/metrics/summary", **dates.params(), compare="previous_period")
    except api.ApiProblem as exc:
        return problem(exc, "New and returning customers", "customers-mix-problem")
    if not int(summary["current"]["customers"]) and not int(
        (summary.get("previous") or {}).get("customers", 0)
    ):
        return empty(f"No customer ordered between {dates.start} and {dates.end}.", "customers-mix-empty")
    return graph("customers-mix-graph", figures.new_vs_returning_figure(summary))


def cohorts(dates: DateRange) -> Any:
    start_month, end_month = cohort_months(dates)
    try:
        rows = api.get("/customers/cohorts", start_month=start_month, end_month=end_month)["cohorts"]
    except api.ApiProblem as exc:
        return problem(exc, "Cohort retention", "customers-cohorts-problem")
    rows = [row for row in rows if int(row.get("size", 0))]
    if not rows:
        return empty(f"No first orders between {start_month} and {end_month}.", "customers-cohorts-empty")
    return graph("customers-cohorts-graph", figures.cohort_heatmap(rows))


def segments() -> Any:
    try:
        body = api.get("/customers/segments")
    except api.ApiProblem as exc:
        return problem(exc, "Customer segments", "customers-segments-problem")
    if body.get("as_of") is None:
        return empty(
            "The segments job has not run yet, so there are no RFM segments to show. It runs every "
            "night at 02:30 store time ('storepulse run-job segments' runs it now).",
            "customers-segments-not-run",
        )
    rows = body.get("segments", [])
    if not any(int(s.get("customers", 0)) for s in rows):
        return empty(
            f"The segments job last ran for {body['as_of']} and found no customer with an order yet.",
            "customers-segments-empty",
        )
    table = export_grid(
        "customers-segments",
        figures.segment_rows(rows),
        [
            {"field": "segment", "headerName": "Segment", "flex": 2, "minWidth": 150},
            {"field": "customers", "headerName": "Customers", "type": "rightAligned", "flex": 1},
            {
                "field": "share_of_revenue",
                "headerName": "Revenue (%)",
                "headerTooltip": "The segment's share of all customers' revenue",
                "type": "rightAligned",
                "flex": 1,
            },
        ],
        f"storepulse-segments-{body['as_of']}.csv",
        label="Customer segments",
        # all nine segments without a scroll bar
        height=440,
    )
    scored = int(body.get("customers") or sum(int(s["customers"]) for s in rows))
    computed = figures.store_time(body.get("computed_at"), get_settings().zone)
    return html.Div(
        [
            html.Div(
                f"{scored:,} customers scored on recency, frequency and monetary value, "
                f"as of {body['as_of']} (computed {computed} by the nightly segments job).",
                className="text-secondary small",
                id="customers-segments-as-of",
            ),
            dbc.Row(
                [
                    dbc.Col(graph("customers-segments-graph", figures.segments_figure(rows)), lg=6),
                    dbc.Col(table, lg=6),
                ]
            ),
        ]
    )


def layout(start: str | None = None, end: str | None = None, **_: str) -> html.Div:
    dates = page_range(start, end)
    return html.Div(
        [
            html.H1("Customers", className="h3"),
            range_bar("customers", "/customers", dates),
            dbc.Row(
                [
                    dbc.Col(section("New and returning customers", new_vs_returning(dates)), lg=4),
                    dbc.Col(
                        section("Cohort retention (share of each cohort ordering again)", cohorts(dates)),
                        lg=8,
                    ),
                ]
            ),
            section("RFM segments", segments()),
        ]
    )
