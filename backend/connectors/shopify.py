"""Shopify webhooks (topic from ``X-Shopify-Topic``) as events of the contract.

Every field's mapping is in docs/connectors.md; the rules that make the figures agree with
Shopify's own Analytics are stated where they are applied. Amounts are read in the shop's
currency (``shop_money`` where Shopify gives a price set), which must be the store currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from backend.connectors import common
from backend.connectors.common import CustomerIds, Mapped, StockLevel, Unmappable
from backend.domain.money import round_money

PLATFORM = "shopify"
TOPICS = (
    "orders/create",
    "refunds/create",
    "customers/create",
    "products/create",
    "products/update",
    "inventory_levels/update",
)
# source_name -> channel. Shopify names its own sales channels; any other value is an app or a
# marketplace channel (Amazon, eBay, Facebook, an app's numeric id).
CHANNELS = {
    "web": "web",
    "shopify_draft_order": "web",
    "checkout": "web",
    "pos": "pos",
    "iphone": "mobile",
    "android": "mobile",
    "shopify_mobile": "mobile",
}
# Order topics that change nothing storepulse counts: what they can change that Shopify's sales
# reports show reaches storepulse through refunds/create (docs/connectors.md, orders/updated).
ORDER_UPDATES = ("orders/updated", "orders/cancelled", "orders/edited", "orders/paid", "orders/fulfilled")
# Restock types that put units back on the shelf (no_restock does not).
RESTOCKING = ("return", "cancel", "legacy_restock")


def channel_of(source_name: object) -> str:
    """The contract's channel for Shopify's ``source_name``.

    Examples
    --------
    >>> channel_of("web"), channel_of("pos"), channel_of("iphone"), channel_of("580111")
    ('web', 'pos', 'mobile', 'marketplace')
    """
    if not isinstance(source_name, str) or not source_name:
        return "web"
    return CHANNELS.get(source_name.lower(), "marketplace")


def sku_of(item: Mapping[str, Any], where: str) -> str:
    """A line's or a variant's SKU; the variant id when it has none (Shopify does not require
    SKUs); a custom line item (no variant) is named by its title."""
    sku = item.get("sku")
    if isinstance(sku, str) and sku.strip():
        return sku.strip()[:128]
    variant = common.identifier(item.get("variant_id"))
    if variant:
        return variant
    title = item.get("title") or item.get("name")
    if isinstance(title, str) and title.strip():
        return f"custom:{title.strip()}"[:128]
    raise Unmappable(f"{where}: has no sku, no variant_id and no title")


def shop_amount(item: Mapping[str, Any], name: str, where: str) -> Decimal:
    """``item[name]`` in the shop's currency: ``<name>_set.shop_money`` when Shopify gives it."""
    money_set = item.get(f"{name}_set")
    if isinstance(money_set, Mapping) and isinstance(money_set.get("shop_money"), Mapping):
        return common.money(money_set["shop_money"].get("amount"), f"{where}{name}_set.shop_money.amount")
    return common.money(item.get(name), f"{where}{name}")


def _email(payload: Mapping[str, Any]) -> str | None:
    customer = payload.get("customer")
    for value in (
        payload.get("email"),
        payload.get("contact_email"),
        customer.get("email") if isinstance(customer, Mapping) else None,
    ):
        if common.email_in(value):
            return str(value)
    return None


def _rate(taxes: list[Any], where: str) -> Decimal:
    """The sum of the ``rate`` of some ``tax_lines`` (``0.2`` is 20 %)."""
    rate = Decimal("0")
    for index, raw in enumerate(taxes):
        value = common.object_of(raw, f"{where}[{index}]").get("rate")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise Unmappable(f"{where}[{index}].rate: {value!r} is not a tax rate")
        rate += Decimal(str(value))
    return rate


def _without_tax(amount: Decimal, rate: Decimal) -> Decimal:
    """The part of a tax-inclusive ``amount`` that is not tax, to the cent (half up)."""
    return round_money(amount / (1 + rate)) if rate else amount


def _line_rate(line: Mapping[str, Any], order_rate: Decimal, where: str) -> Decimal:
    """A line's tax rate: its ``tax_lines``; a taxable line without them, the order's."""
    taxes = common.list_of(line.get("tax_lines"), f"{where}tax_lines")
    if taxes:
        return _rate(taxes, f"{where}tax_lines")
    return order_rate if line.get("taxable", True) is not False else Decimal("0")


