"""The lake's Parquet tables: one per event type, their columns, and event -> row.

Pure: no pyarrow, no boto3. The compaction job builds its Parquet schema from :data:`TABLES`,
``storepulse lake query`` builds its DuckDB views from it, and the Glue tables of the Terraform
mirror it (``docs/lake.md`` lists the same columns). Column types are written as Glue/Hive
types: ``string``, ``bigint``, ``timestamp``, ``decimal(12,2)`` and ``array<struct<...>>``.

Examples
--------
>>> [c.name for c in TABLES["inventory_adjustments"].columns]
['event_id', 'occurred_at', 'sku', 'delta', 'reason']
>>> TABLES["orders"].column("lines").glue_type
'array<struct<sku:string,quantity:bigint,unit_price:decimal(12,2),amount:decimal(12,2)>>'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

MONEY = "decimal(12,2)"
# DECIMAL(12,2) holds up to 9,999,999,999.99.
MONEY_LIMIT = Decimal("10000000000")
PARTITION_KEY = "dt"


@dataclass(frozen=True)
class Column:
    """One column: its name, its Glue type, and for an array of structs the struct's fields."""

    name: str
    type: str
    description: str
    nullable: bool = False
    fields: tuple[Column, ...] = ()

    @property
    def glue_type(self) -> str:
        if self.type != "array<struct>":
            return self.type
        inner = ",".join(f"{f.name}:{f.glue_type}" for f in self.fields)
        return f"array<struct<{inner}>>"


@dataclass(frozen=True)
class Table:
    """A lake table: the event type it holds and its columns (the ``dt`` partition apart)."""

    name: str
    event_type: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


_EVENT_ID = Column("event_id", "string", "the event's id; unique in the table (duplicates removed)")
_OCCURRED_AT = Column("occurred_at", "timestamp", "when it happened, UTC (dt is its store day)")
_CURRENCY = Column("currency", "string", "ISO 4217, always the store currency")

TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        Table(
            "orders",
            "order.placed",
            (
                _EVENT_ID,
                _OCCURRED_AT,
                Column("order_id", "string", "the store's order id"),
                Column("customer_id", "string", "the store's customer id"),
                Column("channel", "string", "web, mobile, marketplace or pos"),
                _CURRENCY,
                Column("gross_sales", MONEY, "sum of quantity x unit_price over the lines"),
                Column("discount", MONEY, "order discount"),
                Column("shipping", MONEY, "shipping charged"),
                Column("tax", MONEY, "tax charged"),
                Column("units", "bigint", "sum of the lines' quantities"),
                Column(
                    "lines",
                    "array<struct>",
                    "the order lines, in the order sent",
                    fields=(
                        Column("sku", "string", "product"),
                        Column("quantity", "bigint", "units"),
                        Column("unit_price", MONEY, "price of one unit"),
                        Column("amount", MONEY, "quantity x unit_price"),
                    ),
                ),
            ),
        ),
        Table(
            "refunds",
            "order.refunded",
            (
                _EVENT_ID,
                _OCCURRED_AT,
                Column("refund_id", "string", "the store's refund id"),
                Column("order_id", "string", "the refunded order"),
                _CURRENCY,
                Column("amount", MONEY, "money returned"),
                Column(
                    "restock",
                    "array<struct>",
                    "units put back on the shelf (empty when none)",
                    fields=(Column("sku", "string", "product"), Column("quantity", "bigint", "units")),
                ),
            ),
        ),
        Table(
            "customers",
            "customer.registered",
            (
                _EVENT_ID,
                _OCCURRED_AT,
                Column("customer_id", "string", "the store's customer id"),
                Column("country", "string", "ISO 3166-1 alpha-2"),
                Column("email_hash", "string", "keyed hash of the e-mail (never the e-mail)", nullable=True),
            ),
        ),
        Table(
            "products",
            "product.upserted",
            (
                _EVENT_ID,
                _OCCURRED_AT,
                Column("sku", "string", "product"),
                Column("name", "string", "product name"),
                Column("category", "string", "product category"),
                Column("price", MONEY, "list price"),
                Column("reorder_point", "bigint", "low-stock threshold"),
            ),
        ),
        Table(
            "inventory_adjustments",
            "inventory.adjusted",
            (
                _EVENT_ID,
                _OCCURRED_AT,
                Column("sku", "string", "product"),
                Column("delta", "bigint", "units added (positive) or removed (negative)"),
                Column("reason", "string", "restock, correction, damage or return"),
            ),
        ),
    )
}
TABLE_OF_TYPE: dict[str, Table] = {table.event_type: table for table in TABLES.values()}


class RowError(ValueError):
    """An event that does not fit its table (a money value too large for DECIMAL(12,2))."""


def _money(value: str | Decimal, where: str) -> Decimal:
    amount = Decimal(value)
    if abs(amount) >= MONEY_LIMIT:
        raise RowError(f"{where}: {value} does not fit DECIMAL(12,2)")
    return amount


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def to_row(event: Mapping[str, Any]) -> dict[str, Any]:
    """The row of an event in the pipeline's JSON form (what the lake's NDJSON holds).

    Money becomes :class:`~decimal.Decimal`, ``occurred_at`` an aware UTC datetime.

    Examples
    --------
    >>> to_row({"event_id": "e1", "type": "inventory.adjusted",
    ...         "occurred_at": "2025-01-01T05:00:00-05:00",
    ...         "data": {"sku": "A", "delta": -2, "reason": "damage"}})["occurred_at"]
    datetime.datetime(2025, 1, 1, 10, 0, tzinfo=datetime.timezone.utc)
    """
    data = event["data"]
    base = {"event_id": event["event_id"], "occurred_at": _instant(event["occurred_at"])}
    kind = event["type"]
    where = f"event {event['event_id']}"
    if kind == "order.placed":
        lines = [
            {
                "sku": line["sku"],
                "quantity": line["quantity"],
                "unit_price": _money(line["unit_price"], where),
                "amount": _money(Decimal(line["unit_price"]) * line["quantity"], where),
            }
            for line in data["lines"]
        ]
        return {
            **base,
            "order_id": data["order_id"],
            "customer_id": data["customer_id"],
            "channel": data.get("channel", "web"),
            "currency": data["currency"],
            "gross_sales": _money(sum((line["amount"] for line in lines), Decimal("0")), where),
            "discount": _money(data.get("discount", "0"), where),
            "shipping": _money(data.get("shipping", "0"), where),
            "tax": _money(data.get("tax", "0"), where),
            "units": sum(line["quantity"] for line in lines),
            "lines": lines,
        }
    if kind == "order.refunded":
        return {
            **base,
            "refund_id": data["refund_id"],
            "order_id": data["order_id"],
            "currency": data["currency"],
            "amount": _money(data["amount"], where),
            "restock": [{"sku": r["sku"], "quantity": r["quantity"]} for r in data.get("restock", [])],
        }
    if kind == "customer.registered":
        return {
            **base,
            "customer_id": data["customer_id"],
            "country": data["country"],
            "email_hash": data.get("email_hash"),
        }
    if kind == "product.upserted":
        return {
            **base,
            "sku": data["sku"],
            "name": data["name"],
            "category": data["category"],
            "price": _money(data["price"], where),
            "reorder_point": data["reorder_point"],
        }
    if kind == "inventory.adjusted":
        return {**base, "sku": data["sku"], "delta": data["delta"], "reason": data["reason"]}
    raise RowError(f"{where}: unknown event type {kind!r}")
