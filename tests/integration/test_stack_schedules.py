"""EventBridge schedule expressions, and the runner that fires them locally."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devstack.schedules import ScheduledJob, ScheduleError, ScheduleRunner, parse_schedule

UTC_ZONE = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_wall_time_skipped_by_dst_fires_when_the_clock_jumps() -> None:
    # 02:30 does not exist in New York on 2025-03-09: it fires at 03:00 EDT (07:00 UTC), once
    nightly = parse_schedule("cron(30 2 * * ? *)", NEW_YORK)
    assert nightly.next_after(_at("2025-03-08T12:00:00+00:00")) == _at("2025-03-09T07:00:00+00:00")
    # 01:30 happens twice on 2025-11-02: it fires at the first (EDT, 05:30 UTC) only
    repeated = parse_schedule("cron(30 1 * * ? *)", NEW_YORK)
    first = repeated.next_after(_at("2025-11-02T00:00:00+00:00"))
    assert first == _at("2025-11-02T05:30:00+00:00")
    assert repeated.next_after(first) == _at("2025-11-03T06:30:00+00:00")


def test_rate_counts_from_its_anchor() -> None:
    schedule = parse_schedule("rate(15 minutes)", UTC_ZONE, anchor=_at("2025-01-01T00:00:00+00:00"))
    assert schedule.next_after(_at("2025-01-01T00:00:00+00:00")) == _at("2025-01-01T00:15:00+00:00")
    assert schedule.next_after(_at("2025-01-01T00:15:00+00:00")) == _at("2025-01-01T00:30:00+00:00")
    daily = parse_schedule("rate(1 day)", UTC_ZONE, anchor=_at("2025-01-01T06:00:00+00:00"))
    assert daily.next_after(_at("2025-01-03T07:00:00+00:00")) == _at("2025-01-04T06:00:00+00:00")


def test_daily_cron_runs_at_seven_store_time_across_dst() -> None:
    daily = parse_schedule("cron(0 7 * * ? *)", NEW_YORK)
    # 07:00 EST is 12:00 UTC; after the 2025-03-09 change 07:00 EDT is 11:00 UTC
    assert daily.next_after(_at("2025-03-08T12:00:00+00:00")) == _at("2025-03-09T11:00:00+00:00")
    assert daily.next_after(_at("2025-03-07T11:59:00+00:00")) == _at("2025-03-07T12:00:00+00:00")


def test_weekly_cron_runs_on_mondays() -> None:
    weekly = parse_schedule("cron(0 7 ? * MON *)", UTC_ZONE)
    fired = weekly.next_after(_at("2025-01-06T07:00:00+00:00"))
    assert fired == _at("2025-01-13T07:00:00+00:00")
    assert fired.weekday() == 0
    assert parse_schedule("cron(0 7 ? * 2 *)", UTC_ZONE).next_after(fired) == _at("2025-01-20T07:00:00+00:00")


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(*/20 9-10 * * ? *)", "2025-01-01T09:50:00", "2025-01-01T10:00:00"),
        ("cron(0 0 L * ? *)", "2025-02-01T00:00:00", "2025-02-28T00:00:00"),
        ("cron(0 0 ? * 6L *)", "2025-01-01T00:00:00", "2025-01-31T00:00:00"),
        ("cron(0 0 ? * MON#2 *)", "2025-01-01T00:00:00", "2025-01-13T00:00:00"),
        ("cron(30 8 1 JAN,JUL ? 2026)", "2025-01-01T00:00:00", "2026-01-01T08:30:00"),
        ("cron(0 9 ? * MON-FRI *)", "2025-01-03T09:00:00", "2025-01-06T09:00:00"),
        ("cron(0 9 ? * 1,7 *)", "2025-01-01T00:00:00", "2025-01-04T09:00:00"),
    ],
)
def test_cron_fields(expression: str, after: str, expected: str) -> None:
    schedule = parse_schedule(expression, UTC_ZONE)
    assert schedule.next_after(_at(after + "+00:00")) == _at(expected + "+00:00")


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("rate(1 minutes)", "singular"),
        ("rate(5 minute)", "singular"),
        ("rate(0 hours)", "at least 1"),
        ("cron(0 7 * * * *)", "exactly one"),
        ("cron(0 7 * *)", "6-field"),
        ("cron(0 25 * * ? *)", "the hours field is not valid"),
        ("cron(0 0 15W * ? *)", "day-of-month field is not valid"),
        ("cron(0 0 ? * 8 *)", "day-of-week '8' is not 1-7"),
        ("cron(0 0 1 * ? 1969)", "outside 1970-2199"),
        ("every day", "neither"),
    ],
)
def test_bad_expressions_are_refused_in_words(expression: str, words: str) -> None:
    with pytest.raises(ScheduleError, match=words):
        parse_schedule(expression, UTC_ZONE)


def test_runner_fires_a_rate_job_when_due() -> None:
    # Given a rate(1 minute) schedule created 59.7 s ago
    fired = threading.Event()
    jobs: list[str] = []

    def invoke(job: ScheduledJob) -> None:
        jobs.append(job.job)
        fired.set()

    anchor = datetime.now(UTC) - timedelta(seconds=59.7)
    schedule = parse_schedule("rate(1 minute)", UTC_ZONE, anchor=anchor)
    runner = ScheduleRunner([ScheduledJob("sweep", "alert-sweep", schedule)], invoke)
    # When the runner runs
    runner.start()
    try:
        # Then it invokes the job at the minute, with the job's name
        assert fired.wait(5)
    finally:
        runner.stop()
    assert jobs == ["alert-sweep"]
    assert runner.fired[0][1] == anchor + timedelta(minutes=1)


class EveryTenthOfASecond:
    expression = "every 0.1 s"

    def next_after(self, moment: datetime) -> datetime:
        return moment + timedelta(seconds=0.1)


def test_a_failing_job_does_not_stop_the_runner() -> None:
    # Given a job that always fails
    calls: list[str] = []
    again = threading.Event()

    def invoke(job: ScheduledJob) -> None:
        calls.append(job.job)
        if len(calls) == 2:
            again.set()
        raise RuntimeError("the job failed")

    runner = ScheduleRunner([ScheduledJob("often", "alert-sweep", EveryTenthOfASecond())], invoke)
    # When it has failed once, then it still runs at its next time
    runner.start()
    try:
        assert again.wait(5)
    finally:
        runner.stop()
