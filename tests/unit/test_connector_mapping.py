"""Shopify and WooCommerce webhooks as events: the mapping alone, on the platforms' documented
payloads (tests/fixtures/connectors), each figure worked out by hand from the payload."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from backend.connectors import Unmappable, map_shopify, map_woocommerce, signature_matches
from backend.connectors.common import event_id_for
from backend.connectors.shopify_export import read_export
from backend.domain.events import parse_event
from backend.processing.connectors import customer_ids

FIXTURES = Path(__file__).parents[1] / "fixtures" / "connectors"
NOW = datetime(2025, 4, 1, tzinfo=UTC)
CUSTOMERS = customer_ids("shopify", "test-pii-key")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def shopify(
    topic: str, name: str, delivery: str = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", currency: str = "USD"
) -> Any:
    return map_shopify(topic, fixture(name), delivery_id=delivery, currency=currency, customers=CUSTOMERS)


def woocommerce(topic: str, name: str, delivery: str = "1", currency: str = "USD") -> Any:
    return map_woocommerce(topic, fixture(name), delivery_id=delivery, currency=currency, customers=CUSTOMERS)


def valid(event: dict[str, Any], currency: str = "USD") -> dict[str, Any]:
    """The event passes the ingest path's own validation (the same models as POST /v1/events)."""
    parse_event(event, currency=currency, now=NOW)
    return event


def test_a_shopify_order_is_gross_by_line_discounts_shipping_and_tax_apart() -> None:
    # Given Shopify's orders/create payload: 1 x 199.00 (SKU), 2 x 92.00 (variant without SKU),
    # a 50.00 gift card, 20.00 of discount codes, 10.00 shipping, 30.64 tax
    mapped = shopify("orders/create", "shopify_orders_create")
    # Then it is one order.placed the ingest path accepts
    (event,) = mapped.events
    data = valid(event)["data"]
    assert event["type"] == "order.placed"
    assert event["event_id"] == "shopify:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043:0"
    assert event["occurred_at"] == "2025-03-14T16:09:58-04:00"
    assert data["order_id"] == "820982911946154508"
    # the variant id is the SKU of the line without one; the gift card is no sale
    assert data["lines"] == [
        {"sku": "IPOD2008PINK", "quantity": 1, "unit_price": "199.00"},
        {"sku": "457924702", "quantity": 2, "unit_price": "92.00"},
    ]
    gross = sum(Decimal(x["unit_price"]) * x["quantity"] for x in data["lines"])
    assert gross == Decimal("383.00")  # Shopify's subtotal before discounts, gift card apart
    assert (data["discount"], data["shipping"], data["tax"]) == ("20.00", "10.00", "30.64")
    assert (data["currency"], data["channel"]) == ("USD", "web")
    # and the customer is the keyed hash of the e-mail, never the address
    assert data["customer_id"] == CUSTOMERS("jon@example.com", None)
    assert "jon@example.com" not in json.dumps(event)


def test_a_shop_whose_prices_include_tax_counts_its_sales_without_the_tax() -> None:
    # Given the documented orders/create of a shop whose prices include 20 % VAT
    # (taxes_included: true): 1 x 199.00 and 2 x 92.00 with the tax inside, 10.00 of the
    # discount on each, a 50.00 gift card (no tax), 10.00 shipping holding 1.67 of tax
    (event,) = shopify("orders/create", "shopify_orders_create_taxes_included", currency="EUR").events
    data = valid(event, currency="EUR")["data"]
    # Then gross sales are the lines without their tax, as Shopify's sales reports take it out:
    # 199.00 / 1.2 = 165.83, 184.00 / 1.2 = 153.33 (two units at 76.66 and 76.67, exactly)
    assert data["lines"] == [
        {"sku": "IPOD2008PINK", "quantity": 1, "unit_price": "165.83"},
        {"sku": "457924702", "quantity": 1, "unit_price": "76.66"},
        {"sku": "457924702", "quantity": 1, "unit_price": "76.67"},
    ]
    gross = sum(Decimal(x["unit_price"]) * x["quantity"] for x in data["lines"])
    # and the discounts without theirs (10.00 / 1.2 = 8.33 twice); the tax stays the order's
    assert (gross, data["discount"], data["tax"], data["shipping"]) == (
        Decimal("319.16"), "16.66", "62.17", "8.33",
    )  # fmt: skip
    # So net sales + tax + shipping is what the customer paid for the two iPods and the shipping:
    # 199.00 + 184.00 - 20.00 + 10.00
    net = gross - Decimal(data["discount"])
    assert net + Decimal(data["tax"]) + Decimal(data["shipping"]) == Decimal("373.00")


