"""EventBridge schedules, run locally: ``rate(...)`` and 6-field ``cron(...)`` expressions.

moto stores scheduled rules but never fires them, so :class:`ScheduleRunner` does: it invokes
the jobs function with the rule's input (``{"job": <name>}``) each time an expression is due.
Cron expressions are read in the store's time zone, like an EventBridge Scheduler schedule
with ``ScheduleExpressionTimezone``.
"""

from __future__ import annotations

import calendar
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)

_RATE_RE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON_RE = re.compile(r"^cron\((.*)\)$")
_MONTHS = {
    "JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
    "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12,
}  # fmt: skip
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_SEARCH_DAYS = 366 * 5


class ScheduleError(ValueError):
    """An expression that EventBridge would refuse (or that this runner does not read)."""


class Schedule(Protocol):
    @property
    def expression(self) -> str: ...

    def next_after(self, moment: datetime) -> datetime:
        """The first time strictly after ``moment`` (aware) that the schedule fires."""
        ...


@dataclass(frozen=True)
class RateSchedule:
    """``rate(N unit)``: every ``interval`` from ``anchor`` (when the rule was created)."""

    expression: str
    interval: timedelta
    anchor: datetime

    def next_after(self, moment: datetime) -> datetime:
        if moment < self.anchor:
            return self.anchor + self.interval
        periods = (moment - self.anchor) // self.interval + 1
        return self.anchor + periods * self.interval


def _parse_rate(expression: str, anchor: datetime) -> RateSchedule:
    match = _RATE_RE.match(expression.strip())
    if not match:
        raise ScheduleError(
            f"{expression!r} is not a rate expression such as 'rate(15 minutes)' or 'rate(1 day)'"
        )
    value, unit = int(match.group(1)), match.group(2)
    if value < 1:
        raise ScheduleError(f"{expression!r}: the rate must be at least 1")
    if (value == 1) != (not unit.endswith("s")):
        raise ScheduleError(
            f"{expression!r}: EventBridge wants the singular unit for 1 and the plural otherwise"
        )
    unit_length = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
    return RateSchedule(expression, value * unit_length[unit.rstrip("s")], anchor)


def _name_to_number(token: str, names: dict[str, int] | None) -> int:
    if names and token.upper() in names:
        return names[token.upper()]
    if not token.isdigit():
        raise ValueError(f"{token!r} is not a number")
    return int(token)


def _parse_field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """Values of one cron field made of ``*``, ``N``, ``A-B``, ``X/S`` and lists of those."""
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"step {step_text!r} must be at least 1")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _name_to_number(first, names), _name_to_number(last, names)
        else:
            start = _name_to_number(base, names)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high):
            raise ValueError(f"{part!r} is outside {low}-{high}")
        if end < start:
            raise ValueError(f"{part!r} is a range that ends before it starts")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class _DayOfMonth:
    """The day-of-month field: values, ``L`` (last day) or ``NW`` (nearest weekday)."""

    days: frozenset[int] = frozenset()
    last: bool = False
    nearest_weekday: int | None = None

    def matches(self, day: date) -> bool:
        month_length = calendar.monthrange(day.year, day.month)[1]
        if self.last:
            return day.day == month_length
        if self.nearest_weekday is not None:
            target = min(self.nearest_weekday, month_length)
            wanted = date(day.year, day.month, target)
            if wanted.weekday() == 5:  # Saturday: the Friday before, unless that is last month
                wanted = wanted - timedelta(days=1) if target > 1 else wanted + timedelta(days=2)
            elif wanted.weekday() == 6:  # Sunday: the Monday after, unless that is next month
                wanted = wanted + timedelta(days=1) if target < month_length else wanted - timedelta(days=2)
            return day == wanted
        return day.day in self.days


@dataclass(frozen=True)
class _DayOfWeek:
    """The day-of-week field (1 = Sunday): values, ``NL`` (last N of month) or ``N#K``."""

    days: frozenset[int] = frozenset()
    last_of_month: int | None = None
    nth: tuple[int, int] | None = None

    def matches(self, day: date) -> bool:
        aws_weekday = (day.weekday() + 1) % 7 + 1  # Monday=0 in Python, SUN=1 in AWS
        if self.last_of_month is not None:
            month_length = calendar.monthrange(day.year, day.month)[1]
            return aws_weekday == self.last_of_month and day.day + 7 > month_length
        if self.nth is not None:
            weekday, occurrence = self.nth
            return aws_weekday == weekday and (day.day - 1) // 7 + 1 == occurrence
        return aws_weekday in self.days


