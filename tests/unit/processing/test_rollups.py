"""The ``rollups`` job on the in-memory table, after the orders processor counted the orders
queue's SQS event: a closed month is folded once, again only when its change stamp moves, and
the month still open is left to the day reads. Writers bump only closed months' stamps (by their
clock, read after their writes), and the job folds a month only once it ended more than an hour
ago by its own clock, the months written only while open included. Every clock is given: no
test here reads today's date. (The folds' figures against the oracle, on DynamoDB:
tests/integration/test_month_rollups.py and test_month_stamps.py.)"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from backend.adapters.analytics import rollup_head_key
from backend.adapters.batch import Parsed
from backend.domain import rollups as months
from backend.processing import orders, rollups
from tests.unit.processing.conftest import process
from tests.unit.processing.fakes import FakeAnalytics
from tests.unit.processing.sqs_events import load, packet_records

ORDERS = frozenset({"order.placed", "order.refunded"})
UTC_ZONE = ZoneInfo("UTC")
# November 2026 (the first month whose writes may have no stamp) ends at this instant in a store
# on UTC. (Events must not be from the future: the processors refuse them.)
NOVEMBER_END = datetime(2026, 12, 1, tzinfo=UTC)


def _deliver(table: FakeAnalytics, event: dict[str, Any]) -> None:
    def no_alerts(skus: Iterable[str]) -> None:
        pass

    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        return orders.apply(table, no_alerts, zone=UTC_ZONE, items=items)

    assert process(event, ORDERS, apply) == {"batchItemFailures": []}


def _order(order_id: str, at: datetime) -> dict[str, Any]:
    data = {
        "order_id": order_id,
        "customer_id": f"c-{order_id}",
        "currency": "USD",
        "lines": [{"sku": "MUG-1", "quantity": 1, "unit_price": "10.00"}],
    }
    return {"event_id": f"ev-{order_id}", "type": "order.placed", "occurred_at": at.isoformat(), "data": data}


def _orders(name: str, *placed: tuple[str, datetime]) -> dict[str, Any]:
    return {"Records": packet_records(name, "storepulse-orders", [_order(o, at) for o, at in placed])}


def _writer_at(table: FakeAnalytics, moment: datetime) -> None:
    table.clock = lambda: moment.timestamp()


def _run(table: FakeAnalytics, now: datetime) -> list[str]:
    result: list[str] = rollups.run(table, now, UTC_ZONE, progress=False)["months"]
    return result


def test_a_closed_month_is_folded_once_and_again_when_its_stamp_moves() -> None:
    # Given March 2026's orders counted by a writer whose clock reads April (its stamp at 1)
    table = FakeAnalytics(clock=lambda: datetime(2026, 4, 2, 12, tzinfo=UTC).timestamp())
    _deliver(table, load("orders_sqs_event.json"))
    assert table.month_stamps["2026-03"] == 1
    # When the job runs in March, then twice in April
    during = _run(table, datetime(2026, 3, 20, 1, 45, tzinfo=UTC))
    first = _run(table, datetime(2026, 4, 2, 1, 45, tzinfo=UTC))
    second = _run(table, datetime(2026, 4, 3, 1, 45, tzinfo=UTC))
    # Then the open month is not folded, the closed one once, at the stamp it read
    assert during == []
    assert first == ["2026-03"]
    assert second == []
    assert table.immutable[rollup_head_key("2026-03")]["covered"] == 1
    # When a late write to March moves its stamp
    table.stamp_months(["2026-03"])
    # Then the next run folds March again, at the new stamp
    assert _run(table, datetime(2026, 4, 4, 1, 45, tzinfo=UTC)) == ["2026-03"]
    assert table.immutable[rollup_head_key("2026-03")]["covered"] == 2


def test_writers_stamp_a_month_from_an_hour_before_it_ends_and_jobs_fold_it_an_hour_after() -> None:
    # A store in UTC+14 (its months end at 10:00 UTC on their last day) and one in UTC-10
    kiritimati, honolulu = ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Honolulu")
    ends = (
        (kiritimati, datetime(2026, 11, 30, 10, tzinfo=UTC)),
        (honolulu, NOVEMBER_END + timedelta(hours=10)),
    )
    for zone, end in ends:
        assert months.month_end("2026-11", zone) == end
        assert not months.stamp_due("2026-11", end - timedelta(minutes=61), zone)
        assert months.stamp_due("2026-11", end - timedelta(minutes=60), zone)
        assert not months.closed("2026-11", end + timedelta(minutes=60), zone)
        assert months.closed("2026-11", end + timedelta(minutes=61), zone)
    # A writer that does not know the zone stamps from an hour before the earliest zone's end
    assert not months.stamp_due("2026-11", datetime(2026, 11, 30, 8, 59, tzinfo=UTC), None)
    assert months.stamp_due("2026-11", datetime(2026, 11, 30, 9, 0, tzinfo=UTC), None)


def test_a_month_written_only_while_open_is_folded_once_it_closes() -> None:
    # Given orders of November 2026 counted while it was open (the writer's clock: 20 November)
    table = FakeAnalytics(clock=lambda: datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp(), zone=UTC_ZONE)
    placed = (("o1", datetime(2026, 11, 5, 10, tzinfo=UTC)), ("o2", datetime(2026, 11, 20, 9, tzinfo=UTC)))
    _deliver(table, _orders("open", *placed))
    # Then no stamp was bumped: a lone order's write unit saved
    assert table.month_stamps == {}
    # When the job runs before November ends, and within the hour after it ended
    assert _run(table, NOVEMBER_END - timedelta(minutes=30)) == []
    assert _run(table, NOVEMBER_END + timedelta(minutes=59)) == []
    # Then nothing is folded; an hour after, November is folded, at stamp 0
    assert _run(table, NOVEMBER_END + timedelta(minutes=61)) == ["2026-11"]
    head = table.immutable[rollup_head_key("2026-11")]
    assert head["covered"] == 0
    assert months.decode(head["blob"]).sales["orders"] == 2
    assert table.swept["rollups"] == "2026-11"
    # And a second run finds nothing to do (the sweep moved past November)
    assert _run(table, NOVEMBER_END + timedelta(days=1)) == []
    # When a late order of November is counted after it closed
    _writer_at(table, NOVEMBER_END + timedelta(days=2))
    _deliver(table, _orders("late", ("o3", datetime(2026, 11, 30, 23, tzinfo=UTC))))
    # Then its stamp moved, the rollup is no longer current, and the next run folds it again
    assert table.month_stamps["2026-11"] == 1
    assert _run(table, NOVEMBER_END + timedelta(days=2, hours=1)) == ["2026-11"]
    head = table.immutable[rollup_head_key("2026-11")]
    assert head["covered"] == 1
    assert months.decode(head["blob"]).sales["orders"] == 3


def test_a_writer_30_minutes_behind_at_month_end_still_stamps_the_month() -> None:
    # Given November folded by a job an hour and a minute after it ended
    table = FakeAnalytics(clock=lambda: datetime(2026, 11, 30, 20, tzinfo=UTC).timestamp(), zone=UTC_ZONE)
    _deliver(table, _orders("open", ("o1", datetime(2026, 11, 30, 19, tzinfo=UTC))))
    assert table.month_stamps == {}
    assert _run(table, NOVEMBER_END + timedelta(minutes=61)) == ["2026-11"]
    # When an order of 30 November is written just after the job read the month, by a writer
    # whose clock is 30 minutes behind (it reads 00:32 on 1 December)
    _writer_at(table, NOVEMBER_END + timedelta(minutes=32))
    _deliver(table, _orders("late", ("o2", datetime(2026, 11, 30, 23, 58, tzinfo=UTC))))
    # Then the writer bumped November's stamp: the rollup is stale, and folded again
    assert table.month_stamps["2026-11"] == 1
    assert _run(table, NOVEMBER_END + timedelta(hours=2)) == ["2026-11"]
    # And a writer whose clock reads 30 minutes before the month's end stamps it too (within
    # the hour), where one 61 minutes before would not (that one is more than the margin behind)
    _writer_at(table, NOVEMBER_END - timedelta(minutes=30))
    _deliver(table, _orders("later", ("o4", datetime(2026, 11, 30, 23, 20, tzinfo=UTC))))
    assert table.month_stamps["2026-11"] == 2
    _writer_at(table, NOVEMBER_END - timedelta(minutes=61))
    _deliver(table, _orders("early", ("o5", datetime(2026, 11, 30, 22, 50, tzinfo=UTC))))
    assert table.month_stamps["2026-11"] == 2
