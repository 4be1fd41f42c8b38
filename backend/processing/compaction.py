"""The ``lake-compaction`` job: a store day's NDJSON objects -> one Parquet file per table.

Layout (agreed with the Glue tables): ``parquet/<table>/dt=<YYYY-MM-DD>/part-00000.parquet``.
The raw NDJSON under ``events/`` is the source of truth and is never changed or deleted: a
Parquet file can always be rebuilt from it.

Which days are compacted
    Every day up to ``up_to`` (yesterday in the store's zone, for the nightly schedule) whose
    NDJSON objects differ from those its Parquet file was built from: a day never compacted, or
    one that received late events since. Each file records the SHA-256 of its sources (the sorted
    ``key etag`` pairs) in its S3 metadata and in its Parquet metadata; a day is looked at only
    when one of its NDJSON objects is newer than its file (less a margin longer than a run), and
    rebuilt only when the digest differs. ``days`` rebuilds the given days whatever their state.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from backend.lake.parquet import MANIFEST_KEY, SOURCES_KEY, distinct_rows, to_parquet
from backend.lake.schema import TABLE_OF_TYPE, TABLES, Table

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any

EVENTS_PREFIX = "events/"
PARQUET_PREFIX = "parquet/"
S3_MANIFEST_KEY = "sources-sha256"
# Longer than a run of the job (the jobs function times out after 5 minutes): an object written
# while a file was being built, but after its listing, is newer than the file minus this.
_RUN_MARGIN = timedelta(minutes=15)


def parquet_key(table: str, day: str) -> str:
    """Where a table's file for a store day lives.

    >>> parquet_key("orders", "2025-03-09")
    'parquet/orders/dt=2025-03-09/part-00000.parquet'
    """
    return f"{PARQUET_PREFIX}{table}/dt={day}/part-00000.parquet"


@dataclass
class Partition:
    """One table's store day: its NDJSON objects (key -> ETag) and its Parquet file if any."""

    table: Table
    day: str
    sources: dict[str, str] = field(default_factory=dict)
    newest_source: datetime | None = None
    parquet_written: datetime | None = None

    @property
    def key(self) -> str:
        return parquet_key(self.table.name, self.day)

    @property
    def digest(self) -> str:
        listing = "\n".join(f"{key} {etag}" for key, etag in sorted(self.sources.items()))
        return hashlib.sha256(listing.encode()).hexdigest()


@dataclass(frozen=True)
class Compacted:
    table: str
    day: str
    rows: int
    sources: int


def _objects(s3: S3Client, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", [])


def _partition_of(key: str) -> tuple[str, str] | None:
    """``events/type=<type>/dt=<day>/<name>`` -> (type, day); None for anything else."""
    parts = key.split("/")
    if len(parts) != 4 or not parts[1].startswith("type=") or not parts[2].startswith("dt="):
        return None
    return parts[1].removeprefix("type="), parts[2].removeprefix("dt=")


def partitions(s3: S3Client, bucket: str) -> list[Partition]:
    """Every (table, day) that has NDJSON, with what the bucket says about its Parquet file."""
    found: dict[tuple[str, str], Partition] = {}
    for event_type, table in TABLE_OF_TYPE.items():
        for obj in _objects(s3, bucket, f"{EVENTS_PREFIX}type={event_type}/"):
            where = _partition_of(obj["Key"])
            if where is None:
                continue
            part = found.setdefault((table.name, where[1]), Partition(table, where[1]))
            part.sources[obj["Key"]] = obj["ETag"]
            if part.newest_source is None or obj["LastModified"] > part.newest_source:
                part.newest_source = obj["LastModified"]
    for obj in _objects(s3, bucket, PARQUET_PREFIX):
        parts = obj["Key"].split("/")
        if len(parts) == 4 and parts[2].startswith("dt=") and (parts[1], parts[2][3:]) in found:
            found[(parts[1], parts[2][3:])].parquet_written = obj["LastModified"]
    return sorted(found.values(), key=lambda p: (p.day, p.table.name))


def _stale(s3: S3Client, bucket: str, part: Partition) -> bool:
    if part.parquet_written is None:
        return True
    assert part.newest_source is not None
    if part.newest_source < part.parquet_written - _RUN_MARGIN:
        return False
    head = s3.head_object(Bucket=bucket, Key=part.key)
    return bool(head.get("Metadata", {}).get(S3_MANIFEST_KEY) != part.digest)


def plan(
    s3: S3Client, bucket: str, *, up_to: date, days: Collection[date] | None = None
) -> tuple[list[Partition], int]:
    """The partitions to (re)build and how many were found up to date.

    Parameters
    ----------
    up_to
        The last day considered when ``days`` is not given.
    days
        Rebuild exactly these days (every table that has NDJSON on them), stale or not.
    """
    wanted = {d.isoformat() for d in days} if days is not None else None
    todo: list[Partition] = []
    current = 0
    for part in partitions(s3, bucket):
        if wanted is not None:
            if part.day in wanted:
                todo.append(part)
        elif part.day <= up_to.isoformat():
            if _stale(s3, bucket, part):
                todo.append(part)
            else:
                current += 1
    return todo, current


def _events(s3: S3Client, bucket: str, key: str) -> Iterator[dict[str, Any]]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    for line in gzip.decompress(body).decode().splitlines():
        if line.strip():
            yield json.loads(line)


def compact(s3: S3Client, bucket: str, part: Partition) -> Compacted:
    """Build and write one partition's Parquet file from its NDJSON objects.

    The objects are read in key order and the rows de-duplicated by ``event_id``: the lake is
    written at least once, so a redelivered event may sit in two objects.
    """
    events = (event for key in sorted(part.sources) for event in _events(s3, bucket, key))
    rows = distinct_rows(events)
    digest = part.digest
    body = to_parquet(
        part.table,
        rows,
        {MANIFEST_KEY: digest, SOURCES_KEY: "\n".join(sorted(part.sources))},
    )
    s3.put_object(
        Bucket=bucket,
        Key=part.key,
        Body=body,
        ContentType="application/vnd.apache.parquet",
        Metadata={S3_MANIFEST_KEY: digest},
    )
    return Compacted(part.table.name, part.day, len(rows), len(part.sources))


def run(
    s3: S3Client,
    bucket: str,
    *,
    up_to: date,
    days: Collection[date] | None = None,
    progress: Callable[[list[Partition]], Iterator[Partition]] = iter,
) -> dict[str, Any]:
    """Plan, then compact each partition; ``progress`` wraps the loop (tqdm from the CLI).

    Returns
    -------
    dict
        ``compacted`` (files written), ``rows``, ``up_to_date`` (files left as they were),
        ``days`` (the first and last day written, if any).
    """
    todo, current = plan(s3, bucket, up_to=up_to, days=days)
    done = [compact(s3, bucket, part) for part in progress(todo)]
    by_table: dict[str, int] = defaultdict(int)
    for item in done:
        by_table[item.table] += item.rows
    written = sorted({item.day for item in done})
    return {
        "compacted": len(done),
        "rows": dict(sorted(by_table.items())),
        "up_to_date": current,
        "days": [written[0], written[-1]] if written else [],
    }


__all__ = ["TABLES", "Compacted", "Partition", "compact", "parquet_key", "partitions", "plan", "run"]
