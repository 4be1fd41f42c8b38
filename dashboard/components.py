"""Layout pieces every page uses: the range bar, KPI cards, messages, exportable grids.

The two callbacks here are generic (pattern-matching ids), so each page gets them by using the
components: picking a custom range rewrites the URL's ``?start&end``, and an export button asks
its grid for a CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboard.api import ApiProblem, ApiUnavailable, RouteMissing
from dashboard.dates import DateRange, parse_range, presets
from dashboard.figures import Kpi
from dashboard.settings import get_settings


def today() -> date:
    """Today in the store's time zone (the one clock of the dashboard)."""
    return datetime.now(get_settings().zone).date()


def page_range(start: str | None, end: str | None) -> DateRange:
    """The range a page shows, from its URL query parameters."""
    return parse_range(start, end, today())


def range_bar(page: str, path: str, dates: DateRange) -> html.Div:
    """Preset links, a custom range picker, and a note when the URL's range was not usable."""
    relative = dash.get_relative_path(path)
    current = dates.query()
    links = [
        dbc.Button(
            label,
            href=f"{relative}{preset.query()}",
            id=f"{page}-preset-{index}",
            size="sm",
            color="primary",
            outline=preset.query() != current,
            class_name="me-1",
            external_link=False,
        )
        for index, (label, preset) in enumerate(presets(today()))
    ]
    children: list[Any] = [
        html.Div(
            [
                html.Div(links, className="sp-presets"),
                dcc.DatePickerRange(
                    id={"type": "range-picker", "page": page},
                    start_date=dates.start.isoformat(),
                    end_date=dates.end.isoformat(),
                    display_format="YYYY-MM-DD",
                    first_day_of_week=1,
                    minimum_nights=0,
                    className="sp-picker",
                ),
                html.Span(
                    f"{dates.days} days", className="text-secondary small ms-2", id=f"{page}-range-days"
                ),
                dcc.Store(id={"type": "range-shown", "page": page}, data=dates.query()),
            ],
            className="sp-range-bar",
        )
    ]
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


@dash.callback(
    Output("shell-url", "search", allow_duplicate=True),
    Input({"type": "range-picker", "page": ALL}, "start_date"),
    Input({"type": "range-picker", "page": ALL}, "end_date"),
    State({"type": "range-shown", "page": ALL}, "data"),
    prevent_initial_call=True,
)
def pick_range(starts: list[str | None], ends: list[str | None], shown: list[str]) -> str:
    """A custom range chosen in the picker goes into the URL (the page then redraws).

    The picker also reports its values when it appears; those are the range the page shows,
    so nothing changes (and a URL that was not usable keeps its explanation on the page).
    """
    if not starts or not starts[0] or not ends or not ends[0]:
        raise PreventUpdate
    query = DateRange(date.fromisoformat(starts[0][:10]), date.fromisoformat(ends[0][:10])).query()
    if shown and query == shown[0]:
        raise PreventUpdate
    return query


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
    **grid_props: Any,
) -> html.Div:
    """A sortable, filterable AG Grid with an "Export CSV" button (AG Grid writes the file).

    ``grid_options`` are added to the grid's ``dashGridOptions``; ``grid_props`` are other
    ``dag.AgGrid`` properties (``getRowId``...).
    """
    return html.Div(
        [
            html.Div(
                dbc.Button(
                    "Export CSV",
                    id={"type": "export-button", "grid": grid},
                    size="sm",
                    color="secondary",
                    outline=True,
                ),
                className="text-end mb-2",
            ),
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
                csvExportParams={"fileName": file_name},
                dashGridOptions={"animateRows": False, "domLayout": "normal", **(grid_options or {})},
                style={"height": f"{height}px"},
                **grid_props,
            ),
        ],
        id=f"{grid}-table",
    )


@dash.callback(
    Output({"type": "export-grid", "grid": MATCH}, "exportDataAsCsv"),
    Input({"type": "export-button", "grid": MATCH}, "n_clicks"),
    prevent_initial_call=True,
)
def export_csv(n_clicks: int | None) -> bool:
    """The export button asks its grid for a CSV of the rows as filtered and sorted."""
    if not n_clicks:
        raise PreventUpdate
    return True


def money_column(field: str, header: str, currency: str) -> dict[str, Any]:
    """A right-aligned money column: a number in the grid and in the CSV, two decimals shown."""
    return {
        "field": field,
        "headerName": f"{header} ({currency})",
        "type": "rightAligned",
        "valueFormatter": {"function": "d3.format(',.2f')(params.value)"},
        "width": 200,
    }
