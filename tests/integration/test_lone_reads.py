"""Lone items: the day figures of orders counted without a transaction, read exactly once.

A lone order's day content (its ``SALES`` counters, SKU lines, basket and customer-set members)
rides in its stock-in item, ``STOCKIN#<claim day>``/``<packet>#<n>``, attribute ``dc``; the fold
puts a closed claim day's content into its store days' ``DP#<claim day>#<i>`` items before the
watermark reaches it. Readers count ``DP#<X>`` items iff ``X`` <= the watermark and the items'
content of the later claim days (docs/architecture.md, "Stock-in items").

Here the lone items are built as the orders processor's writer builds them (from the real
domain code: contributions, baskets, the customers' memberships), beside orders and a refund
counted the old way on the same days; the summary, the daily series, the top products, the
pairs and the days' counters equal the oracle's while the items are unfolded, half folded,
folded, between a fold's ``DP#`` puts and its watermark move, and when a fold crashes at any of
its AWS calls and runs again.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from backend.adapters import day_index
from backend.adapters import stock_in as stock_in_items
from backend.adapters.analytics import AnalyticsTable
from backend.adapters.clients import client
from backend.adapters.dynamo import batch_put
from backend.adapters.stock_in import DAY_CONTENT, DayContent, StockIn, encode_day_content, item_of
from backend.domain.calendar import store_day
from backend.domain.customers import memberships
from backend.domain.events import Event, parse_event
from backend.domain.sales import Contributions
from backend.processing import stock_in
from backend.processing.together import basket_members
from backend.settings import get_settings
from tests import oracle, pipeline
from tests.figures import assert_same_day_counts, assert_same_figures
from tests.integration.test_exactly_once import TZ, Calls, Crash
from tests.integration.test_stock_in import TODAY, Clock, _fold_failing, fold, items
from tests.integration.test_stock_in import clock as clock  # the fixture: the writers' and readers' clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# TODAY (the writers' UTC day, March 12th): the watermark on the 9th, the lone items' claim
# days the 11th and 12th.
SKUS = ("CAP", "MUG", "PIN", "TEE")
CHANNELS = ("web", "mobile", "pos")
FIRST, LAST = date(2025, 3, 3), date(2025, 3, 13)


def _at(day: date, hour: int) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(TZ)).astimezone(UTC).isoformat()


def _order(number: int, rng: random.Random, customer: str, day: date) -> dict[str, Any]:
    lines = [
        {"sku": sku, "quantity": rng.randint(1, 3), "unit_price": f"{rng.randint(300, 2500) / 100:.2f}"}
        for sku in rng.sample(SKUS, rng.randint(1, 3))
    ]
    return {
        "event_id": f"o{number}",
        "type": "order.placed",
        "occurred_at": _at(day, 8 + number % 12),
        "data": {
            "order_id": f"order-{number}",
            "customer_id": customer,
            "lines": lines,
            "discount": f"{rng.randint(0, 300) / 100:.2f}",
            "currency": "USD",
            "channel": CHANNELS[number % len(CHANNELS)],
        },
    }


def store(*, old_orders: int = 8) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(counted the old way, lone orders)``: products, orders of March 3-8 and a refund of one
    on the 11th (old way); orders of March 10-12 (lone), some by returning customers, two by
    one customer on one day."""
    rng = random.Random(7)
    old: list[dict[str, Any]] = [
        {
            "event_id": f"p-{sku}",
            "type": "product.upserted",
            "occurred_at": "2025-03-01T12:00:00Z",
            "data": {
                "sku": sku,
                "name": sku.title(),
                "category": "Gifts",
                "price": "10.00",
                "reorder_point": 3,
            },
        }
        for sku in SKUS
    ]
    old += [_order(n, rng, f"c{n % 4}", date(2025, 3, 3) + timedelta(days=n % 6)) for n in range(old_orders)]
    if old_orders:
        old.append(
            {
                "event_id": "r1",
                "type": "order.refunded",
                "occurred_at": _at(date(2025, 3, 11), 9),
                "data": {"order_id": "order-1", "refund_id": "refund-1", "amount": "4.50", "currency": "USD"},
            }
        )
    lone = [_order(100 + n, rng, f"c{n % 6}", date(2025, 3, 10) + timedelta(days=n % 3)) for n in range(10)]
    lone.append(_order(110, rng, "c0", date(2025, 3, 11)))  # c0's second order on the 11th: M
    return old, lone


