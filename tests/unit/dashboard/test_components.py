"""The range picker's callback: a range picked goes into the URL, the range shown does not."""

from __future__ import annotations

import pytest
from dash.exceptions import PreventUpdate

from dashboard.components import pick_range


def test_a_picked_range_becomes_the_url_query() -> None:
    shown = ["?start=2025-05-01&end=2025-05-31"]
    assert pick_range(["2025-04-01"], ["2025-04-15T00:00:00"], shown) == "?start=2025-04-01&end=2025-04-15"


@pytest.mark.parametrize(
    ("starts", "ends"),
    [(["2025-05-01"], ["2025-05-31"]), ([None], ["2025-05-31"]), (["2025-05-01"], [None]), ([], [])],
)
def test_the_range_shown_or_a_half_picked_one_changes_nothing(
    starts: list[str | None], ends: list[str | None]
) -> None:
    with pytest.raises(PreventUpdate):
        pick_range(starts, ends, ["?start=2025-05-01&end=2025-05-31"])
