"""EventBridge schedules, run locally: ``rate(...)`` and 6-field ``cron(...)`` expressions.

moto stores scheduled rules but never fires them, so :class:`ScheduleRunner` does: it invokes
the jobs function with the rule's input (``{"job": <name>}``) each time an expression is due.
Cron expressions are read in the store's time zone, like an EventBridge Scheduler schedule
with ``ScheduleExpressionTimezone``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

logger = logging.getLogger(__name__)

_RATE_RE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON_RE = re.compile(r"^cron\((.*)\)$")


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


_AWS_DAYS = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
# cronsim's name of each standard field, and ours (AWS's).
_FIELD_NAMES = {
    "minute": "minutes",
    "hour": "hours",
    "day-of-month": "day-of-month",
    "month": "month",
    "day-of-week": "day-of-week",
}
_READS = "numbers, names, *, ranges, lists, steps, L and #"


def _standard_weekday(token: str) -> str:
    """One day-of-week token of AWS's dialect (``1``-``7`` from Sunday, names) in the standard
    dialect cronsim reads (``0``-``6`` from Sunday)."""
    if token.upper() in _AWS_DAYS:
        return str(_AWS_DAYS[token.upper()])
    if not token.isdigit() or not 1 <= int(token) <= 7:
        raise ScheduleError(f"day-of-week {token!r} is not 1-7 or SUN-SAT")
    return str(int(token) - 1)


def _standard_day_of_week(text: str) -> str:
    """AWS's day-of-week field (``?``, ``MON-FRI``, ``2,4``, ``6L``, ``MON#2``, ``*/2``) in
    the standard dialect."""
    if text == "?":
        return "*"
    parts = []
    for part in text.split(","):
        base, slash, step = part.partition("/")
        if base.endswith("L") and len(base) > 1:
            converted = _standard_weekday(base[:-1]) + "L"
        elif "#" in base:
            weekday, _, occurrence = base.partition("#")
            converted = f"{_standard_weekday(weekday)}#{occurrence}"
        elif "-" in base:
            first, _, last = base.partition("-")
            converted = f"{_standard_weekday(first)}-{_standard_weekday(last)}"
        elif base == "*":
            converted = base
        else:
            converted = _standard_weekday(base)
        parts.append(converted + slash + step)
    return ",".join(parts)


def _years(text: str) -> frozenset[int] | None:
    """The year field: ``*`` (None: every year), or years and ranges ``2026,2028-2030``."""
    if text == "*":
        return None
    years: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise ScheduleError(f"year {part!r} is not a year or a range of years")
        start, end = int(first), int(last or first)
        if not 1970 <= start <= end <= 2199:
            raise ScheduleError(f"year {part!r} is outside 1970-2199")
        years.update(range(start, end + 1))
    return frozenset(years)


@dataclass(frozen=True)
class CronSchedule:
    """``cron(minutes hours day-of-month month day-of-week year)`` in a time zone.

    cronsim does the calendar work on the five standard fields (L, ``#``, names, ranges and
    steps; a wall time skipped by a DST change fires when the clock jumps, a repeated one once);
    this class translates AWS's dialect to it and keeps the year field, which cronsim lacks.
    """

    expression: str
    standard: str
    years: frozenset[int] | None
    zone: ZoneInfo

    def next_after(self, moment: datetime) -> datetime:
        # cronsim's first firing is at or after its start: start a microsecond after moment.
        times = CronSim(self.standard, (moment + timedelta(microseconds=1)).astimezone(self.zone))
        for fired in times:
            if fired.year > _LAST_YEAR or (self.years is not None and fired.year > max(self.years)):
                break
            if fired > moment and (self.years is None or fired.year in self.years):
                return fired.astimezone(UTC)
        raise ScheduleError(f"{self.expression!r} never fires again")


_LAST_YEAR = 2199


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
        standard = " ".join([minutes, hours, "*" if dom == "?" else dom, month, _standard_day_of_week(dow)])
        years = _years(year)
        CronSim(standard, datetime(2000, 1, 1, tzinfo=zone))  # cronsim checks the fields here
    except (ScheduleError, CronSimError) as exc:
        raise ScheduleError(f"{expression!r}: {_in_words(exc)}") from None
    return CronSchedule(expression, standard, years, zone)


def _in_words(error: Exception) -> str:
    """cronsim says ``Bad hour``; say which field and what this runner reads."""
    text = str(error)
    for standard_name, name in _FIELD_NAMES.items():
        if text == f"Bad {standard_name}":
            return f"the {name} field is not valid (this runner reads {_READS})"
    return text


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
