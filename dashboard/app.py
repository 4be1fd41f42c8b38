"""The dashboard's shell: the Dash app, its navbar, the sign-in guard and the WSGI ``server``.

Pages live in ``dashboard/pages/`` (one module per page, ``dash.register_page`` and a
``layout`` function). Zappa serves :data:`server` (``dashboard.app.server``); ``make run``
serves it on ``STOREPULSE_DASH_PORT``. The path prefix (``/dev/`` under an API Gateway stage,
``/`` behind a custom domain) comes from ``DASH_REQUESTS_PATHNAME_PREFIX``.
"""

from __future__ import annotations

from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dcc, html

from dashboard import auth, logs
from dashboard.components import aria
from dashboard.settings import get_settings

HERE = Path(__file__).resolve().parent
# The dashboard's static files live at the top of the repository (the project's layout), beside
# the package: Zappa ships both, CloudFront serves the same folder (.github/workflows/deploy.yml).
# dashboard/assets links to it, so that `pip install .` packages them (as files) too.
ASSETS = HERE.parent / "assets" if (HERE.parent / "assets").is_dir() else HERE / "assets"


def navbar(app: Dash) -> dbc.Navbar:
    """The top bar: the logo, one link per registered page (a menu button on a phone), the
    store's time zone (said once: every time on the pages is in it) and sign-out."""
    zone = get_settings().store_timezone
    links = [
        dbc.NavItem(
            dbc.NavLink(
                page["name"],
                href=page["relative_path"],
                active="exact",
                id=f"shell-nav-{page['name'].lower()}",
            )
        )
        for page in dash.page_registry.values()
        if not page.get("path_template")
    ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    [
                        html.Img(src=app.get_asset_url("logo.svg"), height="28", className="me-2", alt=""),
                        "storepulse",
                    ],
                    href=dash.get_relative_path("/"),
                    class_name="d-flex align-items-center",
                ),
                html.Button(
                    html.Span(className="navbar-toggler-icon"),
                    id="shell-menu-button",
                    n_clicks=0,
                    className="navbar-toggler",
                    type="button",
                    **aria(label="Menu", controls="shell-menu", expanded="false"),
                ),
                dbc.Collapse(
                    [
                        dbc.Nav(links, class_name="me-auto", navbar=True, id="shell-nav"),
                        html.Div(
                            [
                                html.Span(f"Times in {zone}", className="sp-zone me-3", id="shell-zone"),
                                html.A(
                                    "Sign out",
                                    href=dash.get_relative_path("/logout"),
                                    id="shell-sign-out",
                                    className="btn btn-sm btn-outline-light",
                                ),
                            ],
                            className="d-flex align-items-center py-2 py-lg-0",
                        ),
                    ],
                    id="shell-menu",
                    is_open=False,
                    navbar=True,
                ),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        expand="lg",
        class_name="mb-3",
    )


@dash.callback(
    Output("shell-menu", "is_open"),
    Output("shell-menu-button", "aria-expanded"),
    Input("shell-menu-button", "n_clicks"),
    Input("shell-url", "pathname"),
    State("shell-menu", "is_open"),
    prevent_initial_call=True,
)
def toggle_menu(_: int, __: str, is_open: bool) -> tuple[bool, str]:
    """The menu button opens and closes the pages menu on a phone; opening a page closes it."""
    opened = dash.ctx.triggered_id == "shell-menu-button" and not is_open
    return opened, "true" if opened else "false"


def create_app() -> Dash:
    """Build the Dash app from the settings (read once from the environment)."""
    settings = get_settings()
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(ASSETS),
        requests_pathname_prefix=settings.pathname_prefix,
        routes_pathname_prefix="/",
        title="storepulse",
        update_title="",
        suppress_callback_exceptions=True,
        serve_locally=True,
    )
    # The page's language, for screen readers and axe's html-has-lang
    app.index_string = app.index_string.replace("<html>", '<html lang="en">', 1)
    # A function: built per page load, so the navbar states the zone of the settings in force
    # (not those of whoever imported this module first).
    app.layout = lambda: html.Div(
        [
            dcc.Location(id="shell-url", refresh="callback-nav"),
            navbar(app),
            dbc.Container(
                dcc.Loading(
                    dash.page_container,
                    # Only a page change shows it: a refresh or a slow card keeps the page visible.
                    target_components={"_pages_content": "children"},  # type: ignore[arg-type]
                    delay_show=400,
                    custom_spinner=html.Div([dbc.Spinner(size="sm"), " Loading…"], className="sp-loading"),
                ),
                fluid=True,
                class_name="pb-4",
            ),
        ]
    )
    logs.install(app.server)
    auth.install(app.server, settings)
    return app


app = create_app()
server = app.server
