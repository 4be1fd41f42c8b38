"""The date range every page shows: read from the URL (``?start=YYYY-MM-DD&end=YYYY-MM-DD``).

Pure functions: "today" is passed in, so the presets and the fallbacks are testable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

DEFAULT_DAYS = 30
MAX_DAYS = 731


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of store days, and what was wrong with the URL's one, if anything."""

    start: date
    end: date
    problem: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def query(self, **extra: str) -> str:
        """The URL query that reproduces this range (``?start=...&end=...``)."""
        return "?" + urlencode({"start": self.start.isoformat(), "end": self.end.isoformat(), **extra})

    def params(self) -> dict[str, str]:
        """``start``/``end`` as the API wants them."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def previous(self) -> DateRange:
        """The range of the same length that ends the day before ``start``."""
        return DateRange(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


def default_range(today: date) -> DateRange:
    """The last 30 days, today included."""
    return DateRange(today - timedelta(days=DEFAULT_DAYS - 1), today)


def _parse(value: str | None, name: str) -> tuple[date | None, str]:
    if value is None or value == "":
        return None, ""
    try:
        return date.fromisoformat(value), ""
    except ValueError:
        return None, f"'{value}' is not a date for {name} (use YYYY-MM-DD)"


def parse_range(start: str | None, end: str | None, today: date) -> DateRange:
    """The range of the URL, or the last 30 days with a sentence saying what was wrong.

    Examples
    --------
    >>> parse_range("2025-05-01", "2025-05-31", date(2025, 6, 1)).days
    31
    >>> parse_range("2025-13-01", None, date(2025, 6, 1)).problem
    "'2025-13-01' is not a date for start (use YYYY-MM-DD); showing the last 30 days instead."
    """
    if not start and not end:
        return default_range(today)
    first, start_problem = _parse(start, "start")
    last, end_problem = _parse(end, "end")
    problems = [p for p in (start_problem, end_problem) if p]
    if not problems:
        if first is None:
            problems.append("the URL has an end but no start")
        elif last is None:
            problems.append("the URL has a start but no end")
        elif last < first:
            problems.append(f"the end ({last}) is before the start ({first})")
        elif (last - first).days + 1 > MAX_DAYS:
            problems.append(f"the range is longer than {MAX_DAYS} days")
    if problems:
        fallback = default_range(today)
        return DateRange(
            fallback.start,
            fallback.end,
            problem="; ".join(problems) + f"; showing the last {DEFAULT_DAYS} days instead.",
        )
    assert first is not None and last is not None
    return DateRange(first, last)


def presets(today: date) -> list[tuple[str, DateRange]]:
    """The quick ranges of the range bar: last 7/30/90 days and month to date."""
    return [
        ("Last 7 days", DateRange(today - timedelta(days=6), today)),
        ("Last 30 days", DateRange(today - timedelta(days=29), today)),
        ("Last 90 days", DateRange(today - timedelta(days=89), today)),
        ("Month to date", DateRange(today.replace(day=1), today)),
    ]


def month_span(dates: DateRange) -> tuple[str, str]:
    """``start_month``/``end_month`` (``YYYY-MM``) covering the range, for the cohort route."""
    return dates.start.strftime("%Y-%m"), dates.end.strftime("%Y-%m")
