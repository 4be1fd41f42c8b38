"""Store days: calendar days of ``occurred_at`` in the store's time zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

# The days a request may name. Data starts in 1970 (CONTRACT section 2); a range, its previous
# period, its weeks and months, and its midnights in any time zone stay far inside the calendar
# that Python's dates can hold (years 1 to 9999), where year 1 minus a day is an OverflowError.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


def within_calendar(day: date) -> date:
    """``day`` itself when it lies between :data:`FIRST_DAY` and :data:`LAST_DAY`.

    Raises
    ------
    ValueError
        Saying which days are allowed (a validator of the API's dates).

    Examples
    --------
    >>> within_calendar(date(2025, 3, 1))
    datetime.date(2025, 3, 1)
    >>> within_calendar(date(1, 1, 1))
    Traceback (most recent call last):
    ...
    ValueError: must be a day from 1900-01-01 to 2999-12-31
    """
    moment = day.date() if isinstance(day, datetime) else day
    if not FIRST_DAY <= moment <= LAST_DAY:
        raise ValueError(f"must be a day from {FIRST_DAY} to {LAST_DAY}")
    return day


def store_day(moment: datetime, zone: ZoneInfo) -> date:
    """The store's calendar day of an aware instant.

    >>> from datetime import timezone
    >>> store_day(datetime(2025, 3, 9, 6, 30, tzinfo=timezone.utc), ZoneInfo("America/New_York"))
    datetime.date(2025, 3, 9)
    """
    return moment.astimezone(zone).date()


def days(start: date, end: date) -> Iterator[date]:
    """Every day from ``start`` to ``end`` inclusive."""
    current = start
    while current <= end:
        yield current
        current += timedelta(days=1)


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The range of the same length that ends the day before ``start``."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)
