"""Alerts (``/alerts``): low-stock and out-of-stock alerts raised in the range, newest first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dash
from dash import html

from dashboard import api, figures
from dashboard.components import (
    empty,
    export_grid,
    page_range,
    problem,
    range_bar,
    section,
    sku_link_column,
    with_product_links,
)
from dashboard.dates import DateRange
from dashboard.settings import get_settings

dash.register_page(__name__, path="/alerts", name="Alerts", title="Alerts · storepulse", order=4)

LIMIT = 1000


def alerts(dates: DateRange) -> Any:
    try:
        # a day early: a store ahead of UTC starts its day on the UTC day before
        body = api.get("/alerts", since=(dates.start - timedelta(days=1)).isoformat(), limit=LIMIT)
    except api.ApiProblem as exc:
        return problem(exc, "The alerts", "alerts-problem")
    # ``since`` bounds the start (a UTC day); each alert is then kept by its store day
    rows = [
        row
        for row in figures.alert_rows(body["alerts"], get_settings().zone)
        if dates.start.isoformat() <= row["raised_at"][:10] <= dates.end.isoformat()
    ]
    if not rows:
        return empty(f"No stock alert between {dates.start} and {dates.end}.", "alerts-empty")
    note = f"{len(rows)} alerts" + (
        " (the newest 1000; narrow the range for older ones)" if body.get("more") else ""
    )
    return html.Div(
        [
            html.Div(note, className="text-secondary small mb-2", id="alerts-count"),
            export_grid(
                "alerts-list",
                with_product_links(rows),
                [
                    {"field": "raised_at", "headerName": "Raised at", "flex": 1, "minWidth": 170},
                    sku_link_column(),
                    {
                        "field": "type",
                        "headerName": "Alert",
                        "cellClassRules": {
                            "sp-status-out": "params.value == 'Out of stock'",
                            "sp-status-low": "params.value == 'Low stock'",
                        },
                    },
                    {"field": "on_hand", "headerName": "On hand", "type": "rightAligned"},
                    {"field": "reorder_point", "headerName": "Reorder point", "type": "rightAligned"},
                    {"field": "detail", "headerName": "Detail", "flex": 1},
                ],
                f"storepulse-alerts-{dates.start}-{dates.end}.csv",
                label="Stock alerts",
            ),
        ]
    )


def layout(start: str | None = None, end: str | None = None, **_: str) -> html.Div:
    dates = page_range(start, end)
    return html.Div(
        [
            html.H1("Alerts", className="h3"),
            range_bar("alerts", "/alerts", dates),
            section("Stock alerts", alerts(dates)),
        ]
    )
