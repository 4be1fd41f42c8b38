"""A month's change stamp is bumped only once it is closed (issue 11), and every figure stays the
oracle's: the summary (month rollups), the cohorts and the pairs (their folds).

Given a store in New York whose October 2026 was written after it closed (stamped) and whose
November was written while open (no stamp: a lone order's write unit saved), delivered to the
real processors shuffled and partly twice by writers whose clock the test sets (November ends at
05:00 UTC on 1 December): before and after the jobs run (at fixed instants an hour's margin
either side of the month's end), after an order of the open month lands on a folded day, and
after a late order written by a writer whose clock is 30 minutes behind, each range's summary,
the cohorts and the pairs equal the pandas oracle's. No clock here is today's.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from backend.adapters import baskets
from backend.adapters.analytics import AnalyticsTable
from backend.adapters.dynamo import to_ddb
from backend.domain.rollups import month_days, month_end
from backend.processing import rollups, together
from backend.settings import get_settings
from devstack.simulator import generate
from tests import oracle, pipeline
from tests.integration.test_bought_together import FIGURES, assert_pairs_exact, reads_of
from tests.integration.test_month_rollups import assert_exact, days_in, entries_read, local_day

TZ = "America/New_York"
ZONE = ZoneInfo(TZ)
NOVEMBER = "2026-11"
END = month_end(NOVEMBER, ZONE)  # 2026-12-01 05:00 UTC


class WriterClock:
    """The clock of the processors' analytics table, as the test sets it."""

    def __init__(self) -> None:
        self.now = END

    def __call__(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def writer(stack: Any, store_zone: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[WriterClock]:
    pipeline.allow_read_key()
    pipeline.clear_analytics()
    clock = WriterClock()
    table = get_settings().require("analytics_table")
    # The processors' handlers build their table adapter here; this one reads the test's clock.
    monkeypatch.setattr(
        "backend.handlers._sqs.analytics_adapter",
        lambda: AnalyticsTable(pipeline.dynamodb(), table, clock=clock, zone=ZONE),
    )
    yield clock


def table() -> AnalyticsTable:
    return AnalyticsTable(pipeline.dynamodb(), get_settings().require("analytics_table"), zone=ZONE)


def stamp(month: str) -> int | None:
    item = pipeline.dynamodb().get_item(
        TableName=get_settings().require("analytics_table"), Key={"pk": {"S": "MONTHS"}, "sk": {"S": month}}
    )
    return None if "Item" not in item else int(item["Item"]["v"]["N"])


def deliver(events: list[dict[str, Any]], writer: WriterClock, at: datetime, seed: int) -> None:
    """Deliver ``events`` shuffled, a tenth twice, by writers whose clock reads ``at``."""
    writer.now = at
    rng = random.Random(seed)
    shuffled = rng.sample(events, len(events))
    shuffled += rng.sample(shuffled, len(shuffled) // 10)
    pipeline.deliver(pipeline.pipeline_form(shuffled), batch_size=40)


def order_at(raw: list[dict[str, Any]], moment: datetime, name: str) -> dict[str, Any]:
    """A new order at ``moment`` with the lines (two SKUs or more) and customer of one of ``raw``."""
    model = next(
        e
        for e in raw
        if e["type"] == "order.placed" and len({line["sku"] for line in e["data"]["lines"]}) >= 2
    )
    order = copy.deepcopy(model)
    order["event_id"] = f"{name}-{model['event_id']}"
    order["data"]["order_id"] = f"{name}-{model['data']['order_id']}"
    order["occurred_at"] = moment.isoformat()
    return order


def assert_cohorts_exact(delivered: list[dict[str, Any]]) -> None:
    status, body = pipeline.api_get(
        "/v1/customers/cohorts", {"start_month": "2026-10", "end_month": NOVEMBER}
    )
    assert status == 200, body
    expected = oracle.cohorts(delivered, "2026-10", NOVEMBER, body["as_of"], tz=TZ)
    assert body["cohorts"] == [{**e, "retention": [float(s) for s in e["retention"]]} for e in expected]


def assert_all_exact(delivered: list[dict[str, Any]], ranges: list[tuple[date, date]]) -> None:
    assert_exact(delivered, ranges)
    assert_cohorts_exact(delivered)
    assert_pairs_exact(delivered, ranges)


def run_rollups(now: datetime) -> list[str]:
    months: list[str] = rollups.run(table(), now, ZONE, progress=False)["months"]
    return months


def run_pairs(now: datetime) -> dict[str, Any]:
    return together.run(table(), now.astimezone(ZONE).date(), now=now, zone=ZONE)


@pytest.mark.timeout(900)
def test_a_month_written_while_open_is_folded_once_closed_and_stays_exact(writer: WriterClock) -> None:
    # Given October written once it had closed (its stamp bumped) and November while open
    raw = generate(days=45, orders_per_day=3, seed=31, end=date(2026, 11, 30), tz=TZ)
    october = [e for e in raw if local_day(e["occurred_at"]) < date(2026, 11, 1)]
    november = [e for e in raw if local_day(e["occurred_at"]) >= date(2026, 11, 1)]
    deliver(october, writer, datetime(2026, 11, 2, 12, tzinfo=UTC), seed=1)
    deliver(november, writer, END - timedelta(hours=4), seed=2)
    delivered = [*october, *november]
    assert stamp("2026-10") is not None
    assert stamp(NOVEMBER) is None
    first_day = min(local_day(e["occurred_at"]) for e in raw)
    whole_november = month_days(NOVEMBER)
    ranges = [(first_day, whole_november[1]), whole_november, (date(2026, 10, 20), date(2026, 11, 15))]
    # Then every figure is exact, November read day by day
    assert entries_read(*whole_november) == days_in(*whole_november)
    assert_all_exact(delivered, ranges)

    # When the pairs job runs while November is open, and the rollups job within the hour
    # after it ended
    assert run_pairs(END - timedelta(hours=3))["months"] == ["2026-10"]
    assert run_rollups(END + timedelta(minutes=59)) == ["2026-10"]
    # Then November is not folded (its day folds carry no stamp), and the figures are exact
    assert entries_read(*whole_november) == days_in(*whole_november)
    assert_all_exact(delivered, ranges)
    # The product page's read of the open month: a keys-only Query per day (no stamp to trust)
    open_reads = reads_of(*whole_november)
    assert open_reads[0] >= days_in(*whole_november), open_reads

    # When an order of 10 November lands on a folded day, by a writer in the open month
    extra = order_at(raw, datetime(2026, 11, 10, 15, tzinfo=ZONE), "open")
    deliver([extra], writer, END - timedelta(hours=2), seed=3)
    delivered.append(extra)
    # Then no stamp moved, and the pairs and summaries are exact at once (the fold's basket
    # items are no longer the day's)
    assert stamp(NOVEMBER) is None
    assert_all_exact(delivered, ranges)

    # When the jobs run an hour and a minute after November ended
    assert run_rollups(END + timedelta(minutes=61)) == [NOVEMBER]
    assert run_pairs(END + timedelta(minutes=61))["months"] == [NOVEMBER]
    # Then November (never stamped) is read as one rollup, its days' pair folds are sealed, exact
    assert entries_read(*whole_november) == 1
    assert reads_of(date(2026, 11, 5), date(2026, 11, 25)) == (0, 2)
    assert_all_exact(delivered, ranges)

    # When an order of 30 November is written just after, by a writer 30 minutes behind
    late = order_at(raw, datetime(2026, 11, 30, 23, 55, tzinfo=ZONE), "late")
    deliver([late], writer, END + timedelta(minutes=32), seed=4)
    delivered.append(late)
    # Then it bumped November's stamp: the month is read by its days again, exact at once
    assert stamp(NOVEMBER) == 1
    assert entries_read(*whole_november) == days_in(*whole_november)
    assert_all_exact(delivered, ranges)
    # And the next runs fold November again, at its stamp, still exact
    assert run_rollups(END + timedelta(hours=2)) == [NOVEMBER]
    assert run_pairs(END + timedelta(hours=2))["months"] == [NOVEMBER]
    assert entries_read(*whole_november) == 1
    assert_all_exact(delivered, ranges)


def test_a_day_fold_of_the_previous_release_is_trusted_by_its_stamp_only_before_november_2026(
    writer: WriterClock,
) -> None:
    # Given a day of October 2025 and a day of November 2026 with orders, each folded by the
    # previous release at its month's stamp (``covered``, no ``sealed``: it bumped every month)
    raw = generate(days=3, orders_per_day=6, seed=5, end=date(2026, 11, 12), tz=TZ)
    old = generate(days=3, orders_per_day=6, seed=6, end=date(2025, 10, 12), tz=TZ)
    deliver([*old, *raw], writer, END - timedelta(hours=4), seed=5)
    delivered = [*old, *raw]
    assert stamp("2025-10") is not None and stamp(NOVEMBER) is None
    client, name = pipeline.dynamodb(), get_settings().require("analytics_table")
    old_day, day = date(2025, 10, 11), date(2026, 11, 11)
    for when, month_stamp in ((old_day, stamp("2025-10")), (day, 0)):
        found = baskets.day_counts(client, name, [when], {when.strftime("%Y-%m"): -1})[when]
        item: dict[str, Any] = {
            "pk": f"DAY#{when}",
            "sk": baskets.DAY_FOLD_SK,
            "covered": month_stamp,
            "computed_at": "x",
        }
        item["folded"] = set(found.basket_keys)
        client.put_item(
            TableName=name, Item={k: to_ddb(v) for k, v in {**item, "blob": found.counts.encode()}.items()}
        )
    # When another order lands on each day, by a writer in November 2026 (which stamps October
    # 2025, closed, and not November, open)
    more = [order_at(raw, datetime(2026, 11, 11, 15, tzinfo=ZONE), "more")]
    more.append(order_at(old, datetime(2025, 10, 11, 15, tzinfo=ZONE), "more-old"))
    deliver(more, writer, END - timedelta(hours=3), seed=6)
    delivered += more
    # Then the November fold, though at "its stamp", is checked by its basket keys: exact
    assert stamp(NOVEMBER) is None
    for start, end in ((day, day), (old_day, old_day), (date(2025, 10, 1), date(2026, 11, 12))):
        status, body = pipeline.api_get(
            "/v1/products/pairs", {"start": str(start), "end": str(end), "min_orders": "1", "limit": "100"}
        )
        expected = oracle.pairs(delivered, start, end, min_orders=1, tz=TZ)
        assert status == 200 and len(body["pairs"]) == len(expected) > 0, (start, end)
        got = pd.DataFrame(body["pairs"], columns=FIGURES)
        pd.testing.assert_frame_equal(got, expected[FIGURES], check_dtype=False, obj=f"{start}..{end}")
