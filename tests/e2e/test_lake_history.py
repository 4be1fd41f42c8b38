"""A 5-year history import through the ingest API: the lake function stays inside its timeout.

Given several thousand events spread over five years, shuffled (the worst case for a layout by
store day: every batch touches hundreds of days), when they are sent through the ingest API in
500-event requests while the lake function takes them in as its event source batches them,
then every invocation ends well inside its 30 s timeout and writes one object, whatever days its
batch spans, and so does a backlog handed over in full 2,000-message batches; and once the
``lake-compaction`` job has run, ``storepulse lake query`` returns every event exactly once,
under its type and its store day.
"""

from __future__ import annotations

import json
import random
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.adapters.packets import MAX_PACKET_EVENTS
from backend.lake.schema import TABLE_OF_TYPE, TABLES
from backend.processing.lake import EVENTS_PER_OBJECT
from bench.lake import direct_batches, import_history
from devstack import cli
from tests import pipeline
from tests.conftest import STORE_TIMEZONE
from tests.histories import small_history

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.timeout(900)]

LAKE_TIMEOUT = 30.0
JOBS_TIMEOUT = 300.0


def _store_day(event: dict[str, Any]) -> str:
    """Computed here, not by the code under test."""
    moment = datetime.fromisoformat(event["occurred_at"])
    return moment.astimezone(ZoneInfo(STORE_TIMEZONE)).date().isoformat()


def test_a_five_year_history_import_stays_inside_the_lake_timeout_and_reads_back_once(
    stack: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given five years of a store that trades one day in three (fewer Parquet files to write and
    # read back than a daily store, the same spread), shuffled
    stack.reset()
    history = small_history(11, days=5 * 365 + 1, orders_per_day=3, tz=STORE_TIMEZONE)
    events = [e for e in history if date.fromisoformat(_store_day(e)).toordinal() % 3 == 0]
    random.Random(5).shuffle(events)
    days = sorted({_store_day(e) for e in events})
    assert len(events) > 4000 and len(days) > 600 and days[-1] > "2025" and days[0] < "2020-04"

    # When it is sent through the ingest API in 500-event requests, the lake function taking
    # it in as its event source batches it (each request once the lake has the previous one:
    # moto's queues slow down with their depth, AWS's do not)
    run = import_history(stack.local, events, window=2.0, paced=True)

    # Then every event went through the lake function once (in packets: a message per 100
    # events of a request), and each invocation ended well inside its 30 s timeout, having
    # written one object whatever days its batch spanned
    packets = sum(-(-len(events[i : i + 500]) // MAX_PACKET_EVENTS) for i in range(0, len(events), 500))
    assert sum(run.events) == len(events) and sum(run.messages) == packets
    assert max(run.seconds) < LAKE_TIMEOUT / 3, run.figures()
    assert all(0 < n <= -(-m // EVENTS_PER_OBJECT) for n, m in zip(run.objects, run.events, strict=True))

    # And a backlog handed over in full batches (2,000 messages of one event each, as queues
    # held them before packets, the event source's batch size: 41-43 s each when objects were
    # per store day) takes the same one object per batch
    backlog = direct_batches(stack.local, pipeline.pipeline_form(events))
    assert backlog.messages[0] == 2000 and max(backlog.seconds) < LAKE_TIMEOUT / 3, backlog.figures()
    # (a batch holding exactly the events of an earlier one, within the hour, overwrites its
    # object rather than adding one: the last 125 events here were the import's last request)
    assert set(backlog.objects) <= {0, 1} and sum(backlog.objects) >= len(backlog.objects) - 1

    # When the nightly compaction runs, it finishes inside the jobs function's timeout
    started = time.monotonic()
    result = stack.local.invoke_job("lake-compaction")
    assert time.monotonic() - started < JOBS_TIMEOUT
    assert result["objects"] == sum(run.objects) + sum(backlog.objects)

    # Then the lake query sees every event exactly once, under its type and store day
    monkeypatch.setenv("STOREPULSE_LAKE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("STOREPULSE_TARGET", "local")
    sql = " UNION ALL ".join(f"SELECT '{name}' AS t, event_id, dt FROM {name}" for name in TABLES)
    assert cli.main(["lake", "query", sql, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    # (each event sits in two raw objects: the import's and the backlog's)
    assert len(rows) == len(events)
    assert {r["event_id"]: (r["t"], r["dt"]) for r in rows} == {
        e["event_id"]: (TABLE_OF_TYPE[e["type"]].name, _store_day(e)) for e in events
    }
    # (a lake of thousands of files would make the session's final snapshot slow)
    stack.reset()
