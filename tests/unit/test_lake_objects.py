"""The lake processor's objects: a few per batch, by arrival hour, the same for a redelivery.

S3 is stubbed (a recorder of ``put_object``): what is under test is which objects a batch makes.
The real S3 path is in ``tests/integration/test_lake_compaction.py`` and the e2e tests.
"""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from backend.adapters.batch import Parsed
from backend.domain.events import parse_event
from backend.processing import lake
from backend.processing.ingest import hash_pii
from tests.histories import small_history

ARRIVED = datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> None:
        self.objects[Key] = Body


@pytest.fixture(scope="module")
def history() -> list[Any]:
    raw = small_history(3, days=5 * 365, orders_per_day=1)
    # As the ingest function publishes them: validated, e-mails hashed
    return [hash_pii(parse_event(e, currency="USD", now=ARRIVED), "test-key") for e in raw]


def _write(events: list[Any], message_ids: list[str]) -> dict[str, bytes]:
    s3 = Recorder()
    items = [Parsed(m, e) for m, e in zip(message_ids, events, strict=True)]
    # The Recorder stands in for the typed S3 client: it has the one method the lake calls
    assert lake.apply(s3, bucket="lake", items=items, now=ARRIVED) == {}  # type: ignore[arg-type]
    return s3.objects


def test_a_batch_of_years_is_one_object_under_its_arrival_hour(history: list[Any]) -> None:
    batch = history[:2000]
    assert len({e.occurred_at.date() for e in batch}) > 300
    objects = _write(batch, [f"m{n}" for n in range(len(batch))])
    [(key, body)] = objects.items()
    assert key.startswith("events/arrived=2026-03-08-06/") and key.endswith(".ndjson.gz")
    lines = [json.loads(line) for line in gzip.decompress(body).decode().splitlines()]
    assert sorted(e["event_id"] for e in lines) == sorted(e.event_id for e in batch)


def test_a_redelivery_in_other_order_packets_and_duplicates_writes_the_same_object(
    history: list[Any],
) -> None:
    batch = history[:300]
    first = _write(batch, [f"m{n}" for n in range(len(batch))])
    # Redelivered: shuffled, some events twice, several events sharing a message (packets)
    again = batch + batch[:40]
    random.Random(4).shuffle(again)
    assert _write(again, [f"packet-{n // 50}" for n in range(len(again))]) == first


def test_a_very_big_batch_is_a_few_objects(history: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lake, "EVENTS_PER_OBJECT", 400)
    batch = history[:1000]
    objects = _write(batch, [f"m{n}" for n in range(len(batch))])
    assert len(objects) == 3
    ids = [
        json.loads(line)["event_id"]
        for body in objects.values()
        for line in gzip.decompress(body).splitlines()
    ]
    assert sorted(ids) == sorted(e.event_id for e in batch)