def _discount_tax(line: Mapping[str, Any], rate: Decimal, where: str) -> Decimal:
    """The tax inside the discounts allocated to a tax-inclusive line."""
    tax = Decimal("0")
    for index, raw in enumerate(
        common.list_of(line.get("discount_allocations"), f"{where}discount_allocations")
    ):
        at = f"{where}discount_allocations[{index}]"
        allocated = shop_amount(common.object_of(raw, at), "amount", f"{at}.")
        tax += allocated - _without_tax(allocated, rate)
    return tax


def _tax_of(item: Mapping[str, Any], where: str) -> Decimal:
    """The tax a shipping line holds: the sum of its ``tax_lines`` prices."""
    return sum(
        (
            shop_amount(common.object_of(t, f"{where}tax_lines[{i}]"), "price", f"{where}tax_lines[{i}].")
            for i, t in enumerate(common.list_of(item.get("tax_lines"), f"{where}tax_lines"))
        ),
        Decimal("0"),
    )


def order_placed(
    payload: Mapping[str, Any], *, event_id: str, currency: str, customers: CustomerIds
) -> dict[str, Any] | None:
    """An order as ``order.placed``; ``None`` when it holds nothing Shopify counts as a sale
    (only gift cards: their sale is a liability, not gross sales).

    A shop whose prices include tax (``taxes_included: true``, usual in the EU) sends prices with
    the tax inside; Shopify's sales reports take it out first (gross sales and discounts are
    without tax, the tax is under taxes). So does this: each line's ``price x quantity`` and its
    discounts are divided by ``1 + `` the line's tax rate (its ``tax_lines``, else the order's
    for a taxable line), to the cent per line; shipping loses the tax of its ``tax_lines``.
    """
    common.require_currency(payload.get("currency"), currency, f"order {payload.get('id')}")
    order_id = common.identifier(common.get(payload, "id", "order."))
    taxes_included = payload.get("taxes_included") is True
    order_taxes = common.list_of(payload.get("tax_lines"), "tax_lines")
    order_rate = _rate(order_taxes, "tax_lines") if taxes_included else Decimal("0")
    discount = shop_amount(payload, "total_discounts", "order.")
    lines = []
    for index, raw in enumerate(common.list_of(payload.get("line_items"), "line_items")):
        where = f"line_items[{index}]."
        line = common.object_of(raw, where.rstrip("."))
        if line.get("gift_card") is True:
            continue
        count = common.quantity(line.get("quantity"), f"{where}quantity")
        if count < 1:
            continue
        sku = sku_of(line, where.rstrip("."))
        price = shop_amount(line, "price", where)
        if not taxes_included:
            lines.append({"sku": sku, "quantity": count, "unit_price": common.text(price)})
            continue
        rate = _line_rate(line, order_rate, where)
        lines += common.split_line(sku, count, _without_tax(price * count, rate))
        discount -= _discount_tax(line, rate, where)
    if not lines:
        return None
    shipping = Decimal("0")
    for index, raw in enumerate(common.list_of(payload.get("shipping_lines"), "shipping_lines")):
        where = f"shipping_lines[{index}]."
        shipping_line = common.object_of(raw, where.rstrip("."))
        shipping += shop_amount(shipping_line, "price", where)
        if taxes_included:
            shipping -= _tax_of(shipping_line, where)
    customer = payload.get("customer")
    platform_customer = common.identifier(customer.get("id")) if isinstance(customer, Mapping) else None
    return common.event(
        event_id,
        "order.placed",
        common.iso_utc(payload.get("processed_at") or payload.get("created_at"), "order.created_at"),
        {
            "order_id": order_id,
            "customer_id": customers(_email(payload), platform_customer),
            "lines": lines,
            "discount": common.text(discount),
            "shipping": common.text(shipping),
            "tax": common.text(shop_amount(payload, "total_tax", "order.")),
            "currency": payload["currency"].upper(),
            "channel": channel_of(payload.get("source_name")),
        },
    )


