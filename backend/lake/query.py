"""``storepulse lake query``: DuckDB over the Parquet lake, with the Glue tables' names.

The Parquet files are mirrored into a local cache directory (only new or changed files are
downloaded, by ETag) and each table is a DuckDB view over its files with ``dt`` as a string
partition column, as in Glue. Reading local files needs only DuckDB's built-in Parquet reader:
no extension is installed or downloaded at run time, and it works the same against the local
stack's moto server and against S3.

The user's SQL reads the lake and nothing else: only queries run, and the connection is locked
to the cache's Parquet directory (:func:`connect`).

A developer tool (DuckDB is a dev dependency); Athena answers the same SQL in AWS.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.lake.schema import MONEY, PARTITION_KEY, TABLES, Column, Table

if TYPE_CHECKING:
    import duckdb
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any

PARQUET_PREFIX = "parquet/"
_INDEX = ".etags.json"
_DOWNLOADS = 8


class QueryError(Exception):
    """SQL that DuckDB refused; the message is one line."""


def _no_progress(items: Iterator[str], total: int) -> Iterable[str]:
    return items


def sync(
    s3: S3Client,
    bucket: str,
    cache: Path,
    progress: Callable[[Iterator[str], int], Iterable[str]] = _no_progress,
) -> int:
    """Mirror ``s3://bucket/parquet/`` into ``cache``; returns the number of files downloaded.

    ``progress`` wraps the downloads as they finish (tqdm from the CLI); a few run at a time,
    since a lake of years holds thousands of small files.
    """
    cache.mkdir(parents=True, exist_ok=True)
    index_path = cache / _INDEX
    index: dict[str, str] = json.loads(index_path.read_text()) if index_path.exists() else {}
    listed = [
        obj
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PARQUET_PREFIX)
        for obj in page.get("Contents", [])
        if obj["Key"].endswith(".parquet")
    ]
    wanted = {obj["Key"] for obj in listed}
    for key in [k for k in index if k not in wanted]:
        (cache / key).unlink(missing_ok=True)
        del index[key]
    changed = {
        obj["Key"]: obj["ETag"]
        for obj in listed
        if index.get(obj["Key"]) != obj["ETag"] or not (cache / obj["Key"]).exists()
    }

    def download(key: str) -> str:
        path = cache / key
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        partial.replace(path)
        return key

    with ThreadPoolExecutor(_DOWNLOADS) as pool:
        for key in progress(pool.map(download, changed), len(changed)):
            index[key] = changed[key]
    index_path.write_text(json.dumps(index, sort_keys=True))
    return len(changed)


def _duckdb_type(column: Column) -> str:
    if column.type == "string":
        return "VARCHAR"
    if column.type == "bigint":
        return "BIGINT"
    if column.type == "timestamp":
        return "TIMESTAMPTZ"
    if column.type == MONEY:
        return "DECIMAL(12,2)"
    if column.type == "array<struct>":
        return "STRUCT(" + ", ".join(f"{f.name} {_duckdb_type(f)}" for f in column.fields) + ")[]"
    raise ValueError(f"no DuckDB type for {column.type!r}")


def _view(table: Table, cache: Path) -> str:
    folder = cache / PARQUET_PREFIX / table.name
    if any(folder.glob("dt=*/*.parquet")):
        pattern = str(folder / "dt=*" / "*.parquet").replace("'", "''")
        source = (
            f"SELECT * FROM read_parquet('{pattern}', hive_partitioning = true, "
            f"hive_types = {{'{PARTITION_KEY}': VARCHAR}})"
        )
    else:
        # No file yet: an empty view with the table's columns, so queries still bind.
        columns = [f"CAST(NULL AS {_duckdb_type(c)}) AS {c.name}" for c in table.columns]
        columns.append(f"CAST(NULL AS VARCHAR) AS {PARTITION_KEY}")
        source = f"SELECT {', '.join(columns)} WHERE false"
    return f"CREATE OR REPLACE VIEW {table.name} AS {source}"


# What a user's SQL may be: queries. Everything else (COPY, ATTACH, INSTALL/LOAD, SET, CREATE,
# EXPORT, PRAGMA, CALL) is refused before DuckDB sees it, and the connection is locked as well.
_QUERIES = ("SELECT", "EXPLAIN")
_REFUSED_AS = {"LOAD": "INSTALL/LOAD", "VARIABLE_SET": "SET"}


def _literal(text: str | Path) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def connect(cache: Path, timezone: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per lake table over the cached files, locked to them.

    Timestamps show in ``timezone`` (the store's), so ``occurred_at::DATE`` is the store day.
    Once the views exist the connection may touch only the cache's ``parquet/`` directory
    (``enable_external_access = false`` with it as the one allowed directory: no other file,
    no URL, no database to attach), loads no extension (none is installed or auto-loaded: the
    Parquet reader is built in), and its configuration is locked, so no SQL can undo any of it.
    """
    import duckdb

    tables = cache / PARQUET_PREFIX
    spill = cache / ".tmp"
    for folder in (tables, spill):
        folder.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
        }
    )
    conn.execute(f"SET TimeZone = {_literal(timezone)}")
    conn.execute(f"SET temp_directory = {_literal(spill)}")
    for table in TABLES.values():
        conn.execute(_view(table, cache))
    conn.execute(f"SET allowed_directories = [{_literal(tables)}, {_literal(spill)}]")
    conn.execute("SET enable_external_access = false")
    conn.execute("SET lock_configuration = true")
    return conn


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_queries_only(conn: duckdb.DuckDBPyConnection, sql: str) -> None:
    import duckdb

    try:
        statements = conn.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(_first_line(exc)) from None
    if not statements:
        raise QueryError("no SQL to run")
    for statement in statements:
        kind = statement.type.name
        if kind not in _QUERIES:
            shown = _REFUSED_AS.get(kind, kind)
            raise QueryError(f"the lake is read-only: {shown} statements are refused; ask with SELECT")


def run(conn: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of ``sql`` (queries only); :class:`QueryError` in one line if
    DuckDB refuses it or it is not a query."""
    import duckdb

    _check_queries_only(conn, sql)
    try:
        relation = conn.execute(sql)
        headers = [d[0] for d in relation.description or []]
        return headers, relation.fetchall() if headers else []
    except duckdb.Error as exc:
        raise QueryError(_first_line(exc)) from None


def clear(cache: Path) -> None:
    """Forget every cached file."""
    shutil.rmtree(cache, ignore_errors=True)


def cell(value: Any) -> Any:
    """A value as plain JSON: money and other decimals as strings, instants as ISO-8601."""
    if isinstance(value, list):
        return [cell(v) for v in value]
    if isinstance(value, dict):
        return {k: cell(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def text(value: Any) -> str:
    shown = cell(value)
    if shown is None:
        return "NULL"
    return shown if isinstance(shown, str) else json.dumps(shown)


def records(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield {h: cell(v) for h, v in zip(headers, row, strict=True)}
