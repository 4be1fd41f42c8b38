"""The dashboard as a person uses it, in headless Chromium, against the real local stack."""

from __future__ import annotations

import csv
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from dashboard.figures import money, percent
from dashboard.settings import get_settings
from devstack.aws import free_port
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

pytestmark = pytest.mark.browser
PAGES = ("/", "/sales", "/customers", "/inventory", "/alerts", "/reports", "/digests")


def api(dashboard: Dashboard, path: str, **params: Any) -> Any:
    response = requests.get(
        f"{dashboard.api_url}/v1{path}", params=params, headers={"x-api-key": dashboard.read_key}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_sign_in_is_required_and_sign_out_ends_it(dash_duo: Any, dashboard: Dashboard) -> None:
    url = start(dash_duo, dashboard)
    # A desktop window: on a narrow one sign-out is in the navbar's menu (test_views.py)
    dash_duo.driver.set_window_size(1280, 900)
    # Given a person who is not signed in opening a link to a page with a range
    dash_duo.driver.get(f"{url}/sales?start=2025-05-01&end=2025-05-07")
    # Then they see the sign-in page: a user name and a password field, no browser pop-up
    dash_duo.wait_for_element("#login-username")
    assert dash_duo.find_element("#login-password").get_attribute("type") == "password"
    # When they type a wrong password
    sign_in(dash_duo, url, password="wrong")
    # Then they are told so and stay out
    dash_duo.wait_for_text_to_equal("#login-message", "Wrong user name or password.")
    (refused,) = dash_duo.get_logs()
    assert "/login" in refused["message"] and "401" in refused["message"]
    # When they sign in with the right one (the link they followed is kept)
    dash_duo.driver.get(f"{url}/sales?start=2025-05-01&end=2025-05-07")
    dash_duo.wait_for_element("#login-username")
    dash_duo.find_element("#login-username").send_keys("ana")
    dash_duo.find_element("#login-password").send_keys("correct horse battery staple")
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element("#sales-range-days", timeout=20)
    assert dash_duo.driver.current_url.endswith("/sales?start=2025-05-01&end=2025-05-07")
    assert text(dash_duo, "#sales-range-days") == "7 days"
    # When they sign out
    dash_duo.find_element("#shell-sign-out").click()
    dash_duo.wait_for_text_to_equal("#login-message", "You are signed out.")
    # Then the pages ask for a sign-in again
    dash_duo.driver.get(f"{url}/")
    dash_duo.wait_for_element("#login-username")
    assert dash_duo.get_logs() == []


def test_every_page_renders_without_console_errors(dash_duo: Any, dashboard: Dashboard) -> None:
    url = start(dash_duo, dashboard)
    sign_in(dash_duo, url)
    query = f"?start={dashboard.first}&end={dashboard.last}"
    for path in PAGES:
        # When each page is opened with the range in the URL
        open_page(dash_duo, f"{url}{path}{query}")
        # Then it shows its title, the range, its data or words saying why not, and no error
        name = path.strip("/") or "overview"
        assert text(dash_duo, f"#{name}-range-days") == "21 days", path
        assert dash_duo.find_element(f"#shell-nav-{name}").get_attribute("class").count("active"), path
        assert not elements(dash_duo, ".sp-problem.alert-danger"), (path, text(dash_duo, "body"))
        # The pages built on routes that exist show their data
        if path == "/sales":
            assert len(figure_points(dash_duo, "sales-breakdown-graph")) == 21
            assert elements(dash_duo, "#sales-channels-graph") and elements(dash_duo, "#sales-products-table")
        if path == "/inventory":
            items = api(dashboard, "/inventory")["items"]
            assert f"{len(items)} SKUs" in text(dash_duo, "#inventory-counts")
        assert dash_duo.get_logs() == [], path


def test_overview_kpis_equal_the_api_for_the_url_range(dash_duo: Any, dashboard: Dashboard) -> None:
    url = start(dash_duo, dashboard)
    sign_in(dash_duo, url)
    first, last = dashboard.last - timedelta(days=9), dashboard.last - timedelta(days=3)
    # Given what the API says for a week
    summary = api(dashboard, "/metrics/summary", start=first, end=last, compare="previous_period")["current"]
    # When the Overview is opened with that week in the URL
    open_page(dash_duo, f"{url}/?start={first}&end={last}")
    # Then the cards show the API's values
    assert text(dash_duo, "#overview-kpi-net_sales") == money(summary["net_sales"])
    assert text(dash_duo, "#overview-kpi-orders") == f"{summary['orders']:,}"
    assert text(dash_duo, "#overview-kpi-average_order_value") == money(summary["average_order_value"])
    assert text(dash_duo, "#overview-kpi-new_customers") == f"{summary['new_customers']:,}"
    assert text(dash_duo, "#overview-kpi-returning_customer_rate") == percent(
        summary["returning_customer_rate"]
    )
    assert len(figure_points(dash_duo, "overview-trend-graph")) == 7
    # And the low-stock card, filled in after the page is usable, counts the API's low and out SKUs
    items = api(dashboard, "/inventory")["items"]
    low = sum(1 for item in items if item["status"] in ("low", "out"))
    dash_duo.wait_for_text_to_equal("#overview-kpi-low_stock_skus", str(low), timeout=20)
    assert dash_duo.get_logs() == []


def test_a_range_change_redraws_the_charts_and_the_url(dash_duo: Any, dashboard: Dashboard) -> None:
    url = start(dash_duo, dashboard)
    sign_in(dash_duo, url)
    open_page(dash_duo, f"{url}/sales?start={dashboard.first}&end={dashboard.last}")
    assert len(figure_points(dash_duo, "sales-breakdown-graph")) == 21
    # When the person picks "Last 7 days"
    choose(dash_duo, dom_id("sales", "range-preset"), "last_7_days")
    # Then the URL carries the new range and the chart has seven days
    dash_duo.wait_for_text_to_equal("#sales-range-days", "7 days", timeout=20)
    dash_duo._wait_for_callbacks()
    assert dash_duo.driver.current_url.endswith(
        f"/sales?start={dashboard.last - timedelta(days=6)}&end={dashboard.last}"
    )
    assert len(figure_points(dash_duo, "sales-breakdown-graph")) == 7
    # When they group by week, the same range is drawn in weeks
    choose(dash_duo, dom_id("sales", "view-control", "granularity"), "week")
    wait_for_url(dash_duo, "&granularity=week")
    weeks = api(
        dashboard,
        "/metrics/sales",
        start=dashboard.last - timedelta(days=6),
        end=dashboard.last,
        granularity="week",
    )
    until = time.monotonic() + 10
    while (
        len(figure_points(dash_duo, "sales-breakdown-graph")) != len(weeks["series"])
        and time.monotonic() < until
    ):
        time.sleep(0.1)
    assert figure_points(dash_duo, "sales-breakdown-graph") == [p["period"] for p in weeks["series"]]
    # The previous period's net sales are drawn over the same weeks; the year before, on asking
    names_script = (
        "var p = document.querySelector('#sales-breakdown-graph .js-plotly-plot');"
        "return p && p.data.map(function (t) { return t.name; });"
    )

    def wait_for_trace(name: str) -> None:
        until = time.monotonic() + 10
        while name not in (dash_duo.driver.execute_script(names_script) or []):
            assert time.monotonic() < until, dash_duo.driver.execute_script(names_script)
            time.sleep(0.1)

    wait_for_trace("Net sales, previous period")
    choose(dash_duo, dom_id("sales", "view-control", "compare"), "previous_year")
    wait_for_url(dash_duo, "&compare=previous_year&granularity=week")
    wait_for_trace("Net sales, same period last year")
    # And a range with no data says so in words instead of drawing an empty axis
    open_page(dash_duo, f"{url}/sales?start=2020-01-01&end=2020-01-31")
    assert text(dash_duo, "#sales-series-empty") == "No sales between 2020-01-01 and 2020-01-31."
    assert not elements(dash_duo, "#sales-breakdown-graph")
    # And a bad URL says what was wrong and shows the default range
    open_page(dash_duo, f"{url}/sales?start=2025-02-30&end=2025-03-01")
    assert "'2025-02-30' is not a date for start" in text(dash_duo, "#sales-range-problem")
    assert dash_duo.get_logs() == []


def test_the_stock_table_exports_csv(dash_duo: Any, dashboard: Dashboard) -> None:
    url = start(dash_duo, dashboard)
    sign_in(dash_duo, url)
    inventory = api(dashboard, "/inventory")
    open_page(dash_duo, f"{url}/inventory")
    # When the person exports the stock table
    dash_duo.find_element("#inventory-stock-table button").click()
    # Then a CSV with every SKU lands in their downloads
    target = Path(dash_duo.download_path) / f"storepulse-inventory-{inventory['as_of']}.csv"
    until = time.monotonic() + 15
    while not target.exists() and time.monotonic() < until:
        time.sleep(0.1)
    assert target.exists(), os.listdir(dash_duo.download_path)
    rows = list(csv.DictReader(target.read_text(encoding="utf-8-sig").splitlines()))
    assert len(rows) == len(inventory["items"])
    by_sku = {row["SKU"]: row for row in rows}
    for item in inventory["items"]:
        assert by_sku[item["sku"]]["On hand"] == str(item["on_hand"])
        assert by_sku[item["sku"]]["Status"] == item["status"]
    assert dash_duo.get_logs() == []


def test_with_the_api_down_pages_say_so(
    dash_duo: Any, dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the dashboard pointed at an API that is not running
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("STOREPULSE_API_URL", dead)
    get_settings.cache_clear()
    try:
        url = start(dash_duo, dashboard)
        sign_in(dash_duo, url)
        # Then each page says in words that the API is not answering
        for path, element in (
            ("/", "#overview-problem"),
            ("/inventory", "#inventory-problem"),
            ("/sales", "#sales-series-problem"),
        ):
            open_page(dash_duo, f"{url}{path}")
            words = text(dash_duo, element)
            assert "the API is not answering" in words and dead in words, words
        assert dash_duo.get_logs() == []
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