def refund_events(payload: Mapping[str, Any], *, delivery_id: str, currency: str) -> list[dict[str, Any]]:
    """A refund as ``order.refunded`` on its own date.

    ``amount`` is what the refund's successful ``refund`` transactions returned, less the tax
    and the shipping refunded with it (Shopify reports those under taxes and shipping, not
    returns). Restocked lines travel as ``restock``. A refund that returns no money but puts
    units back (a restock after a store credit, say) becomes ``inventory.adjusted`` (reason
    ``return``) per SKU.
    """
    refund_id = common.identifier(common.get(payload, "id", "refund."))
    order_id = common.identifier(common.get(payload, "order_id", "refund."))
    occurred_at = common.iso_utc(
        payload.get("processed_at") or payload.get("created_at"), "refund.created_at"
    )
    paid = Decimal("0")
    for index, raw in enumerate(common.list_of(payload.get("transactions"), "transactions")):
        transaction = common.object_of(raw, f"transactions[{index}]")
        if transaction.get("kind") != "refund" or transaction.get("status") not in ("success", None):
            continue
        common.require_currency(transaction.get("currency") or currency, currency, f"refund {refund_id}")
        paid += common.money(transaction.get("amount"), f"transactions[{index}].amount")
    tax = Decimal("0")
    restock: dict[str, int] = {}
    for index, raw in enumerate(common.list_of(payload.get("refund_line_items"), "refund_line_items")):
        where = f"refund_line_items[{index}]."
        item = common.object_of(raw, where.rstrip("."))
        tax += shop_amount(item, "total_tax", where)
        if item.get("restock_type") in RESTOCKING or (
            item.get("restock_type") is None and payload.get("restock")
        ):
            line = common.object_of(item.get("line_item"), f"{where}line_item")
            count = common.quantity(item.get("quantity"), f"{where}quantity")
            if count > 0:
                sku = sku_of(line, f"{where}line_item")
                restock[sku] = restock.get(sku, 0) + count
    shipping = Decimal("0")
    for index, raw in enumerate(common.list_of(payload.get("order_adjustments"), "order_adjustments")):
        adjustment = common.object_of(raw, f"order_adjustments[{index}]")
        if adjustment.get("kind") == "shipping_refund":
            # Shopify writes refunded shipping as a negative adjustment (its tax apart).
            shipping -= shop_amount(adjustment, "amount", f"order_adjustments[{index}].")
            tax -= shop_amount(adjustment, "tax_amount", f"order_adjustments[{index}].")
    amount = paid - tax - shipping
    lines = [{"sku": sku, "quantity": count} for sku, count in sorted(restock.items())]
    if amount > 0:
        data: dict[str, Any] = {
            "order_id": order_id,
            "refund_id": refund_id,
            "amount": common.text(amount),
            "currency": currency,
        }
        if lines:
            data["restock"] = lines
        return [
            common.event(common.event_id_for(PLATFORM, delivery_id, 0), "order.refunded", occurred_at, data)
        ]
    return [
        common.event(
            common.event_id_for(PLATFORM, delivery_id, index),
            "inventory.adjusted",
            occurred_at,
            {"sku": line["sku"], "delta": line["quantity"], "reason": "return"},
        )
        for index, line in enumerate(lines)
    ]


def customer_registered(
    payload: Mapping[str, Any], *, event_id: str, customers: CustomerIds
) -> dict[str, Any] | None:
    """A new customer as ``customer.registered``; ``None`` without a country (the contract
    requires one; the customer still counts through their orders)."""
    address = payload.get("default_address")
    if not isinstance(address, Mapping):
        addresses = [
            a for a in common.list_of(payload.get("addresses"), "addresses") if isinstance(a, Mapping)
        ]
        address = addresses[0] if addresses else {}
    country = address.get("country_code")
    if not isinstance(country, str) or not country:
        return None
    email = common.email_in(payload.get("email"))
    return common.customer_registered(
        event_id=event_id,
        occurred_at=common.iso_utc(payload.get("created_at"), "customer.created_at"),
        customer_id=customers(email, common.identifier(common.get(payload, "id", "customer."))),
        country=country,
        email=email,
    )


def product_events(payload: Mapping[str, Any], *, delivery_id: str, currency: str) -> Mapped:
    """A product as one ``product.upserted`` per variant (each variant is a SKU), and which SKU
    each variant's inventory item is, for the stock levels to come."""
    title = payload.get("title")
    if not isinstance(title, str) or not title.strip():
        raise Unmappable("product.title: is missing")
    category = payload.get("product_type")
    category = category.strip() if isinstance(category, str) and category.strip() else common.DEFAULT_CATEGORY
    occurred_at = common.iso_utc(payload.get("updated_at") or payload.get("created_at"), "product.updated_at")
    mapped = Mapped()
    for index, raw in enumerate(common.list_of(payload.get("variants"), "variants")):
        where = f"variants[{index}]"
        variant = common.object_of(raw, where)
        variant_id = common.identifier(variant.get("id"))
        sku = sku_of({"sku": variant.get("sku"), "variant_id": variant_id}, where)
        variant_title = variant.get("title")
        name = title.strip()
        if isinstance(variant_title, str) and variant_title.strip() and variant_title != "Default Title":
            name = f"{name} - {variant_title.strip()}"
        mapped.events.append(
            common.event(
                common.event_id_for(PLATFORM, delivery_id, index),
                "product.upserted",
                occurred_at,
                {
                    "sku": sku,
                    "name": name[:200],
                    "category": category[:100],
                    "price": common.text(shop_amount(variant, "price", f"{where}.")),
                    # Shopify has no reorder point: 0 marks a SKU low only when it is out.
                    "reorder_point": 0,
                },
            )
        )
        item = common.identifier(variant.get("inventory_item_id"))
        if item:
            mapped.item_skus[item] = sku
    if not mapped.events:
        raise Unmappable("product.variants: the product has no variant")
    return mapped


