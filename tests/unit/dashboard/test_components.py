"""The view's callbacks: a control changed goes into the URL with the rest of the view kept;
a control reporting the view shown changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from dash.exceptions import PreventUpdate

from dashboard import components
from dashboard.components import choose_preset, pick_range, set_view
from dashboard.dates import query_view

SHOWN = {"start": "2025-05-01", "end": "2025-05-31", "compare": "previous_year", "granularity": "week"}


def test_a_picked_range_becomes_the_url_query_keeping_the_view() -> None:
    query = pick_range(["2025-04-01"], ["2025-04-15T00:00:00"], [SHOWN])
    assert query == "?start=2025-04-01&end=2025-04-15&compare=previous_year&granularity=week"


@pytest.mark.parametrize(
    ("starts", "ends"),
    [(["2025-05-01"], ["2025-05-31"]), ([None], ["2025-05-31"]), (["2025-05-01"], [None]), ([], [])],
)
def test_the_range_shown_or_a_half_picked_one_changes_nothing(
    starts: list[str | None], ends: list[str | None]
) -> None:
    with pytest.raises(PreventUpdate):
        pick_range(starts, ends, [SHOWN])


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Store day 2025-03-05 (the clock's instant is 2025-03-06 02:00 UTC: still the 5th in
    New York), whatever the wall clock says."""
    monkeypatch.setenv("STORE_TIMEZONE", "America/New_York")
    components.get_settings.cache_clear()
    monkeypatch.setattr(components, "clock", lambda: datetime(2025, 3, 6, 2, 0, tzinfo=UTC))
    yield
    components.get_settings.cache_clear()


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("today", "2025-03-05", "2025-03-05"),
        ("yesterday", "2025-03-04", "2025-03-04"),
        ("last_7_days", "2025-02-27", "2025-03-05"),
        ("last_30_days", "2025-02-04", "2025-03-05"),
        ("last_90_days", "2024-12-06", "2025-03-05"),
        ("month_to_date", "2025-03-01", "2025-03-05"),
        ("last_month", "2025-02-01", "2025-02-28"),
        ("year_to_date", "2025-01-01", "2025-03-05"),
    ],
)
def test_a_preset_is_a_range_of_store_days_from_the_clock(
    clock: None, preset: str, start: str, end: str
) -> None:
    assert components.today() == date(2025, 3, 5)
    query = choose_preset([preset], [SHOWN])
    assert query_view(query) == {**SHOWN, "start": start, "end": end}


def test_custom_or_the_preset_shown_changes_nothing(clock: None) -> None:
    with pytest.raises(PreventUpdate):
        choose_preset(["custom"], [SHOWN])
    with pytest.raises(PreventUpdate):
        choose_preset(["last_month"], [{"start": "2025-02-01", "end": "2025-02-28"}])


@pytest.mark.parametrize(
    ("param", "value", "expected"),
    [
        ("compare", "previous_period", {"start": "2025-05-01", "end": "2025-05-31", "granularity": "week"}),
        ("compare", "none", {**SHOWN, "compare": "none"}),
        ("granularity", "month", {**SHOWN, "granularity": "month"}),
        ("granularity", "day", {"start": "2025-05-01", "end": "2025-05-31", "compare": "previous_year"}),
        ("channel", "pos", {**SHOWN, "channel": "pos"}),
        ("status", "low", {**SHOWN, "status": "low"}),
    ],
)
def test_each_control_goes_into_the_url_defaults_left_out(
    param: str, value: str, expected: dict[str, Any]
) -> None:
    controls = [{"type": "view-control", "page": "sales", "param": param}]
    assert query_view(set_view([value], controls, [SHOWN])) == expected


def test_controls_showing_the_view_change_nothing() -> None:
    ids = [
        {"type": "view-control", "page": "sales", "param": "compare"},
        {"type": "view-control", "page": "sales", "param": "granularity"},
        {"type": "view-control", "page": "sales", "param": "channel"},
    ]
    with pytest.raises(PreventUpdate):
        set_view(["previous_year", "week", ""], ids, [SHOWN])
