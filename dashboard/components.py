"""Layout pieces every page uses: the range bar, KPI cards, messages, exportable grids.

The two callbacks here are generic (pattern-matching ids), so each page gets them by using the
components: picking a custom range rewrites the URL's ``?start&end``, and an export button asks
its grid for a CSV.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import exports
from dashboard.api import ApiProblem, ApiUnavailable, RouteMissing
from dashboard.dates import (
    COMPARISONS,
    CUSTOM,
    DEFAULT_COMPARE,
    DateRange,
    parse_range,
    preset_of,
    preset_range,
    presets,
    view_query,
)
from dashboard.figures import Kpi, clicked_span
from dashboard.settings import get_settings


def aria(**attributes: str) -> dict[str, Any]:
    """``aria-*`` attributes for a Dash component (Python names cannot hold the dash):
    ``aria(label="Menu")`` is ``{"aria-label": "Menu"}``."""
    return {f"aria-{name}": value for name, value in attributes.items()}


def _utc_now() -> datetime:
    return datetime.now(UTC)


# The dashboard's one clock. Tests replace it (``components.clock = lambda: ...``) to show the
# presets of any day; everything else asks :func:`now` or :func:`today`.
clock: Callable[[], datetime] = _utc_now


def now() -> datetime:
    """Now, in the store's time zone."""
    return clock().astimezone(get_settings().zone)


def today() -> date:
    """Today in the store's time zone."""
    return now().date()


def page_range(start: str | None, end: str | None) -> DateRange:
    """The range a page shows, from its URL query parameters."""
    return parse_range(start, end, today())


def page_compare(compare: str | None) -> str:
    """The comparison of the URL (``?compare=``), the previous period when absent or unknown."""
    return compare if compare in COMPARISONS else DEFAULT_COMPARE


def labelled(label: str, control: Any, control_id: Any) -> html.Div:
    """A control with its visible label (``for`` the control), for screen readers and for
    people."""
    return html.Div(
        [dbc.Label(label, html_for=_dom_id(control_id), class_name="sp-control-label"), control],
        className="sp-control",
    )


def view_select(
    page: str, param: str, label: str, options: Sequence[tuple[str, str]], value: str
) -> html.Div:
    """A labelled menu for one parameter of the view (``?param=value``): choosing writes the
    URL (:func:`set_view`). ``options`` are ``(value, label)`` pairs."""
    control_id = {"type": "view-control", "page": page, "param": param}
    menu = dbc.Select(
        id=control_id,
        options=[{"label": text, "value": key} for key, text in options],
        value=value,
        size="sm",
    )
    return labelled(label, menu, control_id)


def _dom_id(component_id: Any) -> str:
    """The DOM id Dash gives a component (a dict id becomes its sorted JSON)."""
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return str(component_id)


def range_bar(
    page: str, path: str, dates: DateRange, *, compare: str | None = None, view: dict[str, str] | None = None
) -> html.Div:
    """The range chooser: Shopify's presets, a custom range, the comparison (on the pages that
    compare), and a note when the URL's range was not usable.

    ``view`` holds the page's other URL parameters (granularity, filters); every change keeps
    them, so a link reproduces the whole view.
    """
    preset_id = {"type": "range-preset", "page": page}
    preset_options = [{"label": label, "value": key} for key, label, _ in presets(today())]
    preset_options.append({"label": "Custom range", "value": CUSTOM})
    controls: list[Any] = [
        labelled(
            "Date range",
            dbc.Select(id=preset_id, options=preset_options, value=preset_of(dates, today()), size="sm"),
            preset_id,
        ),
        html.Div(
            [
                html.Span("Dates", className="sp-control-label form-label", id=f"{page}-picker-label"),
                dcc.DatePickerRange(
                    id={"type": "range-picker", "page": page},
                    start_date=dates.start.isoformat(),
                    end_date=dates.end.isoformat(),
                    display_format="YYYY-MM-DD",
                    first_day_of_week=1,
                    minimum_nights=0,
                    start_date_id=f"{page}-range-start",
                    end_date_id=f"{page}-range-end",
                    start_date_placeholder_text="Start date",
                    end_date_placeholder_text="End date",
                    className="sp-picker",
                ),
            ],
            className="sp-control",
        ),
    ]
    if compare is not None:
        controls.append(view_select(page, "compare", "Compare with", list(COMPARISONS.items()), compare))
    controls.append(
        html.Span(
            f"{dates.days} day" + ("s" if dates.days != 1 else ""),
            className="text-secondary small",
            id=f"{page}-range-days",
        )
    )
    shown = {**(view or {}), **dates.params()}
    if compare is not None:
        shown["compare"] = compare
    controls.append(dcc.Store(id={"type": "view-shown", "page": page}, data=shown))
    # The view drawn, as its URL query: what a test waits for after a control changed the URL
    controls.append(
        html.Span(view_query(shown), id=f"{page}-view-query", className="sp-view-query", hidden=True)
    )
    children: list[Any] = [html.Div(controls, className="sp-range-bar")]
    if dates.problem:
        children.append(
            dbc.Alert(
                f"The dates in the URL were not used: {dates.problem}",
                color="warning",
                id=f"{page}-range-problem",
                class_name="sp-problem mt-2 py-2",
            )
        )
    return html.Div(children, className="mb-3")


