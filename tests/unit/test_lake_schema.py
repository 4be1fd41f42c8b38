"""The lake's table definitions: rows from events, Parquet types, and the docs that Glue mirrors."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from backend.lake.parquet import distinct_rows, file_metadata, read_rows, to_parquet
from backend.lake.schema import TABLES, RowError, to_row

DOCS = Path(__file__).resolve().parents[2] / "docs" / "lake.md"


def _order(event_id: str, at: str, *lines: tuple[str, int, str]) -> dict[str, object]:
    return {
        "event_id": event_id,
        "type": "order.placed",
        "occurred_at": at,
        "data": {
            "order_id": f"o-{event_id}",
            "customer_id": "c-1",
            "currency": "USD",
            "lines": [{"sku": s, "quantity": q, "unit_price": p} for s, q, p in lines],
            "discount": "1.5",
        },
    }


def test_order_rows_carry_exact_money_and_nested_lines() -> None:
    row = to_row(_order("e1", "2025-03-09T01:30:00-05:00", ("MUG", 3, "19.99"), ("PIN", 1, "0.1")))
    assert row["gross_sales"] == Decimal("60.07") and row["units"] == 4
    assert row["lines"][0] == {
        "sku": "MUG",
        "quantity": 3,
        "unit_price": Decimal("19.99"),
        "amount": Decimal("59.97"),
    }
    assert row["occurred_at"].isoformat() == "2025-03-09T06:30:00+00:00"


def test_money_too_large_for_decimal_12_2_is_refused_naming_the_event() -> None:
    with pytest.raises(RowError, match=r"event e9: .*DECIMAL"):
        to_row(_order("e9", "2025-03-09T01:30:00Z", ("GOLD", 1_000_000, "99999.99")))


def test_same_events_in_any_order_and_repeated_give_the_same_bytes() -> None:
    events = [
        _order("e2", "2025-03-09T12:00:00Z", ("MUG", 1, "5.00")),
        _order("e1", "2025-03-09T12:00:00Z", ("TEE", 2, "12.50")),
        _order("e3", "2025-03-09T08:00:00Z", ("CAP", 1, "7.25")),
    ]
    table = TABLES["orders"]
    once = to_parquet(table, distinct_rows(events), {"k": "v"})
    shuffled = to_parquet(table, distinct_rows([events[2], events[0], events[1], events[0]]), {"k": "v"})
    assert once == shuffled
    assert [r["event_id"] for r in read_rows(once)] == ["e3", "e1", "e2"]
    assert file_metadata(once) == {"k": "v"}


def test_docs_list_exactly_the_columns_of_each_table() -> None:
    # docs/lake.md is what the Glue tables are written from: it must say what the files hold.
    text = DOCS.read_text()
    for name, table in TABLES.items():
        section = text.split(f"\n### `{name}`", 1)[1].split("\n### ", 1)[0]
        documented = re.findall(r"^\| `([a-z_]+)` \| `([^`]+)` \|", section, flags=re.MULTILINE)
        assert documented == [(c.name, c.glue_type) for c in table.columns], name
