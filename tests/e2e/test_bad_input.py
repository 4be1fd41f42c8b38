"""Bad input gets a clear 4xx naming the problem, and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

GOOD = {
    "event_id": "good-1",
    "type": "order.placed",
    "occurred_at": "2025-03-01T10:00:00Z",
    "data": {
        "order_id": "o-1",
        "customer_id": "c-1",
        "lines": [{"sku": "MUG", "quantity": 1, "unit_price": "9.50"}],
        "currency": "USD",
    },
}


def _with(path: str, value: Any) -> dict[str, Any]:
    event = json.loads(json.dumps(GOOD))
    target = event
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    target[parts[-1]] = value
    return event


def _body(*events: dict[str, Any]) -> str:
    return json.dumps({"events": list(events)})


CORPUS = [
    ("bad JSON", "{not json", 400, "JSON"),
    ("NaN", '{"events": [NaN]}', 400, "NaN"),
    ("not an object", "[1, 2]", 400, "events"),
    ("extra top-level field", json.dumps({"events": [GOOD], "also": 1}), 400, "nothing else"),
    ("empty list", _body(), 400, "events"),
    ("unknown data field", _body(_with("data.gift", True)), 400, "data.gift: unknown field"),
    ("unknown envelope field", _body(_with("source", "x")), 400, "source: unknown field"),
    ("naive time", _body(_with("occurred_at", "2025-03-01T10:00:00")), 400, "occurred_at"),
    ("not a time", _body(_with("occurred_at", "yesterday")), 400, "occurred_at"),
    ("3-decimal money", _body(_with("data.lines.0.unit_price", "9.999")), 400, "data.lines[0].unit_price"),
    ("money as number", _body(_with("data.lines.0.unit_price", 9.5)), 400, "data.lines[0].unit_price"),
    ("negative quantity", _body(_with("data.lines.0.quantity", -2)), 400, "data.lines[0].quantity"),
    ("wrong currency", _body(_with("data.currency", "EUR")), 400, "data.currency"),
    ("unknown type", _body(_with("type", "order.exploded")), 400, "type"),
    ("bad event_id", _body(_with("event_id", "has space")), 400, "event_id"),
    ("too many events", _body(*[_with("event_id", f"e{i}") for i in range(501)]), 413, "500"),
    ("oversize body", _body(_with("data.customer_id", "x" * (1024 * 1024))), 413, "bytes"),
    ("year 1", _body(_with("occurred_at", "0001-01-01T00:00:00Z")), 400, "occurred_at: is before 1970"),
    ("year 1 with an offset", _body(_with("occurred_at", "0001-01-01T00:00:00+05:00")), 400, "occurred_at"),
    ("before 1970", _body(_with("occurred_at", "1969-12-31T23:59:59Z")), 400, "occurred_at: is before 1970"),
    (
        "year 9999",
        _body(_with("occurred_at", "9999-12-31T23:59:59-05:00")),
        400,
        "occurred_at: is more than a day",
    ),
    (
        "lone surrogate in an e-mail",
        '{"events": [{"event_id": "r-1", "type": "customer.registered", "occurred_at": '
        '"2025-03-01T10:00:00Z", "data": {"customer_id": "c-1", "country": "US", '
        '"email": "a\\ud800@b.example"}}]}',
        400,
        "data.email: ",
    ),
    ("lone surrogate in a name", _body(_with("data.customer_id", "c\ud83d")), 400, "data.customer_id"),
    ("deeply nested body", '{"events": [' + "[" * 100_000 + "]" * 100_000 + "]}", 400, "nested"),
    ("nested 64 deep", _body(_with("data.gift", json.loads("[" * 64 + "]" * 64))), 400, "nested"),
]


def _post(stack: Any, body: str, key: str | None) -> requests.Response:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["x-api-key"] = key
    return requests.post(f"{stack.api_url}/v1/events", data=body.encode(), headers=headers, timeout=30)


def _assert_error(response: requests.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "details"}
    text = json.dumps(error)
    assert words in text, f"{words!r} not in {text}"
    assert "Traceback" not in response.text


def _nothing_changed(stack: Any) -> None:
    stack.wait_idle(30)
    client = stack.client("dynamodb")
    for table in ("storepulse-ingest", "storepulse-analytics"):
        assert client.scan(TableName=table, Select="COUNT")["Count"] == 0, table


@pytest.mark.parametrize(("name", "body", "status", "words"), CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_request_is_refused_with_words(stack: Any, name: str, body: str, status: int, words: str) -> None:
    stack.reset()
    _assert_error(_post(stack, body, stack.ingest_key), status, words)
    _nothing_changed(stack)


@pytest.mark.parametrize(
    ("key", "status", "words"),
    [(None, 401, "missing"), ("wrong", 401, "not a valid key"), ("read", 403, "cannot ingest")],
)
def test_ingest_needs_the_ingest_key(stack: Any, key: str | None, status: int, words: str) -> None:
    stack.reset()
    presented = stack.read_key if key == "read" else key
    _assert_error(_post(stack, _body(GOOD), presented), status, words)
    _nothing_changed(stack)


def test_read_api_needs_the_read_key(stack: Any) -> None:
    url = f"{stack.api_url}/v1/metrics/summary?start=2025-03-01&end=2025-03-02"
    _assert_error(requests.get(url, headers={"x-api-key": stack.ingest_key}, timeout=10), 403, "cannot read")
    _assert_error(requests.get(url, timeout=10), 401, "missing")
    assert requests.get(f"{stack.api_url}/v1/health", timeout=10).json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("query", "status", "parameter"),
    [
        ("start=2025-03-05&end=2025-03-01", 400, "end"),
        ("start=2023-01-01&end=2025-03-01", 400, "end"),
        ("start=2025-3-1&end=2025-03-01", 422, "start"),
        ("end=2025-03-01", 422, "start"),
        ("start=2025-03-01&end=2025-03-02&compare=yesterday", 422, "compare"),
        ("start=0001-01-01&end=0001-01-31&compare=previous_period", 422, "start"),
        ("start=9999-12-01&end=9999-12-31", 422, "end"),
        ("start=1899-12-31&end=1900-01-01", 422, "start"),
    ],
)
def test_bad_read_parameters_name_the_parameter(stack: Any, query: str, status: int, parameter: str) -> None:
    response = requests.get(
        f"{stack.api_url}/v1/metrics/summary?{query}", headers={"x-api-key": stack.read_key}, timeout=10
    )
    _assert_error(response, status, parameter)


@pytest.mark.parametrize(
    ("path", "query", "parameter"),
    [
        ("/v1/metrics/sales", "start=9999-12-01&end=9999-12-31&granularity=month", "end"),
        ("/v1/metrics/sales", "start=0001-01-01&end=0001-01-31&granularity=week", "start"),
        ("/v1/metrics/channels", "start=0001-01-01&end=0001-01-02", "start"),
        ("/v1/products/top", "start=9999-12-30&end=9999-12-31", "end"),
        ("/v1/customers/cohorts", "start_month=0000-01&end_month=0000-02", "start_month"),
        ("/v1/customers/cohorts", "start_month=2025-01&end_month=9999-12", "end_month"),
        ("/v1/alerts", "since=0001-01-01T00:00:00%2B05:00", "since"),
        ("/v1/alerts", "since=0001-01-01", "since"),
        ("/v1/alerts", "since=9999-12-31T23:00:00-05:00", "since"),
    ],
)
def test_dates_outside_the_calendar_name_the_parameter(
    stack: Any, path: str, query: str, parameter: str
) -> None:
    # Given a date whose arithmetic (a previous period, a week, a month, a time zone) would
    # leave the calendar: it is refused naming the parameter, never a 500
    response = requests.get(
        f"{stack.api_url}{path}?{query}", headers={"x-api-key": stack.read_key}, timeout=10
    )
    _assert_error(response, 422, parameter)


def test_a_report_outside_the_calendar_is_refused(stack: Any) -> None:
    response = requests.post(
        f"{stack.api_url}/v1/reports",
        json={"type": "sales_summary", "start": "0001-01-01", "end": "0001-01-31"},
        headers={"x-api-key": stack.read_key},
        timeout=10,
    )
    _assert_error(response, 422, "start")


def test_unknown_route_is_404(stack: Any) -> None:
    response = requests.get(
        f"{stack.api_url}/v1/nothing-here", headers={"x-api-key": stack.read_key}, timeout=10
    )
    _assert_error(response, 404, "/v1/nothing-here")


def test_valid_events_are_accepted_beside_rejected_ones(stack: Any) -> None:
    stack.reset()
    bad = _with("data.lines.0.quantity", 0)
    bad["event_id"] = "bad-1"
    response = _post(stack, _body(GOOD, bad), stack.ingest_key)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 1 and body["duplicates"] == 0
    assert [r["index"] for r in body["rejected"]] == [1]
    assert body["rejected"][0]["event_id"] == "bad-1"
    assert any("data.lines[0].quantity" in e for e in body["rejected"][0]["errors"])
    # The same event again, even with another payload, is a duplicate counted once
    changed = _with("data.lines.0.quantity", 5)
    again = _post(stack, _body(GOOD, changed), stack.ingest_key).json()
    assert again == {"accepted": 0, "duplicates": 2, "rejected": []}
    stack.wait_idle(30)
    summary = requests.get(
        f"{stack.api_url}/v1/metrics/summary?start=2025-03-01&end=2025-03-01",
        headers={"x-api-key": stack.read_key},
        timeout=10,
    ).json()["current"]
    assert (summary["orders"], summary["units"], summary["gross_sales"]) == (1, 1, "9.50")
