"""Stock kept in the SKUs' own items and a small inbox, and the move from older layouts.

Given a table written by a release that kept ``oh:`` counters, reorder points, statuses and
pending alerts in the 16 stock buckets, when ``migrate_buckets`` runs (as the local stack runs
it at start, and as the ``alert-sweep`` job runs it), then every SKU keeps its stock and its
status, the pending alert is sent once, and the buckets are empty; orders counted before the
move add to the inbox while the stock evaluation counts both places. And an inbox item that
grows is settled into the SKUs' items, exactly, beside an order counted at the same time.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from backend.adapters import alerts
from backend.adapters import stock as stock_items
from backend.adapters.dynamo import to_ddb
from backend.adapters.stock import INBOX_KEYS, LEGACY_INBOX_KEYS, read_stock, stock_page
from backend.domain.stock import bucket_of, legacy_on_hand_key, on_hand_key
from backend.settings import get_settings
from tests import oracle, pipeline
from tests.figures import assert_same_stock


@pytest.fixture
def fresh(stack: Any, store_zone: None) -> None:
    pipeline.allow_read_key()
    pipeline.clear_analytics()


def _order(n: int, sku: str, quantity: int) -> dict[str, Any]:
    return {
        "event_id": f"oh-order-{n}",
        "type": "order.placed",
        "occurred_at": "2025-03-02T10:00:00Z",
        "data": {
            "order_id": f"OH{n}",
            "customer_id": f"OHC{n}",
            "lines": [{"sku": sku, "quantity": quantity, "unit_price": "5.00"}],
            "currency": "USD",
        },
    }


def _bucket(client: Any, table: str, sku: str, values: dict[str, Any]) -> None:
    names = {f"#a{i}": f"{prefix}{sku}" for i, prefix in enumerate(values)}
    client.update_item(
        TableName=table,
        Key={"pk": {"S": "STOCK"}, "sk": {"S": bucket_of(sku)}},
        UpdateExpression="SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(values))),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":a{i}": to_ddb(v) for i, v in enumerate(values.values())},
    )


def _own(client: Any, table: str, sku: str) -> dict[str, Any]:
    return client.get_item(
        TableName=table, Key={"pk": {"S": "CATALOG"}, "sk": {"S": sku}}, ConsistentRead=True
    ).get("Item", {})


def _record_alerts(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The alerts the stock module sends from now on (still sent for real)."""
    sent: list[dict[str, Any]] = []
    real = alerts.send_alert

    def record(events: Any, bus: str, alert: dict[str, Any]) -> None:
        real(events, bus, alert)
        sent.append(alert)

    monkeypatch.setattr(alerts, "send_alert", record)
    return sent


