"""A product (``/products/<sku>``): its sales over the range, its stock and demand forecast, and
what is bought with it. Reached by clicking a SKU on Overview, Sales, Inventory and Alerts."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboard import api, figures
from dashboard.components import empty, graph, kpi_card, page_range, problem, product_link, range_bar, section
from dashboard.settings import get_settings

dash.register_page(
    __name__,
    path_template="/products/<sku>",
    name="Product",
    title="Product · storepulse",
    order=9,
)


def stock_and_forecast(product: dict[str, Any]) -> Any:
    """The stock figures as /inventory has them, and the demand forecast when there is one."""
    rows = [(label, figures.stock_value(product, field)) for field, label in figures.STOCK_FIELDS]
    table = html.Table(
        html.Tbody([html.Tr([html.Th(label, scope="row"), html.Td(value)]) for label, value in rows]),
        className="table table-sm mb-2",
        id="product-stock",
    )
    if product.get("forecast_daily_units") is None:
        forecast: Any = empty(
            "No forecast yet: the demand forecast appears here once the forecast job has run for "
            "this product.",
            "product-forecast-none",
        )
    else:
        forecast = html.Table(
            html.Tbody(
                [
                    html.Tr([html.Th(label, scope="row"), html.Td(figures.stock_value(product, field))])
                    for field, label in figures.FORECAST_FIELDS
                ]
            ),
            className="table table-sm",
            id="product-forecast",
        )
    return [table, html.H3("Forecast", className="h6 mt-3"), forecast]


def together(product: dict[str, Any]) -> Any:
    rows = product.get("together") or []
    if not rows:
        return empty("No product is often bought with this one in the range.", "product-together-empty")
    return html.Ol(
        [
            html.Li(
                [product_link(row["sku"], f"product-together-{index}"), " ", figures.together_text(row)],
            )
            for index, row in enumerate(rows)
        ],
        id="product-together",
        className="sp-together",
    )


def layout(sku: str = "", start: str | None = None, end: str | None = None, **_: str) -> html.Div:
    sku = unquote(sku)
    dates = page_range(start, end)
    settings = get_settings()
    bar = range_bar("product", f"/products/{sku}", dates)
    try:
        product = api.get(f"/products/{api.path_part(sku)}", **dates.params())
    except api.RouteMissing:
        return html.Div(
            [
                html.H1(sku, className="h3"),
                bar,
                empty(f"No product '{sku}' in the catalogue or in stock.", "product-missing"),
            ]
        )
    except api.ApiProblem as exc:
        return html.Div([html.H1(sku, className="h3"), bar, problem(exc, "This product", "product-problem")])
    series = product.get("series") or []
    trend: Any
    if any(int(point.get("units", 0)) for point in series):
        trend = graph("product-trend-graph", figures.product_trend_figure(series, settings.currency))
    else:
        trend = empty(f"{sku} sold nothing between {dates.start} and {dates.end}.", "product-trend-empty")
    name = product.get("name") or "(not described)"
    return html.Div(
        [
            html.H1(
                [name, html.Small(f" {sku}", className="text-secondary ms-2")],
                className="h3",
                id="product-title",
            ),
            html.Div(product.get("category") or "", className="text-secondary small mb-2"),
            bar,
            dbc.Row([kpi_card(kpi, "product") for kpi in figures.product_kpis(product, settings.currency)]),
            dbc.Row(
                [
                    dbc.Col(section("Units and line revenue per day", trend), lg=8),
                    dbc.Col(
                        section(f"Stock as of {product.get('as_of', '?')}", stock_and_forecast(product)), lg=4
                    ),
                ]
            ),
            section("Often bought with it", together(product)),
        ]
    )