def test_an_export_of_a_shop_whose_prices_include_tax_is_counted_without_it() -> None:
    # Given Shopify's orders export of the same order in a 20 % VAT shop: the export has no
    # taxes_included column, but its Total holds no tax on top (363.00 + 10.00 = 373.00),
    # and, beside it, the order in a shop that adds the tax (Total 403.64 = 363.00 + 10.00 + 30.64)
    def rows(name: str, order_id: str, taxes: str, total: str) -> list[dict[str, str]]:
        first = {
            "Name": name, "Id": order_id, "Email": "jon@example.com", "Currency": "EUR",
            "Subtotal": "363.00", "Shipping": "10.00", "Taxes": taxes, "Total": total,
            "Discount Amount": "20.00", "Created at": "2025-03-14 16:09:58 -0400", "Source": "web",
            "Refunded Amount": "0.00", "Lineitem quantity": "1", "Lineitem price": "199.00",
            "Lineitem sku": "IPOD2008PINK", "Lineitem name": "IPod Nano - 8GB - Pink",
        }  # fmt: skip
        second = {"Name": name, "Lineitem quantity": "2", "Lineitem price": "92.00", "Lineitem sku": "",
                  "Lineitem name": "IPod Nano - 8GB - black"}  # fmt: skip
        return [first, second]

    export = rows("#1001", "1001", "62.17", "373.00") + rows("#1002", "1002", "30.64", "403.64")
    numbered = list(enumerate(export, start=2))
    vat, plain = (e for _, e in read_export(numbered, currency="EUR", customers=CUSTOMERS))
    assert isinstance(vat, dict) and isinstance(plain, dict)

    def figures(event: dict[str, Any]) -> tuple[Decimal, str, str, str]:
        data = valid(event, currency="EUR")["data"]
        gross = sum(Decimal(x["unit_price"]) * x["quantity"] for x in data["lines"])
        return gross, data["discount"], data["shipping"], data["tax"]

    # Then the tax-inclusive order counts its lines, discount and shipping without the tax (a
    # cent from the webhook's 16.66 discount: the export gives no per-line split to round by)
    assert figures(vat) == (Decimal("319.16"), "16.67", "8.33", "62.17")
    # and the other one as it stands
    assert figures(plain) == (Decimal("383.00"), "20.00", "10.00", "30.64")


def test_a_woocommerce_store_whose_prices_include_tax_counts_its_subtotals_which_never_hold_it() -> None:
    # Given a WooCommerce order of a store entering prices with 20 % VAT (prices_include_tax):
    # WooCommerce stores line subtotals, coupons and shipping without the tax, the tax apart
    (event,) = woocommerce(
        "order.created", "woocommerce_order_created_prices_include_tax", currency="EUR"
    ).events
    data = valid(event, currency="EUR")["data"]
    # Then gross sales are 6.00 + 45.00 (not the 61.20 the customer saw on the shelf)
    assert sum(Decimal(x["unit_price"]) * x["quantity"] for x in data["lines"]) == Decimal("51.00")
    assert (data["discount"], data["shipping"], data["tax"]) == ("5.00", "10.00", "11.20")


