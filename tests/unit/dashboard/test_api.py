"""The dashboard's API client against a small HTTP server: errors in words, the read key, the
short-lived cache of GET answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from dashboard import api
from dashboard.settings import get_settings
from devstack.aws import free_port
from tests.unit.dashboard.stand_in import stand_in_api


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    seen: dict[str, Any] = {"requests": [], "keys": set()}

    @Request.application
    def app(request: Request) -> Response:
        seen["requests"].append((request.method, request.path))
        seen["keys"].add(request.headers.get("x-api-key"))
        if request.path == "/v1/metrics/summary":
            return Response('{"current": {"net_sales": "1.00"}}', mimetype="application/json")
        if request.path == "/v1/reports" and request.method == "POST":
            return Response(
                '{"report_id": "r1", "status": "pending"}', status=202, mimetype="application/json"
            )
        if request.path == "/v1/inventory" and request.args.get("status") == "low":
            # Seven SKUs, served `limit` at a time after the cursor (the SKU last sent)
            skus = [f"S{n}" for n in range(7)]
            after = request.args.get("cursor")
            rest = [s for s in skus if after is None or s > after]
            page = rest[: int(request.args["limit"])]
            more = len(rest) > len(page)
            body = json.dumps(
                {
                    "as_of": "2025-05-07",
                    "items": [{"sku": s} for s in page],
                    "next_cursor": page[-1] if more else None,
                }
            )
            return Response(body, mimetype="application/json")
        if request.path == "/v1/inventory":
            body = '{"error": {"code": "bad", "message": "status: unknown value", "details": []}}'
            return Response(body, status=422, mimetype="application/json")
        return Response('{"error": {"code": "not_found", "message": "no route"}}', status=404)

    with stand_in_api(monkeypatch, app):
        yield seen


def test_get_answers_are_reused_and_a_change_forgets_them(served: dict[str, Any]) -> None:
    assert api.get("/metrics/summary", start="2025-05-01", end="2025-05-07")["current"]["net_sales"] == "1.00"
    api.get("/metrics/summary", start="2025-05-01", end="2025-05-07")
    assert served["requests"] == [("GET", "/v1/metrics/summary")]
    api.get_fresh("/metrics/summary", start="2025-05-01", end="2025-05-07")
    api.get("/metrics/summary", start="2025-05-02", end="2025-05-07")
    assert len(served["requests"]) == 3
    assert api.request("POST", "/reports", json={"type": "inventory"})["report_id"] == "r1"
    api.get("/metrics/summary", start="2025-05-01", end="2025-05-07")
    assert len(served["requests"]) == 5 and served["keys"] == {"the-read-key"}


def test_a_paged_route_is_read_to_its_end(served: dict[str, Any]) -> None:
    # Given a route that pages seven SKUs, when it is read three at a time
    body = api.get_all("/inventory", page_size=3, status="low")
    # Then every SKU comes once, in order, from three requests, with the first page's fields
    assert [item["sku"] for item in body["items"]] == [f"S{n}" for n in range(7)]
    assert body["as_of"] == "2025-05-07" and body["next_cursor"] is None
    assert served["requests"].count(("GET", "/v1/inventory")) == 3


def test_failures_are_words(served: dict[str, Any]) -> None:
    with pytest.raises(api.RouteMissing, match=r"GET /v1/customers/segments answered 404"):
        api.get("/customers/segments")
    with pytest.raises(api.ApiRefused, match="status: unknown value"):
        api.get("/inventory", status="nope")
    with pytest.raises(api.RouteMissing):
        api.get("/customers/segments")
    assert served["requests"].count(("GET", "/v1/customers/segments")) == 2  # errors are not kept


def test_an_api_that_does_not_answer_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("STOREPULSE_API_URL", dead)
    get_settings.cache_clear()
    try:
        with pytest.raises(api.ApiUnavailable, match=f"{dead} cannot be reached"):
            api.get("/metrics/summary", start="2025-05-01", end="2025-05-07")
    finally:
        get_settings.cache_clear()