def stock_level(payload: Mapping[str, Any]) -> StockLevel:
    available = payload.get("available")
    if isinstance(available, bool) or not isinstance(available, int):
        raise Unmappable(f"inventory_level.available: {available!r} is not a whole number")
    return StockLevel(
        inventory_item_id=str(common.get(payload, "inventory_item_id", "inventory_level.")),
        location_id=str(common.get(payload, "location_id", "inventory_level.")),
        available=available,
        updated_at=common.iso_utc(payload.get("updated_at"), "inventory_level.updated_at"),
    )


def _is_test(topic: str, payload: Mapping[str, Any]) -> bool:
    """Whether an order (``test: true``) or a refund (every successful refund transaction is
    ``test: true``) was made with the test gateway."""
    if topic == "orders/create":
        return payload.get("test") is True
    transactions = [
        t
        for t in common.list_of(payload.get("transactions"), "transactions")
        if isinstance(t, Mapping) and t.get("kind") == "refund" and t.get("status") in ("success", None)
    ]
    return bool(transactions) and all(t.get("test") is True for t in transactions)


def order_update_ignored(topic: str, payload: Mapping[str, Any]) -> str:
    """Why an update of an order counts nothing, in words.

    Shopify's sales reports count an order on the day it was placed; what a cancellation or an
    edit pays back reaches storepulse as ``refunds/create`` (restocked units included), counted
    as returns on its day. A cancelled order that is not refunded stays in Shopify's sales, as
    in storepulse. What an edit adds, or removes without paying back, is not counted: no event of
    the contract carries it without counting a second order (docs/connectors.md).
    """
    order = f"order {payload.get('id')}"
    if payload.get("cancelled_at"):
        return (
            f"{order} was cancelled: Shopify's reports keep a cancelled order in its day's sales; "
            "the money paid back comes as refunds/create and counts as returns on its day"
        )
    return (
        f"{topic} of {order}: storepulse counts the order as placed; what a cancellation or an edit "
        "pays back comes as refunds/create (docs/connectors.md)"
    )


def map_shopify(
    topic: str, payload: Any, *, delivery_id: str, currency: str, customers: CustomerIds
) -> Mapped:
    """The events one Shopify webhook becomes.

    Parameters
    ----------
    topic
        ``X-Shopify-Topic``.
    payload
        The decoded JSON body.
    delivery_id
        ``X-Shopify-Webhook-Id`` (the same on every retry): the event ids derive from it.
    currency
        The store currency; money in another one is refused (:class:`Unmappable`).
    customers
        Makes a ``customer_id`` from an e-mail and Shopify's customer id.

    Raises
    ------
    Unmappable
        A known topic whose payload cannot become events, with the reason.

    Examples
    --------
    >>> map_shopify("carts/update", {}, delivery_id="d", currency="USD",
    ...             customers=lambda e, c: "guest").ignored
    "topic 'carts/update' is not one storepulse reads; acknowledged and ignored"
    """
    if topic in ORDER_UPDATES:
        return Mapped(ignored=order_update_ignored(topic, common.object_of(payload, "body")))
    if topic not in TOPICS:
        return common.unknown_topic(topic)
    body = common.object_of(payload, "body")
    if topic in ("orders/create", "refunds/create") and _is_test(topic, body):
        return Mapped(
            ignored="a test (the store's test payment gateway): Shopify's reports leave test orders "
            "and their refunds out, so does storepulse"
        )
    if topic == "orders/create":
        event = order_placed(
            body,
            event_id=common.event_id_for(PLATFORM, delivery_id, 0),
            currency=currency,
            customers=customers,
        )
        return (
            Mapped([event]) if event else Mapped(ignored="the order holds only gift cards: no sales to count")
        )
    if topic == "refunds/create":
        events = refund_events(body, delivery_id=delivery_id, currency=currency)
        return (
            Mapped(events) if events else Mapped(ignored="the refund returns no money and restocks nothing")
        )
    if topic == "customers/create":
        event = customer_registered(
            body, event_id=common.event_id_for(PLATFORM, delivery_id, 0), customers=customers
        )
        return Mapped([event]) if event else Mapped(ignored="the customer has no address country yet")
    if topic in ("products/create", "products/update"):
        return product_events(body, delivery_id=delivery_id, currency=currency)
    return Mapped(level=stock_level(body))