def _changed(shown: dict[str, str], **changes: str) -> str:
    """The query of the view shown with ``changes``; ``PreventUpdate`` when nothing changes
    (a control also reports its value when it appears)."""
    view = {**shown, **changes}
    if view_query(view) == view_query(shown):
        raise PreventUpdate
    return view_query(view)


def open_clicked_span(click: dict[str, Any] | None, view: dict[str, str], **changes: str) -> str:
    """The URL of the view opened on the period clicked on a sales chart (its first to its last
    day), with ``changes``; ``PreventUpdate`` when the click was on no period."""
    span = clicked_span(click)
    if span is None:
        raise PreventUpdate
    return view_query({**view, "start": span[0], "end": span[1], **changes})


@dash.callback(
    Output("shell-url", "search", allow_duplicate=True),
    Input({"type": "range-preset", "page": ALL}, "value"),
    State({"type": "view-shown", "page": ALL}, "data"),
    prevent_initial_call=True,
)
def choose_preset(keys: list[str | None], shown: list[dict[str, str]]) -> str:
    """A preset chosen ("Last 7 days") becomes the URL's ``start``/``end``, computed on today's
    store day; "Custom range" leaves the dates to the picker."""
    if not keys or not shown or not keys[0]:
        raise PreventUpdate
    chosen = preset_range(keys[0], today())
    if chosen is None:
        raise PreventUpdate
    return _changed(shown[0], **chosen.params())


@dash.callback(
    Output("shell-url", "search", allow_duplicate=True),
    Input({"type": "range-picker", "page": ALL}, "start_date"),
    Input({"type": "range-picker", "page": ALL}, "end_date"),
    State({"type": "view-shown", "page": ALL}, "data"),
    prevent_initial_call=True,
)
def pick_range(starts: list[str | None], ends: list[str | None], shown: list[dict[str, str]]) -> str:
    """A custom range chosen in the picker goes into the URL (the page then redraws).

    The picker also reports its values when it appears; those are the range the page shows,
    so nothing changes (and a URL that was not usable keeps its explanation on the page).
    """
    if not starts or not starts[0] or not ends or not ends[0] or not shown:
        raise PreventUpdate
    picked = DateRange(date.fromisoformat(starts[0][:10]), date.fromisoformat(ends[0][:10]))
    return _changed(shown[0], **picked.params())


@dash.callback(
    Output("shell-url", "search", allow_duplicate=True),
    Input({"type": "view-control", "page": ALL, "param": ALL}, "value"),
    State({"type": "view-control", "page": ALL, "param": ALL}, "id"),
    State({"type": "view-shown", "page": ALL}, "data"),
    prevent_initial_call=True,
)
def set_view(values: list[Any], ids: list[dict[str, str]], shown: list[dict[str, str]]) -> str:
    """Any other control of the view (comparison, granularity, a filter) goes into the URL."""
    if not shown or not ids:
        raise PreventUpdate
    changes = {
        control["param"]: "" if value is None else str(value)
        for control, value in zip(ids, values, strict=True)
    }
    return _changed(shown[0], **changes)


def kpi_card(kpi: Kpi, page: str) -> dbc.Col:
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div(kpi.label, className="sp-kpi-label"),
                    html.Div(kpi.value, className="sp-kpi-value", id=f"{page}-kpi-{kpi.key}"),
                    html.Div(kpi.change_text, className=f"sp-kpi-change sp-{kpi.tone}"),
                ]
            ),
            class_name="sp-kpi h-100",
        ),
        xs=6,
        md=4,
        xl=2,
        class_name="mb-3",
    )


def problem(exc: ApiProblem, what: str, element_id: str) -> dbc.Alert:
    """An API failure in words: what could not be shown, and why."""
    if isinstance(exc, ApiUnavailable):
        text, colour = f"{what} cannot be shown: the API is not answering. {exc}", "danger"
    elif isinstance(exc, RouteMissing):
        text, colour = f"{what}: not available from this API yet ({exc}).", "secondary"
    else:
        text, colour = f"{what} cannot be shown. {exc}", "danger"
    return dbc.Alert(text, color=colour, id=element_id, class_name="sp-problem")


def empty(text: str, element_id: str) -> html.Div:
    """What a chart says when its range holds no data (instead of an empty axis)."""
    return html.Div(text, id=element_id, className="sp-empty")


def section(title: str, body: Any, *, extra: Any = None) -> dbc.Card:
    header = html.Div([html.H2(title, className="h6 m-0"), extra], className="sp-section-head")
    return dbc.Card([dbc.CardHeader(header), dbc.CardBody(body)], class_name="mb-3 sp-section")


