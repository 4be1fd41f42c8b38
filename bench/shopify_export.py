"""Write a Shopify orders export (the CSV of Admin > Orders > Export) for a simulated store, and
the events it stands for: the import test and benchmark feed the first to ``storepulse import
shopify-orders`` and give the second to the oracle.

The file has Shopify's columns in Shopify's order; an order's fields are on its first row only,
each further line item is a row with the order's ``Name`` and its line columns. Every ninth order
has a refund the export dates nowhere (counted on the order's day, docs/connectors.md), every
thirteenth one cancelled two days later (counted on the cancellation's day).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

COLUMNS = [
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Fulfilled at",
    "Accepts Marketing",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Shipping Method",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem compare at price",
    "Lineitem sku",
    "Lineitem requires shipping",
    "Lineitem taxable",
    "Lineitem fulfillment status",
    "Billing Name",
    "Billing Street",
    "Billing Address1",
    "Billing Address2",
    "Billing Company",
    "Billing City",
    "Billing Zip",
    "Billing Province",
    "Billing Country",
    "Billing Phone",
    "Shipping Name",
    "Shipping Street",
    "Shipping Address1",
    "Shipping Address2",
    "Shipping Company",
    "Shipping City",
    "Shipping Zip",
    "Shipping Province",
    "Shipping Country",
    "Shipping Phone",
    "Notes",
    "Note Attributes",
    "Cancelled at",
    "Payment Method",
    "Payment Reference",
    "Refunded Amount",
    "Vendor",
    "Outstanding Balance",
    "Employee",
    "Location",
    "Device ID",
    "Id",
    "Tags",
    "Risk Level",
    "Source",
    "Lineitem discount",
    "Tax 1 Name",
    "Tax 1 Value",
    "Phone",
    "Receipt Number",
    "Duties",
    "Billing Province Name",
    "Shipping Province Name",
    "Payment ID",
    "Payment Terms Name",
    "Next Payment Due At",
    "Payment References",
]
SOURCES = {"web": "web", "mobile": "iphone", "marketplace": "amazon", "pos": "pos"}


def _time(value: str) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S %z")


def write_export(events: Sequence[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
    """Write the orders among ``events`` as an export to ``path``; return the events the file
    stands for (its orders, and its refunds dated as the import dates them), customer ids
    being the e-mails the file carries."""
    orders = [e for e in events if e["type"] == "order.placed"]
    meant: list[dict[str, Any]] = []
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        for number, event in enumerate(orders, start=1):
            data = event["data"]
            gross = sum(Decimal(x["unit_price"]) * x["quantity"] for x in data["lines"])
            discount, shipping, tax = (Decimal(data.get(k, "0")) for k in ("discount", "shipping", "tax"))
            email = f"{data['customer_id'].lower()}@example.com"
            order_id = str(5_000_000_000 + number)
            refund = Decimal("0")
            cancelled = ""
            if number % 9 == 0 or number % 13 == 0:
                refund = min(Decimal(data["lines"][0]["unit_price"]), gross - discount)
            if number % 13 == 0:
                cancelled = (datetime.fromisoformat(event["occurred_at"]) + timedelta(days=2)).isoformat()
            first = {
                "Name": f"#{1000 + number}",
                "Email": email,
                "Financial Status": "partially_refunded" if refund else "paid",
                "Paid at": _time(event["occurred_at"]),
                "Accepts Marketing": "no",
                "Currency": data["currency"],
                "Subtotal": f"{gross - discount:.2f}",
                "Shipping": f"{shipping:.2f}",
                "Taxes": f"{tax:.2f}",
                "Total": f"{gross - discount + shipping + tax:.2f}",
                "Discount Code": "SAVE" if discount else "",
                "Discount Amount": f"{discount:.2f}",
                "Created at": _time(event["occurred_at"]),
                "Billing Name": "Ann Example",
                "Billing Country": "US",
                "Cancelled at": _time(cancelled) if cancelled else "",
                "Refunded Amount": f"{refund:.2f}",
                "Id": order_id,
                "Source": SOURCES[data.get("channel", "web")],
            }
            for index, line in enumerate(data["lines"]):
                row = dict(first) if index == 0 else {"Name": first["Name"]}
                row.update(
                    {
                        "Lineitem quantity": str(line["quantity"]),
                        "Lineitem name": f"Product {line['sku']}",
                        "Lineitem price": line["unit_price"],
                        "Lineitem sku": line["sku"],
                        "Lineitem requires shipping": "true",
                        "Lineitem taxable": "true",
                        "Lineitem fulfillment status": "pending",
                    }
                )
                writer.writerow(row)
            placed = {**event, "data": {**data, "order_id": order_id, "customer_id": email}}
            meant.append(placed)
            if refund:
                meant.append(
                    {
                        "event_id": f"refund-{order_id}",
                        "type": "order.refunded",
                        "occurred_at": cancelled or event["occurred_at"],
                        "data": {"order_id": order_id, "refund_id": f"{order_id}:export",
                                 "amount": f"{refund:.2f}", "currency": data["currency"]},
                    }
                )  # fmt: skip
    return meant