def lone_items(
    history: list[dict[str, Any]], lone: list[dict[str, Any]], *, stock: bool = True
) -> list[dict[str, Any]]:
    """The stock-in items of the lone orders, as the writer makes them: one part per order but
    one part of two orders (two store days), each under a claim day at most a day from its
    orders' store days; its stock deltas and facts in ``d``, its day content in ``dc`` (the
    members as the customers' profiles give them: every order of the history counts).
    ``stock=False``: no stock deltas (the fold then makes only the calls of the day content)."""
    zone = ZoneInfo(TZ)
    currency = get_settings().store_currency
    events = [parse_event(raw, currency=currency, now=datetime(2025, 3, 14, tzinfo=UTC)) for raw in lone]
    days_of: dict[str, list[date]] = defaultdict(list)
    for raw in history:
        if raw["type"] == "order.placed":
            days_of[raw["data"]["customer_id"]].append(
                store_day(datetime.fromisoformat(raw["occurred_at"]), zone)
            )
    parts: list[list[Event]] = [[event] for event in events[2:]] + [events[:2]]
    items = []
    for number, placed in enumerate(parts):
        content: dict[date, DayContent] = {}
        deltas: dict[str, int] = defaultdict(int)
        for event in placed:
            contributions = Contributions()
            contributions.add(event, zone)
            day = store_day(event.occurred_at, zone)
            customer = event.data.customer_id
            found = DayContent(
                {name: amount for name, amount in contributions.day_sales[day].items() if amount},
                [
                    (sku, int(contributions.day_units[day][sku]), contributions.day_revenue[day][sku])
                    for sku in sorted(contributions.day_units[day])
                ],
                basket_members([event], zone).get(day, []),
                sorted(f"{name}:{customer}" for name in memberships(days_of[customer])[day]),
            )
            content[day] = content[day].merge(found) if day in content else found
            for sku, delta in contributions.stock.items():
                deltas[sku] += delta if stock else 0
        # The latest claim day the part's store days allow, but never after today
        claim_day = min(min(content) + timedelta(days=1), TODAY)
        assert all(claim_day - timedelta(days=1) <= day <= claim_day + timedelta(days=1) for day in content)
        item = item_of(StockIn(f"lone-{number}#0", claim_day, dict(deltas), (), claim_day))
        item[DAY_CONTENT] = encode_day_content(content)
        items.append(item)
    return items


def given(
    old: list[dict[str, Any]], lone: list[dict[str, Any]], *, stock: bool = True
) -> list[dict[str, Any]]:
    """A store folded through the 9th, the old orders counted, the lone orders in their items;
    the history as delivered (duplicates included)."""
    fold(TODAY)
    assert table().stock_in_watermark() == date(2025, 3, 9)
    pipeline.deliver(pipeline.pipeline_form(old))
    pipeline.deliver(pipeline.pipeline_form(old[-3:]))  # a redelivery
    batch_put(
        pipeline.dynamodb(),
        get_settings().require("analytics_table"),
        lone_items(old + lone, lone, stock=stock),
    )
    return old + old[-3:] + lone


def table() -> AnalyticsTable:
    return AnalyticsTable(pipeline.dynamodb(), get_settings().require("analytics_table"))


def index_deploy_long_past() -> None:
    """The store's first day index write put at the epoch: readers trust every index its
    writers keep (:data:`backend.adapters.day_index.MARGIN`)."""
    pk, sk = day_index.SINCE_KEY
    batch_put(
        pipeline.dynamodb(),
        get_settings().require("analytics_table"),
        [{"pk": pk, "sk": sk, day_index.SINCE_AT: Decimal(0)}],
    )


def day_parts() -> set[str]:
    """The claim days whose content is in ``DP#`` items (a scan: tests only)."""
    client = pipeline.dynamodb()
    return {
        item["sk"]["S"].split("#")[1]
        for page in client.get_paginator("scan").paginate(
            TableName=get_settings().require("analytics_table"),
            FilterExpression="begins_with(sk, :p)",
            ExpressionAttributeValues={":p": {"S": "DP#"}},
            ConsistentRead=True,
        )
        for item in page["Items"]
    }


def api(path: str, **params: Any) -> Any:
    status, body = pipeline.api_get(path, {k: str(v) for k, v in params.items()})
    assert status == 200, body
    return body


