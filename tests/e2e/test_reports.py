"""Reports and digests end to end: POST /v1/reports -> queue -> report Lambda -> PDF in S3 ->
presigned GET; subscriptions -> the digests job -> e-mails in the outbox -> working links.

Given a small simulated store sent shuffled with a tenth of the events twice, a report's PDF
(read with poppler's ``pdftotext``) holds its range and the figures the pandas oracle computes;
the presigned URL downloads it under the contract's file name, and a tampered or expired URL
is refused as S3 refuses it.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from markupsafe import escape

from backend.adapters import reports_store
from backend.adapters.clients import client
from backend.domain.reports import (
    MAX_SUBSCRIPTIONS,
    SubscriptionRequest,
    TokenExpired,
    sign_token,
    verify_token,
)
from backend.processing import digests, subscriptions
from backend.processing.context import Context
from backend.settings import get_settings
from devstack.simulator import send
from tests import oracle
from tests.histories import small_history

TZ = "America/New_York"
END = date(2025, 3, 20)


@dataclass
class Store:
    api_url: str
    read_key: str
    events: list[dict[str, Any]]
    data_dir: Path

    def post(self, path: str, body: Any, key: str | None = None) -> requests.Response:
        headers = {"x-api-key": self.read_key if key is None else key}
        return requests.post(f"{self.api_url}{path}", json=body, headers=headers, timeout=30)

    def get(self, path: str, key: str | None = None, **params: Any) -> requests.Response:
        headers = {"x-api-key": self.read_key if key is None else key}
        return requests.get(f"{self.api_url}{path}", params=params, headers=headers, timeout=30)


def _context() -> Context:
    """What the jobs handler hands the digests: the stack's settings and clients."""
    return Context.of(get_settings(), client)