def test_an_older_releases_buckets_are_migrated(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = _record_alerts(monkeypatch)
    # Given the layout of an older release: every SKU's stock and bookkeeping in the buckets,
    # LEGACY-1 already low (its alert sent), LEGACY-5 out with its alert still pending
    table = get_settings().require("analytics_table")
    client = pipeline.dynamodb()
    skus = [f"LEGACY-{n}" for n in range(40)]
    for sku in skus:
        _bucket(client, table, sku, {"oh:": 100 + len(sku), "rp:": 3, "rpv:": "2025-03-01T00:00:00Z"})
    _bucket(client, table, "LEGACY-1", {"oh:": 2, "st:": "low", "seq:": 1})
    pending = {
        "alert_id": "al_legacy5",
        "sku": "LEGACY-5",
        "type": "out_of_stock",
        "on_hand": 0,
        "reorder_point": 3,
        "raised_at": "2025-03-01T09:00:00.000+00:00",
    }
    _bucket(client, table, "LEGACY-5", {"oh:": 0, "st:": "out", "seq:": 1, "pend:": json.dumps(pending)})
    before = pipeline.on_hand()
    assert before["LEGACY-1"] == 2 and before["LEGACY-5"] == 0 and len(before) == len(skus)
    # When orders are counted by this release before the move (their counters go to the inbox)
    pipeline.deliver(
        pipeline.pipeline_form(
            [_order(1, "LEGACY-1", 1), _order(2, "LEGACY-2", 200), _order(3, "LEGACY-5", 1)]
        )
    )
    # Then the evaluation counted both places: LEGACY-2 went out (109 - 200), LEGACY-1 stayed
    # low and LEGACY-5 out without a second alert (their statuses came from their buckets)
    assert [(a["sku"], a["type"]) for a in sent] == [("LEGACY-2", "out_of_stock")]
    # When the buckets are migrated, twice (the second time finds nothing)
    assert stock_items.migrate_buckets(client, table) > 0
    stock_items.migrate_buckets(client, table)
    # Then every SKU keeps its stock, its status is on its own item, and the pending alert waits
    # in STOCK#PENDING for the alert-sweep job
    expected = {**before, "LEGACY-1": 1, "LEGACY-2": before["LEGACY-2"] - 200, "LEGACY-5": -1}
    assert pipeline.on_hand() == expected
    assert _own(client, table, "LEGACY-1")["st"]["S"] == "low"
    assert _own(client, table, "LEGACY-2")["st"]["S"] == "out"
    # And the buckets hold nothing of a SKU any more
    for n in range(16):
        item = client.get_item(
            TableName=table, Key={"pk": {"S": "STOCK"}, "sk": {"S": f"{n:02d}"}}, ConsistentRead=True
        ).get("Item", {})
        assert not [name for name in item if ":" in name], item
    assert _own(client, table, "LEGACY-5")["st"]["S"] == "out"
    # When an older processor still adds to a bucket, the alert-sweep job moves that too, and
    # sends the pending alert, once
    _bucket(client, table, "LEGACY-3", {"oh:": -4})
    sweep = pipeline.handler("jobs")
    assert sweep({"job": "alert-sweep"}, pipeline.context("jobs"))["resent"] == 1
    assert sweep({"job": "alert-sweep"}, pipeline.context("jobs"))["resent"] == 0
    assert pipeline.on_hand() == {**expected, "LEGACY-3": expected["LEGACY-3"] - 4}
    assert [a["alert_id"] for a in sent] == [sent[0]["alert_id"], "al_legacy5"]


def test_the_inbox_of_the_previous_release_is_counted_then_emptied(fresh: None) -> None:
    # Given counters in the inbox of the release before, four items under one partition key
    # ``STOCK`` (the busiest partition of a busy store), and an order counted by this release
    table = get_settings().require("analytics_table")
    client = pipeline.dynamodb()
    skus = [f"OLD-INBOX-{n}" for n in range(12)]
    for n, sku in enumerate(skus):
        client.update_item(
            TableName=table,
            Key={"pk": {"S": legacy_on_hand_key(sku)[0]}, "sk": {"S": legacy_on_hand_key(sku)[1]}},
            UpdateExpression="ADD #oh :oh",
            ExpressionAttributeNames={"#oh": f"oh:{sku}"},
            ExpressionAttributeValues={":oh": to_ddb(10 + n)},
        )
    pipeline.deliver(pipeline.pipeline_form([_order(7, "OLD-INBOX-3", 4)]))
    expected = {sku: 10 + n for n, sku in enumerate(skus)} | {"OLD-INBOX-3": 9}
    # Then this release's counter went to an inbox item under a partition key of its own
    new_key = on_hand_key("OLD-INBOX-3")
    assert new_key[0].startswith("STOCK#OH#") and new_key in INBOX_KEYS
    assert {legacy_on_hand_key(sku) for sku in skus} <= set(LEGACY_INBOX_KEYS)
    # And the readers count both places
    assert {sku: s.on_hand for sku, s in read_stock(client, table, skus).items()} == expected
    page, more = stock_page(client, table, None, 100)
    assert {s.sku: s.on_hand for s in page} == expected and not more
    # When the previous release's inbox is migrated (as the alert-sweep job does), twice
    assert stock_items.migrate_buckets(client, table) == len(skus)
    assert stock_items.migrate_buckets(client, table) == 0
    # Then the stock is unchanged, and the old inbox items hold no counter any more
    assert pipeline.on_hand() == expected
    assert {sku: s.on_hand for sku, s in read_stock(client, table, skus).items()} == expected
    for pk, sk in LEGACY_INBOX_KEYS:
        item = client.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
        assert not [name for name in item.get("Item", {}) if name.startswith("oh:")]


def test_a_grown_inbox_is_settled_exactly(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a tiny settle threshold, so that every inbox item settles after every batch
    monkeypatch.setattr(stock_items, "SETTLE_AT_BYTES", 0)
    history = [
        {
            "event_id": f"settle-adj-{n}",
            "type": "inventory.adjusted",
            "occurred_at": "2025-03-01T08:00:00Z",
            "data": {"sku": f"SETTLE-{n % 30}", "delta": 5 + n % 4, "reason": "restock"},
        }
        for n in range(120)
    ] + [_order(n, f"SETTLE-{n % 30}", 1 + n % 3) for n in range(40)]
    events = pipeline.pipeline_form(history)
    # When adjustments and orders are counted in small batches, then delivered again
    pipeline.deliver(events, batch_size=7)
    pipeline.deliver(events[::3], batch_size=11)
    # Then on hand is exact, and almost all of it sits in the SKUs' own items
    table = get_settings().require("analytics_table")
    client = pipeline.dynamodb()
    assert_same_stock(pipeline.on_hand(), oracle.on_hand(history))
    settled = sum(int(_own(client, table, f"SETTLE-{n}").get("oh", {"N": "0"})["N"]) for n in range(30))
    assert settled != 0
    # And /v1/inventory reads the same figures, in pages of 7
    seen: dict[str, int] = {}
    cursor = None
    while True:
        status, body = pipeline.api_get(
            "/v1/inventory", {"limit": "7"} | ({"cursor": cursor} if cursor else {})
        )
        assert status == 200, body
        seen |= {item["sku"]: item["on_hand"] for item in body["items"]}
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == oracle.on_hand(history)
