"""WooCommerce webhooks (topic from ``X-WC-Webhook-Topic``) as events of the contract.

WooCommerce sends the whole order on ``order.created`` and again on every ``order.updated``, and
an order is often created unpaid (``pending``) and paid by a later update. So an order becomes
``order.placed`` the first time it arrives in a paid status (``processing``, ``completed``,
``on-hold``: what WooCommerce Analytics counts), and its event id derives from the order id, not
from the delivery: whichever delivery carries it first, it counts once. Refunds ride on the
order (``refunds: [{id, total}]``) and are keyed by their own ids the same way; the units they
restock by the line and the unit's rank.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.connectors import common
from backend.connectors.common import CustomerIds, Mapped, Unmappable

PLATFORM = "woocommerce"
ORDER_TOPICS = ("order.created", "order.updated")
TOPICS = (*ORDER_TOPICS, "customer.created", "product.created", "product.updated")
# The statuses WooCommerce Analytics counts as sales ("actionable" plus completed).
PAID = ("processing", "completed", "on-hold")
# The order line meta where WooCommerce counts the units its refunds restocked (wc_restock_refunded_items).
RESTOCKED_META = "_restock_refunded_items"


def _when(payload: Mapping[str, Any], name: str) -> str:
    gmt = payload.get(f"{name}_gmt")
    return common.iso_utc(gmt if gmt else payload.get(name), f"{name}_gmt")


def _customer(payload: Mapping[str, Any], customers: CustomerIds) -> str:
    billing = payload.get("billing")
    email = billing.get("email") if isinstance(billing, Mapping) else None
    number = payload.get("customer_id")
    platform_id = common.identifier(number) if number not in (0, "0") else None
    return customers(common.email_in(email), platform_id)


def _sku(line: Mapping[str, Any], where: str) -> str:
    """A line's SKU: its ``sku``, else its variation's id, else its product's."""
    sku = line.get("sku")
    if isinstance(sku, str) and sku.strip():
        return sku.strip()[:128]
    variation = line.get("variation_id")
    found = common.identifier(variation if variation not in (0, "0") else line.get("product_id"))
    if not found:
        raise Unmappable(f"{where}: has no sku, no variation_id and no product_id")
    return found


def order_placed(
    payload: Mapping[str, Any], *, currency: str, customers: CustomerIds
) -> dict[str, Any] | None:
    """A paid order as ``order.placed``; ``None`` while it is not paid.

    Each line's value is its ``subtotal`` (before coupons, without tax): WooCommerce gross
    sales. Coupons are ``discount_total``; shipping ``shipping_total``; tax ``total_tax``.
    """
    order_id = common.identifier(common.get(payload, "id", "order."))
    if payload.get("status") not in PAID:
        return None
    common.require_currency(payload.get("currency"), currency, f"order {order_id}")
    lines: list[dict[str, Any]] = []
    for index, raw in enumerate(common.list_of(payload.get("line_items"), "line_items")):
        where = f"line_items[{index}]"
        line = common.object_of(raw, where)
        count = common.quantity(line.get("quantity"), f"{where}.quantity")
        if count < 1:
            continue
        lines += common.split_line(
            _sku(line, where), count, common.money(line.get("subtotal"), f"{where}.subtotal")
        )
    if not lines:
        raise Unmappable("line_items: the order has no line with a quantity")
    return common.event(
        common.event_id_for(PLATFORM, "order", order_id),
        "order.placed",
        _when(payload, "date_created"),
        {
            "order_id": order_id,
            "customer_id": _customer(payload, customers),
            "lines": lines,
            "discount": common.text(common.money(payload.get("discount_total"), "discount_total")),
            "shipping": common.text(common.money(payload.get("shipping_total"), "shipping_total")),
            "tax": common.text(common.money(payload.get("total_tax"), "total_tax")),
            "currency": str(payload["currency"]).upper(),
            "channel": "pos" if payload.get("created_via") == "pos" else "web",
        },
    )


def refund_events(payload: Mapping[str, Any], *, currency: str) -> list[dict[str, Any]]:
    """The refunds an order carries, each as ``order.refunded`` (``total`` is negative in
    WooCommerce). The order payload has no refund date: the order's modification time, when
    the refund was made, is used (a later update re-sends the refund with the same id, which
    counts once)."""
    order_id = common.identifier(common.get(payload, "id", "order."))
    events = []
    for index, raw in enumerate(common.list_of(payload.get("refunds"), "refunds")):
        refund = common.object_of(raw, f"refunds[{index}]")
        refund_id = common.identifier(common.get(refund, "id", f"refunds[{index}]."))
        amount = -common.money(refund.get("total"), f"refunds[{index}].total")
        if amount <= 0:
            continue
        common.require_currency(payload.get("currency"), currency, f"refund {refund_id} of order {order_id}")
        events.append(
            common.event(
                common.event_id_for(PLATFORM, "refund", refund_id),
                "order.refunded",
                _when(payload, "date_modified"),
                {
                    "order_id": order_id,
                    "refund_id": f"wc-refund-{refund_id}",
                    "amount": common.text(amount),
                    "currency": currency,
                },
            )
        )
    return events


