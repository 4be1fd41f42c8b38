"""The pages over the customer, report and subscription routes, in headless Chromium, against
the session's real local stack: what they show is what the API answers."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import requests
from selenium.webdriver.support.ui import Select

from dashboard import api as dashboard_api
from tests.browser.conftest import Dashboard, elements, open_page, plotly_trace, sign_in, start, text

pytestmark = pytest.mark.browser


def api(dashboard: Dashboard, method: str, path: str, **params: Any) -> Any:
    response = requests.request(
        method,
        f"{dashboard.api_url}/v1{path}",
        params=params,
        headers={"x-api-key": dashboard.read_key},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def grid_rows(dash_duo: Any, container: str, fields: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The rows an AG Grid shows, in their displayed order, as the texts of ``fields``."""
    script = (
        "var fields = arguments[1];"
        "var rows = document.querySelectorAll(arguments[0] + ' .ag-center-cols-container .ag-row');"
        "return Array.from(rows).map(function (row) {"
        "  return [Number(row.getAttribute('row-index'))].concat(fields.map(function (f) {"
        "    var cell = row.querySelector('[col-id=\"' + f + '\"]');"
        "    return cell ? cell.textContent.trim() : null;"
        "  }));"
        "});"
    )
    found = dash_duo.driver.execute_script(script, container, list(fields))
    return [tuple(row[1:]) for row in sorted(found, key=lambda row: row[0])]