@pytest.mark.parametrize(
    ("source_name", "channel"),
    [("web", "web"), ("pos", "pos"), ("iphone", "mobile"), ("android", "mobile"),
     ("shopify_draft_order", "web"), ("amazon", "marketplace"), ("580111", "marketplace")],
)  # fmt: skip
def test_source_name_is_the_channel(source_name: str, channel: str) -> None:
    payload = fixture("shopify_orders_create") | {"source_name": source_name}
    mapped = map_shopify("orders/create", payload, delivery_id="d1", currency="USD", customers=CUSTOMERS)
    assert mapped.events[0]["data"]["channel"] == channel


def test_test_orders_and_their_refunds_are_left_out_as_in_shopify_reports() -> None:
    # Given the documented order and refund, made with the store's test gateway
    order = fixture("shopify_orders_create") | {"test": True}
    refund = fixture("shopify_refunds_create")
    for transaction in refund["transactions"]:
        transaction["test"] = True
    for topic, payload in (("orders/create", order), ("refunds/create", refund)):
        mapped = map_shopify(topic, payload, delivery_id="d-test", currency="USD", customers=CUSTOMERS)
        # Then nothing is counted, and the answer says why
        assert mapped.events == [] and "test" in mapped.ignored


def test_an_order_in_another_currency_is_refused_in_words() -> None:
    with pytest.raises(Unmappable, match=r"order 820982911946154599 is in EUR, the store counts USD"):
        shopify("orders/create", "shopify_orders_create_eur")


def test_a_refund_returns_its_lines_by_its_own_date_without_tax_and_shipping_and_restocks() -> None:
    # Given a refund: 98.96 paid back (a failed attempt beside it), 6.96 of it tax, 5.00 shipping,
    # one black iPod (no SKU) returned to stock
    (event,) = shopify("refunds/create", "shopify_refunds_create").events
    data = valid(event)["data"]
    assert event["type"] == "order.refunded"
    assert event["occurred_at"] == "2025-03-20T11:15:02-04:00"
    assert (data["order_id"], data["refund_id"]) == ("820982911946154508", "509562969")
    # Then returns = 98.96 - 6.96 - 5.00 = 87.00: the line's 92.00 less its 5.00 of discount
    assert data["amount"] == "87.00"
    assert data["restock"] == [{"sku": "457924702", "quantity": 1}]


def test_a_refund_in_a_shop_whose_prices_include_tax_returns_the_lines_without_it() -> None:
    # Given the documented refund of one black iPod in the 20 % VAT shop: 87.00 paid back (its
    # 92.00 less its 5.00 of discount, the tax inside), 14.50 of it tax, no shipping refunded
    payload = fixture("shopify_refunds_create") | {"order_adjustments": []}
    payload["transactions"][0]["amount"] = "87.00"
    item = payload["refund_line_items"][0]
    item["total_tax_set"]["shop_money"]["amount"] = "14.50"
    (event,) = map_shopify(
        "refunds/create", payload, delivery_id="d-vat", currency="USD", customers=CUSTOMERS
    ).events
    # Then the return is 87.00 / 1.2 = 72.50, as the order's lines were counted without the tax
    assert valid(event)["data"]["amount"] == "72.50"


def test_a_refund_that_pays_nothing_back_but_restocks_is_a_stock_return() -> None:
    payload = fixture("shopify_refunds_create") | {"transactions": [], "order_adjustments": []}
    for line in payload["refund_line_items"]:
        line["total_tax_set"]["shop_money"]["amount"] = "0.00"
    mapped = map_shopify("refunds/create", payload, delivery_id="d2", currency="USD", customers=CUSTOMERS)
    assert [valid(e)["data"] for e in mapped.events] == [{"sku": "457924702", "delta": 1, "reason": "return"}]


