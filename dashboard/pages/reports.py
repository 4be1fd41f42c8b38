"""Reports (``/reports``): generate a PDF report for the range, watch it, download it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import api, figures
from dashboard.components import empty, export_grid, labelled, page_range, problem, range_bar, section
from dashboard.settings import get_settings

dash.register_page(__name__, path="/reports", name="Reports", title="Reports · storepulse", order=5)


def listing() -> tuple[Any, int | None]:
    """The recent reports, and when to read them again (``None``: no need, see
    :func:`dashboard.figures.report_watch_ms`)."""
    try:
        reports = api.get_fresh("/reports").get("reports", [])
    except api.ApiProblem as exc:
        return problem(exc, "Reports", "reports-problem"), None
    if not reports:
        return empty("No report generated yet.", "reports-empty"), None
    table = export_grid(
        "reports-list",
        figures.report_rows(reports, get_settings().zone),
        [
            {"field": "type", "headerName": "Report", "width": 150},
            {"field": "range", "headerName": "Range", "width": 220},
            {"field": "status", "headerName": "Status", "flex": 1, "minWidth": 140, "tooltipField": "status"},
            {"field": "requested_at", "headerName": "Requested", "width": 170},
            {
                "field": "download",
                "headerName": "Download",
                "cellRenderer": "markdown",
                "linkTarget": "_blank",
                "width": 150,
                "sortable": False,
                "filter": False,
            },
            {"field": "expires_at", "headerName": "Link valid until", "width": 215},
        ],
        "storepulse-reports.csv",
        height=320,
        label="Recent reports",
        getRowId="params.data.report_id",
    )
    return table, figures.report_watch_ms(reports, datetime.now(UTC))


def watching(wait_ms: int | None) -> tuple[int, bool]:
    """The ``interval`` and ``disabled`` of the page's ``dcc.Interval`` for that wait."""
    return (wait_ms or figures.WATCH_PENDING_MS), wait_ms is None


def layout(start: str | None = None, end: str | None = None, **_: str) -> html.Div:
    dates = page_range(start, end)
    table, wait_ms = listing()
    interval, disabled = watching(wait_ms)
    return html.Div(
        [
            html.H1("Reports", className="h3"),
            range_bar("reports", "/reports", dates),
            dcc.Store(id="reports-range", data=dates.params()),
            dcc.Interval(id="reports-watch", interval=interval, disabled=disabled),
            section(
                "Generate a PDF report",
                dbc.Row(
                    [
                        dbc.Col(
                            labelled(
                                "Report",
                                dbc.Select(
                                    id="reports-type",
                                    options=[
                                        {"label": v, "value": k} for k, v in figures.REPORT_TYPES.items()
                                    ],
                                    value="sales_summary",
                                ),
                                "reports-type",
                            ),
                            md=4,
                        ),
                        dbc.Col(
                            dbc.Button(f"Generate for {dates.start} – {dates.end}", id="reports-generate"),
                            md="auto",
                        ),
                        dbc.Col(html.Div(id="reports-message"), md=True),
                    ],
                    class_name="g-2 align-items-end",
                ),
            ),
            section(
                "Recent reports",
                [
                    html.Div(table, id="reports-list"),
                    html.Div(
                        "A download link is valid for a limited time (the API's REPORT_URL_TTL, "
                        "15 minutes by default); this list renews the links before they expire.",
                        className="text-secondary small mt-2",
                    ),
                ],
            ),
        ]
    )


@dash.callback(
    Output("reports-message", "children"),
    Output("reports-list", "children", allow_duplicate=True),
    Output("reports-watch", "interval", allow_duplicate=True),
    Output("reports-watch", "disabled", allow_duplicate=True),
    Input("reports-generate", "n_clicks"),
    State("reports-type", "value"),
    State("reports-range", "data"),
    prevent_initial_call=True,
)
def generate(n_clicks: int | None, report_type: str, shown: dict[str, str]) -> tuple[Any, Any, Any, Any]:
    if not n_clicks:
        raise PreventUpdate
    try:
        api.request("POST", "/reports", json={"type": report_type, **shown})
    except api.ApiProblem as exc:
        problem_shown = problem(exc, "The report", "reports-generate-problem")
        return problem_shown, dash.no_update, dash.no_update, dash.no_update
    table, wait_ms = listing()
    message = dbc.Alert(
        f"{figures.REPORT_TYPES.get(report_type, report_type)} report for {shown['start']} – "
        f"{shown['end']} requested; its status updates below.",
        color="success",
        class_name="py-2 m-0",
        id="reports-generated",
        duration=15_000,
    )
    return (message, table, *watching(wait_ms))


@dash.callback(
    Output("reports-list", "children"),
    Output("reports-watch", "interval"),
    Output("reports-watch", "disabled"),
    Input("reports-watch", "n_intervals"),
    prevent_initial_call=True,
)
def watch(_: int) -> tuple[Any, int, bool]:
    table, wait_ms = listing()
    return (table, *watching(wait_ms))
