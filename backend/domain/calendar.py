"""Store days: calendar days of ``occurred_at`` in the store's time zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


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
