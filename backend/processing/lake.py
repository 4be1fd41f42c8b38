"""The lake processor: raw events to S3 as gzipped NDJSON, a few objects per batch.

Objects are partitioned by **arrival hour** (UTC), not by store day: a batch of history spread
over years is still one object (or a few, :data:`EVENTS_PER_OBJECT` events each), so the
function's time and PUTs do not grow with the number of days a batch touches. The
``lake-compaction`` job reads what arrived since its last run and files each event under its
type and store day (``backend/processing/compaction.py``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from backend.adapters import lake_store
from backend.adapters.batch import Parsed
from backend.domain.events import Event

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any

EVENTS_PREFIX = "events/"
ARRIVED = "arrived="
# An object's events, at most: about 5 MB of gzipped NDJSON for big orders, which a reader
# holds in memory at once. A batch of a few thousand events is one object.
EVENTS_PER_OBJECT = 20_000


def arrival_hour(now: datetime) -> str:
    """The arrival partition of an object written at ``now`` (UTC hours, so no DST gaps).

    >>> arrival_hour(datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC))
    '2026-03-08-06'
    """
    return now.astimezone(UTC).strftime("%Y-%m-%d-%H")


def object_key(hour: str, event_ids: Sequence[str]) -> str:
    """``events/arrived=<hour>/<digest>.ndjson.gz``; the digest is of the sorted event ids, so a
    batch redelivered within the hour overwrites its own object instead of adding a copy.

    >>> object_key("2026-03-08-06", ["b", "a"])
    'events/arrived=2026-03-08-06/7e18f737311b2dc3b2f269dd78396b03.ndjson.gz'
    """
    digest = hashlib.sha256("\n".join(sorted(event_ids)).encode()).hexdigest()[:32]
    return f"{EVENTS_PREFIX}{ARRIVED}{hour}/{digest}.ndjson.gz"


def _chunks(events: Sequence[Event], size: int) -> Iterator[Sequence[Event]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


def apply(s3: S3Client, *, bucket: str, items: Sequence[Parsed], now: datetime) -> dict[str, BaseException]:
    """Write the batch under the arrival hour of ``now``. E-mails arrive already hashed.

    Events are de-duplicated by ``event_id`` and sorted by it, so the same events give the same
    objects, byte for byte, whatever their order or their packets in the batch.
    """
    distinct: dict[str, Event] = {}
    for item in items:
        event: Event = item.value
        distinct.setdefault(event.event_id, event)
    events = [distinct[event_id] for event_id in sorted(distinct)]
    hour = arrival_hour(now)
    for chunk in _chunks(events, EVENTS_PER_OBJECT):
        lines = "".join(json.dumps(e.to_json(), separators=(",", ":")) + "\n" for e in chunk)
        lake_store.put(
            s3,
            bucket,
            object_key(hour, [e.event_id for e in chunk]),
            gzip.compress(lines.encode(), mtime=0),
            "application/x-ndjson",
            gzipped=True,
        )
    return {}
