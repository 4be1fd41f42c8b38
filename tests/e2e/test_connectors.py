"""Store webhooks over HTTP, through the local API Gateway, the connectors function, the ingest
path and the processors, to the read API (CONTRACT section 8).

The payloads are the platforms' documented webhooks (tests/fixtures/connectors); each request is
signed as the platform signs it, with the stack's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.cli import main
from devstack.dlq import list_webhooks
from tests.conftest import StackFixture

FIXTURES = Path(__file__).parents[1] / "fixtures" / "connectors"
ANALYTICS = "storepulse-analytics"
INGEST = "storepulse-ingest"


def body_of(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify(
    stack: StackFixture, topic: str, body: bytes, delivery: str, signature: str | None = "sign"
) -> requests.Response:
    assert stack.local.keys is not None
    headers = {"X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": delivery, "Content-Type": "application/json"}
    if signature is not None:
        headers["X-Shopify-Hmac-Sha256"] = (
            sign(body, stack.local.keys.shopify_secret) if signature == "sign" else signature
        )
    return requests.post(f"{stack.api_url}/v1/connectors/shopify", data=body, headers=headers, timeout=30)


def woocommerce(stack: StackFixture, topic: str, body: bytes, delivery: str) -> requests.Response:
    assert stack.local.keys is not None
    headers = {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Delivery-ID": delivery,
        "X-WC-Webhook-Signature": sign(body, stack.local.keys.woocommerce_secret),
        "Content-Type": "application/json",
    }
    return requests.post(f"{stack.api_url}/v1/connectors/woocommerce", data=body, headers=headers, timeout=30)


def summary(stack: StackFixture, start: str, end: str) -> dict[str, Any]:
    response = requests.get(
        f"{stack.api_url}/v1/metrics/summary",
        params={"start": start, "end": end},
        headers={"x-api-key": stack.read_key},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["current"])


def stock(stack: StackFixture) -> dict[str, int]:
    response = requests.get(
        f"{stack.api_url}/v1/inventory", headers={"x-api-key": stack.read_key}, timeout=10
    )
    assert response.status_code == 200, response.text
    return {item["sku"]: item["on_hand"] for item in response.json()["items"]}


def items(stack: StackFixture, table: str) -> int:
    return int(stack.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"])


@pytest.fixture
def fresh(stack: StackFixture) -> Iterator[StackFixture]:
    stack.reset()
    yield stack


def test_a_shopify_order_refund_and_redelivery_count_as_shopify_reports_them(fresh: StackFixture) -> None:
    stack = fresh
    # Given the product's variants, then the order, delivered twice (Shopify retries with the
    # same X-Shopify-Webhook-Id), then a refund of one black iPod with restock
    product = shopify(stack, "products/update", body_of("shopify_products_update"), "d-product")
    first = shopify(stack, "orders/create", body_of("shopify_orders_create"), "d-order")
    again = shopify(stack, "orders/create", body_of("shopify_orders_create"), "d-order")
    refund = shopify(stack, "refunds/create", body_of("shopify_refunds_create"), "d-refund")
    # and (a store subscribed to it) orders/updated of the same order, cancelled
    update = shopify(stack, "orders/updated", body_of("shopify_orders_updated_cancelled"), "d-update")
    # Then each is acknowledged; the redelivery is a duplicate, the update changes nothing
    assert [r.status_code for r in (product, first, again, refund, update)] == [200] * 5
    assert (update.json()["status"], update.json()["accepted"]) == ("ignored", 0)
    assert product.json()["accepted"] == 2
    assert (first.json()["status"], first.json()["accepted"]) == ("accepted", 1)
    assert (again.json()["status"], again.json()["duplicates"]) == ("duplicate", 1)
    assert refund.json()["accepted"] == 1
    stack.wait_idle(60)
    # And the order's day shows Shopify's figures: gross 383.00 (gift card apart), discounts 20.00
    day = summary(stack, "2025-03-14", "2025-03-14")
    assert (day["orders"], day["units"], day["discounts"]) == (1, 3, "20.00")
    assert (day["gross_sales"], day["net_sales"], day["customers"], day["new_customers"]) == (
        "383.00",
        "363.00",
        1,
        1,
    )
    # And the refund's day its return, 87.00, without its tax and shipping
    refund_day = summary(stack, "2025-03-20", "2025-03-20")
    assert (refund_day["returns"], refund_day["orders"]) == ("87.00", 0)
    # And the variant without SKU is a SKU of its own: -2 ordered, +1 restocked
    assert stock(stack) == {"IPOD2008PINK": -1, "457924702": -1}


def test_a_wrong_or_missing_signature_is_401_and_changes_nothing(fresh: StackFixture) -> None:
    stack = fresh
    body = body_of("shopify_orders_create")
    changed = bytearray(body)
    changed[body.index(b'"199.00"') + 1] = ord("9")  # one byte: 199.00 -> 999.00
    before = (items(stack, INGEST), items(stack, ANALYTICS))
    answers = [
        shopify(stack, "orders/create", body, "d-none", signature=None),
        shopify(stack, "orders/create", body, "d-wrong", signature=sign(body, "not the secret")),
        # signed for the original body, sent with one byte changed
        shopify(stack, "orders/create", bytes(changed), "d-byte", signature=shopify_signature(stack, body)),
    ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert all(a.json()["error"]["code"] == "bad_signature" for a in answers)
    stack.wait_idle(30)
    assert (items(stack, INGEST), items(stack, ANALYTICS)) == before
    # While the same request signed right is taken
    assert shopify(stack, "orders/create", body, "d-good").json()["accepted"] == 1


def shopify_signature(stack: StackFixture, body: bytes) -> str:
    assert stack.local.keys is not None
    return sign(body, stack.local.keys.shopify_secret)


def test_unknown_topics_are_acknowledged_and_unmappable_payloads_kept_for_dlq_list(
    fresh: StackFixture, capsys: pytest.CaptureFixture[str], kept_environment: None
) -> None:
    stack = fresh
    # Given a topic storepulse does not read, an order in another currency, and a body that
    # is not JSON
    unknown = shopify(stack, "carts/update", b'{"id": 1}', "d-cart")
    euro = shopify(stack, "orders/create", body_of("shopify_orders_create_eur"), "d-euro")
    garbage = shopify(stack, "orders/create", b"<xml/>", "d-xml")
    # Then all are 200 (Shopify keeps the webhook enabled)
    assert [r.status_code for r in (unknown, euro, garbage)] == [200, 200, 200]
    assert unknown.json()["status"] == "ignored"
    assert euro.json()["status"] == "kept" and "is in EUR, the store counts USD" in euro.json()["reason"]
    # And the two that could not be mapped wait where storepulse dlq list shows them, without
    # the customer's personal data
    kept = list_webhooks(stack.aws, analytics_table=ANALYTICS)
    assert sorted(w.delivery_id for w in kept) == ["d-euro", "d-xml"]
    euro_kept = next(w for w in kept if w.delivery_id == "d-euro")
    assert "jon@example.com" not in euro_kept.payload and "820982911946154599" in euro_kept.payload
    assert main(["dlq", "list"]) == 0
    listing = capsys.readouterr().out
    assert "d-euro" in listing and "is in EUR" in listing and "could not be mapped" in listing
    # And nothing was counted
    stack.wait_idle(30)
    assert summary(stack, "2025-03-14", "2025-03-14")["orders"] == 0


def test_a_stock_level_becomes_the_adjustment_that_reaches_it(fresh: StackFixture) -> None:
    stack = fresh
    # Given the product (its inventory items) and the order (-2 black iPods)
    shopify(stack, "products/update", body_of("shopify_products_update"), "d-p")
    shopify(stack, "orders/create", body_of("shopify_orders_create"), "d-o")
    stack.wait_idle(60)
    level = json.loads(body_of("shopify_inventory_levels_update"))
    # When Shopify reports 42 available at one location, then 40 at another, then (late) an
    # older level of the first, and redelivers the second
    first = shopify(stack, "inventory_levels/update", json.dumps(level).encode(), "d-l1")
    second_level = level | {"location_id": 99, "available": 40, "updated_at": "2025-03-02T11:00:00-05:00"}
    second = json.dumps(second_level).encode()
    assert shopify(stack, "inventory_levels/update", second, "d-l2").json()["accepted"] == 1
    stale = level | {"available": 7, "updated_at": "2025-03-02T09:00:00-05:00"}
    assert (
        shopify(stack, "inventory_levels/update", json.dumps(stale).encode(), "d-l0").json()["status"]
        == "ignored"
    )
    again = shopify(stack, "inventory_levels/update", second, "d-l2").json()
    assert first.json()["accepted"] == 1 and again["status"] in ("duplicate", "ignored")
    stack.wait_idle(60)
    # Then the SKU's on-hand is the sum of the locations' levels, 82, whatever came before
    assert stock(stack)["457924702"] == 82


def test_a_level_for_an_item_no_product_named_is_kept(fresh: StackFixture) -> None:
    stack = fresh
    answer = shopify(stack, "inventory_levels/update", body_of("shopify_inventory_levels_update"), "d-x")
    assert answer.status_code == 200 and answer.json()["status"] == "kept"
    assert "inventory item 457924702 is not known yet" in answer.json()["reason"]


def test_a_woocommerce_order_counts_when_paid_and_its_refund_by_id(fresh: StackFixture) -> None:
    stack = fresh
    created = woocommerce(stack, "order.created", body_of("woocommerce_order_created"), "w1")
    updated = woocommerce(stack, "order.updated", body_of("woocommerce_order_updated_refund"), "w2")
    resent = woocommerce(stack, "order.updated", body_of("woocommerce_order_updated_refund"), "w3")
    # and a second refund that puts one unit of variation 23 back on the shelf, delivered twice
    restocked = body_of("woocommerce_order_updated_refund_restock")
    returned = [woocommerce(stack, "order.updated", restocked, delivery) for delivery in ("w4", "w5")]
    assert created.json()["accepted"] == 1
    assert (updated.json()["accepted"], updated.json()["duplicates"]) == (1, 1)
    assert (resent.json()["accepted"], resent.json()["duplicates"]) == (0, 2)
    assert [(r.json()["accepted"], r.json()["duplicates"]) for r in returned] == [(2, 2), (0, 4)]
    stack.wait_idle(60)
    # 2025-03-22T19:28:02Z is 15:28 in New York: the store day is the 22nd
    day = summary(stack, "2025-03-22", "2025-03-22")
    assert (day["orders"], day["units"], day["gross_sales"], day["discounts"]) == (1, 5, "56.00", "5.00")
    assert summary(stack, "2025-03-25", "2025-03-25")["returns"] == "12.50"
    assert summary(stack, "2025-03-27", "2025-03-27")["returns"] == "16.66"
    # 3 of variation 23 ordered, 1 restocked once however often the update came
    assert stock(stack) == {"WOO-SINGLE-1": -2, "23": -2}
