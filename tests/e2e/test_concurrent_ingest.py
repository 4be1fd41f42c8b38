"""Concurrent clients: every accepted event is the one its client sent, none lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests


def _batch(client: int, request: int) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"cc-{client}-{request}-{n}",
            "type": "inventory.adjusted",
            "occurred_at": "2025-07-01T12:00:00Z",
            "data": {"sku": f"SKU-{client}", "delta": 1, "reason": "restock"},
        }
        for n in range(client + 1)
    ]


def test_concurrent_requests_never_mix_their_bodies(stack: Any) -> None:
    # Given sixteen clients sending at once, each its own SKU and its own batch size
    stack.reset()

    def client(number: int) -> list[int]:
        session = requests.Session()
        accepted = []
        for request in range(40):
            response = session.post(
                f"{stack.api_url}/v1/events",
                json={"events": _batch(number, request)},
                headers={"x-api-key": stack.ingest_key},
                timeout=30,
            )
            assert response.status_code == 202, response.text
            accepted.append(response.json()["accepted"])
        return accepted

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(client, range(16)))
    # Then each answer counts that client's own batch, and every event reached the stock
    assert results == [[number + 1] * 40 for number in range(16)]
    stack.wait_idle(60)
    items = stack.client("dynamodb").query(
        TableName="storepulse-analytics",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "STOCK"}},
        ConsistentRead=True,
    )["Items"]
    on_hand = {k[3:]: int(v["N"]) for item in items for k, v in item.items() if k.startswith("oh:")}
    assert on_hand == {f"SKU-{number}": 40 * (number + 1) for number in range(16)}
