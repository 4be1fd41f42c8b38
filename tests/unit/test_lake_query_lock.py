"""``storepulse lake query`` reads the lake and nothing else (issue 18).

DuckDB runs the user's SQL over views of the cached Parquet files. Given a cache holding one
orders file and, beside it, a file that is not the lake's, when SQL tries to read outside the
lake, write a file, attach a database, install or load an extension, or change a setting, then
it is refused in one line of words and nothing is read or written; ordinary queries still work.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from backend.lake import query
from backend.lake.parquet import distinct_rows, to_parquet
from backend.lake.schema import TABLES
from backend.processing.compaction import parquet_key


def _order(event_id: str, at: str, price: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "order.placed",
        "occurred_at": at,
        "data": {
            "order_id": event_id,
            "customer_id": "c-1",
            "currency": "USD",
            "lines": [{"sku": "MUG", "quantity": 2, "unit_price": price}],
        },
    }


@pytest.fixture
def lake(tmp_path: Path) -> dict[str, Any]:
    """A cache with one orders file, and a secret file outside it."""
    cache = tmp_path / "cache"
    path = cache / parquet_key("orders", "2025-03-09")
    path.parent.mkdir(parents=True)
    rows = distinct_rows(
        [_order("o1", "2025-03-09T12:00:00Z", "9.99"), _order("o2", "2025-03-09T23:30:00Z", "5.00")]
    )
    path.write_bytes(to_parquet(TABLES["orders"], rows, {}))
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    conn = query.connect(cache, "America/New_York")
    return {"conn": conn, "cache": cache, "secret": secret, "outside": tmp_path}


def _refused(conn: Any, sql: str) -> str:
    with pytest.raises(query.QueryError) as refused:
        query.run(conn, sql)
    message = str(refused.value)
    assert message and len(message.splitlines()) == 1 and "Traceback" not in message
    return message


def test_ordinary_queries_still_work(lake: dict[str, Any]) -> None:
    conn = lake["conn"]
    headers, rows = query.run(
        conn, "SELECT dt, count(*) AS orders, sum(gross_sales) AS gross FROM orders GROUP BY dt"
    )
    assert headers == ["dt", "orders", "gross"] and rows == [("2025-03-09", 2, Decimal("29.98"))]
    # The order lines unnest, the store's time zone holds, a CTE and EXPLAIN are queries too
    _, rows = query.run(
        conn, "WITH l AS (SELECT unnest(lines) AS l FROM orders) SELECT sum(l.quantity) FROM l"
    )
    assert rows == [(4,)]
    _, [(day,)] = query.run(conn, "SELECT max(occurred_at)::DATE FROM orders")
    assert day.isoformat() == "2025-03-09"
    assert query.run(conn, "SELECT current_setting('TimeZone')")[1] == [("America/New_York",)]
    assert query.run(conn, "EXPLAIN SELECT * FROM refunds")[1]
    # The (empty) tables with no file yet still bind
    assert query.run(conn, "SELECT count(*) FROM refunds")[1] == [(0,)]


def test_files_outside_the_lake_cannot_be_read(lake: dict[str, Any]) -> None:
    conn = lake["conn"]
    for sql in (
        "SELECT * FROM read_text('/etc/passwd')",
        f"SELECT * FROM read_csv('{lake['secret']}')",
        f"SELECT * FROM read_text('{lake['cache']}/../secret.csv')",
        f"SELECT * FROM glob('{lake['outside']}/*')",
        "SELECT * FROM read_json('http://127.0.0.1:9/x.json')",
    ):
        assert "disabled by configuration" in _refused(conn, sql), sql


def test_nothing_can_be_written_or_attached(lake: dict[str, Any]) -> None:
    conn = lake["conn"]
    outside, cache = lake["outside"], lake["cache"]
    for sql, word in (
        (f"COPY (SELECT * FROM orders) TO '{outside}/stolen.csv'", "COPY"),
        (f"COPY (SELECT 1) TO '{cache}/parquet/orders/evil.csv'", "COPY"),
        (f"SELECT 1; COPY (SELECT 1) TO '{outside}/second.csv'", "COPY"),
        (f"ATTACH '{outside}/other.db' AS other", "ATTACH"),
        ("ATTACH ':memory:' AS scratch", "ATTACH"),
        (f"EXPORT DATABASE '{outside}/export'", "EXPORT"),
        ("CREATE TABLE t AS SELECT 1", "CREATE"),
        ("INSTALL httpfs", "INSTALL"),
        ("LOAD httpfs", "INSTALL"),
        ("SET enable_external_access = true", "SET"),
        ("RESET lock_configuration", "SET"),
    ):
        assert word in _refused(conn, sql), sql
    assert sorted(p.name for p in outside.iterdir()) == ["cache", "secret.csv"]
    assert not list(cache.glob("**/*.csv"))


def test_the_lock_holds_even_against_a_direct_connection_call(lake: dict[str, Any]) -> None:
    # The connection itself, not only the statement check, refuses to widen what it may touch
    import duckdb

    conn = lake["conn"]
    for sql in ("SET enable_external_access = true", "SET allowed_directories = ['/']", "LOAD httpfs"):
        with pytest.raises(duckdb.Error):
            conn.execute(sql)
    with pytest.raises(duckdb.Error):
        conn.execute("SELECT * FROM read_text('/etc/passwd')").fetchall()


def test_bad_sql_is_answered_in_words(lake: dict[str, Any]) -> None:
    conn = lake["conn"]
    assert "syntax error" in _refused(conn, "SELEC 1").lower()
    assert "nope" in _refused(conn, "SELECT nope FROM orders")
    assert "no SQL" in _refused(conn, " ; ")
