"""The ``rollups`` job on the in-memory table, after the orders processor counted the orders
queue's SQS event: a closed month is folded once, again only when its change stamp moves, and
the month still open is left to the day reads. (The folds' figures against the oracle, on
DynamoDB: tests/integration/test_month_rollups.py.)"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from zoneinfo import ZoneInfo

from backend.adapters.analytics import rollup_head_key
from backend.adapters.batch import Parsed
from backend.processing import orders, rollups
from tests.unit.processing.conftest import process
from tests.unit.processing.fakes import FakeAnalytics
from tests.unit.processing.sqs_events import load

ORDERS = frozenset({"order.placed", "order.refunded"})


def _counted() -> FakeAnalytics:
    table = FakeAnalytics()

    def no_alerts(skus: Iterable[str]) -> None:
        pass

    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        return orders.apply(table, no_alerts, zone=ZoneInfo("UTC"), items=items)

    process(load("orders_sqs_event.json"), ORDERS, apply)
    return table


def test_a_closed_month_is_folded_once_and_again_when_its_stamp_moves() -> None:
    # Given March 2026's orders counted (its change stamp at 1)
    table = _counted()
    # When the job runs in March, then twice in April
    during = rollups.run(table, date(2026, 3, 20), progress=False)
    first = rollups.run(table, date(2026, 4, 2), progress=False)
    second = rollups.run(table, date(2026, 4, 3), progress=False)
    # Then the open month is not folded, the closed one once, at the stamp it read
    assert during == {"months": []}
    assert first == {"months": ["2026-03"]}
    assert second == {"months": []}
    assert table.immutable[rollup_head_key("2026-03")]["covered"] == 1
    # When a late write to March moves its stamp
    table.stamp_months(["2026-03"])
    # Then the next run folds March again, at the new stamp
    assert rollups.run(table, date(2026, 4, 4), progress=False) == {"months": ["2026-03"]}
    assert table.immutable[rollup_head_key("2026-03")]["covered"] == 2
