"""A stock level becomes the adjustment that reaches it, even when the adjustment sent for the
previous level is counted while this one is being computed (the race that made the e2e stock test
flaky: the on-hand read after the marker check already held the previous adjustment, which was
then subtracted once more). The table adapters are stubbed: the race is in the order of reads."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from backend.adapters import connector_state as state
from backend.connectors.common import StockLevel
from backend.processing import connectors

NOW = datetime(2025, 3, 2, 16, 5, tzinfo=UTC)


def test_an_adjustment_counted_between_two_reads_is_not_subtracted_twice() -> None:
    # Given location A at 42 reached by a pending adjustment of +44 (the order took 2 before it),
    # which the inventory processor counts right after the connector's first marker read
    kept = state.LevelState(
        levels={"A": [42, "2025-03-02T10:00:00-05:00"]},
        pending={"shopify:d-l1:0": [44, NOW.isoformat()]},
        version=3,
    )
    markers = iter([set(), {"shopify:d-l1:0"}, {"shopify:d-l1:0"}])
    written: list[state.LevelState] = []

    def write_level(*args: Any) -> bool:
        written.append(args[-1])
        return True

    levels = SimpleNamespace(
        sku_of_item=lambda *a: "457924702", read_level=lambda *a: kept, write_level=write_level
    )
    analytics = SimpleNamespace(
        counted_adjustments=lambda ids: next(markers), on_hand_of=lambda skus: {"457924702": 42}
    )
    pipeline: Any = SimpleNamespace(state=levels, analytics=analytics)
    # When location B reports 40
    level = StockLevel("457924702", "B", 40, "2025-03-02T11:00:00-05:00")
    (event,) = connectors._level_adjustment(pipeline, "shopify", level, "d-l2", NOW)
    # Then the adjustment is 82 - 42 = 40, and the counted one is no longer pending
    assert event["data"] == {"sku": "457924702", "delta": 40, "reason": "correction"}
    assert written[0].pending == {"shopify:d-l2:0": [40, NOW.isoformat()]}
    assert written[0].levels == {
        "A": [42, "2025-03-02T10:00:00-05:00"],
        "B": [40, "2025-03-02T11:00:00-05:00"],
    }


def test_a_level_no_newer_than_the_one_kept_for_its_location_is_ignored() -> None:
    kept = state.LevelState(levels={"A": [42, "2025-03-02T10:00:00-05:00"]}, pending={}, version=1)
    pipeline: Any = SimpleNamespace(
        state=SimpleNamespace(sku_of_item=lambda *a: "S", read_level=lambda *a: kept)
    )
    # 15:00 UTC is 10:00 in New York: the same instant in another offset
    level = StockLevel("1", "A", 7, "2025-03-02T15:00:00+00:00")
    assert connectors._level_adjustment(pipeline, "shopify", level, "d-old", NOW) == []
