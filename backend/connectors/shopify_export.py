"""Shopify's orders export (Admin > Orders > Export, "CSV for Excel, Numbers, or other
spreadsheet programs") as events of the contract.

The export holds one row per line item; the order's own fields (totals, dates, e-mail) are on
its first row only, the later rows carry the same ``Name`` and their line's columns. Each order
becomes an ``order.placed`` (the same figures as its ``orders/create`` webhook) and, when it has
a ``Refunded Amount``, an ``order.refunded``. Event ids derive from the order's id, so importing
the same file twice, or resuming, counts each order once. docs/connectors.md lists every column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from backend.connectors.common import (
    CustomerIds,
    Unmappable,
    event,
    event_id_for,
    money,
    quantity,
    require_currency,
    split_line,
    text,
)
from backend.connectors.shopify import channel_of
from backend.domain.money import round_money

PLATFORM = "shopify-export"
REQUIRED = ("Name", "Created at", "Lineitem quantity", "Lineitem price", "Currency")
# "2025-03-14 16:09:58 -0400", as the export writes times.
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z")


def check_columns(header: Iterable[str]) -> None:
    """Refuse a file that is not an orders export, naming the missing columns."""
    missing = [name for name in REQUIRED if name not in set(header)]
    if missing:
        raise Unmappable(
            f"not a Shopify orders export: no column {', '.join(missing)} "
            "(export from Shopify admin > Orders > Export, CSV for Excel)"
        )


def export_time(value: str, where: str) -> str:
    """An export time as ISO-8601 with its offset.

    Examples
    --------
    >>> export_time("2025-03-14 16:09:58 -0400", "Created at")
    '2025-03-14T16:09:58-04:00'
    """
    for layout in TIME_FORMATS:
        try:
            return datetime.strptime(value.strip(), layout).isoformat()
        except ValueError:
            continue
    raise Unmappable(f"{where}: {value!r} is not a time such as 2025-03-14 16:09:58 -0400")


def without_tax_share(first: Mapping[str, str]) -> Decimal | None:
    """The share of an order's money that is not tax when its prices include the tax, else
    ``None``.

    The export has no ``taxes_included`` column. Its ``Total`` tells: a shop whose prices hold
    the tax has ``Total = Subtotal + Shipping + Duties`` (the tax is inside), the others
    ``Total = Subtotal + Shipping + Taxes + Duties``. The share is then what was paid less the
    tax, over what was paid: one rate over the order's lines and shipping (an order that mixes
    rates is split in proportion).

    Examples
    --------
    >>> row = {"Subtotal": "363.00", "Shipping": "10.00", "Taxes": "62.17", "Total": "373.00"}
    >>> without_tax_share(row).quantize(Decimal("0.0001")), without_tax_share(row | {"Total": "435.17"})
    (Decimal('0.8333'), None)
    """
    taxes = money(first.get("Taxes"), "Taxes")
    paid = money(first.get("Subtotal"), "Subtotal") + money(first.get("Shipping"), "Shipping")
    paid += money(first.get("Duties"), "Duties")
    if taxes <= 0 or paid <= 0 or money(first.get("Total"), "Total") != paid:
        return None
    return (paid - taxes) / paid


def _order_events(
    rows: list[tuple[int, Mapping[str, str]]], *, currency: str, customers: CustomerIds
) -> list[dict[str, Any]]:
    _, first = rows[0]
    name = first["Name"].strip()
    order_id = (first.get("Id") or "").strip() or name.lstrip("#")
    require_currency(first.get("Currency"), currency, f"order {name}")
    placed_at = export_time(first["Created at"], "Created at")
    share = without_tax_share(first)
    lines = []
    for number, row in rows:
        where = f"line {number}: "
        count = quantity(row.get("Lineitem quantity"), f"{where}Lineitem quantity")
        if count < 1:
            continue
        sku = (row.get("Lineitem sku") or "").strip() or (row.get("Lineitem name") or "").strip()
        if not sku:
            raise Unmappable(f"{where}the line has neither a Lineitem sku nor a Lineitem name")
        price = money(row.get("Lineitem price"), f"{where}Lineitem price")
        if share is None:
            lines.append({"sku": sku[:128], "quantity": count, "unit_price": text(price)})
        else:
            lines += split_line(sku[:128], count, round_money(price * count * share))
    discount = money(first.get("Discount Amount"), "Discount Amount")
    shipping = money(first.get("Shipping"), "Shipping")
    if share is not None:
        discount, shipping = round_money(discount * share), round_money(shipping * share)
    email = (first.get("Email") or "").strip()
    events: list[dict[str, Any]] = [
        event(
            event_id_for(PLATFORM, order_id, "order"),
            "order.placed",
            placed_at,
            {
                "order_id": order_id,
                "customer_id": customers(email if "@" in email else None, None),
                "lines": lines,
                "discount": text(discount),
                "shipping": text(shipping),
                "tax": text(money(first.get("Taxes"), "Taxes")),
                "currency": currency,
                "channel": channel_of((first.get("Source") or "").strip()),
            },
        )
    ]
    refunded = money(first.get("Refunded Amount"), "Refunded Amount")
    if share is not None:
        refunded = round_money(refunded * share)  # the tax paid back is under taxes, not returns
    if refunded > Decimal("0"):
        # The export has no refund date: the cancellation's when there is one, else the order's.
        cancelled = (first.get("Cancelled at") or "").strip()
        events.append(
            event(
                event_id_for(PLATFORM, order_id, "refund"),
                "order.refunded",
                export_time(cancelled, "Cancelled at") if cancelled else placed_at,
                {
                    "order_id": order_id,
                    "refund_id": f"{order_id}:export",
                    "amount": text(refunded),
                    "currency": currency,
                },
            )
        )
    return events


def read_export(
    rows: Iterable[tuple[int, Mapping[str, str]]], *, currency: str, customers: CustomerIds
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """``(line number, event)`` for each event of the export, in file order, or ``(line number,
    reason)`` for an order that cannot be mapped (the number is the order's first row).

    Parameters
    ----------
    rows
        ``(line number, row)`` of the CSV, the header being line 1.
    currency
        The store currency; an order in another is refused.
    customers
        Makes the ``customer_id`` from the order's e-mail (the keyed hash, as the webhooks do).
    """
    group: list[tuple[int, Mapping[str, str]]] = []

    def flush() -> Iterator[tuple[int, dict[str, Any] | str]]:
        if not group:
            return
        first_line = group[0][0]
        try:
            for event in _order_events(group, currency=currency, customers=customers):
                yield first_line, event
        except Unmappable as exc:
            yield first_line, f"order {group[0][1].get('Name')}: {exc}"

    for number, row in rows:
        if group and (row.get("Name") or "").strip() != (group[0][1].get("Name") or "").strip():
            yield from flush()
            group = []
        group.append((number, row))
    yield from flush()