def test_a_refund_paid_in_another_currency_is_refused() -> None:
    payload = fixture("shopify_refunds_create")
    payload["transactions"][0]["currency"] = "CAD"
    with pytest.raises(Unmappable, match="is in CAD, the store counts USD"):
        map_shopify("refunds/create", payload, delivery_id="d3", currency="USD", customers=CUSTOMERS)


def test_an_update_or_cancellation_of_an_order_is_acknowledged_and_counts_nothing_twice() -> None:
    # Given the order cancelled two days later (orders/updated and orders/cancelled carry it whole)
    for topic in ("orders/updated", "orders/cancelled"):
        mapped = shopify(topic, "shopify_orders_updated_cancelled")
        # Then nothing is sent (the order was counted by orders/create, its money paid back comes
        # as refunds/create), and the answer says why in words
        assert mapped.events == [] and mapped.level is None
        assert "was cancelled" in mapped.ignored and "refunds/create" in mapped.ignored
    # And an update that is not a cancellation (a fulfilment, a note, an edit) likewise
    edited = map_shopify(
        "orders/updated",
        fixture("shopify_orders_create"),
        delivery_id="d-u",
        currency="USD",
        customers=CUSTOMERS,
    )
    assert edited.events == [] and "counts the order as placed" in edited.ignored


def test_a_product_is_one_sku_per_variant_and_names_its_inventory_items() -> None:
    mapped = shopify("products/update", "shopify_products_update")
    assert [valid(e)["data"] for e in mapped.events] == [
        {"sku": "IPOD2008PINK", "name": "IPod Nano - 8GB - Pink", "category": "Cult Products",
         "price": "199.00", "reorder_point": 0},
        {"sku": "457924702", "name": "IPod Nano - 8GB - black", "category": "Cult Products",
         "price": "92.00", "reorder_point": 0},
    ]  # fmt: skip
    assert mapped.item_skus == {"808950810": "IPOD2008PINK", "457924702": "457924702"}
    assert len({e["event_id"] for e in mapped.events}) == 2


def test_a_customer_is_registered_with_the_email_left_for_ingest_to_hash() -> None:
    (event,) = shopify("customers/create", "shopify_customers_create").events
    data = valid(event)["data"]
    assert data == {
        "customer_id": CUSTOMERS("bob@example.com", None),
        "country": "CA",
        "email": "Bob@Example.com",
    }


def test_an_inventory_level_is_an_absolute_level_to_reach() -> None:
    mapped = shopify("inventory_levels/update", "shopify_inventory_levels_update")
    assert mapped.events == [] and mapped.level is not None
    assert (mapped.level.inventory_item_id, mapped.level.location_id, mapped.level.available) == (
        "457924702",
        "40642626",
        42,
    )


def test_an_unknown_topic_is_ignored_and_a_known_one_without_its_fields_is_unmappable() -> None:
    assert "not one storepulse reads" in shopify("checkouts/create", "shopify_orders_create").ignored
    with pytest.raises(Unmappable, match=r"order\.id: is missing"):
        map_shopify(
            "orders/create", {"currency": "USD"}, delivery_id="d", currency="USD", customers=CUSTOMERS
        )


def test_the_same_delivery_makes_the_same_event_ids_and_another_delivery_others() -> None:
    first = shopify("orders/create", "shopify_orders_create", delivery="a")
    again = shopify("orders/create", "shopify_orders_create", delivery="a")
    other = shopify("orders/create", "shopify_orders_create", delivery="b")
    assert first.events == again.events
    assert first.events[0]["event_id"] != other.events[0]["event_id"]
    assert len(event_id_for("shopify", "x" * 200, 3)) <= 64


