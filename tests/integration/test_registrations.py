"""Registrations kept in the shared registry items, the latest by event time winning.

Given customers registering twice (a new country and e-mail later), delivered in any order,
partly twice and in batches of any composition, then each customer's latest registration by
event time is the one read back, and no e-mail is stored in clear.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from backend.adapters.dynamo import query_partition
from backend.processing import customers
from backend.settings import get_settings
from tests import pipeline


@pytest.fixture
def fresh(stack: Any, store_zone: None) -> None:
    pipeline.allow_read_key()
    stack.wait_idle(60)  # what other tests sent through the stack is written before the clear
    pipeline.clear_analytics()


def registrations(table: str) -> dict[str, customers.Registration]:
    """Every customer's latest registration: each registry partition queried."""
    items = [
        item
        for shard in range(customers.REGISTRY_SHARDS)
        for item in query_partition(pipeline.dynamodb(), table, f"{customers.REGISTRY_PREFIX}{shard}")
    ]
    return customers.latest(items)


def _registration(n: int, customer: str, at: str, country: str, email: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"customer_id": customer, "country": country}
    if email:
        data["email"] = email
    return {"event_id": f"reg-{n}", "type": "customer.registered", "occurred_at": at, "data": data}


def test_latest_registration_wins_whatever_the_delivery(fresh: None) -> None:
    # Given 40 customers, every third registering again later with another country and e-mail
    raw: list[dict[str, Any]] = []
    for c in range(40):
        raw.append(_registration(len(raw), f"R{c}", "2025-03-01T10:00:00Z", "US", f"r{c}@example.com"))
        if c % 3 == 0:
            raw.append(_registration(len(raw), f"R{c}", "2025-03-05T10:00:00Z", "FR", f"new{c}@example.com"))
    events = pipeline.pipeline_form(raw)
    rng = random.Random(4)
    # When they arrive shuffled, a quarter of them twice, in batches of 7 and then of 10
    delivered = rng.sample(events, len(events))
    pipeline.deliver(delivered, batch_size=7)
    pipeline.deliver(rng.sample(delivered, len(delivered) // 4), batch_size=10)
    # Then each customer's registration is their latest one
    table = get_settings().require("analytics_table")
    found = registrations(table)
    latest = {e["data"]["customer_id"]: e for e in sorted(events, key=lambda e: e["occurred_at"])}
    assert sorted(found) == sorted(latest)
    for customer, event in latest.items():
        assert found[customer].country == event["data"]["country"], customer
        assert found[customer].email_hash == event["data"]["email_hash"], customer
        assert len(found[customer].email_hash or "") == 64
    # And the registry stores hashes only, about six registrations to an item
    items = [
        item
        for shard in range(customers.REGISTRY_SHARDS)
        for item in pipeline.dynamodb().query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"{customers.REGISTRY_PREFIX}{shard}"}},
        )["Items"]
    ]
    assert items and not any("@" in str(item) for item in items)