def graph(element_id: str, figure: Any) -> dcc.Graph:
    return dcc.Graph(id=element_id, figure=figure, config={"displaylogo": False, "responsive": True})


def export_grid(
    grid: str,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[dict[str, Any]],
    file_name: str,
    *,
    height: int = 420,
    grid_options: dict[str, Any] | None = None,
    label: str = "",
    **grid_props: Any,
) -> html.Div:
    """A sortable, filterable AG Grid with "Export CSV" and "Export Excel" buttons.

    The files hold the rows as filtered and sorted in the grid, written by
    :mod:`dashboard.exports` (formula-like text neutralised). ``file_name`` ends in ``.csv``;
    the workbook has the same name in ``.xlsx``. ``grid_options`` are added to the grid's
    ``dashGridOptions``; ``grid_props`` are other ``dag.AgGrid`` properties (``getRowId``...).
    On a phone the grid scrolls sideways inside itself, never the page.
    """
    stem = file_name.removesuffix(".csv")
    buttons = [
        dbc.Button(
            text,
            id={"type": "export-button", "grid": grid, "format": kind},
            size="sm",
            color="secondary",
            outline=True,
            class_name="ms-2",
        )
        for kind, text in (("csv", "Export CSV"), ("xlsx", "Export Excel"))
    ]
    return html.Div(
        [
            html.Div(buttons, className="text-end mb-2"),
            dcc.Download(id={"type": "export-download", "grid": grid}),
            dcc.Store(id={"type": "export-name", "grid": grid}, data=stem),
            dag.AgGrid(
                id={"type": "export-grid", "grid": grid},
                rowData=list(rows),
                columnDefs=list(columns),
                # Long headers wrap onto a second line instead of being cut ("Reorder…")
                defaultColDef={
                    "sortable": True,
                    "filter": True,
                    "resizable": True,
                    "wrapHeaderText": True,
                    "autoHeaderHeight": True,
                },
                dashGridOptions={
                    "animateRows": False,
                    "domLayout": "normal",
                    "ensureDomOrder": True,
                    **(grid_options or {}),
                },
                style={"height": f"{height}px"},
                className="sp-grid",
                **grid_props,
            ),
        ],
        id=f"{grid}-table",
        className="sp-table",
        role="region",
        **aria(label=label or grid.replace("-", " ")),
    )


@dash.callback(
    Output({"type": "export-download", "grid": MATCH}, "data"),
    Input({"type": "export-button", "grid": MATCH, "format": ALL}, "n_clicks"),
    State({"type": "export-grid", "grid": MATCH}, "virtualRowData"),
    State({"type": "export-grid", "grid": MATCH}, "rowData"),
    State({"type": "export-grid", "grid": MATCH}, "columnDefs"),
    State({"type": "export-name", "grid": MATCH}, "data"),
    prevent_initial_call=True,
)
def export_file(
    clicks: list[int | None],
    shown: list[dict[str, Any]] | None,
    rows: list[dict[str, Any]] | None,
    columns: list[dict[str, Any]],
    stem: str,
) -> dict[str, Any]:
    """An export button sends the grid's rows, as filtered and sorted, as a CSV or a workbook."""
    triggered = dash.ctx.triggered_id
    if not isinstance(triggered, dict) or not any(clicks):
        raise PreventUpdate
    data = shown if shown is not None else (rows or [])
    if triggered["format"] == "xlsx":
        return dcc.send_bytes(exports.to_xlsx(data, columns), f"{stem}.xlsx")
    return dcc.send_bytes(exports.to_csv(data, columns), f"{stem}.csv")


def product_link(sku: str, element_id: str | None = None) -> dcc.Link:
    """A SKU that opens its product page."""
    if element_id:
        return dcc.Link(sku, href=product_href(sku), className="sp-product-link", id=element_id)
    return dcc.Link(sku, href=product_href(sku), className="sp-product-link")


def product_href(sku: str) -> str:
    return str(dash.get_relative_path(f"/products/{quote(sku, safe='')}"))


def sku_link_column(width: int = 130, **extra: Any) -> dict[str, Any]:
    """The SKU column of a grid, each SKU a link to its product page (rows carry ``sku_link``
    from :func:`with_product_links`; the files get the SKU's text)."""
    return {
        "field": "sku_link",
        "headerName": "SKU",
        "cellRenderer": "markdown",
        "width": width,
        **extra,
    }


def with_product_links(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with ``sku_link``, a Markdown link to the row's product page."""
    return [
        {**row, "sku_link": f"[{row['sku']}]({product_href(row['sku'])})" if row.get("sku") else ""}
        for row in rows
    ]


def money_column(field: str, header: str, currency: str) -> dict[str, Any]:
    """A right-aligned money column: a number in the grid and in the CSV, two decimals shown."""
    return {
        "field": field,
        "headerName": f"{header} ({currency})",
        "type": "rightAligned",
        "valueFormatter": {"function": "d3.format(',.2f')(params.value)"},
        "width": 200,
    }
