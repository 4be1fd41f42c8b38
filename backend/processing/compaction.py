"""The ``lake-compaction`` job: what arrived in the raw lake -> one Parquet file per table and day.

The raw NDJSON (by arrival hour) is the source of truth, never changed; the Parquet files (by
store day) can always be rebuilt from it. The incremental run and its watermark, the rebuild,
and why one run at a time holds the ``lake-compaction`` lease: docs/lake.md, "Compaction".
"""

from __future__ import annotations

import gzip
import json
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from backend.adapters import lake_reads, lake_store, leases
from backend.adapters.analytics import AnalyticsStore
from backend.domain.calendar import store_day
from backend.lake.parquet import read_rows, sorted_rows, to_parquet
from backend.lake.schema import TABLE_OF_TYPE, TABLES, Table, to_row
from backend.processing.lake import ARRIVED, EVENTS_PREFIX, arrival_hour

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any

PARQUET_PREFIX = "parquet/"
STATE_KEY = "compaction/state.json"
# How far the watermark trails a run's start: far more than a lake invocation (30 s timeout)
# takes from choosing its object's hour to writing it, and than clocks disagree.
MARGIN = timedelta(hours=1)
# S3 answers each request in tens of milliseconds: a few at a time keep a big backlog short.
WORKERS = 8
LEASE = "lake-compaction"
# Renewed every 20 s while a run works; a run that died frees the lake a minute later.
LEASE_SECONDS = 60.0

T = TypeVar("T")
Progress = Callable[[Iterator[T], int], Iterable[T]]


def _no_progress(items: Iterator[T], total: int) -> Iterable[T]:
    return items


def _unguarded() -> None:
    return None


def parquet_key(table: str, day: str) -> str:
    """Where a table's file for a store day lives.

    >>> parquet_key("orders", "2025-03-09")
    'parquet/orders/dt=2025-03-09/part-00000.parquet'
    """
    return f"{PARQUET_PREFIX}{table}/dt={day}/part-00000.parquet"


def hour_of(key: str) -> str | None:
    """The arrival hour of a raw object's key; None for a key of another layout.

    >>> hour_of("events/arrived=2026-03-08-06/abc.ndjson.gz")
    '2026-03-08-06'
    >>> hour_of("events/type=order.placed/dt=2026-03-08/abc.ndjson.gz") is None
    True
    """
    parts = key.split("/")
    if len(parts) == 3 and parts[1].startswith(ARRIVED):
        return parts[1].removeprefix(ARRIVED)
    return None


@dataclass
class State:
    """The watermark: arrival hours before ``from_hour`` are merged; of the hours since, the
    objects in ``merged`` are. No state yet: everything is to be read."""

    from_hour: str | None = None
    merged: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, s3: S3Client, bucket: str) -> State:
        body = lake_reads.read(s3, bucket, STATE_KEY)
        if body is None:
            return cls()
        saved = json.loads(body)
        return cls(saved["from_hour"], set(saved["merged"]))

    def save(self, s3: S3Client, bucket: str) -> None:
        body = json.dumps({"from_hour": self.from_hour, "merged": sorted(self.merged)}, indent=1)
        lake_store.put(s3, bucket, STATE_KEY, body.encode(), "application/json")

    def advanced(self, started: datetime, read: Collection[str]) -> State:
        """The state after a run that began listing at ``started`` and merged ``read``."""
        hour = arrival_hour(started - MARGIN)
        kept = {key for key in self.merged | set(read) if (hour_of(key) or "") >= hour}
        return State(hour, kept)


@dataclass
class Partition:
    """One table's store day and the raw events a run files under it."""

    table: Table
    day: str
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return parquet_key(self.table.name, self.day)


@dataclass(frozen=True)
class Compacted:
    table: str
    day: str
    rows: int
    written: bool


def new_objects(s3: S3Client, bucket: str, state: State) -> list[str]:
    """The raw objects not merged yet: the arrival hours from the watermark on (every raw
    object, older layouts included, when there is no watermark yet)."""
    if state.from_hour is None:
        listed = lake_reads.keys(s3, bucket, EVENTS_PREFIX)
    else:
        # Keys sort by hour: everything after "events/arrived=<hour>" is that hour or later.
        listed = lake_reads.keys(
            s3, bucket, EVENTS_PREFIX + ARRIVED, f"{EVENTS_PREFIX}{ARRIVED}{state.from_hour}"
        )
    return [key for key in listed if key.endswith(".ndjson.gz") and key not in state.merged]


def _events(s3: S3Client, bucket: str, key: str) -> list[dict[str, Any]]:
    body = lake_reads.read(s3, bucket, key)
    if body is None:  # raw objects are never deleted: one listed and gone is an error
        raise LookupError(f"s3://{bucket}/{key} was listed and is gone")
    return [json.loads(line) for line in gzip.decompress(body).decode().splitlines() if line.strip()]