@pytest.fixture(scope="module")
def store(stack: Any) -> Store:
    # Given a fresh stack and three weeks of a store, delivered shuffled and partly twice
    stack.reset()
    events = small_history(5, days=21, orders_per_day=12, tz=TZ, end=END)
    rng = random.Random(7)
    delivered = list(events)
    rng.shuffle(delivered)
    delivered += rng.sample(delivered, len(delivered) // 10)
    rng.shuffle(delivered)
    totals = send(delivered, stack.api_url, stack.ingest_key, batch_size=150, progress=False)
    assert totals["accepted"] == len(events) and totals["rejected"] == 0, totals
    stack.wait_idle(120)
    return Store(stack.api_url, stack.read_key, delivered, stack.data_dir)


def make_report(stack: Any, store: Store, report_type: str, start: date, end: date) -> dict[str, Any]:
    response = store.post(
        "/v1/reports", {"type": report_type, "start": start.isoformat(), "end": end.isoformat()}
    )
    assert response.status_code == 202, response.text
    created = response.json()
    assert created["status"] == "pending" and created["download_url"] is None
    assert len(created["report_id"]) >= 32
    stack.wait_idle(60)
    report = store.get(f"/v1/reports/{created['report_id']}").json()
    assert report["status"] == "ready", report
    return report


def pdf_text(pdf: bytes) -> str:
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return result.stdout.decode()


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def test_sales_report_pdf_holds_the_range_and_the_oracles_figures(stack: Any, store: Store) -> None:
    start, end = END - timedelta(days=6), END
    # When a sales summary of the last week is asked for and made
    report = make_report(stack, store, "sales_summary", start, end)
    # Then the presigned URL downloads the PDF under the contract's file name
    assert report["download_url"] and report["expires_at"]
    download = requests.get(report["download_url"], timeout=30)
    assert download.status_code == 200, download.text
    name = f"storepulse-sales_summary-{start}-{end}.pdf"
    assert download.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.content.startswith(b"%PDF-")
    # And its text holds the range, the oracle's KPIs for both periods and the top products
    text = pdf_text(download.content)
    assert f"{start} to {end}" in text
    current = oracle.summary(store.events, start, end, tz=TZ)
    previous = oracle.summary(store.events, start - timedelta(days=7), end - timedelta(days=7), tz=TZ)
    net_line = next(line for line in text.splitlines() if line.strip().startswith("Net sales"))
    assert money(current["net_sales"]) in net_line and money(previous["net_sales"]) in net_line
    for name_, label in (
        ("gross_sales", "Gross sales"),
        ("returns", "Returns"),
        ("average_order_value", "Average"),
    ):
        line = next(line for line in text.splitlines() if line.strip().startswith(label))
        assert money(current[name_]) in line, (label, line)
    orders_line = next(line for line in text.splitlines() if line.strip().startswith("Orders"))
    assert f"{current['orders']:,}" in orders_line
    for product in oracle.top_products(store.events, start, end, tz=TZ, limit=10):
        line = next((line for line in text.splitlines() if f" {product['sku']} " in line), "")
        assert money(product["net_sales"]) in line, (product, line)
    # And GET /v1/reports lists it, newest first, with a fresh URL each time
    listed = store.get("/v1/reports").json()["reports"]
    assert listed[0]["report_id"] == report["report_id"]
    # (a URL is signed to the second: two asked for in the same second are the same URL)
    time.sleep(1.05)
    again = store.get(f"/v1/reports/{report['report_id']}").json()
    assert again["download_url"] != report["download_url"] or again["expires_at"] != report["expires_at"]


def test_a_tampered_presigned_url_is_refused(stack: Any, store: Store) -> None:
    report = make_report(stack, store, "sales_summary", END - timedelta(days=2), END)
    parts = urlsplit(report["download_url"])
    query = dict(parse_qsl(parts.query))
    signature = query["X-Amz-Signature"]
    forged_signature = {**query, "X-Amz-Signature": ("0" if signature[0] != "0" else "1") + signature[1:]}
    other_name = {**query, "response-content-disposition": 'attachment; filename="other.pdf"'}
    longer = {**query, "X-Amz-Expires": "604800"}
    for forged in (forged_signature, other_name, longer):
        url = urlunsplit(parts._replace(query=urlencode(forged)))
        refused = requests.get(url, timeout=30)
        assert refused.status_code == 403, refused.text
        assert "<Code>SignatureDoesNotMatch</Code>" in refused.text
    other_key = parts.path.replace("/reports/", "/reports/x", 1)
    refused = requests.get(urlunsplit(parts._replace(path=other_key)), timeout=30)
    assert refused.status_code == 403 and "SignatureDoesNotMatch" in refused.text
    unsigned = requests.get(urlunsplit(parts._replace(query="")), timeout=30)
    assert unsigned.status_code == 403 and "AccessDenied" in unsigned.text


def test_an_expired_presigned_url_is_refused(
    stack: Any, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = make_report(stack, store, "sales_summary", END, END)
    # Given the API hands out URLs valid one second
    monkeypatch.setenv("REPORT_URL_TTL", "1")
    get_settings.cache_clear()
    try:
        short = store.get(f"/v1/reports/{report['report_id']}").json()
    finally:
        monkeypatch.delenv("REPORT_URL_TTL")
        get_settings.cache_clear()
    # When it is used after its expiry, S3 (here its local front) refuses it
    time.sleep(2.1)
    expired = requests.get(short["download_url"], timeout=30)
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code>" in expired.text and "Request has expired" in expired.text
    assert requests.get(report["download_url"], timeout=30).status_code == 200


def test_inventory_report_lists_low_and_out_skus(stack: Any, store: Store) -> None:
    report = make_report(stack, store, "inventory", END - timedelta(days=13), END)
    text = pdf_text(requests.get(report["download_url"], timeout=30).content)
    stock = oracle.inventory(store.events)
    short = stock[stock["status"] != "ok"]
    assert "Low and out-of-stock products" in text
    assert len(short) > 0
    for sku, row in short.iterrows():
        line = next(
            (line for line in text.splitlines() if re.search(rf"\b{re.escape(str(sku))}\b", line)), ""
        )
        assert row["status"] in line and str(row["on_hand"]) in line, (sku, line)


def test_customers_report_holds_cohorts_and_segments(stack: Any, store: Store) -> None:
    # Given the segments job has run (as its schedule would)
    stack.local.invoke_job("segments")
    segments = store.get("/v1/customers/segments").json()
    # When a customers report is made for the last two weeks
    report = make_report(stack, store, "customers", END - timedelta(days=13), END)
    text = pdf_text(requests.get(report["download_url"], timeout=30).content)
    # Then it holds the oracle's new customers, the cohort sizes and the API's segments
    current = oracle.summary(store.events, END - timedelta(days=13), END, tz=TZ)
    line = next(line for line in text.splitlines() if line.strip().startswith("New customers"))
    assert f"{current['new_customers']:,}" in line
    today = datetime.now(UTC).astimezone(ZoneInfo(TZ)).date()
    expected = oracle.cohorts(store.events, "2025-03", "2025-03", today.strftime("%Y-%m"), tz=TZ)
    cohort_line = next(line for line in text.splitlines() if line.strip().startswith("2025-03 "))
    assert cohort_line.split()[1] == f"{expected[0]['size']}"
    for row in segments["segments"]:
        if row["customers"]:
            assert re.search(rf"{row['segment']}\s+{row['customers']:,}\s", text), row
    assert "No RFM segments yet" not in text


def test_the_routes_are_described_in_openapi(store: Store) -> None:
    paths = store.get("/v1/openapi.json").json()["paths"]
    assert {"post", "get"} <= set(paths["/v1/reports"]) and "get" in paths["/v1/reports/{report_id}"]
    assert {"post", "get"} <= set(paths["/v1/subscriptions"])
    assert "delete" in paths["/v1/subscriptions/{subscription_id}"] and "get" in paths["/v1/unsubscribe"]
    assert paths["/v1/reports"]["post"]["description"]


def test_unknown_reports_and_bad_requests_get_4xx(store: Store) -> None:
    import secrets

    missing = store.get(f"/v1/reports/{secrets.token_urlsafe(24)}")
    assert missing.status_code == 404 and missing.json()["error"]["details"] == [{"parameter": "report_id"}]
    assert store.get("/v1/reports/..%2f..%2fetc").status_code == 404
    cases = [
        ({"type": "weekly_pnl", "start": "2025-03-01", "end": "2025-03-02"}, 422, "type"),
        ({"type": "inventory", "start": "2025-03-01"}, 422, "end"),
        ({"type": "inventory", "start": "2025-02-30", "end": "2025-03-02"}, 422, "start"),
        ({"type": "inventory", "start": "2025-03-02", "end": "2025-03-01"}, 400, "end"),
        ({"type": "inventory", "start": "2023-01-01", "end": "2025-03-01"}, 400, "end"),
        ({"type": "inventory", "start": "2025-03-01", "end": "2025-03-02", "extra": 1}, 422, "extra"),
    ]
    before = listed_reports(store)
    not_json = requests.post(
        f"{store.api_url}/v1/reports",
        data=b"type=inventory",
        headers={"x-api-key": store.read_key},
        timeout=30,
    )
    assert not_json.status_code == 422 and not_json.json()["error"]["details"][0]["parameter"] == "body"
    for body, status, parameter in cases:
        response = store.post("/v1/reports", body)
        assert response.status_code == status, (body, response.text)
        error = response.json()["error"]
        assert parameter in error["message"], (body, error)
    assert (
        store.post(
            "/v1/reports", {"type": "inventory", "start": "2025-03-01", "end": "2025-03-01"}, key=""
        ).status_code
        == 401
    )
    assert listed_reports(store) == before


def listed_reports(store: Store) -> list[dict[str, Any]]:
    """The report listing without its download links and their expiry: a link is signed afresh
    on every request, so two listings a second apart differ in X-Amz-Date, signature and
    expires_at but not in what they list."""
    return [
        {field: value for field, value in report.items() if field not in ("download_url", "expires_at")}
        for report in store.get("/v1/reports").json()["reports"]
    ]


# -- digests ---------------------------------------------------------------------------------


def outbox_mails(stack: Any) -> list[EmailMessage]:
    """The mails in the outbox of ``stack`` (the stack, or the store it holds)."""
    folder = stack.data_dir / "outbox"
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.eml")):
        parsed = message_from_bytes(path.read_bytes(), policy=default)
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return found


def _confirmation(mail: EmailMessage) -> bool:
    return str(mail["Subject"]).startswith("Confirm your")


def to(mails: list[EmailMessage], address: str) -> list[EmailMessage]:
    """The digests sent to ``address``."""
    return [m for m in mails if str(m["To"]) == address and not _confirmation(m)]


def confirmations_to(mails: list[EmailMessage], address: str) -> list[EmailMessage]:
    """The confirmation e-mails sent to ``address``."""
    return [m for m in mails if str(m["To"]) == address and _confirmation(m)]


def subscribe(store: Store, email: str, frequency: str, report_type: str = "sales_summary") -> dict[str, Any]:
    """A confirmed subscription: subscribed, then confirmed through the link of its e-mail."""
    created = ask(store, email, frequency, report_type)
    confirmed = requests.post(confirmation_link(store, created["email"]), timeout=30)
    assert confirmed.status_code == 200 and "confirmed" in confirmed.text, confirmed.text
    return created


def ask(store: Store, email: str, frequency: str, report_type: str = "sales_summary") -> dict[str, Any]:
    """A subscription asked for: pending until its address confirms it."""
    response = store.post(
        "/v1/subscriptions", {"email": email, "frequency": frequency, "report_type": report_type}
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending"
    return response.json()


def confirmation_link(store: Store, address: str) -> str:
    (mail,) = confirmations_to(outbox_mails(store), address)
    return link(parts(mail)["text/plain"], "/v1/confirm")


def cancel_all(store: Store) -> None:
    for subscription in store.get("/v1/subscriptions").json()["subscriptions"]:
        response = requests.delete(
            f"{store.api_url}/v1/subscriptions/{subscription['subscription_id']}",
            headers={"x-api-key": store.read_key},
            timeout=30,
        )
        assert response.status_code == 200


def parts(message: EmailMessage) -> dict[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


def link(text: str, path: str) -> str:
    found = re.search(rf"(http://\S+{re.escape(path)}\?token=[A-Za-z0-9._%-]+)", text)
    assert found, f"no {path} link in {text!r}"
    return found.group(1)


def test_subscription_input_is_validated(store: Store) -> None:
    cancel_all(store)
    cases = [
        ({"email": "not-an-address", "frequency": "daily"}, "email"),
        ({"email": "a@b", "frequency": "daily"}, "email"),
        ({"email": "ada@example.com", "frequency": "hourly"}, "frequency"),
        ({"email": "ada@example.com", "frequency": "daily", "report_type": "pnl"}, "report_type"),
        ({"email": "ada@example.com"}, "frequency"),
        ({"email": "ada@example.com", "frequency": "daily", "cc": "x@example.com"}, "cc"),
    ]
    for body, parameter in cases:
        response = store.post("/v1/subscriptions", body)
        assert response.status_code == 422, (body, response.text)
        assert parameter in response.json()["error"]["message"], (body, response.text)
    assert (
        store.post(
            "/v1/subscriptions", {"email": "ada@example.com", "frequency": "daily"}, key="x"
        ).status_code
        == 401
    )
    assert store.get("/v1/subscriptions").json()["subscriptions"] == []
    gone = requests.delete(
        f"{store.api_url}/v1/subscriptions/{'x' * 24}", headers={"x-api-key": store.read_key}, timeout=30
    )
    assert gone.status_code == 404 and "subscription_id" in gone.json()["error"]["message"]


def test_daily_digest_once_per_period_with_working_links(
    stack: Any, store: Store, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    cancel_all(store)
    # Given a daily subscriber and a weekly one, on a Thursday
    daily = subscribe(store, " Ada.Lovelace@Example.COM ", "daily")
    assert daily["email"] == "Ada.Lovelace@example.com"
    subscribe(store, "grace@example.org", "weekly", "inventory")
    assert END.weekday() == 3
    before = len(outbox_mails(stack))
    # When the digests job runs twice the same day
    first = digests.run_digests(_context(), END)
    second = digests.run_digests(_context(), END)
    # Then the daily subscriber gets exactly one e-mail, the weekly one none (not Monday)
    assert (first.sent, first.not_due, first.failed) == (1, 1, 0), first
    assert (second.sent, second.already_sent) == (0, 1), second
    mails = outbox_mails(stack)
    assert len(mails) == before + 1
    (mail,) = to(mails, "Ada.Lovelace@example.com")
    # And it carries yesterday's KPIs in both parts, as the oracle computes them
    body = parts(mail)
    assert set(body) == {"text/plain", "text/html"}
    yesterday = oracle.summary(store.events, END - timedelta(days=1), END - timedelta(days=1), tz=TZ)
    for content in body.values():
        assert money(yesterday["net_sales"]) in content and money(yesterday["average_order_value"]) in content
    assert "2025-03-19" in mail["Subject"] or "19 March 2025" in mail["Subject"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_url = link(body["text/plain"], "/v1/unsubscribe")
    assert mail["List-Unsubscribe"] == f"<{unsubscribe_url}>"
    # And its report link redirects to a presigned download of that day's PDF
    redirect = requests.get(link(body["text/plain"], "/download"), allow_redirects=False, timeout=30)
    assert redirect.status_code == 302
    pdf = requests.get(redirect.headers["Location"], timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert "storepulse-sales_summary-2025-03-19-2025-03-19.pdf" in pdf.headers["Content-Disposition"]
    assert money(yesterday["net_sales"]) in pdf_text(pdf.content)
    # And the address never reached a log line
    logged = capsys.readouterr()
    assert "lovelace" not in (logged.out + logged.err + caplog.text).lower()
    # When the link is followed (a GET, as a mail scanner does): a page asks, nothing changes
    asked = requests.get(unsubscribe_url, timeout=30)
    assert asked.status_code == 200 and "text/html" in asked.headers["Content-Type"]
    assert '<form method="post"' in asked.text and "Unsubscribe" in asked.text
    assert "Ada.Lovelace@example.com" in {
        s["email"] for s in store.get("/v1/subscriptions").json()["subscriptions"]
    }
    # When the one-click POST comes (RFC 8058, no key), then again
    done = requests.post(unsubscribe_url, timeout=30)
    assert done.status_code == 200 and "text/html" in done.headers["Content-Type"]
    assert "You are unsubscribed" in done.text
    again = requests.post(unsubscribe_url, timeout=30)
    assert again.status_code == 200 and "already cancelled" in again.text
    broken = requests.get(unsubscribe_url[:-3] + "abc", timeout=30)
    assert broken.status_code == 400 and "not valid" in broken.text
    missing = requests.get(f"{store.api_url}/v1/unsubscribe", timeout=30)
    assert missing.status_code == 400 and "not valid" in missing.text
    key = get_settings().unsubscribe_signing_key
    stale = sign_token(key, "unsubscribe", daily["subscription_id"], datetime.now(UTC) - timedelta(days=1))
    expired = requests.get(f"{store.api_url}/v1/unsubscribe", params={"token": stale}, timeout=30)
    assert expired.status_code == 400 and "expired" in expired.text
    # Then no more digests go to that address
    later = digests.run_digests(_context(), END + timedelta(days=1))
    assert later.sent == 0
    assert len(to(outbox_mails(stack), "Ada.Lovelace@example.com")) == 1
    assert [s["email"] for s in store.get("/v1/subscriptions").json()["subscriptions"]] == [
        "grace@example.org"
    ]


def reports_table_text(stack: Any) -> str:
    """Every item of the reports table, as text (a test may scan; the product never does)."""
    items = stack.client("dynamodb").scan(TableName="storepulse-reports")["Items"]
    return json.dumps(items)


def test_a_subscription_sends_nothing_but_its_confirmation_until_confirmed(stack: Any, store: Store) -> None:
    cancel_all(store)
    address = "double.opt.in@example.com"
    # Given an address subscribed with the read key
    created = ask(store, address, "daily")
    # Then the only mail it gets is one confirmation, and the subscription is listed as pending
    (mail,) = confirmations_to(outbox_mails(stack), address)
    assert "/v1/confirm?token=" in parts(mail)["text/plain"]
    assert to(outbox_mails(stack), address) == []
    listed = {
        s["subscription_id"]: s["status"] for s in store.get("/v1/subscriptions").json()["subscriptions"]
    }
    assert listed == {created["subscription_id"]: "pending"}
    # And the digests job sends it nothing
    assert digests.run_digests(_context(), END).sent == 0
    assert to(outbox_mails(stack), address) == []
    # When the link is opened (a GET, as a mail scanner may): a page asks, nothing changes
    link_url = confirmation_link(store, address)
    page = requests.get(link_url, timeout=30)
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert store.get("/v1/subscriptions").json()["subscriptions"][0]["status"] == "pending"
    assert digests.run_digests(_context(), END).sent == 0
    # When the person confirms (the page's button POSTs the same link)
    done = requests.post(link_url, timeout=30)
    assert done.status_code == 200 and "confirmed" in done.text
    assert store.get("/v1/subscriptions").json()["subscriptions"][0]["status"] == "confirmed"
    # Then digests go out
    assert digests.run_digests(_context(), END).sent == 1
    assert len(to(outbox_mails(stack), address)) == 1
    # And a forged or cut link confirms nothing
    assert requests.post(link_url[:-3] + "abc", timeout=30).status_code == 400
    # And asking again for the same address within a day sends no second confirmation
    again = store.post("/v1/subscriptions", {"email": address, "frequency": "weekly"})
    assert again.status_code == 429 and "email" in again.json()["error"]["message"]
    assert int(again.headers["Retry-After"]) > 0
    assert len(confirmations_to(outbox_mails(stack), address)) == 1


def test_subscriptions_are_capped_per_store(stack: Any, store: Store) -> None:
    cancel_all(store)
    # Given the most subscriptions a store may hold (pending ones count)
    for n in range(50):
        ask(store, f"reader{n}@cap.example.com", "daily")
    # Then one more is refused in words, and no mail goes to it
    refused = store.post("/v1/subscriptions", {"email": "one-too-many@cap.example.com", "frequency": "daily"})
    assert refused.status_code == 409, refused.text
    assert "50" in refused.json()["error"]["message"]
    assert confirmations_to(outbox_mails(stack), "one-too-many@cap.example.com") == []
    # When one is cancelled, a new one fits
    cancel_all(store)
    ask(store, "one-more@cap.example.com", "daily")


def test_cancelling_deletes_the_address(stack: Any, store: Store) -> None:
    cancel_all(store)
    # Given a confirmed subscription and a pending one
    kept = subscribe(store, "forget.me@example.com", "daily")
    pending = ask(store, "forget.me.too@example.com", "weekly")
    assert "forget.me@example.com" in reports_table_text(stack)
    # When both are cancelled (the API's DELETE, and the e-mail's one-click POST)
    gone = requests.delete(
        f"{store.api_url}/v1/subscriptions/{kept['subscription_id']}",
        headers={"x-api-key": store.read_key},
        timeout=30,
    )
    assert gone.status_code == 200 and gone.json()["status"] == "cancelled"
    key = get_settings().unsubscribe_signing_key
    token = sign_token(key, "unsubscribe", pending["subscription_id"], datetime.now(UTC) + timedelta(days=1))
    assert (
        requests.post(f"{store.api_url}/v1/unsubscribe", params={"token": token}, timeout=30).status_code
        == 200
    )
    # Then neither address is stored any more; cancelling again says it already was
    text = reports_table_text(stack)
    assert "forget.me@example.com" not in text and "forget.me.too@example.com" not in text
    again = requests.delete(
        f"{store.api_url}/v1/subscriptions/{kept['subscription_id']}",
        headers={"x-api-key": store.read_key},
        timeout=30,
    )
    assert again.status_code == 200 and again.json()["already_cancelled"] is True


@pytest.mark.parametrize(
    ("frequency", "today", "days"), [("daily", END, 1), ("weekly", date(2025, 3, 17), 7)]
)
def test_the_digest_download_link_expires_with_its_period(
    stack: Any, store: Store, frequency: str, today: date, days: int
) -> None:
    cancel_all(store)
    address = f"link.{frequency}@example.com"
    subscribe(store, address, frequency)
    sent_at = datetime(2025, 3, 21, 11, 0, tzinfo=UTC)
    assert digests.run_digests(_context(), today, now=sent_at).sent == 1
    (mail,) = to(outbox_mails(stack), address)
    token = dict(parse_qsl(urlsplit(link(parts(mail)["text/plain"], "/download")).query))["token"]
    key = get_settings().unsubscribe_signing_key
    # The link works until the next digest of its kind is due, and not after
    period = timedelta(days=days)
    assert verify_token(key, "download", token, now=sent_at + period - timedelta(minutes=1))
    with pytest.raises(TokenExpired):
        verify_token(key, "download", token, now=sent_at + period + timedelta(minutes=1))


def test_weekly_digest_goes_out_on_monday_for_the_week_before(stack: Any, store: Store) -> None:
    cancel_all(store)
    subscribe(store, "weekly-reader@example.net", "weekly", "inventory")
    monday = date(2025, 3, 17)
    assert monday.weekday() == 0
    assert digests.run_digests(_context(), monday - timedelta(days=1)).sent == 0
    run = digests.run_digests(_context(), monday)
    assert run.sent == 1 and digests.run_digests(_context(), monday).already_sent == 1
    (mail,) = to(outbox_mails(stack), "weekly-reader@example.net")
    week = oracle.summary(store.events, date(2025, 3, 10), date(2025, 3, 16), tz=TZ)
    text = parts(mail)["text/plain"]
    assert "2025-03-10 to 2025-03-16" in text and money(week["net_sales"]) in text
    # "Often bought together": the week's strongest pairs (in 3 orders or more), by name
    strongest = oracle.pairs(store.events, date(2025, 3, 10), date(2025, 3, 16), min_orders=3, tz=TZ).head(3)
    names = {sku: data["name"] for sku, data in oracle.catalogue(store.events).items()}
    assert len(strongest) >= 1 and "Often bought together" in text
    for a, b, orders, lift in zip(
        strongest["a"], strongest["b"], strongest["orders"], strongest["lift"], strict=True
    ):
        line = f"{names[a]} + {names[b]}: {orders} orders together, {lift:.1f}"
        assert line in text and str(escape(line)) in parts(mail)["text/html"], line


def test_a_failed_send_is_retried_and_never_sent_twice(stack: Any, store: Store) -> None:
    cancel_all(store)
    subscribe(store, "retry@example.com", "daily")
    outbox = stack.data_dir / "outbox"
    outbox.mkdir(exist_ok=True)
    parked = outbox.with_name("outbox-parked")
    # Given an outbox that cannot be written (a file stands where the folder should be)
    outbox.rename(parked)
    outbox.write_text("not a folder")
    try:
        failed = digests.run_digests(_context(), END + timedelta(days=5))
    finally:
        outbox.unlink()
        parked.rename(outbox)
    # Then nothing went out and the send is recorded as failed
    assert (failed.sent, failed.failed) == (0, 1), failed
    assert to(outbox_mails(stack), "retry@example.com") == []
    # When the job runs again the same day, it retries; a third run sends nothing more
    retried = digests.run_digests(_context(), END + timedelta(days=5))
    assert (retried.sent, retried.failed) == (1, 0), retried
    assert digests.run_digests(_context(), END + timedelta(days=5)).already_sent == 1
    assert len(to(outbox_mails(stack), "retry@example.com")) == 1


def test_the_scheduled_job_sends_once_per_day(stack: Any, store: Store) -> None:
    cancel_all(store)
    subscribe(store, "job@example.com", "daily")
    # When EventBridge's input runs the jobs handler twice
    first = stack.local.invoke_job("digests")
    second = stack.local.invoke_job("digests")
    assert first["job"] == "digests" and first["sent"] == 1, first
    assert second["sent"] == 0 and second["already_sent"] == 1, second
    assert len(to(outbox_mails(stack), "job@example.com")) == 1


def _record(body: str, receive_count: int) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": uuid.uuid4().hex,
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:storepulse-reports",
        "awsRegion": "us-east-1",
    }


def test_a_report_that_cannot_be_made_fails_with_its_reason_on_the_last_attempt(
    stack: Any, store: Store
) -> None:
    from backend.handlers.reports import ATTEMPTS, handler
    from devstack.runtime import new_context

    # Given a queued report whose range cannot be read (written around the API's validation)
    report_id = "broken" + uuid.uuid4().hex
    stack.client("dynamodb").put_item(
        TableName=get_settings().require("reports_table"),
        Item={
            "pk": {"S": f"REPORT#{report_id}"},
            "sk": {"S": "REPORT"},
            "report_id": {"S": report_id},
            "type": {"S": "sales_summary"},
            "start": {"S": "2025-13-45"},
            "end": {"S": "2025-03-01"},
            "status": {"S": "pending"},
            "created_at": {"S": "2025-03-01T00:00:00Z"},
        },
    )
    context = new_context("reports", memory=1024, timeout=60, region="us-east-1", account_id="1")

    def attempt(body: str, receive_count: int) -> list[str]:
        result = handler({"Records": [_record(body, receive_count)]}, context)
        return [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]

    # When it fails before its last receive, it stays pending (SQS will retry it)
    assert len(attempt(json.dumps({"report_id": report_id}), 1)) == 1
    assert store.get(f"/v1/reports/{report_id}").json()["status"] == "pending"
    # When its last receive fails, it is failed with the reason (the message goes to the DLQ)
    assert len(attempt(json.dumps({"report_id": report_id}), ATTEMPTS)) == 1
    failed = store.get(f"/v1/reports/{report_id}").json()
    assert failed["status"] == "failed" and failed["download_url"] is None
    assert f"after {ATTEMPTS} attempts" in failed["reason"] and "month must be in 1..12" in failed["reason"]
    # And a message that is not a report request fails alone, as poison
    assert len(attempt("not json", 1)) == 1


def test_two_runs_at_once_send_each_digest_once(stack: Any, store: Store) -> None:
    cancel_all(store)
    addresses = [f"parallel{n}@example.com" for n in range(6)]
    for address in addresses:
        subscribe(store, address, "daily")
    day = END + timedelta(days=9)
    # When two runs of the job overlap (a retry of the schedule while the first still runs)
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda today: digests.run_digests(_context(), today), [day, day]))
    # Then each subscriber gets one e-mail for the day
    assert sum(r.sent for r in runs) == len(addresses) and sum(r.already_sent for r in runs) == len(addresses)
    mails = outbox_mails(stack)
    assert [len(to(mails, address)) for address in addresses] == [1] * len(addresses)


def test_the_cap_holds_when_subscriptions_race(
    stack: Any, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cancel_all(store)
    # Given a store one subscription short of its cap
    for n in range(MAX_SUBSCRIPTIONS - 1):
        ask(store, f"reader{n}.{uuid.uuid4().hex[:8]}@race.example.com", "daily")
    # When several requests count the listing at the same moment, none creating before all counted
    racers = 6
    counted = threading.Barrier(racers)
    waited: set[int] = set()
    real_listing = reports_store.listed_subscriptions

    def listing_then_wait(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        found = real_listing(*args, **kwargs)
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            counted.wait(timeout=60)
        return found

    monkeypatch.setattr(reports_store, "listed_subscriptions", listing_then_wait)
    sent: list[EmailMessage] = []

    def send(mail: EmailMessage) -> str:
        sent.append(mail)
        return "sent"

    def race(n: int) -> str:
        request = SubscriptionRequest(
            email=f"racer{n}.{uuid.uuid4().hex[:8]}@race.example.com", frequency="daily"
        )
        try:
            subscriptions.subscribe(_context(), request, datetime.now(UTC), send=send)
        except subscriptions.TooManySubscriptions:
            return "refused"
        return "created"

    with ThreadPoolExecutor(racers) as pool:
        outcomes = Counter(pool.map(race, range(racers)))
    monkeypatch.undo()
    # Then exactly one takes the last place, the others are refused, and only it got a mail
    assert outcomes == Counter({"created": 1, "refused": racers - 1}), outcomes
    assert len(sent) == 1
    assert len(store.get("/v1/subscriptions").json()["subscriptions"]) == MAX_SUBSCRIPTIONS
    cancel_all(store)
