"""The dashboard in headless Chromium (dash_duo) over the session's real local stack.

The dashboard is imported once, configured like ``make run`` configures it: the stack's API URL
and read key, a sign-in, a session secret and the store's time zone. A small store history goes
in through the public ingest API; the pages then read it back through the read API.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By

from devstack.aws import free_port
from devstack.simulator import generate, send
from tests.conftest import STORE_TIMEZONE

USER = "ana"
PASSWORD = "correct horse battery staple"


@dataclass
class Dashboard:
    app: Any
    api_url: str
    read_key: str
    first: Any
    last: Any


# Per module: make test runs files on two processes, and a worker may run other files' tests (which
# empty the stack and set their own environment) between two browser modules.
@pytest.fixture(scope="module")
def dashboard(stack: Any) -> Iterator[Dashboard]:
    # Given a store's last 21 days, sent through the ingest API, and the pipeline settled
    stack.reset()
    today = datetime.now(ZoneInfo(STORE_TIMEZONE)).date()
    events = generate(days=21, orders_per_day=4, seed=23, end=today, tz=STORE_TIMEZONE)
    totals = send(events, stack.api_url, stack.ingest_key, progress=False)
    assert totals["accepted"] == len(events), totals
    stack.wait_idle(60)
    environment = {
        "STOREPULSE_API_URL": stack.api_url,
        "STOREPULSE_READ_KEY": stack.read_key,
        "STOREPULSE_DASH_USER": USER,
        "STOREPULSE_DASH_PASSWORD": PASSWORD,
        "STOREPULSE_DASH_SECRET": "browser-test-session-secret",
        "STORE_TIMEZONE": STORE_TIMEZONE,
        "DASH_REQUESTS_PATHNAME_PREFIX": "/",
        # The local API answers one request at a time: on a loaded machine a read waits its turn
        "STOREPULSE_API_TIMEOUT": "30",
    }
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    from dashboard.settings import get_settings

    get_settings.cache_clear()
    from dashboard.app import app

    try:
        yield Dashboard(app, stack.api_url, stack.read_key, today - timedelta(days=20), today)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def start(dash_duo: Any, dashboard: Dashboard) -> str:
    """Serve the dashboard on a free port (never 8050: a `make run` may hold it)."""
    dash_duo.start_server(dashboard.app, navigate=False, port=free_port())
    return str(dash_duo.server.url).rstrip("/")


def sign_in(dash_duo: Any, url: str, password: str = PASSWORD) -> None:
    """Sign in; with the right password, wait until the signed-in shell is shown, so that the
    sign-in's own redirect cannot land after (and over) the next page the test opens."""
    dash_duo.driver.get(f"{url}/login")
    dash_duo.wait_for_element("#login-username").send_keys(USER)
    dash_duo.find_element("#login-password").send_keys(password)
    dash_duo.find_element("#login-submit").click()
    if password == PASSWORD:
        dash_duo.wait_for_element("#shell-sign-out", timeout=20)


def open_page(dash_duo: Any, url: str) -> None:
    """Open a dashboard page and wait until Dash rendered it and no callback is running."""
    dash_duo.wait_for_page(url, timeout=20)
    dash_duo.wait_for_element("#_pages_content > div", timeout=20)
    dash_duo._wait_for_callbacks()


def _drawn(dash_duo: Any, graph_id: str, path: str, timeout: float) -> Any:
    """``p.data[0]<path>`` of a graph's Plotly element, polled until the graph has drawn it."""
    plot = f"document.querySelector('#{graph_id} .js-plotly-plot')"
    script = f"var p = {plot}; return p && p.data && p.data[0]{path};"
    deadline = time.monotonic() + timeout
    value = dash_duo.driver.execute_script(script)
    while value is None and time.monotonic() < deadline:
        time.sleep(0.1)
        value = dash_duo.driver.execute_script(script)
    assert value is not None, f"#{graph_id} was not drawn"
    return value


def figure_points(dash_duo: Any, graph_id: str, timeout: float = 15) -> list[Any]:
    """The x values of a graph's first trace, read from Plotly in the page once it has drawn."""
    return list(_drawn(dash_duo, graph_id, ".x", timeout))


def plotly_trace(dash_duo: Any, graph_id: str, timeout: float = 15) -> dict[str, Any]:
    """The first trace of a drawn graph, as Plotly holds it in the page."""
    return dict(_drawn(dash_duo, graph_id, "", timeout))


def text(dash_duo: Any, selector: str) -> str:
    """The element's text, visible or still fading in."""
    return " ".join(str(dash_duo.find_element(selector).get_attribute("textContent")).split())


def elements(dash_duo: Any, selector: str) -> list[Any]:
    return list(dash_duo.driver.find_elements(By.CSS_SELECTOR, selector))


def dom_id(page: str, kind: str, param: str | None = None) -> str:
    """The CSS selector of a control with a pattern id (``{"type": kind, "page": page}``)."""
    parts = {"page": page, "type": kind, **({"param": param} if param else {})}
    inner = ",".join(f'"{key}":"{parts[key]}"' for key in sorted(parts))
    return "[id='{" + inner + "}']"


def choose(dash_duo: Any, selector: str, value: str) -> None:
    """Pick ``value`` in a select, as a person does (the page then follows its URL)."""
    from selenium.webdriver.support.ui import Select

    Select(dash_duo.find_element(selector)).select_by_value(value)


def wait_for_url(dash_duo: Any, ending: str, timeout: float = 20) -> None:
    """Wait until the URL ends with ``ending`` and the page drawn is that URL's view."""
    deadline = time.monotonic() + timeout
    while not dash_duo.driver.current_url.endswith(ending):
        assert time.monotonic() < deadline, f"{dash_duo.driver.current_url} does not end with {ending}"
        time.sleep(0.1)
    drawn = (
        "var v = document.querySelector('.sp-view-query');"
        "return !!v && v.textContent === window.location.search;"
    )
    while not dash_duo.driver.execute_script(drawn):
        assert time.monotonic() < deadline, "the page did not redraw for " + dash_duo.driver.current_url
        time.sleep(0.1)
    dash_duo._wait_for_callbacks()