def test_a_woocommerce_order_is_its_line_subtotals_coupons_shipping_and_tax() -> None:
    mapped = map_woocommerce(
        "order.created",
        fixture("woocommerce_order_created"),
        delivery_id="1",
        currency="USD",
        customers=CUSTOMERS,
    )
    (event,) = mapped.events
    data = valid(event)["data"]
    assert event["event_id"] == "woocommerce:order:727"
    assert event["occurred_at"] == "2025-03-22T19:28:02+00:00"
    # 3 units for 50.00 do not divide into cents: 2 x 16.66 + 1 x 16.68, exactly 50.00
    assert data["lines"] == [
        {"sku": "WOO-SINGLE-1", "quantity": 2, "unit_price": "3.00"},
        {"sku": "23", "quantity": 2, "unit_price": "16.66"},
        {"sku": "23", "quantity": 1, "unit_price": "16.68"},
    ]
    assert (data["discount"], data["shipping"], data["tax"]) == ("5.00", "10.00", "3.45")
    assert data["customer_id"] == CUSTOMERS("john.doe@example.com", None)


def test_a_woocommerce_order_counts_once_paid_and_its_refunds_by_their_ids() -> None:
    pending = map_woocommerce(
        "order.created", fixture("woocommerce_order_created_pending"), delivery_id="2", currency="USD",
        customers=CUSTOMERS,
    )  # fmt: skip
    assert pending.events == [] and "pending" in pending.ignored
    updated = map_woocommerce(
        "order.updated", fixture("woocommerce_order_updated_refund"), delivery_id="3", currency="USD",
        customers=CUSTOMERS,
    )  # fmt: skip
    placed, refund = (valid(e) for e in updated.events)
    assert placed["event_id"] == "woocommerce:order:727"  # the same as on order.created
    assert refund["event_id"] == "woocommerce:refund:726"
    assert refund["data"] == {
        "order_id": "727",
        "refund_id": "wc-refund-726",
        "amount": "12.50",
        "currency": "USD",
    }


def test_units_a_woocommerce_refund_restocks_come_back_once_each() -> None:
    # Given the order after a second refund: one black "Ship Your Idea" (variation 23) returned
    # and restocked, which WooCommerce counts on the line (_restock_refunded_items: 1)
    payload = fixture("woocommerce_order_updated_refund_restock")

    def mapped(body: Any, delivery: str) -> list[dict[str, Any]]:
        events = map_woocommerce(
            "order.updated", body, delivery_id=delivery, currency="USD", customers=CUSTOMERS
        )
        return [valid(e) for e in events.events]

    events = mapped(payload, "4")
    # Then the new refund comes with the unit it put back on the shelf, on the update's date
    restocks = [e for e in events if e["type"] == "inventory.adjusted"]
    assert [(e["event_id"], e["data"], e["occurred_at"]) for e in restocks] == [
        ("woocommerce:restock:727:316:1", {"sku": "23", "delta": 1, "reason": "return"},
         "2025-03-27T10:00:00+00:00"),
    ]  # fmt: skip
    assert {e["event_id"] for e in events if e["type"] == "order.refunded"} == {
        "woocommerce:refund:726",
        "woocommerce:refund:729",
    }
    # And a redelivery makes the same ids (counted once), while a later refund restocking a
    # second unit adds only that unit
    assert mapped(payload, "5") == events
    line = next(x for x in payload["line_items"] if x["id"] == 316)
    next(m for m in line["meta_data"] if m["key"] == "_restock_refunded_items")["value"] = "2"
    later = {e["event_id"] for e in mapped(payload, "6")} - {e["event_id"] for e in events}
    assert later == {"woocommerce:restock:727:316:2"}


def _sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_a_signature_holds_for_its_body_only() -> None:
    body = (FIXTURES / "shopify_orders_create.json").read_bytes()
    good = _sign(body, "hush")
    assert signature_matches(body, good, "hush")
    changed = bytearray(body)
    changed[100] ^= 1
    assert not signature_matches(bytes(changed), good, "hush")
    assert not signature_matches(body, good, "other")
    assert not signature_matches(body, None, "hush")
    assert not signature_matches(body, good, "")
    assert not signature_matches(body, "not base64 at all ☃", "hush")