def restock_events(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The units refunds put back on the shelf, as ``inventory.adjusted`` (reason ``return``).

    WooCommerce writes no restock on the refund the order payload lists (``{id, total}`` only);
    it counts the restocked units of each line in the line's ``_restock_refunded_items`` meta,
    over all the order's refunds. So each restocked unit is one event keyed by the line and its
    rank (``woocommerce:restock:<order>:<line>:<n>``, delta 1): a delivery sent again, or a later
    update, makes the same ids for the units already counted, and new ids only for units a later
    refund put back. Dated at the update, as the refunds.
    """
    order_id = common.identifier(common.get(payload, "id", "order."))
    events = []
    for index, raw in enumerate(common.list_of(payload.get("line_items"), "line_items")):
        where = f"line_items[{index}]"
        line = common.object_of(raw, where)
        metas = [
            m for m in common.list_of(line.get("meta_data"), f"{where}.meta_data") if isinstance(m, Mapping)
        ]
        restocked = next((m.get("value") for m in metas if m.get("key") == RESTOCKED_META), None)
        if restocked in (None, ""):
            continue
        units = common.quantity(restocked, f"{where}.meta_data.{RESTOCKED_META}")
        line_id = common.identifier(common.get(line, "id", f"{where}."))
        sku = _sku(line, where)
        events += [
            common.event(
                common.event_id_for(PLATFORM, "restock", order_id, line_id, unit),
                "inventory.adjusted",
                _when(payload, "date_modified"),
                {"sku": sku, "delta": 1, "reason": "return"},
            )
            for unit in range(1, units + 1)
        ]
    return events


def customer_registered(
    payload: Mapping[str, Any], *, delivery_id: str, customers: CustomerIds
) -> dict[str, Any] | None:
    billing = payload.get("billing")
    billing = billing if isinstance(billing, Mapping) else {}
    country = billing.get("country")
    if not isinstance(country, str) or not country:
        return None
    email = common.email_in(payload.get("email") or billing.get("email"))
    return common.customer_registered(
        event_id=common.event_id_for(PLATFORM, delivery_id, 0),
        occurred_at=_when(payload, "date_created"),
        customer_id=customers(email, common.identifier(common.get(payload, "id", "customer."))),
        country=country,
        email=email,
    )


def product_upserted(payload: Mapping[str, Any], *, delivery_id: str) -> dict[str, Any]:
    product_id = common.identifier(common.get(payload, "id", "product."))
    sku = payload.get("sku")
    sku = sku.strip() if isinstance(sku, str) and sku.strip() else product_id
    categories = [
        c for c in common.list_of(payload.get("categories"), "categories") if isinstance(c, Mapping)
    ]
    category = next((str(c["name"]) for c in categories if c.get("name")), common.DEFAULT_CATEGORY)
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Unmappable("product.name: is missing")
    return common.event(
        common.event_id_for(PLATFORM, delivery_id, 0),
        "product.upserted",
        _when(payload, "date_modified"),
        {
            "sku": str(sku)[:128],
            "name": name.strip()[:200],
            "category": category[:100],
            "price": common.text(common.money(payload.get("regular_price") or payload.get("price"), "price")),
            "reorder_point": max(0, int(payload.get("low_stock_amount") or 0))
            if isinstance(payload.get("low_stock_amount"), int)
            else 0,
        },
    )


def map_woocommerce(
    topic: str, payload: Any, *, delivery_id: str, currency: str, customers: CustomerIds
) -> Mapped:
    """The events one WooCommerce webhook becomes (see :func:`backend.connectors.map_shopify`
    for the parameters).

    Examples
    --------
    >>> map_woocommerce("coupon.created", {}, delivery_id="d", currency="USD",
    ...                 customers=lambda e, c: "guest").ignored
    "topic 'coupon.created' is not one storepulse reads; acknowledged and ignored"
    """
    if topic not in TOPICS:
        return common.unknown_topic(topic)
    body = common.object_of(payload, "body")
    if topic in ORDER_TOPICS:
        placed = order_placed(body, currency=currency, customers=customers)
        events = ([placed] if placed else []) + refund_events(body, currency=currency) + restock_events(body)
        if not events:
            return Mapped(ignored=f"order status {body.get('status')!r} is not a sale yet")
        return Mapped(events)
    if topic == "customer.created":
        event = customer_registered(body, delivery_id=delivery_id, customers=customers)
        return Mapped([event]) if event else Mapped(ignored="the customer has no billing country yet")
    return Mapped([product_upserted(body, delivery_id=delivery_id)])


__all__ = ["TOPICS", "map_woocommerce"]