def assert_figures(delivered: list[dict[str, Any]], *, full: bool = True) -> None:
    """The summary of several ranges, the daily series, the top products, the pairs and the
    days' counters (read independently) are the oracle's."""
    ranges = [(FIRST, LAST), (date(2025, 3, 10), date(2025, 3, 12)), (date(2025, 3, 11), date(2025, 3, 11))]
    for start, end in ranges if full else ranges[:1]:
        assert_same_figures(
            pipeline.summary(start, end), oracle.summary(delivered, start, end, tz=TZ), f"{start}..{end}"
        )
    assert_same_day_counts(pipeline.day_counters(FIRST, LAST), oracle.daily(delivered, tz=TZ))
    series = api("/v1/metrics/sales", start=FIRST, end=LAST)["series"]
    expected = oracle.sales_series(delivered, FIRST, LAST, "day", tz=TZ)
    assert [(p["period"], Decimal(p["net_sales"]), p["orders"], p["units"]) for p in series] == [
        (e["period"].isoformat(), e["net_sales"], e["orders"], e["units"]) for e in expected
    ]
    for by in ("units", "net_sales") if full else ("units",):
        top = api("/v1/products/top", start=FIRST, end=LAST, by=by, limit=100)["products"]
        want = oracle.top_products(delivered, FIRST, LAST, by=by, limit=100, tz=TZ)
        assert [(p["sku"], p["units"], Decimal(p["net_sales"])) for p in top] == [
            (e["sku"], e["units"], e["net_sales"]) for e in want
        ], by
    figures = ["a", "b", "orders", "support", "confidence_ab", "confidence_ba", "lift"]
    pairs = api("/v1/products/pairs", start=FIRST, end=LAST, min_orders=1, limit=100)["pairs"]
    every = oracle.pairs(delivered, FIRST, LAST, min_orders=1, tz=TZ)
    assert len(every) > 0
    pd.testing.assert_frame_equal(pd.DataFrame(pairs, columns=figures), every[figures], check_dtype=False)


def test_lone_orders_read_the_same_unfolded_half_folded_and_folded(clock: Clock) -> None:
    # Given orders counted the old way and lone orders in their items, none folded
    old, lone = store()
    delivered = given(old, lone)
    assert not day_parts()
    # Then every figure is the oracle's
    assert_figures(delivered)
    # When the fold folds the 10th and 11th (the lone items of the 11th), read two days later:
    # the 12th is closed (kept by the readers), the 13th and 14th open
    assert fold(TODAY + timedelta(days=2))["folded_through"] == "2025-03-11"
    clock.today = TODAY + timedelta(days=2)
    assert day_parts() == {"2025-03-11"}
    # Then every figure is the same, read twice (the second time from the kept closed day)
    assert_figures(delivered)
    assert_figures(delivered, full=False)
    # When every claim day is folded
    assert fold(TODAY + timedelta(days=3))["folded_through"] == "2025-03-12"
    clock.today = TODAY + timedelta(days=3)
    assert day_parts() == {"2025-03-11", "2025-03-12"}
    # Then still the same
    assert_figures(delivered)
    # And the fold run again changes nothing
    fold(TODAY + timedelta(days=4))
    assert_figures(delivered, full=False)


