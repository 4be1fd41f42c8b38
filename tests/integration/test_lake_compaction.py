"""The lake-compaction job and ``storepulse lake query``, against the local stack's moto S3.

Given a shuffled, partly duplicated history written to the lake by the real lake processor
(one NDJSON object per batch under its arrival hour, so a redelivered event sits in two
objects), when the ``lake-compaction`` job runs, then each table's Parquet files hold each event
once, under its store day, and the money adds up to the oracle's figures to the cent; a second
run reads and writes nothing, a forced rebuild writes the same bytes, a late event for a
compacted day rewrites that day only, a run lists only the hours since its watermark, and two
runs at once lose no event (one holds the lake's lease, the other does nothing).
"""

from __future__ import annotations

import io
import json
import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

from backend.adapters import leases
from backend.adapters.analytics import AnalyticsTable
from backend.adapters.batch import Parsed
from backend.domain.events import parse_event
from backend.handlers import jobs
from backend.lake.schema import TABLE_OF_TYPE, TABLES
from backend.processing import compaction, lake
from backend.settings import get_settings
from devstack import cli
from tests import oracle, pipeline
from tests.histories import small_history

BUCKET = "storepulse-lake"
TZ = "America/New_York"
TABLE_OF = {event_type: table.name for event_type, table in TABLE_OF_TYPE.items()}


# When the history arrives; the test never reads the wall clock.
ARRIVED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _write_lake(
    s3: Any, events: list[dict[str, Any]], rng: random.Random, arrived: datetime = ARRIVED
) -> None:
    """What the lake processor does with batches of random sizes, a minute apart."""
    settings = get_settings()
    start = 0
    while start < len(events):
        size = rng.randint(5, 60)
        batch = events[start : start + size]
        items = [
            Parsed(str(uuid.uuid4()), parse_event(e, currency=settings.store_currency, inbound=False))
            for e in batch
        ]
        lake.apply(s3, bucket=BUCKET, items=items, now=arrived)
        arrived += timedelta(minutes=1)
        start += size


def oracle_day(event: dict[str, Any]) -> str:
    """The event's store day, computed here rather than by the code under test."""
    return datetime.fromisoformat(event["occurred_at"]).astimezone(ZoneInfo(TZ)).date().isoformat()


def _compact(
    s3: Any, now: datetime = ARRIVED + timedelta(hours=3), days: list[str] | None = None
) -> dict[str, Any]:
    """The job's run at ``now`` (the jobs handler's own clock is the wall clock's)."""
    chosen = None if days is None else [date.fromisoformat(day) for day in days]
    return compaction.run(s3, BUCKET, zone=ZoneInfo(TZ), now=now, days=chosen)


def _parquet(s3: Any) -> dict[str, dict[str, Any]]:
    """key -> {etag, rows} for every Parquet file of the lake."""
    out = {}
    for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix="parquet/").get("Contents", []):
        body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
        out[obj["Key"]] = {"etag": obj["ETag"], "rows": pq.read_table(io.BytesIO(body)).to_pylist()}
    return out


def _rows(files: dict[str, dict[str, Any]], table: str) -> list[dict[str, Any]]:
    return [row for key, f in files.items() if key.startswith(f"parquet/{table}/") for row in f["rows"]]


@pytest.fixture(scope="module")
def history(stack: Any) -> list[dict[str, Any]]:
    return small_history(5, days=14, orders_per_day=12, tz=TZ)


