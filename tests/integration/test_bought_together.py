"""Products bought together: ``/v1/products/pairs`` and ``/v1/products/{sku}/together`` equal a
pandas computation, before and after the ``pairs`` job folds the baskets, and at once after a
late order lands in a folded month.

Given four months of a simulated store in New York (bundles planted) delivered to the
processors shuffled, a tenth twice, in batches that mix days and packets: support, confidence
and lift of every pair, and the ranking, are the oracle's (:func:`tests.oracle.pairs`).
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from backend.adapters import baskets
from backend.adapters.analytics import AnalyticsTable
from backend.domain.rollups import month_days, month_of, split
from backend.processing import together
from backend.settings import get_settings
from devstack.simulator import generate
from tests import oracle, pipeline

TZ = "America/New_York"
FIGURES = ["a", "b", "orders", "support", "confidence_ab", "confidence_ba", "lift"]


def local_day(moment: str) -> date:
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(TZ)).date()


@pytest.fixture
def fresh(stack: Any, store_zone: None) -> None:
    pipeline.allow_read_key()
    pipeline.clear_analytics()


# The store's last day: a fixed date, never the clock's (which month is still open depends on it).
TODAY = date(2026, 11, 20)


def run_job() -> dict[str, Any]:
    """The ``pairs`` job as its schedule runs it, on :data:`TODAY`."""
    table = get_settings().require("analytics_table")
    return together.run(
        AnalyticsTable(pipeline.dynamodb(), table),
        TODAY,
        now=datetime(2026, 11, 21, 7, tzinfo=UTC),
        zone=ZoneInfo(TZ),
    )


def api(path: str, **params: Any) -> Any:
    status, body = pipeline.api_get(path, {k: str(v) for k, v in params.items()})
    assert status == 200, body
    return body


def assert_pairs_exact(delivered: list[dict[str, Any]], ranges: list[tuple[date, date]]) -> None:
    """Every pair of each range is pandas'; for the first range, the default threshold and
    limit, and what is bought with one product, too."""
    for number, (start, end) in enumerate(ranges):
        where = f"{start}..{end}"
        body = api("/v1/products/pairs", start=start, end=end, min_orders=1, limit=100)
        every = oracle.pairs(delivered, start, end, min_orders=1, tz=TZ)
        expected = every.head(100)
        got = pd.DataFrame(body["pairs"], columns=FIGURES)
        assert len(got) == len(expected) > 0, where
        pd.testing.assert_frame_equal(got, expected[FIGURES], check_dtype=False, obj=where)
        if number:
            continue
        # The default threshold keeps the pairs in at least 5 orders, a limit the first ones
        top = api("/v1/products/pairs", start=start, end=end, limit=3)["pairs"]
        at_least_5 = every[every["orders"] >= 5].head(3)
        assert len(at_least_5) == 3, where
        assert [(p["a"], p["b"]) for p in top] == list(zip(at_least_5["a"], at_least_5["b"], strict=True))
        # What is bought with the SKU of the first pair: the pairs holding it, seen from it
        sku = expected["a"].iloc[0]
        together = api(f"/v1/products/{sku}/together", start=start, end=end, min_orders=1, limit=50)
        mine = every[(every["a"] == sku) | (every["b"] == sku)].head(50)
        assert [(i["sku"], i["orders"], i["lift"]) for i in together["items"]] == [
            (b if a == sku else a, n, lift)
            for a, b, n, lift in zip(mine["a"], mine["b"], mine["orders"], mine["lift"], strict=True)
        ], where
        assert [i["confidence"] for i in together["items"]] == [
            ab if a == sku else ba
            for a, ab, ba in zip(mine["a"], mine["confidence_ab"], mine["confidence_ba"], strict=True)
        ], where


def folded_months(start: date, end: date) -> list[str]:
    current, _ = baskets.month_folds(
        pipeline.dynamodb(), get_settings().require("analytics_table"), split(start, end)[0]
    )
    return sorted(current)


def reads_of(start: date, end: date) -> tuple[int, int]:
    """How many Queries of basket items, and how many day folds, a read of ``start``..``end``'s
    pair counts asks the table for."""
    client = pipeline.dynamodb()
    queries: list[str] = []
    day_folds: list[str] = []

    def batch_get(params: dict[str, Any], **_: Any) -> None:
        for request in params["RequestItems"].values():
            day_folds.extend(k["pk"]["S"] for k in request["Keys"] if k["sk"]["S"] == baskets.DAY_FOLD_SK)

    client.meta.events.register("before-call.dynamodb.Query", lambda **kwargs: queries.append("Query"))
    client.meta.events.register("provide-client-params.dynamodb.BatchGetItem", batch_get)
    baskets.range_counts(client, get_settings().require("analytics_table"), start, end)
    return len(queries), len(day_folds)


def late_bundle_order(raw: list[dict[str, Any]], month: str) -> dict[str, Any]:
    """A new order in ``month`` holding the SKUs of an order of a later month."""
    _, last_day = month_days(month)
    later = next(
        e
        for e in raw
        if e["type"] == "order.placed"
        and local_day(e["occurred_at"]) > last_day + timedelta(days=3)
        and len({line["sku"] for line in e["data"]["lines"]}) >= 2
    )
    late = copy.deepcopy(later)
    moment = datetime.combine(last_day - timedelta(days=10), datetime.min.time(), ZoneInfo(TZ))
    late["event_id"] = "late-" + later["event_id"]
    late["data"]["order_id"] = "late-" + later["data"]["order_id"]
    late["occurred_at"] = moment.replace(hour=14).isoformat()
    return late


@pytest.mark.timeout(900)
def test_pairs_equal_pandas_before_and_after_the_job_and_after_a_late_order(fresh: None) -> None:
    # Given four months of history, shuffled, a tenth twice
    today = TODAY
    raw = generate(days=125, orders_per_day=3, seed=21, end=today, tz=TZ)
    rng = random.Random(7)
    delivered = rng.sample(raw, len(raw))
    delivered += rng.sample(delivered, len(delivered) // 10)
    rng.shuffle(delivered)
    pipeline.deliver(pipeline.pipeline_form(delivered), batch_size=70)
    first_day = min(local_day(e["occurred_at"]) for e in raw)
    closed = [m for m in split(first_day, today)[0] if month_days(m)[1] < today]
    assert len(closed) >= 3, closed
    whole = (month_days(closed[0])[0], month_days(closed[-1])[1])
    ranges = [(first_day, today), (whole[0] + timedelta(days=9), whole[1] - timedelta(days=4))]
    # Before any run, every day is folded by the reader from its baskets: exact
    assert folded_months(*whole) == []
    assert_pairs_exact(delivered, ranges)

    # When the job runs, as its schedule would
    result = run_job()
    # Then the closed months are folded (read as one item each) and the figures are the same
    with_orders = {month_of(local_day(e["occurred_at"])) for e in raw if e["type"] == "order.placed"}
    earlier = sorted(m for m in with_orders if m < month_of(today))
    assert result["months"] == earlier and result["days_folded"] > 0
    assert folded_months(*whole) == closed
    assert_pairs_exact(delivered, ranges)
    again = run_job()
    assert again["months"] == [] and again["months_current"] == len(earlier)
    # And days of closed months are read without a Query (their folds carry the month's stamp),
    # each partial month from two folds (the month so far at its last day, minus the day before)
    assert reads_of(*ranges[1]) == (0, 3)

    # When a late order arrives for a folded month, exact at once (that month read by its days)
    late = late_bundle_order(raw, closed[1])
    delivered.append(late)
    pipeline.deliver(pipeline.pipeline_form([late]))
    assert month_of(local_day(late["occurred_at"])) not in folded_months(*whole)
    assert_pairs_exact(delivered, ranges)
    assert reads_of(*ranges[1])[0] > 0  # the late order's month: its days are checked
    # And the next run folds that month again (and the month of the customer's first order,
    # whose customer sets moved), no other
    refolded = run_job()["months"]
    assert month_of(local_day(late["occurred_at"])) in refolded and len(refolded) <= 2
    assert folded_months(*whole) == closed
    assert_pairs_exact(delivered, ranges)
    assert reads_of(*ranges[1]) == (0, 3)


def test_an_empty_range_and_an_unknown_sku_have_no_pairs(fresh: None) -> None:
    body = api("/v1/products/pairs", start="2025-03-01", end="2025-03-31")
    assert body == {"start": "2025-03-01", "end": "2025-03-31", "orders": 0, "pairs": []}
    body = api("/v1/products/NOPE/together", start="2025-03-01", end="2025-03-31")
    assert body["items"] == [] and body["orders"] == 0
    for params, parameter in [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"min_orders": "0"}, "min_orders"),
    ]:
        status, error = pipeline.api_get(
            "/v1/products/pairs", {"start": "2025-03-01", "end": "2025-03-31", **params}
        )
        assert status == 422 and parameter in error["error"]["message"], error