def wait_until(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_customers_show_the_apis_cohorts_and_segments(
    dash_duo: Any, dashboard: Dashboard, stack: Any
) -> None:
    url = start(dash_duo, dashboard)
    sign_in(dash_duo, url)
    dash_duo.wait_for_element("#shell-sign-out", timeout=20)
    query = f"?start={dashboard.first}&end={dashboard.last}"
    # Given a store whose segments job has not run since the stack was emptied
    assert api(dashboard, "GET", "/customers/segments")["as_of"] is None
    dashboard_api.forget()
    # When the Customers page is opened
    open_page(dash_duo, f"{url}/customers{query}")
    # Then the heatmap holds the API's non-empty cohorts of the twelve months up to the range's end
    end_month = dashboard.last.strftime("%Y-%m")
    year, month = (dashboard.last.year, dashboard.last.month - 11)
    year, month = (year - 1, month + 12) if month < 1 else (year, month)
    first_month = f"{year:04d}-{month:02d}"
    cohorts = api(dashboard, "GET", "/customers/cohorts", start_month=first_month, end_month=end_month)
    shown = [row for row in cohorts["cohorts"] if row["size"]]
    assert shown, cohorts
    heatmap = plotly_trace(dash_duo, "customers-cohorts-graph")
    assert heatmap["y"] == [f"{row['cohort']} ({row['size']:,})" for row in shown]
    for drawn, row in zip(heatmap["z"], shown, strict=True):
        assert [round(v, 6) for v in drawn[: len(row["retention"])]] == [
            round(share * 100, 6) for share in row["retention"]
        ]
    # And the segments say in words that their job has not run yet
    assert "The segments job has not run yet" in text(dash_duo, "#customers-segments-not-run")
    # When the nightly segments job has run
    stack.local.invoke_job("segments")
    dashboard_api.forget()
    open_page(dash_duo, f"{url}/customers{query}")
    # Then the segment rows are the API's, in its order, with their share of revenue
    segments = api(dashboard, "GET", "/customers/segments")
    assert (
        segments["as_of"] and sum(s["customers"] for s in segments["segments"]) == segments["customers"] > 0
    )
    dash_duo.wait_for_element("#customers-segments-table .ag-row", timeout=15)
    rows = grid_rows(dash_duo, "#customers-segments-table", ("segment", "customers", "share_of_revenue"))
    assert rows == [
        (s["label"], str(s["customers"]), f"{s['share_of_revenue'] * 100:g}") for s in segments["segments"]
    ]
    assert segments["as_of"] in text(dash_duo, "#customers-segments-as-of")
    bars = plotly_trace(dash_duo, "customers-segments-graph")
    assert bars["x"] == sorted((s["customers"] for s in segments["segments"]), reverse=True)
    assert dash_duo.get_logs() == []


def test_a_report_is_generated_watched_and_downloaded(
    dash_duo: Any, dashboard: Dashboard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = start(dash_duo, dashboard)
    sign_in(dash_duo, url)
    dash_duo.wait_for_element("#shell-sign-out", timeout=20)
    before = {r["report_id"] for r in api(dashboard, "GET", "/reports")["reports"]}
    open_page(dash_duo, f"{url}/reports?start={dashboard.first}&end={dashboard.last}")
    # When the person asks for a sales summary of the range
    dash_duo.find_element("#reports-generate").click()
    dash_duo.wait_for_element("#reports-generated", timeout=15)
    # Then the API has a new report of that type and range
    (report,) = [r for r in api(dashboard, "GET", "/reports")["reports"] if r["report_id"] not in before]
    assert (report["type"], report["start"], report["end"]) == (
        "sales_summary",
        str(dashboard.first),
        str(dashboard.last),
    )
    # And the list, watched by the page, turns to "Ready" without a reload, with a download link
    link = wait_until(
        lambda: [
            a
            for a in elements(dash_duo, "#reports-list-table .ag-row a")
            if a.get_attribute("href") and "storepulse-sales_summary" in a.get_attribute("href")
        ],
        45,
        "the report's download link",
    )[0]
    status = grid_rows(dash_duo, "#reports-list-table", ("status", "range"))[0]
    assert status == ("Ready", f"{dashboard.first} – {dashboard.last}")
    assert api(dashboard, "GET", f"/reports/{report['report_id']}")["status"] == "ready"
    # And the presigned URL, a credential, was logged by nothing: not the dashboard, its HTTP
    # client or server, nor the API (the test's own browser driver logs what it reads back)
    logged = [
        r for r in caplog.records if not r.name.startswith("selenium") and "X-Amz-Signature" in r.getMessage()
    ]
    assert not logged, [r.name for r in logged]
    # And the link downloads the PDF (the presigned URL, checked like S3 checks it)
    href = link.get_attribute("href")
    download = requests.get(href, timeout=30)
    assert download.status_code == 200, download.text
    assert download.content.startswith(b"%PDF")
    assert (
        f"storepulse-sales_summary-{dashboard.first}-{dashboard.last}.pdf"
        in download.headers["Content-Disposition"]
    )
    assert dash_duo.get_logs() == []


def test_a_digest_is_subscribed_listed_and_cancelled(dash_duo: Any, dashboard: Dashboard) -> None:
    url = start(dash_duo, dashboard)
    dash_duo.driver.set_window_size(1400, 1000)
    sign_in(dash_duo, url)
    dash_duo.wait_for_element("#shell-sign-out", timeout=20)
    address = f"owner.{time.monotonic_ns()}@example.com"
    open_page(dash_duo, f"{url}/digests")
    # When the person subscribes an address to the daily inventory digest
    dash_duo.find_element("#digests-email").send_keys(address)
    Select(dash_duo.find_element("#digests-frequency")).select_by_value("daily")
    dash_duo.find_element("#digests-subscribe").click()
    dash_duo.wait_for_element("#digests-subscribed", timeout=15)
    # Then the API has it, and the page lists it as the API does
    (created,) = [
        s for s in api(dashboard, "GET", "/subscriptions")["subscriptions"] if s["email"] == address
    ]
    assert created["frequency"] == "daily" and created["status"] == "pending"
    assert "confirmation e-mail" in text(dash_duo, "#digests-subscribed")
    dash_duo.wait_for_element("#digests-list-table .ag-row", timeout=15)
    rows = grid_rows(dash_duo, "#digests-list-table", ("email", "frequency", "report_type", "status"))
    assert (address, "Daily (07:00)", "Sales summary", "Pending: waiting for the address to confirm") in rows
    assert dash_duo.find_element("#digests-email").get_attribute("value") == ""
    # When they select it and cancel it
    row = next(
        r
        for r in elements(dash_duo, "#digests-list-table .ag-center-cols-container .ag-row")
        if address in r.get_attribute("textContent")
    )
    cell = row.find_element("css selector", "[col-id='email']")
    cell.click()
    wait_until(lambda: "ag-row-selected" in str(row.get_attribute("class")), 5, "the row to be selected")
    dash_duo.find_element("#digests-cancel").click()
    dash_duo.wait_for_element("#digests-cancelled", timeout=15)
    # Then the API no longer lists it, and neither does the page
    assert address not in {s["email"] for s in api(dashboard, "GET", "/subscriptions")["subscriptions"]}
    wait_until(lambda: address not in text(dash_duo, "#digests-list"), 10, "the row to go")
    assert dash_duo.get_logs() == []
