"""The view every page shows, read from the URL: the date range (``?start=YYYY-MM-DD&end=...``),
the comparison, the granularity and the filters.

Pure functions: "today" is passed in (the dashboard's one clock is
:func:`dashboard.components.today`, in the store's time zone), so the presets, the comparisons
and the fallbacks are testable on any day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import parse_qsl, urlencode

DEFAULT_DAYS = 30
MAX_DAYS = 731

# What a period is compared with (``?compare=``): nothing, the period of the same length just
# before, or the same dates a year earlier (Shopify's two choices).
COMPARISONS = {
    "none": "No comparison",
    "previous_period": "Previous period",
    "previous_year": "Same period last year",
}
DEFAULT_COMPARE = "previous_period"
GRANULARITIES = ("day", "week", "month")
DEFAULT_GRANULARITY = "day"
CUSTOM = "custom"


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

    def year_before(self) -> DateRange:
        """The same dates a year earlier (29 February becomes the 28th).

        >>> DateRange(date(2024, 2, 1), date(2024, 2, 29)).year_before()
        DateRange(start=datetime.date(2023, 2, 1), end=datetime.date(2023, 2, 28), problem='')
        """
        return DateRange(_year_before(self.start), _year_before(self.end))

    def compared(self, compare: str) -> DateRange | None:
        """The range ``compare`` (a key of :data:`COMPARISONS`) sets beside this one."""
        if compare == "previous_period":
            return self.previous()
        if compare == "previous_year":
            return self.year_before()
        return None


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


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


def _last_month(today: date) -> DateRange:
    last_day = today.replace(day=1) - timedelta(days=1)
    return DateRange(last_day.replace(day=1), last_day)


def presets(today: date) -> list[tuple[str, str, DateRange]]:
    """Shopify's quick ranges as ``(key, label, range)``, for the store day ``today``.

    Examples
    --------
    >>> [(key, str(r.start), str(r.end)) for key, _, r in presets(date(2025, 3, 5))][5:]
    [('month_to_date', '2025-03-01', '2025-03-05'), ('last_month', '2025-02-01', '2025-02-28'), \
('year_to_date', '2025-01-01', '2025-03-05')]
    """
    yesterday = today - timedelta(days=1)
    return [
        ("today", "Today", DateRange(today, today)),
        ("yesterday", "Yesterday", DateRange(yesterday, yesterday)),
        ("last_7_days", "Last 7 days", DateRange(today - timedelta(days=6), today)),
        ("last_30_days", "Last 30 days", DateRange(today - timedelta(days=29), today)),
        ("last_90_days", "Last 90 days", DateRange(today - timedelta(days=89), today)),
        ("month_to_date", "Month to date", DateRange(today.replace(day=1), today)),
        ("last_month", "Last month", _last_month(today)),
        ("year_to_date", "Year to date", DateRange(today.replace(month=1, day=1), today)),
    ]


def preset_range(key: str, today: date) -> DateRange | None:
    """The range of preset ``key`` on ``today``; ``None`` for ``custom`` or an unknown key."""
    return next((found for name, _, found in presets(today) if name == key), None)


def preset_of(dates: DateRange, today: date) -> str:
    """The preset whose range ``dates`` is today, else ``custom``.

    >>> preset_of(DateRange(date(2025, 3, 4), date(2025, 3, 4)), date(2025, 3, 5))
    'yesterday'
    """
    for key, _, found in presets(today):
        if (found.start, found.end) == (dates.start, dates.end):
            return key
    return CUSTOM


def month_span(dates: DateRange) -> tuple[str, str]:
    """``start_month``/``end_month`` (``YYYY-MM``) covering the range, for the cohort route."""
    return dates.start.strftime("%Y-%m"), dates.end.strftime("%Y-%m")


# The view's parameters besides the range, and the value each has when the URL leaves it out
# (a default is left out of the URL, so a plain ``?start&end`` link keeps working).
VIEW_DEFAULTS: dict[str, str] = {
    "compare": DEFAULT_COMPARE,
    "granularity": DEFAULT_GRANULARITY,
    "channel": "",
    "status": "all",
}


def view_query(view: Mapping[str, str | None]) -> str:
    """The URL query of a view: ``start`` and ``end`` first, then each parameter that is not
    its default, in a fixed order, so one view has one URL.

    Examples
    --------
    >>> view_query({"start": "2025-05-01", "end": "2025-05-07", "compare": "previous_year",
    ...             "granularity": "day", "channel": "pos"})
    '?start=2025-05-01&end=2025-05-07&compare=previous_year&channel=pos'
    """
    pairs = [(name, str(view[name])) for name in ("start", "end") if view.get(name)]
    pairs += [
        (name, str(view[name]))
        for name, default in VIEW_DEFAULTS.items()
        if view.get(name) not in (None, "", default)
    ]
    return "?" + urlencode(pairs)


def query_view(search: str | None) -> dict[str, str]:
    """The parameters of a URL query (``?a=1&b=2`` -> ``{"a": "1", "b": "2"}``)."""
    return dict(parse_qsl((search or "").lstrip("?")))
