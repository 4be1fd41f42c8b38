"""Accepted means durable: when SNS fails, the client hears 503 and a retry is safe."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from backend.adapters import bus
from backend.domain.events import Event


def _order(n: int) -> dict[str, Any]:
    return {
        "event_id": f"dur-{n}",
        "type": "order.placed",
        "occurred_at": "2025-06-02T12:00:00Z",
        "data": {
            "order_id": f"D-{n}",
            "customer_id": f"C-{n % 3}",
            "lines": [{"sku": "MUG", "quantity": 1, "unit_price": "10.00"}],
            "currency": "USD",
        },
    }


def _post(stack: Any, events: list[dict[str, Any]]) -> requests.Response:
    return requests.post(
        f"{stack.api_url}/v1/events",
        json={"events": events},
        headers={"x-api-key": stack.ingest_key},
        timeout=30,
    )


def test_a_failed_publish_is_a_503_and_the_same_batch_can_be_sent_again(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SNS that refuses every event whose id ends in an odd digit
    stack.reset()
    real = bus.publish

    def flaky(sns: Any, topic_arn: str, events: list[Event]) -> list[Event]:
        refused = [e for e in events if int(e.event_id[-1]) % 2]
        real(sns, topic_arn, [e for e in events if e not in refused])
        return refused

    monkeypatch.setattr(bus, "publish", flaky)
    batch = [_order(n) for n in range(10)]
    # When a batch is sent, then the client hears 503 naming what was not queued
    response = _post(stack, batch)
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert "send the same batch again" in error["message"]
    assert sorted(d["event_id"] for d in error["details"]) == [f"dur-{n}" for n in range(1, 10, 2)]
    # When SNS recovers and the client sends the same batch again
    monkeypatch.setattr(bus, "publish", real)
    retry = _post(stack, batch)
    assert retry.status_code == 202, retry.text
    assert retry.json() == {"accepted": 5, "duplicates": 5, "rejected": []}
    stack.wait_idle(60)
    # Then every order counts exactly once
    summary = requests.get(
        f"{stack.api_url}/v1/metrics/summary",
        params={"start": "2025-06-02", "end": "2025-06-02"},
        headers={"x-api-key": stack.read_key},
        timeout=10,
    ).json()["current"]
    assert (summary["orders"], summary["gross_sales"], summary["customers"]) == (10, "100.00", 3)
