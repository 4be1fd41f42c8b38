"""Inventory (``/inventory``): every SKU's stock with status, days of cover and ABC class."""

from __future__ import annotations

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
    view_select,
    with_product_links,
)

dash.register_page(__name__, path="/inventory", name="Inventory", title="Inventory · storepulse", order=3)

STATUSES = ("all", "out", "low", "ok")
COLUMNS: list[dict[str, Any]] = [
    sku_link_column(pinned="left"),
    {"field": "name", "headerName": "Product", "flex": 2, "minWidth": 220},
    {"field": "category", "headerName": "Category", "minWidth": 150},
    {
        "field": "status",
        "headerName": "Status",
        "width": 100,
        "cellClassRules": {
            "sp-status-out": "params.value == 'out'",
            "sp-status-low": "params.value == 'low'",
            "sp-status-ok": "params.value == 'ok'",
        },
    },
    {"field": "on_hand", "headerName": "On hand", "type": "rightAligned", "width": 110},
    {"field": "reorder_point", "headerName": "Reorder pt", "type": "rightAligned", "width": 120},
    {"field": "units_sold_28d", "headerName": "Sold 28 d", "type": "rightAligned", "width": 115},
    {"field": "days_of_cover", "headerName": "Cover (days)", "type": "rightAligned", "width": 130},
    {"field": "sell_through_28d", "headerName": "Sell-through (%)", "type": "rightAligned", "width": 150},
    {"field": "abc_class", "headerName": "ABC", "width": 80},
]
# The demand forecast's columns, shown once the API's rows carry them.
FORECAST_COLUMNS: list[dict[str, Any]] = [
    {
        "field": "forecast_daily_units",
        "headerName": "Forecast (units/day)",
        "type": "rightAligned",
        "width": 150,
    },
    {"field": "stockout_date", "headerName": "Stock-out on", "width": 140},
    {"field": "reorder_by", "headerName": "Reorder by", "width": 130},
]


def stock(status: str) -> Any:
    try:
        body = api.get_all("/inventory", status=None if status == "all" else status)
    except api.ApiProblem as exc:
        return problem(exc, "The stock table", "inventory-problem")
    rows = figures.inventory_rows(body.get("items", []))
    forecast = any(row.get("forecast_daily_units") is not None for row in rows)
    if not rows:
        what = "No SKU in the catalogue yet." if status == "all" else f"No SKU is '{status}' right now."
        return empty(what, "inventory-empty")
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("out", "low", "ok")}
    return html.Div(
        [
            html.Div(
                f"As of {body.get('as_of', '?')}: {len(rows)} SKUs · {counts['out']} out · "
                f"{counts['low']} low · {counts['ok']} ok",
                className="text-secondary small mb-2",
                id="inventory-counts",
            ),
            export_grid(
                "inventory-stock",
                with_product_links(rows),
                COLUMNS + (FORECAST_COLUMNS if forecast else []),
                f"storepulse-inventory-{body.get('as_of', '')}.csv",
                height=520,
                label="Stock table",
            ),
        ]
    )


def layout(start: str | None = None, end: str | None = None, status: str = "all", **_: str) -> html.Div:
    dates = page_range(start, end)
    if status not in STATUSES:
        status = "all"
    return html.Div(
        [
            html.H1("Inventory", className="h3"),
            range_bar("inventory", "/inventory", dates, view={"status": status}),
            section(
                "Stock today (the date range does not change stock; it is kept for the other pages)",
                html.Div(stock(status), id="inventory-stock"),
                extra=view_select(
                    "inventory", "status", "Status", [(st, st.capitalize()) for st in STATUSES], status
                ),
            ),
        ]
    )
