"""One order followed through the local stack's logs: its event id on a JSON line of ingest and
of every processor that touched it, all with the correlation id of the request that sent it
(docs/operations.md, "Following one event")."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from backend.logs import CORRELATION_HEADER
from devstack.stack import function_log_path
from tests.pipeline import ROUTES

if TYPE_CHECKING:
    from tests.conftest import StackFixture


def _lines(path: Path) -> list[dict[str, Any]]:
    # Every line of the file is one JSON object (a line that is not fails the test here).
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _mentions(line: dict[str, Any], event_id: str) -> bool:
    return line.get("event_id") == event_id or event_id in (line.get("event_ids") or [])


def _post(stack: StackFixture, events: list[dict[str, Any]], headers: dict[str, str]) -> requests.Response:
    return requests.post(
        f"{stack.api_url}/v1/events",
        json={"events": events},
        headers={"x-api-key": stack.ingest_key, **headers},
        timeout=30,
    )


def test_one_order_is_followed_from_ingest_to_every_processor(stack: StackFixture) -> None:
    # Given an order and a registration carrying an e-mail, sent with the client's correlation id
    tag = uuid.uuid4().hex[:12]
    correlation_id = f"checkout-{tag}"
    email = f"trail-{tag}@example.com"
    order_id, event_id = f"o-trail-{tag}", f"e-trail-{tag}"
    occurred = datetime(2026, 3, 2, 12, tzinfo=UTC).isoformat()
    events = [
        {
            "event_id": event_id,
            "type": "order.placed",
            "occurred_at": occurred,
            "data": {
                "order_id": order_id,
                "customer_id": f"c-{tag}",
                "lines": [{"sku": "TRAIL-1", "quantity": 1, "unit_price": "9.50"}],
                "currency": "USD",
            },
        },
        {
            "event_id": f"r-trail-{tag}",
            "type": "customer.registered",
            "occurred_at": occurred,
            "data": {"customer_id": f"c-{tag}", "country": "DE", "email": email},
        },
    ]

    # When it goes through the stack
    response = _post(stack, events, {CORRELATION_HEADER: correlation_id})
    assert response.status_code == 202, response.text
    assert response.headers[CORRELATION_HEADER] == correlation_id
    stack.wait_idle(30)

    # Then the functions' log holds the order's event id on a line of ingest and of each
    # processor whose queue takes orders, each with the request's correlation id
    path = function_log_path(stack.data_dir)
    lines = _lines(path)
    trail = [line for line in lines if _mentions(line, event_id)]
    processors = {f"storepulse-{function}" for function, _ in ROUTES["order.placed"]}
    assert {"storepulse-orders", "storepulse-lake"} <= processors
    assert {line["service"] for line in trail} == {"storepulse-ingest", *processors}
    assert {line["correlation_id"] for line in trail} == {correlation_id}
    published = [line for line in trail if line["service"] == "storepulse-ingest"]
    assert [line["message"] for line in published] == ["packet published"]
    applied = {line["service"]: line for line in trail if line["message"] == "message applied"}
    assert set(applied) == processors
    # the same packet, as the queue delivered it to each processor
    assert {line["packet_id"] for line in trail} == {published[0]["packet_id"]}
    # and no e-mail in clear anywhere in the log
    assert email not in path.read_text(encoding="utf-8")


def test_a_request_without_a_correlation_id_gets_one(stack: StackFixture) -> None:
    # Given a request with no header, and one whose header is not an id (spaces, too long)
    tag = uuid.uuid4().hex[:12]
    event: dict[str, Any] = {
        "event_id": f"e-nocorr-{tag}",
        "type": "inventory.adjusted",
        "occurred_at": datetime(2026, 3, 2, 12, tzinfo=UTC).isoformat(),
        "data": {"sku": f"TRAIL-{tag}", "delta": 3, "reason": "restock"},
    }
    plain = _post(stack, [event], {})
    odd = _post(stack, [{**event, "event_id": f"e-odd-{tag}"}], {CORRELATION_HEADER: "not an id " * 20})
    stack.wait_idle(30)

    # Then each was given a fresh id, answered in the header and carried to the processors
    for response, event_id in ((plain, event["event_id"]), (odd, f"e-odd-{tag}")):
        assert response.status_code == 202, response.text
        given = response.headers[CORRELATION_HEADER]
        assert given and " " not in given
        trail = [line for line in _lines(function_log_path(stack.data_dir)) if _mentions(line, event_id)]
        assert {line["service"] for line in trail} >= {"storepulse-ingest", "storepulse-inventory"}
        assert {line["correlation_id"] for line in trail} == {given}
