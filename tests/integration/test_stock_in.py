"""Stock-in items: an order's stock and facts without a transaction, folded once.

The orders processor puts each packet part's stock deltas and order facts into one item
(``STOCKIN#<claim day>#<shard>``/``<packet>#<n>``, a conditional put); the ``stock-fold`` job
moves each day older than 2 days into the on-hand inbox and the ``FACTS#`` items. Given the
small history of the fault-injection tests, on hand (as the production readers and an
independent scan read it) and the segments equal the oracle's: after a redelivery before the
fold and after it, for a late packet (which takes the transaction), and when the fold crashes
at any of its AWS calls, read mid-way and after it runs again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import pytest

from backend.adapters import stock as stock_items
from backend.adapters import stock_in as stock_in_items
from backend.adapters.analytics import AnalyticsTable
from backend.processing import stock_in
from backend.settings import get_settings
from tests import oracle, pipeline
from tests.conftest import StackFixture
from tests.figures import assert_same_stock
from tests.integration.test_exactly_once import TZ, UNDER_TEST, Calls, Crash, mini_history

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The UTC day the writers' clock reads (fixed: no test depends on today's date).
TODAY = date(2025, 3, 12)


class Clock:
    """The writers' and readers' UTC clock: noon of the day the test sets."""

    def __init__(self, today: date) -> None:
        self.today = today

    def __call__(self) -> datetime:
        return datetime.combine(self.today, time(12), UTC)


@pytest.fixture
def clock(stack: Any, store_zone: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    pipeline.allow_read_key()
    pipeline.clear_analytics(stock_in=False)
    now = Clock(TODAY)
    monkeypatch.setattr(stock_in_items, "utc_now", now)
    yield now
    pipeline.clear_analytics()


@pytest.fixture
def history() -> list[dict[str, Any]]:
    return pipeline.pipeline_form(mini_history())


def table() -> AnalyticsTable:
    return AnalyticsTable(pipeline.dynamodb(), get_settings().require("analytics_table"))


def fold(today: date) -> dict[str, Any]:
    """The ``stock-fold`` job as its schedule runs it, on the UTC day ``today``."""
    result: dict[str, Any] = pipeline.handler("jobs")(
        {"job": "stock-fold", "today": today.isoformat()}, pipeline.context("jobs")
    )
    return result


def split(history: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    orders = [e for e in history if e["type"] in {"order.placed", "order.refunded"}]
    return [e for e in history if e not in orders], orders


def items() -> list[dict[str, Any]]:
    """Every stock-in item, fold markers and the watermark included (a scan: tests only)."""
    client = pipeline.dynamodb()
    return [
        item
        for page in client.get_paginator("scan").paginate(
            TableName=get_settings().require("analytics_table"),
            FilterExpression="begins_with(pk, :p)",
            ExpressionAttributeValues={":p": {"S": "STOCKIN#"}},
            ConsistentRead=True,
        )
        for item in page["Items"]
    ]


def assert_on_hand(history: list[dict[str, Any]], *, page: int = 2) -> None:
    """On hand as the production reader, ``/v1/inventory`` (``page`` SKUs a page: the small
    history's four SKUs on several pages by default) and an independent scan read it."""
    expected = oracle.on_hand(history)
    assert_same_stock(pipeline.on_hand(), expected)
    read = table().on_hand_of(expected)
    assert {sku: n for sku, n in read.items() if n} == {sku: n for sku, n in expected.items() if n}
    status, body = pipeline.api_get("/v1/inventory", {"limit": str(page)})
    listed: dict[str, int] = {}
    while True:
        assert status == 200, body
        listed.update({row["sku"]: row["on_hand"] for row in body["items"]})
        if not body.get("next_cursor"):
            break
        status, body = pipeline.api_get("/v1/inventory", {"limit": str(page), "cursor": body["next_cursor"]})
    assert {s: n for s, n in listed.items() if n} == {s: n for s, n in expected.items() if n}


def assert_segments(history: list[dict[str, Any]]) -> None:
    """The segments job (``FACTS#`` items and the unfolded stock-in facts) equals the oracle."""
    as_of = date(2025, 3, 12)
    pipeline.handler("jobs")({"job": "segments", "today": as_of.isoformat()}, pipeline.context("jobs"))
    status, body = pipeline.api_get("/v1/customers/segments")
    assert status == 200, body
    expected = oracle.segments(history, as_of, tz=TZ)
    assert body["customers"] == sum(row["customers"] for row in expected) > 0
    for row, want in zip(body["segments"], expected, strict=True):
        assert (row["segment"], row["customers"]) == (want["segment"], want["customers"])
        assert Decimal(str(row["share_of_revenue"])) == want["share_of_revenue"], row["segment"]


def test_orders_put_their_stock_in_items_and_count_once_before_and_after_the_fold(
    clock: Clock, history: list[dict[str, Any]]
) -> None:
    # Given a store folded through 3 days ago, and its orders delivered alone, twice
    fold(TODAY)
    others, orders = split(history)
    pipeline.deliver(others)
    pipeline.deliver(orders, batch_size=1)
    pipeline.deliver(orders, batch_size=4)
    # Then the orders' stock is in stock-in items of today, not in the inbox, and exact
    parts = [i for i in items() if "d" in i]
    assert parts and {i["pk"]["S"].split("#")[1] for i in parts} == {TODAY.isoformat()}
    assert_on_hand(history)
    assert_segments(history)
    # When the fold runs 3 days later, then every day through today is folded, once
    assert fold(TODAY + timedelta(days=3))["folded_through"] == TODAY.isoformat()
    assert any(i["sk"]["S"].startswith("~FOLD#") for i in items())
    assert pipeline.unfolded_stock_in() == {}
    assert_on_hand(history)
    assert_segments(history)
    # And a redelivery after the fold (by a writer on that day, or the next) counts once
    pipeline.deliver(orders, batch_size=3)
    clock.today = TODAY + timedelta(days=3)
    pipeline.deliver(orders, batch_size=10)
    assert fold(TODAY + timedelta(days=4))["skus_moved"] == 0
    assert_on_hand(history)
    assert_segments(history)


def test_a_late_packet_takes_the_transaction_and_counts_once(
    clock: Clock, history: list[dict[str, Any]]
) -> None:
    # Given a store folded through today already (a packet claimed on a folded day)
    fold(TODAY + timedelta(days=3))
    others, orders = split(history)
    pipeline.deliver(others)
    # When the orders come, each alone, then again two by two
    pipeline.deliver(orders, batch_size=1)
    pipeline.deliver(orders, batch_size=2)
    # Then their stock went through the transaction: each part left a tombstone, no deltas
    found = items()
    assert found and all("d" not in i and "part" in i for i in found if not i["sk"]["S"].startswith("~"))
    assert pipeline.unfolded_stock_in() == {}
    assert_on_hand(history)
    assert_segments(history)


def test_a_packet_replayed_two_days_later_takes_the_transaction(
    clock: Clock, history: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store folded through 3 days ago, and the orders claimed today but not counted
    fold(TODAY)
    others, orders = split(history)
    pipeline.deliver(others)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("stock-in items are broken")

    with monkeypatch.context() as patched:
        patched.setattr(AnalyticsTable, "put_stock_in", broken)
        # (each order alone, so that its stock goes for an item)
        failed = [pipeline.invoke_batch("orders", "storepulse-orders", [order]) for order in orders]
        assert any(failed)
    # When they are replayed from the DLQ two days later (their claim day is before yesterday)
    clock.today = TODAY + timedelta(days=2)
    pipeline.deliver(orders, batch_size=len(orders))
    pipeline.deliver(orders, batch_size=3)
    # Then their stock was counted by the transaction, once
    assert not [i for i in items() if "d" in i]
    assert_on_hand(history)
    # And the fold of those days changes nothing
    fold(TODAY + timedelta(days=5))
    assert_on_hand(history)
    assert_segments(history)


def test_the_fold_settles_the_inbox_items_it_grows(
    clock: Clock, history: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the orders' stock in items, and inbox items settled as soon as they hold anything
    monkeypatch.setattr(stock_items, "SETTLE_AT_BYTES", 0)
    fold(TODAY)
    others, orders = split(history)
    pipeline.deliver(others)
    pipeline.deliver_packets(orders, packet_size=5, batch_size=1)
    # When the fold moves them into the inbox
    assert fold(TODAY + timedelta(days=3))["skus_moved"] > 0
    # Then it settled what it moved into the SKUs' own items: no inbox item holds a counter
    inbox = pipeline.dynamodb().batch_get_item(
        RequestItems={
            get_settings().require("analytics_table"): {
                "Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in stock_items.INBOX_KEYS],
                "ConsistentRead": True,
            }
        }
    )["Responses"][get_settings().require("analytics_table")]
    assert not [name for item in inbox for name in item if name.startswith("oh:")]
    assert_on_hand(history)


class Recording:
    """A DynamoDB client that records the names of its calls, and that fails every call once a
    fold chunk's transaction went through (``crash_after_chunk``)."""

    def __init__(self, client: Any, *, crash_after_chunk: bool = False) -> None:
        self.client = client
        self.names: list[str] = []
        self.crash_after_chunk = crash_after_chunk

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if name in {"exceptions", "meta"} or not callable(attribute) or name.startswith("get_paginator"):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.crash_after_chunk and "transact_write_items" in self.names:
                raise Crash()
            self.names.append(name)
            return attribute(*args, **kwargs)

        return call


def recorded(recording: Recording) -> AnalyticsTable:
    """The analytics table over a recording client (it stands in for boto3's, call for call)."""
    return AnalyticsTable(cast("DynamoDBClient", recording), get_settings().require("analytics_table"))


def test_a_fold_between_two_reads_is_neither_missed_nor_counted_twice(
    clock: Clock, history: list[dict[str, Any]]
) -> None:
    # Given orders put into items two days ago, and a fold of the days before that
    clock.today = TODAY - timedelta(days=2)
    fold(TODAY - timedelta(days=2))
    others, orders = split(history)
    pipeline.deliver(others)
    pipeline.deliver_packets(orders, packet_size=5, batch_size=1)
    fold(TODAY)
    assert table().stock_in_watermark() == TODAY - timedelta(days=3)
    # When on hand is read today, then it is exact, and the day two days ago, closed (no
    # writer can add to it any more), is kept: a second read queries only today and yesterday
    clock.today = TODAY
    assert_on_hand(history)
    skus = set(oracle.on_hand(history))
    reader = Recording(pipeline.dynamodb())
    recorded(reader).on_hand_of(skus)
    assert reader.names.count("query") == 2
    # When the next fold crashes after moving its first chunk of that day into the inbox (the
    # watermark still on the day before it)
    crashing = Recording(pipeline.dynamodb(), crash_after_chunk=True)
    with pytest.raises(Crash):
        stock_in.fold(recorded(crashing), TODAY + timedelta(days=1))
    assert crashing.names.count("transact_write_items") == 1
    assert table().stock_in_watermark() == TODAY - timedelta(days=3)
    # Then a read is exact: the day kept before that chunk moved is read again (its watermark
    # item has a new revision), not counted twice
    reader = Recording(pipeline.dynamodb())
    read = recorded(reader).on_hand_of(skus)
    assert {s: n for s, n in read.items() if n} == {s: n for s, n in oracle.on_hand(history).items() if n}
    assert reader.names.count("query") == 3
    assert_on_hand(history)
    # And when the fold runs again, the day is folded, not missed
    assert fold(TODAY + timedelta(days=1))["folded_through"] == (TODAY - timedelta(days=2)).isoformat()
    assert pipeline.unfolded_stock_in() == {}
    assert_on_hand(history)


def _fold_failing(calls: Calls, today: date) -> None:
    flaky = AnalyticsTable(calls.wrap(pipeline.dynamodb()), get_settings().require("analytics_table"))
    under_test = UNDER_TEST.set(True)  # (Calls counts and fails only the calls under test)
    try:
        with contextlib.suppress(Crash, Exception):
            stock_in.fold(flaky, today, progress=False)
    finally:
        UNDER_TEST.reset(under_test)


# One replay of the fold per AWS call it makes, on the history's items put back each time.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
def test_every_aws_call_of_the_fold_can_fail(
    stack: StackFixture, clock: Clock, history: list[dict[str, Any]], after: bool
) -> None:
    others, orders = split(history)
    # The days before today folded, so the fold under test folds today's items only
    first_watermark = TODAY + timedelta(days=2)
    fold_day = TODAY + timedelta(days=3)
    # Given the history counted: delivered once, and the very items it left put back before
    # each replay (checked item by item), which takes a fraction of delivering it again
    pipeline.clear_analytics(stock_in=False)
    fold(first_watermark)
    # (a watermark of yesterday: today's items stay open)
    pipeline.deliver(others)
    pipeline.deliver_packets(orders, packet_size=5, batch_size=1)
    stack.wait_idle()
    counted = pipeline.analytics_items()
    probe = Calls()
    _fold_failing(probe, fold_day)
    total = probe.count
    assert total >= 6, "the fold should make several AWS calls"
    for fail_at in range(1, total + 1):
        stack.wait_idle()
        pipeline.restore_analytics(counted)
        # When the fold's n-th call fails (before or after it took effect)
        _fold_failing(Calls(fail_at, after), fold_day)
        # Then on hand read mid-way is exact (every SKU in one page of /v1/inventory, the
        # largest: its paging, which no fault here touches, is the other tests')
        assert_on_hand(history, page=1000)
        # And after the fold runs again, everything is folded once
        assert fold(fold_day)["folded_through"] == TODAY.isoformat()
        assert pipeline.unfolded_stock_in() == {}
        assert_on_hand(history, page=1000)
    assert_segments(history)


def test_the_first_fold_only_sets_the_watermark(clock: Clock) -> None:
    # Given a new store: no watermark, so no stock-in item can exist yet
    assert table().stock_in_watermark() is None
    # When the fold first runs, then it folds nothing and opens the days from 3 days ago
    assert fold(TODAY) == {
        "job": "stock-fold",
        "folded_through": (TODAY - timedelta(days=3)).isoformat(),
        "days": 0,
        "skus_moved": 0,
    }
    assert table().stock_in_watermark() == TODAY - timedelta(days=3)
