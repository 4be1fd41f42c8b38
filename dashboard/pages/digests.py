"""Digests (``/digests``): subscribe an address to a daily or weekly e-mail; cancel one.

A new subscription is pending until its address confirms it (double opt-in); the table says
which are pending and which confirmed."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html
from dash.exceptions import PreventUpdate

from dashboard import api, figures
from dashboard.components import empty, export_grid, labelled, page_range, problem, range_bar, section
from dashboard.settings import get_settings

dash.register_page(__name__, path="/digests", name="Digests", title="Digests · storepulse", order=6)


def listing() -> Any:
    try:
        subscriptions = api.get_fresh("/subscriptions").get("subscriptions", [])
    except api.ApiProblem as exc:
        return problem(exc, "Digest subscriptions", "digests-problem")
    if not subscriptions:
        return empty("No digest subscription yet.", "digests-empty")
    grid = export_grid(
        "digests-list",
        figures.subscription_rows(subscriptions, get_settings().zone),
        [
            {"field": "email", "headerName": "E-mail", "flex": 2, "minWidth": 220},
            {"field": "frequency", "headerName": "Frequency", "width": 170},
            {"field": "report_type", "headerName": "Report", "width": 160},
            {"field": "status", "headerName": "Status", "flex": 1, "minWidth": 200},
            {"field": "created_at", "headerName": "Since", "width": 170},
        ],
        "storepulse-digests.csv",
        height=320,
        label="Subscriptions",
        grid_options={
            "rowSelection": {"mode": "singleRow", "checkboxes": True, "enableClickSelection": True}
        },
        getRowId="params.data.subscription_id",
    )
    cancel_button = dbc.Button(
        "Cancel selected", id="digests-cancel", size="sm", color="danger", outline=True
    )
    return html.Div([grid, html.Div(cancel_button, className="mt-2")])


def layout(start: str | None = None, end: str | None = None, **_: str) -> html.Div:
    dates = page_range(start, end)
    form = dbc.Row(
        [
            dbc.Col(
                labelled(
                    "E-mail address",
                    dbc.Input(id="digests-email", type="email", placeholder="name@example.com"),
                    "digests-email",
                ),
                md=4,
            ),
            dbc.Col(
                labelled(
                    "Frequency",
                    dbc.Select(
                        id="digests-frequency",
                        options=[
                            {"label": "Daily (07:00)", "value": "daily"},
                            {"label": "Weekly (Mondays)", "value": "weekly"},
                        ],
                        value="weekly",
                    ),
                    "digests-frequency",
                ),
                md=3,
            ),
            dbc.Col(
                labelled(
                    "Report",
                    dbc.Select(
                        id="digests-report-type",
                        options=[{"label": v, "value": k} for k, v in figures.REPORT_TYPES.items()],
                        value="sales_summary",
                    ),
                    "digests-report-type",
                ),
                md=3,
            ),
            dbc.Col(dbc.Button("Subscribe", id="digests-subscribe"), md="auto"),
        ],
        class_name="g-2 align-items-end",
    )
    return html.Div(
        [
            html.H1("Digests", className="h3"),
            range_bar("digests", "/digests", dates),
            section(
                "Subscribe to an e-mail digest", [form, html.Div(id="digests-message", className="mt-2")]
            ),
            section(
                "Subscriptions",
                html.Div(listing(), id="digests-list"),
            ),
        ]
    )


@dash.callback(
    Output("digests-message", "children"),
    Output("digests-list", "children"),
    Output("digests-email", "value"),
    Input("digests-subscribe", "n_clicks"),
    State("digests-email", "value"),
    State("digests-frequency", "value"),
    State("digests-report-type", "value"),
    prevent_initial_call=True,
)
def subscribe(
    n_clicks: int | None, email: str | None, frequency: str, report_type: str
) -> tuple[Any, Any, Any]:
    if not n_clicks:
        raise PreventUpdate
    email = (email or "").strip()
    if "@" not in email:
        warning = dbc.Alert(
            "Enter an e-mail address.", color="warning", class_name="py-2 m-0", id="digests-subscribe-warning"
        )
        return warning, dash.no_update, dash.no_update
    try:
        created = api.request(
            "POST",
            "/subscriptions",
            json={"email": email, "frequency": frequency, "report_type": report_type},
        )
    except api.ApiProblem as exc:
        return problem(exc, "The subscription", "digests-subscribe-problem"), dash.no_update, dash.no_update
    done = dbc.Alert(
        f"A confirmation e-mail went to {created.get('email', email)}: the {frequency} "
        f"{figures.REPORT_TYPES.get(report_type, report_type).lower()} digest starts once its "
        "link is followed and confirmed.",
        color="success",
        class_name="py-2 m-0",
        id="digests-subscribed",
    )
    return done, listing(), ""


@dash.callback(
    Output("digests-message", "children", allow_duplicate=True),
    Output("digests-list", "children", allow_duplicate=True),
    Input("digests-cancel", "n_clicks"),
    State({"type": "export-grid", "grid": "digests-list"}, "selectedRows"),
    prevent_initial_call=True,
)
def cancel(n_clicks: int | None, selected: list[dict[str, Any]] | None) -> tuple[Any, Any]:
    if not n_clicks:
        raise PreventUpdate
    if not selected:
        return dbc.Alert(
            "Select a subscription in the table first.", color="warning", class_name="py-2 m-0"
        ), dash.no_update
    subscription = selected[0]
    try:
        api.request("DELETE", f"/subscriptions/{subscription['subscription_id']}")
    except api.ApiProblem as exc:
        return problem(exc, "Cancelling", "digests-cancel-problem"), dash.no_update
    return dbc.Alert(
        f"Cancelled the digest to {subscription['email']}.",
        color="success",
        class_name="py-2 m-0",
        id="digests-cancelled",
    ), listing()