@pytest.fixture
def lake_written(stack: Any, store_zone: None, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history in pipeline form, shuffled with 15% redelivered, written to an empty lake."""
    stack.reset()
    rng = random.Random(7)
    events = pipeline.pipeline_form(history)
    delivered = events + rng.sample(events, len(events) * 15 // 100)
    rng.shuffle(delivered)
    _write_lake(stack.client("s3"), delivered, rng)
    return delivered


def test_compaction_keeps_each_event_once_and_the_money_exact(
    stack: Any, lake_written: list[dict[str, Any]]
) -> None:
    s3 = stack.client("s3")
    # Given the raw lake holds a few objects per batch, by arrival hour, not by store day
    raw = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="events/")["Contents"]]
    assert {k.split("/")[1] for k in raw} == {"arrived=2026-01-05-09"}
    assert len(raw) < len(lake_written) / 5

    # When the nightly job runs
    result = _compact(s3)

    # Then every table/day with events got one file at the agreed place
    files = _parquet(s3)
    days = {(TABLE_OF[e["type"]], oracle_day(e)) for e in lake_written}
    assert set(files) == {f"parquet/{t}/dt={d}/part-00000.parquet" for t, d in days}
    assert result["compacted"] == len(days) and result["up_to_date"] == 0
    assert result["objects"] == len(raw)

    # And each event is there once, in the table of its type and the file of its store day
    distinct = {e["event_id"]: e for e in lake_written}
    expected = Counter(TABLE_OF[e["type"]] for e in distinct.values())
    for table in TABLES:
        rows = _rows(files, table)
        assert len(rows) == expected[table] == len({r["event_id"] for r in rows}), table
    assert result["rows"] == dict(sorted(expected.items()))

    # And the money equals the oracle's, to the cent
    first, last = min(d for _, d in days), max(d for _, d in days)
    figures = oracle.summary(lake_written, date.fromisoformat(first), date.fromisoformat(last), tz=TZ)
    orders = _rows(files, "orders")
    assert sum((r["gross_sales"] for r in orders), Decimal(0)) == figures["gross_sales"]
    assert sum((r["discount"] for r in orders), Decimal(0)) == figures["discounts"]
    assert sum((r["amount"] for r in _rows(files, "refunds")), Decimal(0)) == figures["returns"]
    assert sum(r["units"] for r in orders) == figures["units"]
    line_total = sum((line["amount"] for r in orders for line in r["lines"]), Decimal(0))
    assert line_total == figures["gross_sales"]
    # And per day as well
    daily = oracle.daily(lake_written, tz=TZ)
    by_day = {
        key.split("/")[2][3:]: sum((r["gross_sales"] for r in f["rows"]), Decimal(0))
        for key, f in files.items()
        if key.startswith("parquet/orders/")
    }
    assert by_day == {day.isoformat(): value for day, value in daily["gross_sales"].items() if value}
    # And no e-mail is in clear
    assert all("@" not in (r["email_hash"] or "") for r in _rows(files, "customers"))


def test_compaction_is_idempotent_and_late_ndjson_rebuilds_its_day(
    stack: Any, lake_written: list[dict[str, Any]]
) -> None:
    s3 = stack.client("s3")
    _compact(s3)
    before = _parquet(s3)

    # When it runs again, nothing has arrived: nothing is read or written
    again = _compact(s3, ARRIVED + timedelta(hours=4))
    assert again["objects"] == 0 and again["compacted"] == 0
    # And a forced rebuild of every day from the raw objects writes byte-identical files
    days = sorted({key.split("/")[2][3:] for key in before})
    forced = _compact(s3, days=days)
    assert forced["compacted"] == len(before)
    assert {k: f["etag"] for k, f in _parquet(s3).items()} == {k: f["etag"] for k, f in before.items()}

    # When a late order (and a redelivery of an old one) arrives for an already compacted day
    old = next(e for e in lake_written if e["type"] == "order.placed")
    late = json.loads(json.dumps(old))
    late["event_id"] = "late-order-1"
    late["data"]["order_id"] = "late-order-1"
    _write_lake(s3, [late, old], random.Random(1), arrived=ARRIVED + timedelta(hours=5))
    result = _compact(s3, ARRIVED + timedelta(hours=6))

    # Then the run reads that object alone and rewrites that day's orders file alone, with the
    # late order once and the old one once
    key = f"parquet/orders/dt={oracle_day(old)}/part-00000.parquet"
    assert result["objects"] == 1
    assert result["compacted"] == 1 and result["days"] == [oracle_day(old)] * 2
    after = _parquet(s3)
    ids = [r["event_id"] for r in after[key]["rows"]]
    assert ids.count("late-order-1") == 1 and ids.count(old["event_id"]) == 1
    assert len(ids) == len(before[key]["rows"]) + 1
    assert {k: f["etag"] for k, f in after.items() if k != key} == {
        k: f["etag"] for k, f in before.items() if k != key
    }
    # And the merged file is the file a rebuild from the raw lake would write, byte for byte
    rebuilt = _compact(s3, days=[oracle_day(old)])
    assert rebuilt["compacted"] >= 1 and _parquet(s3)[key]["etag"] == after[key]["etag"]
    # And the raw NDJSON is kept: the source of truth is never deleted
    raw = s3.list_objects_v2(Bucket=BUCKET, Prefix="events/")["KeyCount"]
    assert raw > 0


def test_a_run_lists_only_the_hours_since_its_watermark(
    stack: Any, lake_written: list[dict[str, Any]]
) -> None:
    s3 = stack.client("s3")
    # Given a run at 12:00 (its watermark trails it by an hour: 11:00)
    _compact(s3, ARRIVED + timedelta(hours=3))
    order = next(e for e in lake_written if e["type"] == "order.placed")

    # When an object lands in an hour before the watermark (which a lake invocation, 30 s long,
    # cannot do) and another, written while that run was listing, in its trailing hour
    hidden, straggler = (json.loads(json.dumps(order)) for _ in range(2))
    hidden["event_id"] = hidden["data"]["order_id"] = "before-watermark"
    straggler["event_id"] = straggler["data"]["order_id"] = "straggler"
    _write_lake(s3, [hidden], random.Random(2), arrived=ARRIVED + timedelta(hours=1))
    _write_lake(s3, [straggler], random.Random(3), arrived=ARRIVED + timedelta(hours=2, minutes=59))
    result = _compact(s3, ARRIVED + timedelta(hours=27))

    # Then the next run reads the straggler and nothing older than its watermark
    assert result["objects"] == 1 and result["compacted"] == 1
    ids = {r["event_id"] for r in _rows(_parquet(s3), "orders")}
    assert "straggler" in ids and "before-watermark" not in ids
    # And the run after that has nothing to read
    assert _compact(s3, ARRIVED + timedelta(hours=51))["objects"] == 0


def test_lake_query_through_the_cli(
    stack: Any,
    lake_written: list[dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("STOREPULSE_LAKE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("STOREPULSE_TARGET", "local")
    # The nightly job, through the jobs function
    result = jobs.handler({"job": "lake-compaction"}, pipeline.context("jobs"))
    assert result["compacted"] > 0 and result["objects"] > 0
    # And `storepulse lake compact` right after finds nothing new
    assert cli.main(["lake", "compact"]) == 0
    assert json.loads(capsys.readouterr().out)["objects"] == 0
    figures = oracle.summary(lake_written, date(2000, 1, 1), date(2100, 1, 1), tz=TZ)

    # When a user asks the lake for gross sales and refunds by SQL
    sql = (
        "SELECT (SELECT sum(gross_sales) FROM orders) AS gross, "
        "(SELECT count(*) FROM orders) AS orders, "
        "(SELECT sum(amount) FROM refunds) AS returns, "
        "(SELECT count(DISTINCT dt) FROM orders) AS days"
    )
    assert cli.main(["lake", "query", sql, "--format", "json"]) == 0
    # Then the figures are the oracle's, money as decimal strings
    [row] = json.loads(capsys.readouterr().out)
    assert Decimal(row["gross"]) == figures["gross_sales"] and row["gross"] == str(figures["gross_sales"])
    assert row["orders"] == figures["orders"]
    assert Decimal(row["returns"]) == figures["returns"]

    # And as a table, the nested order lines unnest and the dt partition is a string
    top = (
        "SELECT l.sku, sum(l.quantity) AS units FROM orders, unnest(lines) AS t(l) "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3"
    )
    assert cli.main(["lake", "query", top]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["sku", "units"] and out[-1] == "(3 rows)"
    assert (
        cli.main(["lake", "query", "SELECT typeof(dt) AS t FROM customers LIMIT 1", "--format", "csv"]) == 0
    )
    assert capsys.readouterr().out.splitlines() == ["t", "VARCHAR"]

    # When the SQL is wrong, the user gets one line naming the problem, no stack trace
    assert cli.main(["lake", "query", "SELEC gross FROM orders"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("storepulse: the query failed:") and "syntax error" in err.lower()
    assert cli.main(["lake", "query", "SELECT nope FROM orders"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope" in err

    # When the SQL reaches outside the lake, it is refused in words and reads nothing
    assert cli.main(["lake", "query", "SELECT * FROM read_text('/etc/passwd')"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "root:" not in err and "disabled by configuration" in err
    assert cli.main(["lake", "query", f"COPY orders TO '{tmp_path}/orders.csv'"]) == 1
    assert "COPY statements are refused" in capsys.readouterr().err
    assert not (tmp_path / "orders.csv").exists()


class _Hooked:
    """An S3 client that calls ``before(operation, key)`` ahead of each GetObject and PutObject."""

    def __init__(self, real: Any, before: Any):
        self._real, self._before = real, before

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def get_object(self, **request: Any) -> Any:
        self._before("get", request["Key"])
        return self._real.get_object(**request)

    def put_object(self, **request: Any) -> Any:
        self._before("put", request["Key"])
        return self._real.put_object(**request)


def test_two_compactions_at_once_lose_no_event(stack: Any, lake_written: list[dict[str, Any]]) -> None:
    s3, dynamodb = stack.client("s3"), stack.client("dynamodb")
    table = get_settings().require("analytics_table")
    # Given late orders for days the history already has, to arrive while a run is under way
    late = [json.loads(json.dumps(e)) for e in lake_written if e["type"] == "order.placed"][:5]
    for n, event in enumerate(late):
        event["event_id"] = event["data"]["order_id"] = f"late-{n}"
    a_listed, b_finished_writing, a_done = threading.Event(), threading.Event(), threading.Event()

    def a_hook(operation: str, key: str) -> None:
        if operation == "get" and key.startswith("events/"):
            a_listed.set()  # run A listed the lake before the late orders arrived
        if operation == "put" and key.startswith("parquet/"):
            b_finished_writing.wait(timeout=120)  # A writes its files after B wrote its own

    def b_hook(operation: str, key: str) -> None:
        if operation == "put" and key == compaction.STATE_KEY:
            b_finished_writing.set()
            a_done.wait(timeout=120)  # B records what it merged after A recorded its own

    def run(client: Any, now: datetime, done: threading.Event) -> dict[str, Any]:
        try:
            return compaction.run_exclusive(
                s3=client,
                bucket=BUCKET,
                analytics=AnalyticsTable(dynamodb, table),
                zone=ZoneInfo(TZ),
                now=now,
            )
        except leases.Taken as taken:
            return {"taken": str(taken)}
        finally:
            done.set()

    # When run A lists the lake, the late orders land, and run B starts while A still works
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(run, _Hooked(s3, a_hook), ARRIVED + timedelta(hours=3), a_done)
        assert a_listed.wait(timeout=120)
        _write_lake(s3, late, random.Random(4), arrived=ARRIVED + timedelta(hours=2))
        second = pool.submit(
            run, _Hooked(s3, b_hook), ARRIVED + timedelta(hours=3, minutes=1), b_finished_writing
        )
        results = [first.result(timeout=300), second.result(timeout=300)]

    # Then B did nothing while A held the lake, saying until when
    assert results[0]["compacted"] > 0 and "until" in results[1]["taken"], results
    # And the next run merges the late orders: every event is in the lake once, none lost
    _compact(s3, ARRIVED + timedelta(hours=4))
    files = _parquet(s3)
    expected = {e["event_id"] for e in [*lake_written, *late]}
    found = [r["event_id"] for table_name in TABLES for r in _rows(files, table_name)]
    assert len(found) == len(set(found)) and set(found) == expected
    # And the lease is free again
    assert _compact(s3, ARRIVED + timedelta(hours=5))["objects"] == 0


def test_a_busy_lake_skips_the_scheduled_run_and_refuses_the_command_in_words(
    stack: Any,
    lake_written: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("STOREPULSE_TARGET", "local")
    table = get_settings().require("analytics_table")
    # Given another run holds the lake
    with leases.hold_lease(
        stack.client("dynamodb"), table, compaction.LEASE, seconds=compaction.LEASE_SECONDS
    ):
        # When the schedule runs the job, then it does nothing and says why
        result = jobs.handler({"job": "lake-compaction"}, pipeline.context("jobs"))
        assert "another run holds it until" in result["skipped"] and "compacted" not in result
        # And the command says so in one line, with no stack trace
        assert cli.main(["lake", "compact"]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "another run holds it until" in err and "Traceback" not in err
    assert _parquet(stack.client("s3")) == {}
    # Once it is free, the job runs
    assert jobs.handler({"job": "lake-compaction"}, pipeline.context("jobs"))["compacted"] > 0