def test_a_reader_between_the_folds_day_items_and_its_watermark_counts_each_order_once(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given lone orders in items of the 11th and 12th, read once (the readers keep closed days)
    old, lone = store()
    delivered = given(old, lone)
    clock.today = TODAY + timedelta(days=2)
    assert_figures(delivered, full=False)

    # When the fold puts the 11th's content into its days and dies before moving the watermark
    def dies(self: AnalyticsTable, day: date) -> None:
        if day == date(2025, 3, 11):
            raise Crash()
        stock_in_items.set_watermark(self.client, self.name, day)

    with monkeypatch.context() as patched:
        patched.setattr(AnalyticsTable, "set_stock_in_watermark", dies)
        with pytest.raises(Crash):
            stock_in.fold(table(), TODAY + timedelta(days=2), progress=False)
    assert table().stock_in_watermark() == date(2025, 3, 10)
    assert day_parts() == {"2025-03-11"}
    # Then each order counts once: the 11th's items, not its day items
    assert_figures(delivered)
    # And once the watermark moves, its day items and not its items
    stock_in.fold(table(), TODAY + timedelta(days=2), progress=False)
    assert table().stock_in_watermark() == date(2025, 3, 11)
    assert_figures(delivered)


class Queries:
    """A DynamoDB client that records each call's name and the partition it queries."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if name in {"exceptions", "meta"} or not callable(attribute) or name.startswith("get_paginator"):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, kwargs.get("ExpressionAttributeValues", {}).get(":pk", {}).get("S", "")))
            return attribute(*args, **kwargs)

        return call

    def table(self) -> AnalyticsTable:
        return AnalyticsTable(cast("DynamoDBClient", self), get_settings().require("analytics_table"))


def test_days_the_lone_items_have_left_read_no_stock_in_partition(clock: Clock) -> None:
    # Given lone orders folded through the 12th, and kept closed days in the readers, in a store
    # whose day indexes are trusted
    old, lone = store()
    index_deploy_long_past()
    delivered = given(old, lone)
    fold(TODAY + timedelta(days=3))
    clock.today = TODAY + timedelta(days=3)
    # When the days before the watermark's day before are read
    days = [date(2025, 3, 3) + timedelta(days=n) for n in range(8)]
    reader = Queries(pipeline.dynamodb())
    sales, _ = reader.table().day_sales_and_sets(days)
    # Then the watermark, the days' SALES and indexes and the items they name by key, the one
    # day no writer has named member items of (no order: the 9th) by its Query, and no
    # stock-in partition
    assert {operation for operation, _ in reader.calls} == {"batch_get_item", "query"}
    assert [call for call in reader.calls if call[0] == "query"] == [("query", "DAY#2025-03-09")]
    assert sum(s.get("orders", 0) for s in sales) == sum(
        1
        for e in {e["event_id"]: e for e in delivered}.values()
        if e["type"] == "order.placed"
        and store_day(datetime.fromisoformat(e["occurred_at"]), ZoneInfo(TZ)) in days
    )
    # And days two months back read no watermark at all, their sales by key (SALES, and the
    # DP# items with the counters of the claim days a day either side: 32 keys, one call)
    clock.today = TODAY + timedelta(days=70)
    reader = Queries(pipeline.dynamodb())
    reader.table().daily_sales(days)
    assert reader.calls == [("batch_get_item", "")]
    # And the days near the watermark read the claim days after it
    clock.today = TODAY + timedelta(days=3)
    reader = Queries(pipeline.dynamodb())
    reader.table().day_sku_sales([date(2025, 3, 12)])
    assert ("query", "STOCKIN#2025-03-14") in reader.calls


class HandlerCalls:
    """The DynamoDB calls the functions of this process make through their shared client
    (:func:`backend.adapters.clients.client`): each call's operation and what it reads, the
    partition of a Query or the keys of a BatchGetItem, as boto3 is given them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "Query":
            self.calls.append(("Query", params["ExpressionAttributeValues"][":pk"]["S"]))
        elif model.name == "BatchGetItem":
            for request in params["RequestItems"].values():
                keys = ",".join(sorted(f"{k['pk']['S']}/{k['sk']['S']}" for k in request["Keys"]))
                self.calls.append(("BatchGetItem", keys))
        else:
            self.calls.append((model.name, ""))

    def __enter__(self) -> HandlerCalls:
        client("dynamodb").meta.events.register("provide-client-params.dynamodb", self._record)
        return self

    def __exit__(self, *_: object) -> None:
        client("dynamodb").meta.events.unregister("provide-client-params.dynamodb", self._record)


def test_a_summary_request_reads_the_lone_items_once_for_both_ranges(clock: Clock) -> None:
    # Given lone orders in items of the 10th to the 12th, not folded (the watermark on the 9th),
    # beside orders counted the old way, read once (the readers keep the closed claim days), in a
    # store whose day indexes are trusted
    old, lone = store()
    index_deploy_long_past()
    delivered = given(old, lone)
    start, end = date(2025, 3, 10), date(2025, 3, 13)
    assert_same_figures(pipeline.summary(start, end), oracle.summary(delivered, start, end, tz=TZ))
    # When the summary of the 10th to the 13th is asked with its comparison (the 6th to the
    # 9th: it has days from the watermark's day before on too), through the API function
    with HandlerCalls() as recorded:
        body = api("/v1/metrics/summary", start=start, end=end, compare="previous_period")
    # Then both ranges are the oracle's
    assert_same_figures(body["current"], oracle.summary(delivered, start, end, tz=TZ))
    before_start, before_end = date(2025, 3, 6), date(2025, 3, 9)
    assert body["previous_start"] == before_start.isoformat()
    assert_same_figures(body["previous"], oracle.summary(delivered, before_start, before_end, tz=TZ))
    # And the request read the watermark once, the claim days a writer may still add to once
    # each (one view of the lone items for both ranges), and each range's days by key: their
    # SALES and indexes with the indexes' marker in one call, the items the indexes name in
    # another; only the days whose
    # member items no writer has named (no order counted the old way: the 9th to the 13th) by a
    # Query each
    _, still_open = stock_in_items.days_after(date(2025, 3, 9), stock_in_items.utc_now())
    assert still_open, "some claim days should be open"
    current = [start + timedelta(days=n) for n in range(4)]
    previous = [before_start + timedelta(days=n) for n in range(4)]
    indexed = [d for d in previous if d <= date(2025, 3, 8)]

    def partitions(days: list[date]) -> str:
        return ",".join(f"DAY#{d.isoformat()}" for d in days)

    assert sorted((operation, _partitions(read)) for operation, read in recorded.calls) == sorted(
        [
            ("BatchGetItem", "STOCKIN"),
            *(("Query", f"STOCKIN#{d.isoformat()}") for d in still_open),
            ("BatchGetItem", f"{partitions(current)},INDEX"),
            ("BatchGetItem", f"{partitions(previous)},INDEX"),
            ("BatchGetItem", partitions(indexed)),
            *(("Query", f"DAY#{d.isoformat()}") for d in [*current, *previous] if d not in indexed),
        ]
    )


def _partitions(read: str) -> str:
    """The partitions a recorded call reads: a Query's, or those of a BatchGetItem's keys."""
    return ",".join(sorted({key.split("/")[0] for key in read.split(",")}))


@pytest.mark.timeout(900)
@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
def test_every_aws_call_of_the_fold_can_fail(clock: Clock, after: bool) -> None:
    # Given lone orders only, without stock (the fold's calls are their day content's:
    # test_stock_in fails those of the stock), folded through the 9th
    old, lone = store(old_orders=0)

    def given_lone() -> list[dict[str, Any]]:
        # (at the writers' time: the readers keep closed days, which no writer adds to)
        clock.today = TODAY
        pipeline.clear_analytics(stock_in=False)
        delivered = given(old, lone, stock=False)
        clock.today = TODAY + timedelta(days=3)
        return delivered

    delivered = given_lone()
    probe = Calls()
    _fold_failing(probe, TODAY + timedelta(days=3))
    total = probe.count
    assert total >= 8, "the fold should make several AWS calls"
    for fail_at in range(1, total + 1):
        given_lone()
        # When the fold's n-th call fails (before or after it took effect)
        _fold_failing(Calls(fail_at, after), TODAY + timedelta(days=3))
        # Then the figures read mid-way are the oracle's
        assert_figures(delivered, full=False)
        # And after the fold runs again, everything is folded once
        assert fold(TODAY + timedelta(days=3))["folded_through"] == "2025-03-12"
        assert day_parts() == {"2025-03-11", "2025-03-12"}
        assert_figures(delivered, full=False)


def test_a_closed_months_rollup_read_with_its_last_days_lone_items_unfolded_stays_exact(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the orders processor's lone items on (its writer, not the items built here), a
    # store folded through March 29th on April 1st, orders of March counted the old way and
    # orders of March 31st and April 1st sent alone
    monkeypatch.setattr(stock_in, "LONE_ITEMS", True)
    clock.today = date(2025, 4, 1)
    fold(clock.today)
    rng = random.Random(5)
    old = [_order(n, rng, f"c{n % 4}", date(2025, 3, 10) + timedelta(days=n)) for n in range(8)]
    lone = [_order(100 + n, rng, f"c{n % 5}", date(2025, 3, 31) + timedelta(days=n % 2)) for n in range(8)]
    products, _ = store(old_orders=0)
    history = products + old + lone
    pipeline.deliver(pipeline.pipeline_form(products + old))
    pipeline.deliver(pipeline.pipeline_form(lone), batch_size=1)
    pipeline.deliver(pipeline.pipeline_form(lone[:3]), batch_size=1)  # a redelivery
    with_content = [i for i in items() if "dc" in i]
    assert {i["pk"]["S"] for i in with_content} == {"STOCKIN#2025-04-01"}
    # When the rollups job folds March the next day, the lone items not folded yet
    result = pipeline.handler("jobs")({"job": "rollups", "today": "2025-04-02"}, pipeline.context("jobs"))
    assert result["months"] == ["2025-03"]
    march = (date(2025, 3, 1), date(2025, 3, 31))
    # Then March's summary (from its rollup) and the days' are the oracle's
    for start, end in (march, (date(2025, 3, 28), date(2025, 4, 2))):
        assert_same_figures(pipeline.summary(start, end), oracle.summary(history, start, end, tz=TZ))
    # And once the items are folded into their days, the rollup still current, still
    clock.today = date(2025, 4, 4)
    assert fold(clock.today)["folded_through"] == "2025-04-01"
    assert day_parts() == {"2025-04-01"}
    assert table().rollup_coverage(["2025-03"]) == table().month_change_stamps(["2025-03"])
    for start, end in (march, (date(2025, 3, 28), date(2025, 4, 2))):
        assert_same_figures(pipeline.summary(start, end), oracle.summary(history, start, end, tz=TZ))
