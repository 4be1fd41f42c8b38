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
from dash import Dash, dcc, html

from dashboard import auth
from dashboard.settings import get_settings

HERE = Path(__file__).resolve().parent
# The dashboard's static files live at the top of the repository (the project's layout), beside
# the package: Zappa ships both, CloudFront serves the same folder (.github/workflows/deploy.yml).
# dashboard/assets links to it, so that `pip install .` packages them (as files) too.
ASSETS = HERE.parent / "assets" if (HERE.parent / "assets").is_dir() else HERE / "assets"


def navbar(app: Dash) -> dbc.Navbar:
    """The top bar: the logo, one link per registered page, and sign-out."""
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
    ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    [
                        html.Img(src=app.get_asset_url("logo.svg"), height="28", className="me-2"),
                        "storepulse",
                    ],
                    href=dash.get_relative_path("/"),
                    class_name="d-flex align-items-center",
                ),
                dbc.Nav(links, class_name="me-auto", navbar=True),
                html.A(
                    "Sign out",
                    href=dash.get_relative_path("/logout"),
                    id="shell-sign-out",
                    className="btn btn-sm btn-outline-light",
                ),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        class_name="mb-3",
    )


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
    app.layout = html.Div(
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
    auth.install(app.server, settings)
    return app


app = create_app()
server = app.server
