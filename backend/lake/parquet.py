"""Rows to Parquet bytes (pyarrow) and back.

A file is a pure function of its rows' events: rows are de-duplicated by ``event_id`` and
sorted by ``occurred_at`` then ``event_id``, and the writer options are fixed, so compacting
the same events twice, in one run or merged over many, gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from backend.lake.schema import MONEY, Column, Table, to_row

COMPRESSION = "zstd"


def _arrow_type(column: Column) -> pa.DataType:
    if column.type == "string":
        return pa.string()
    if column.type == "bigint":
        return pa.int64()
    if column.type == "timestamp":
        return pa.timestamp("us", tz="UTC")
    if column.type == MONEY:
        return pa.decimal128(12, 2)
    if column.type == "array<struct>":
        return pa.list_(pa.struct([_field(f) for f in column.fields]))
    raise ValueError(f"no Arrow type for {column.type!r}")


def _field(column: Column) -> pa.Field:
    return pa.field(column.name, _arrow_type(column), nullable=column.nullable)


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a lake table.

    >>> from backend.lake.schema import TABLES
    >>> str(arrow_schema(TABLES["refunds"]).field("amount").type)
    'decimal128(12, 2)'
    """
    return pa.schema([_field(c) for c in table.columns])


def distinct_rows(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per ``event_id`` (the first seen wins: a redelivery repeats the same event),
    sorted by ``occurred_at`` then ``event_id``."""
    rows: dict[str, dict[str, Any]] = {}
    for event in events:
        if event["event_id"] not in rows:
            rows[event["event_id"]] = to_row(event)
    return sorted_rows(rows.values())


def sorted_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in a file's order: by ``occurred_at``, then ``event_id``."""
    return sorted(rows, key=lambda row: (row["occurred_at"], row["event_id"]))


def to_parquet(table: Table, rows: list[dict[str, Any]], metadata: Mapping[str, str]) -> bytes:
    """The Parquet file of ``rows`` with ``metadata`` in its key-value metadata."""
    schema = arrow_schema(table).with_metadata(dict(metadata))
    arrow_table = pa.Table.from_pylist(rows, schema=schema)
    sink = io.BytesIO()
    pq.write_table(
        arrow_table,
        sink,
        compression=COMPRESSION,
        # Stable across runs: no creation time is written; statistics help Athena skip.
        write_statistics=True,
    )
    return sink.getvalue()


def read_rows(body: bytes) -> list[dict[str, Any]]:
    """The rows of a Parquet file (for tests and tools)."""
    return pq.read_table(io.BytesIO(body)).to_pylist()


def file_metadata(body: bytes) -> dict[str, str]:
    """The key-value metadata of a Parquet file (without Arrow's own schema entry)."""
    raw = pq.ParquetFile(io.BytesIO(body)).schema_arrow.metadata or {}
    return {k.decode(): v.decode() for k, v in raw.items() if not k.startswith(b"ARROW:")}