def file_by_day(
    events: Iterable[Mapping[str, Any]], zone: ZoneInfo, days: Collection[str] | None = None
) -> list[Partition]:
    """The events under their table and store day (only ``days``, when given)."""
    found: dict[tuple[str, str], Partition] = {}
    for event in events:
        table = TABLE_OF_TYPE[event["type"]]
        day = store_day(datetime.fromisoformat(event["occurred_at"]), zone).isoformat()
        if days is not None and day not in days:
            continue
        found.setdefault((table.name, day), Partition(table, day)).events.append(dict(event))
    return sorted(found.values(), key=lambda p: (p.day, p.table.name))


def _existing_rows(s3: S3Client, bucket: str, key: str) -> list[dict[str, Any]]:
    body = lake_reads.read(s3, bucket, key)
    return [] if body is None else read_rows(body)


def compact(
    s3: S3Client, bucket: str, part: Partition, *, merge: bool, still_held: Callable[[], None] = _unguarded
) -> Compacted:
    """Write one partition's Parquet file: its file's rows (when ``merge``) and its events, each
    ``event_id`` once. A merge that adds nothing writes nothing; ``still_held`` is called just
    before the write (it raises when the run may no longer write)."""
    rows = {row["event_id"]: row for row in (_existing_rows(s3, bucket, part.key) if merge else [])}
    before = len(rows)
    for event in part.events:
        if event["event_id"] not in rows:
            rows[event["event_id"]] = to_row(event)
    if merge and len(rows) == before:
        return Compacted(part.table.name, part.day, before, written=False)
    body = to_parquet(part.table, sorted_rows(rows.values()), {})
    still_held()
    lake_store.put(s3, bucket, part.key, body, "application/vnd.apache.parquet")
    return Compacted(part.table.name, part.day, len(rows), written=True)


def run(
    s3: S3Client,
    bucket: str,
    *,
    zone: ZoneInfo,
    now: datetime,
    days: Collection[date] | None = None,
    progress: Progress[Compacted] = _no_progress,
    still_held: Callable[[], None] = _unguarded,
) -> dict[str, Any]:
    """Merge what arrived since the last run, or rebuild ``days`` from every raw object.

    ``now`` is when the listing starts (the watermark follows it); ``progress`` wraps the
    partitions as they are written (tqdm from the CLI); ``still_held`` is called before every
    write (:func:`run_exclusive` passes its lease's check). Call :func:`run_exclusive`, not this,
    unless nothing else can compact the bucket.

    Returns
    -------
    dict
        ``objects`` (raw objects read), ``compacted`` (files written), ``rows`` (rows in the
        files written, per table), ``up_to_date`` (days touched whose file held every event
        already), ``days`` (the first and last day written, if any).
    """
    state = State.load(s3, bucket)
    if days is None:
        keys = new_objects(s3, bucket, state)
        wanted = None
    else:
        keys = [key for key in lake_reads.keys(s3, bucket, EVENTS_PREFIX) if key.endswith(".ndjson.gz")]
        wanted = {d.isoformat() for d in days}
    with ThreadPoolExecutor(WORKERS) as pool:
        events = (event for batch in pool.map(lambda key: _events(s3, bucket, key), keys) for event in batch)
        todo = file_by_day(events, zone, wanted)
        # One listing says which days have a file already: a new day costs a PUT, not a GET too.
        files = set(lake_reads.keys(s3, bucket, PARQUET_PREFIX)) if days is None and todo else set()
        results = pool.map(
            lambda part: compact(s3, bucket, part, merge=part.key in files, still_held=still_held), todo
        )
        done = list(progress(results, len(todo)))
    if days is None:
        still_held()
        state.advanced(now, keys).save(s3, bucket)
    written = [item for item in done if item.written]
    by_table: dict[str, int] = defaultdict(int)
    for item in written:
        by_table[item.table] += item.rows
    written_days = sorted({item.day for item in written})
    return {
        "objects": len(keys),
        "compacted": len(written),
        "rows": dict(sorted(by_table.items())),
        "up_to_date": len(done) - len(written),
        "days": [written_days[0], written_days[-1]] if written_days else [],
    }


def run_exclusive(
    s3: S3Client,
    bucket: str,
    analytics: AnalyticsStore,
    *,
    zone: ZoneInfo,
    now: datetime,
    days: Collection[date] | None = None,
    progress: Progress[Compacted] = _no_progress,
    clock: leases.Clock = time.time,
) -> dict[str, Any]:
    """:func:`run`, holding the lake's compaction lease (an item of the analytics table).

    Raises
    ------
    backend.adapters.leases.Taken
        Another run holds the lease; nothing was read or written.
    backend.adapters.leases.Lost
        The lease ran out while this run worked; it stopped before its next write (what it
        wrote is correct, and the next run merges the rest).
    """
    with analytics.hold_lease(LEASE, seconds=LEASE_SECONDS, clock=clock) as lease:
        return run(s3, bucket, zone=zone, now=now, days=days, progress=progress, still_held=lease.check)


__all__ = [
    "TABLES",
    "Compacted",
    "Partition",
    "State",
    "compact",
    "file_by_day",
    "parquet_key",
    "run",
    "run_exclusive",
]
