"""Month rollups (the ``rollups`` job) change what a summary reads, never a figure.

Given four months of a simulated store in New York (a DST change inside) delivered to the
processors shuffled and partly twice, when the ``rollups`` job runs as its schedule would, then
the closed months are read from their rollups and every range's summary still equals the pandas
oracle's. When a late order arrives for a rolled-up month, from a customer whose first order was
in a later month (so both months' new and returning customers move), the summary is exact at
once (the month is read day by day) and the next run brings the month's rollup up to date.
"""

from __future__ import annotations

import copy
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.adapters import rollups as rollup_items_module
from backend.adapters.rollups import range_rollups
from backend.domain.rollups import month_days, month_of, split
from backend.settings import get_settings
from devstack.simulator import generate
from tests import oracle, pipeline
from tests.figures import assert_same_figures

TZ = "America/New_York"


def local_day(moment: str) -> date:
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(TZ)).date()


@pytest.fixture
def fresh(stack: Any, store_zone: None) -> None:
    pipeline.allow_read_key()
    pipeline.clear_analytics()


# The store's day the tests run on: fixed, so that no test depends on today's date or on a
# store midnight passing between the history's end and the job's run. The history of the
# first test then holds the March DST change.
TODAY = date(2025, 6, 10)


def run_job(**options: Any) -> dict[str, Any]:
    """The rollups job as its schedule invokes it, on :data:`TODAY`."""
    event = {"job": "rollups", "today": TODAY.isoformat(), **options}
    result: dict[str, Any] = pipeline.handler("jobs")(event, pipeline.context("jobs"))
    return result


def entries_read(start: date, end: date) -> int:
    """How many entries (days, or months in their place) the summary of a range folds."""
    sales, customers = range_rollups(
        pipeline.dynamodb(), get_settings().require("analytics_table"), start, end
    )
    assert len(sales) == len(customers)
    return len(sales)


def days_in(start: date, end: date) -> int:
    """How many days ``start``..``end`` holds (the entries of a range read day by day)."""
    return (end - start).days + 1


def assert_exact(delivered: list[dict[str, Any]], ranges: list[tuple[date, date]]) -> None:
    """The summary and the top products of each range are the oracle's."""
    for start, end in ranges:
        assert_same_figures(
            pipeline.summary(start, end), oracle.summary(delivered, start, end, tz=TZ), f"{start}..{end}"
        )
        params = {"start": start.isoformat(), "end": end.isoformat(), "by": "units", "limit": "100"}
        status, body = pipeline.api_get("/v1/products/top", params)
        assert status == 200, body
        expected = oracle.top_products(delivered, start, end, by="units", limit=100, tz=TZ)
        got = [(p["sku"], p["units"], Decimal(p["net_sales"])) for p in body["products"]]
        assert got == [(e["sku"], e["units"], e["net_sales"]) for e in expected], f"{start}..{end}"


def late_earlier_order(raw: list[dict[str, Any]], month: str) -> dict[str, Any]:
    """A new order in ``month`` by a customer whose first order is in a later month."""
    orders = sorted((e for e in raw if e["type"] == "order.placed"), key=lambda e: e["occurred_at"])
    first: dict[str, dict[str, Any]] = {}
    for event in orders:
        first.setdefault(event["data"]["customer_id"], event)
    _, last_day = month_days(month)
    later = next(e for e in first.values() if local_day(e["occurred_at"]) > last_day + timedelta(days=3))
    late = copy.deepcopy(later)
    moment = datetime.combine(last_day - timedelta(days=10), datetime.min.time(), ZoneInfo(TZ)).replace(
        hour=14
    )
    late["event_id"] = "late-" + later["event_id"]
    late["data"]["order_id"] = "late-" + later["data"]["order_id"]
    late["occurred_at"] = moment.isoformat()
    return late


def late_refund(raw: list[dict[str, Any]], month: str) -> dict[str, Any]:
    """A refund of 3.00, an hour after an order placed in the first half of ``month``."""
    first, _ = month_days(month)
    order = next(
        e
        for e in sorted(raw, key=lambda e: e["occurred_at"])
        if e["type"] == "order.placed" and first <= local_day(e["occurred_at"]) <= first + timedelta(days=14)
    )
    moment = datetime.fromisoformat(order["occurred_at"]) + timedelta(hours=1)
    data = {
        "order_id": order["data"]["order_id"],
        "refund_id": "late-refund-1",
        "amount": "3.00",
        "currency": "USD",
    }
    return {
        "event_id": "late-refund-1",
        "type": "order.refunded",
        "occurred_at": moment.isoformat(),
        "data": data,
    }


