"""The lake processor: raw events to S3 as gzipped NDJSON, one object per batch and partition."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from backend.adapters.batch import Parsed
from backend.domain.calendar import store_day
from backend.domain.events import Event

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any


def object_key(event_type: str, day: str, message_ids: Sequence[str]) -> str:
    """Hive-style partitions; the name is a digest of the batch, so a redelivered batch
    overwrites its own object instead of adding a copy."""
    digest = hashlib.sha256("\n".join(sorted(message_ids)).encode()).hexdigest()[:32]
    return f"events/type={event_type}/dt={day}/{digest}.ndjson.gz"


def apply(s3: S3Client, *, bucket: str, zone: ZoneInfo, items: Sequence[Parsed]) -> dict[str, BaseException]:
    """Write the batch: one object per (type, store day). E-mails arrive already hashed."""
    partitions: dict[tuple[str, str], list[Parsed]] = defaultdict(list)
    for item in items:
        event: Event = item.value
        partitions[(event.type, store_day(event.occurred_at, zone).isoformat())].append(item)
    for (event_type, day), members in sorted(partitions.items()):
        lines = "".join(json.dumps(m.value.to_json(), separators=(",", ":")) + "\n" for m in members)
        s3.put_object(
            Bucket=bucket,
            Key=object_key(event_type, day, [m.message_id for m in members]),
            Body=gzip.compress(lines.encode(), mtime=0),
            ContentType="application/x-ndjson",
            ContentEncoding="gzip",
        )
    return {}