@dataclass(frozen=True)
class CronSchedule:
    """``cron(minutes hours day-of-month month day-of-week year)`` in a time zone."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    day_of_month: _DayOfMonth | None
    months: frozenset[int]
    day_of_week: _DayOfWeek | None
    years: frozenset[int]
    zone: ZoneInfo

    def _day_matches(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.day_of_month is not None:
            return self.day_of_month.matches(day)
        assert self.day_of_week is not None
        return self.day_of_week.matches(day)

    def next_after(self, moment: datetime) -> datetime:
        local = moment.astimezone(self.zone)
        day = local.date()
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        # A wall time skipped by a DST change resolves to the hour after, and
                        # a repeated one fires once (fold=0), as EventBridge Scheduler does.
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.zone)
                        if candidate > moment:
                            return candidate.astimezone(UTC)
            day += timedelta(days=1)
        raise ScheduleError(f"{self.expression!r} never fires in the next five years")


def _parse_cron(expression: str, zone: ZoneInfo) -> CronSchedule:
    match = _CRON_RE.match(expression.strip())
    fields = match.group(1).split() if match else []
    if len(fields) != 6:
        raise ScheduleError(
            f"{expression!r} is not a 6-field cron expression such as 'cron(0 7 * * ? *)' "
            "(minutes hours day-of-month month day-of-week year)"
        )
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'")
    try:
        day_of_month = None if dom == "?" else _parse_day_of_month(dom)
        day_of_week = None if dow == "?" else _parse_day_of_week(dow)
        return CronSchedule(
            expression=expression,
            minutes=_parse_field(minutes, 0, 59),
            hours=_parse_field(hours, 0, 23),
            day_of_month=day_of_month,
            months=_parse_field(month, 1, 12, _MONTHS),
            day_of_week=day_of_week,
            years=_parse_field(year, 1970, 2199),
            zone=zone,
        )
    except ValueError as exc:
        raise ScheduleError(f"{expression!r}: {exc}") from None


def _parse_day_of_month(text: str) -> _DayOfMonth:
    if text == "L":
        return _DayOfMonth(last=True)
    if text.endswith("W") and text[:-1].isdigit():
        day = int(text[:-1])
        if not 1 <= day <= 31:
            raise ValueError(f"{text!r} is outside 1-31")
        return _DayOfMonth(nearest_weekday=day)
    return _DayOfMonth(days=_parse_field(text, 1, 31))


def _parse_day_of_week(text: str) -> _DayOfWeek:
    if text.endswith("L") and len(text) > 1:
        return _DayOfWeek(last_of_month=_name_to_number(text[:-1], _DAYS))
    if "#" in text:
        weekday, occurrence = text.split("#", 1)
        if not occurrence.isdigit() or not 1 <= int(occurrence) <= 5:
            raise ValueError(f"{text!r}: the occurrence after '#' must be 1-5")
        return _DayOfWeek(nth=(_name_to_number(weekday, _DAYS), int(occurrence)))
    return _DayOfWeek(days=_parse_field(text, 1, 7, _DAYS))


def parse_schedule(expression: str, zone: ZoneInfo, anchor: datetime | None = None) -> Schedule:
    """Read an EventBridge schedule expression.

    Parameters
    ----------
    expression
        ``rate(N minute[s]|hour[s]|day[s])`` or ``cron(min hour dom month dow year)``.
    zone
        The time zone of cron expressions (the store's).
    anchor
        When a rate schedule starts counting (the rule's creation); now by default.

    Raises
    ------
    ScheduleError
        Naming what is wrong with the expression.

    Examples
    --------
    >>> daily = parse_schedule("cron(0 7 * * ? *)", ZoneInfo("Europe/Paris"))
    >>> daily.next_after(datetime(2025, 1, 1, 12, tzinfo=UTC)).isoformat()
    '2025-01-02T06:00:00+00:00'
    >>> weekly = parse_schedule("cron(0 7 ? * MON *)", ZoneInfo("UTC"))
    >>> weekly.next_after(datetime(2025, 1, 1, tzinfo=UTC)).date().isoformat()
    '2025-01-06'
    """
    text = expression.strip()
    if text.startswith("rate("):
        return _parse_rate(text, anchor or datetime.now(UTC))
    if text.startswith("cron("):
        return _parse_cron(text, zone)
    raise ScheduleError(f"{expression!r} is neither rate(...) nor cron(...)")


@dataclass
class ScheduledJob:
    """A schedule and the job it runs."""

    name: str
    job: str
    schedule: Schedule


JobInvoker = Callable[[ScheduledJob], None]


class ScheduleRunner:
    """A thread that runs each job when its schedule is due.

    Jobs run one after the other in this thread. A firing missed because an earlier job ran
    long is skipped, not queued, so a slow job cannot pile up invocations.

    Parameters
    ----------
    jobs
        What to run and when.
    invoke
        Runs one job (the stack calls the jobs function with ``{"job": ...}``).
    clock
        The current aware time; replaced in tests.
    """

    def __init__(
        self,
        jobs: Sequence[ScheduledJob],
        invoke: JobInvoker,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.jobs = list(jobs)
        self._invoke = invoke
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fired: list[tuple[str, datetime]] = []

    def start(self) -> None:
        """Start the runner's thread (a no-op without jobs)."""
        if not self.jobs:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="schedules", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the job in hand, if any."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        now = self._clock()
        due = {job.name: job.schedule.next_after(now) for job in self.jobs}
        for job in self.jobs:
            logger.info("schedule %s (%s) next runs at %s", job.name, job.schedule.expression, due[job.name])
        while not self._stop.is_set():
            job = min(self.jobs, key=lambda j: due[j.name])
            wait = (due[job.name] - self._clock()).total_seconds()
            if wait > 0:
                self._stop.wait(min(wait, 60.0))
                continue
            self.fired.append((job.name, due[job.name]))
            try:
                self._invoke(job)
            except Exception:
                logger.exception("job %s failed (EventBridge would retry it twice)", job.job)
            due[job.name] = job.schedule.next_after(max(self._clock(), due[job.name]))