def test_rollups_keep_every_figure_and_late_events_stay_exact(fresh: None) -> None:
    # Given four months of history (the March DST change inside), shuffled, a tenth twice
    today = TODAY
    raw = generate(days=125, orders_per_day=3, seed=11, end=today, tz=TZ)
    rng = random.Random(4)
    delivered = rng.sample(raw, len(raw))
    delivered += rng.sample(delivered, len(delivered) // 10)
    pipeline.deliver(pipeline.pipeline_form(delivered), batch_size=40)
    first_day = min(local_day(e["occurred_at"]) for e in raw)
    closed = [m for m in split(first_day, today)[0] if month_days(m)[1] < today]
    assert len(closed) >= 3, closed
    written = {month_of(local_day(e["occurred_at"])) for e in raw if e["type"].startswith("order.")}
    rolled = sorted(m for m in written if month_days(m)[1] < today)
    whole = (month_days(closed[0])[0], month_days(closed[-1])[1])
    ranges = [
        whole,
        (first_day, today),
        (whole[0] + timedelta(days=9), whole[1] - timedelta(days=4)),
        month_days(closed[1]),
    ]
    # Before any run every day is read one by one, and the figures are exact
    assert entries_read(*whole) == days_in(*whole)
    assert_exact(delivered, ranges)

    # When the job runs, as its EventBridge schedule invokes it
    result = run_job()
    # Then it rolled up the closed months (not the current one), which are read as one entry each
    assert sorted(result["months"]) == rolled
    assert entries_read(*whole) == len(closed)
    assert_exact(delivered, ranges)
    # A second run finds nothing to do
    assert run_job()["months"] == []

    # When a late order arrives for a rolled-up month, from a customer first seen later,
    late = late_earlier_order(raw, closed[1])
    # and a late refund, in another rolled-up month, of an order of that month
    refund = late_refund(raw, closed[0])
    delivered += [late, refund]
    pipeline.deliver(pipeline.pipeline_form([late, refund]))
    assert entries_read(*month_days(closed[0])) == days_in(*month_days(closed[0]))
    # Then that month (and the month of the customer's first order, whose new customers
    # change) are read day by day at once, and every figure is still exact
    moved = month_of(local_day(late["occurred_at"]))
    assert moved == closed[1]
    assert entries_read(*month_days(moved)) == days_in(*month_days(moved))
    assert_exact(delivered, ranges)
    # When the job runs again, it recomputes only the months that changed, and stays exact
    again = run_job()
    assert moved in again["months"] and set(again["months"]) <= set(rolled)
    assert entries_read(*whole) == len(closed)
    assert_exact(delivered, ranges)


def test_a_month_can_be_rolled_up_on_demand_and_bad_options_say_why(fresh: None) -> None:
    # Given one order in a closed month
    today = TODAY
    raw = generate(days=70, orders_per_day=2, seed=3, end=today, tz=TZ)
    pipeline.deliver(pipeline.pipeline_form(raw), batch_size=50)
    month = month_of(min(local_day(e["occurred_at"]) for e in raw if e["type"] == "order.placed"))
    if month_days(month)[1] >= today:  # the history starts in the current month: nothing closed
        pytest.fail("the generated history should start in an earlier month")
    # When the job is asked for that month only
    result = run_job(months=[month])
    # Then only that month is rolled up, and its summary is the oracle's
    assert result["months"] == [month]
    assert entries_read(*month_days(month)) == 1
    assert_exact(raw, [month_days(month)])
    # And a malformed month is refused with its reason, changing nothing
    with pytest.raises(ValueError, match="2025-13"):
        run_job(months=["2025-13"])


def test_a_rollup_larger_than_an_item_is_split_and_read_whole(
    fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a month of orders, and parts of at most 300 bytes (DynamoDB's limit, scaled down)
    monkeypatch.setattr(rollup_items_module, "PART_BYTES", 300)
    today = TODAY
    raw = generate(days=70, orders_per_day=3, seed=8, end=today, tz=TZ)
    pipeline.deliver(pipeline.pipeline_form(raw), batch_size=50)
    month = month_of(min(local_day(e["occurred_at"]) for e in raw if e["type"] == "order.placed"))
    # When the job rolls the month up
    assert run_job(months=[month])["months"] == [month]
    # Then the rollup is spread over several items, and read whole: one entry, exact figures
    table = get_settings().require("analytics_table")
    head = pipeline.dynamodb().get_item(
        TableName=table, Key={"pk": {"S": f"MONTH#{month}"}, "sk": {"S": "ROLLUP"}}
    )
    assert int(head["Item"]["parts"]["N"]) > 1
    assert entries_read(*month_days(month)) == 1
    assert_exact(raw, [month_days(month)])
