"""Lone items: an order alone counted by its stock-in item, without a transaction.

A part of a batch of one packet whose events are all placed orders of store days within a day of
its claim day is *lone*: its stock-in item (``STOCKIN#<claim day>``/``<packet>#<n>``, one
conditional put after the profiles' join) carries what its orders add to their days (``dc``:
sales counters, SKU lines, baskets, customer-set members), and the part has no counting
transaction, no ``PART#`` marker, no ``SKUP#``, ``CB#`` or ``FACTS#`` item. Given the small
history of the fault-injection tests, with the writers' clock on 2025-03-09 (so the orders of
the 8th to the 10th in New York are lone, those of the 7th and the 11th not), the figures equal
the oracle's: delivered again before and after the fold, and when any AWS call of a lone batch
fails before or after it takes effect.

The day figures are read twice: from the items themselves (an independent reader: the days'
``SALES``, ``SKUP#`` and ``CB#`` items and the day content of every stock-in item, folded or
not), so these tests check what the writer stores; and by the production readers through the
API (summary, top products, pairs) and ``tests.pipeline.day_counters``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
import pytest

from backend.adapters import stock_in as stock_in_items
from backend.adapters.analytics import AnalyticsTable
from backend.adapters.dynamo import members_of, query_partition, sku_lines
from backend.domain.customers import SETS
from backend.domain.metrics import summarize
from backend.handlers import _sqs as processors
from backend.processing import stock_in
from backend.settings import get_settings
from tests import oracle, pipeline
from tests.conftest import StackFixture
from tests.figures import assert_same_day_counts, assert_same_figures
from tests.integration.test_exactly_once import TZ, Calls, _run_with, mini_history
from tests.integration.test_stock_in import Clock, assert_on_hand, assert_segments, fold, split
from tests.integration.test_stock_in import clock as clock  # the fixture: the writers' and readers' clock
from tests.integration.test_stock_in import history as history  # the fixture: the small history

# The writers' UTC day: the orders of the 8th, 9th and 10th in New York are within a day of it.
TODAY = date(2025, 3, 9)
FIRST, LAST = date(2025, 3, 7), date(2025, 3, 11)
ORDERS = ("orders", "storepulse-orders")
SHARE = Decimal("0.0001")  # the returning customers' rate, as the summary rounds it


@pytest.fixture
def lone_clock(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The writers' and readers' clock on :data:`TODAY`, lone items on, the store folded three
    days back (today's and yesterday's items open)."""
    clock.today = TODAY
    monkeypatch.setattr(stock_in, "LONE_ITEMS", True)
    fold(TODAY)
    return clock


def _table() -> str:
    return get_settings().require("analytics_table")


def snapshot() -> dict[tuple[str, str], dict[str, Any]]:
    """Every item of the analytics table by key (a scan: tests only)."""
    return {
        (item["pk"]["S"], item["sk"]["S"]): item
        for page in pipeline.dynamodb()
        .get_paginator("scan")
        .paginate(TableName=_table(), ConsistentRead=True)
        for item in page["Items"]
    }


def lone_items() -> list[dict[str, Any]]:
    """The stock-in items that carry day content."""
    return [item for key, item in snapshot().items() if key[0].startswith("STOCKIN#") and "dc" in item]


def day_content() -> dict[date, stock_in_items.DayContent]:
    """The day content of every stock-in item, merged by store day."""
    merged: dict[date, stock_in_items.DayContent] = defaultdict(stock_in_items.DayContent)
    for item in lone_items():
        for day, content in stock_in_items.decode_day_content(item["dc"]["B"]).items():
            merged[day] = merged[day].merge(content)
    return merged


@dataclass(frozen=True)
class StoredDay:
    """One store day as the items hold it: its sales counters, customer sets and SKU lines
    (``sku -> [units, revenue]``)."""

    sales: dict[str, Decimal]
    sets: dict[str, set[str]]
    lines: dict[str, list[Decimal]]


def stored_days(first: date, last: date) -> list[StoredDay]:
    """Each day's sales counters, customer sets and SKU lines as the items hold them: the
    day's ``SALES``, ``CB#`` and ``SKUP#`` items, plus the day content of the stock-in items."""
    client = pipeline.dynamodb()
    content = day_content()
    days: list[StoredDay] = []
    day = first
    while day <= last:
        counters: dict[str, Decimal] = defaultdict(Decimal)
        members: dict[str, set[str]] = {name: set() for name in SETS}
        found: list[tuple[str, int, Decimal]] = []
        for item in query_partition(client, _table(), f"DAY#{day.isoformat()}", ConsistentRead=True):
            if item["sk"] == "SALES":
                counters.update({k: Decimal(v) for k, v in item.items() if isinstance(v, Decimal)})
            elif item["sk"].startswith("CB#"):
                for member in members_of(item, "m"):
                    name, _, customer = member.partition(":")
                    members[name].add(customer)
            elif item["sk"].startswith("SKU"):
                found += sku_lines(item)
        lone = content.get(day, stock_in_items.DayContent())
        for name, amount in lone.sales.items():
            counters[name] += amount
        for member in lone.members:
            name, _, customer = member.partition(":")
            members[name].add(customer)
        lines: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for sku, units, revenue in [*found, *lone.lines]:
            lines[sku][0] += units
            lines[sku][1] += revenue
        days.append(StoredDay(counters, members, lines))
        day += timedelta(days=1)
    return days


# The ranges whose figures are checked: the history's five days, and each day alone.
RANGES = ((FIRST, LAST), *((FIRST + timedelta(days=n),) * 2 for n in range(5)))
PAIR_FIGURES = ["a", "b", "orders", "support", "confidence_ab", "confidence_ba", "lift"]


@dataclass(frozen=True)
class Expected:
    """The oracle's figures of a history: what :func:`assert_exact` compares the stack's with.
    Computed once where a test checks the same history after each of many replays (the oracle's
    pandas took about a third of a check's CPU in the test process)."""

    summaries: dict[tuple[date, date], dict[str, Any]]
    sold: dict[tuple[date, date], dict[str, tuple[int, Decimal]]]
    top_by_units: list[tuple[str, int, Decimal]]
    pairs: pd.DataFrame
    daily: pd.DataFrame
    history: list[dict[str, Any]]

    @classmethod
    def of(cls, history: list[dict[str, Any]]) -> Expected:
        every_pair = oracle.pairs(history, FIRST, LAST, min_orders=1, tz=TZ)
        assert len(every_pair) > 0
        return cls(
            {(start, end): oracle.summary(history, start, end, tz=TZ) for start, end in RANGES},
            {
                (start, end): {
                    row["sku"]: (row["units"], row["net_sales"])
                    for row in oracle.top_products(history, start, end, limit=100, tz=TZ)
                }
                for start, end in RANGES
            },
            [
                (e["sku"], e["units"], e["net_sales"])
                for e in oracle.top_products(history, FIRST, LAST, by="units", limit=100, tz=TZ)
            ],
            every_pair[PAIR_FIGURES],
            oracle.daily(history, tz=TZ),
            history,
        )


def assert_figures(history: list[dict[str, Any]]) -> None:
    """:func:`assert_exact` for ``history``, the oracle's figures computed now."""
    assert_exact(Expected.of(history))


def assert_exact(expected: Expected, *, inventory_page: int = 2) -> None:
    """The summary of several ranges and the sales per SKU, read from the items, equal the
    oracle's; and on hand (``/v1/inventory`` read ``inventory_page`` SKUs a page)."""
    days = stored_days(FIRST, LAST)
    for start, end in RANGES:
        inside = days[(start - FIRST).days : (end - FIRST).days + 1]
        figures = dict(expected.summaries[start, end])
        figures["returning_customer_rate"] = figures["returning_customer_rate"].quantize(SHARE, ROUND_HALF_UP)
        assert summarize([d.sales for d in inside], [d.sets for d in inside]) == figures, f"{start}..{end}"
        lines: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for day in inside:
            for sku, (units, revenue) in day.lines.items():
                lines[sku][0] += units
                lines[sku][1] += revenue
        sold = {sku: (int(units), oracle.cents(revenue)) for sku, (units, revenue) in lines.items() if units}
        assert sold == expected.sold[start, end], f"{start}..{end}"
        # And as the production readers read them (the API)
        assert_same_figures(pipeline.summary(start, end), expected.summaries[start, end])
    top = api("/v1/products/top", start=FIRST, end=LAST, by="units", limit=100)["products"]
    assert [(p["sku"], p["units"], Decimal(p["net_sales"])) for p in top] == expected.top_by_units
    pairs = api("/v1/products/pairs", start=FIRST, end=LAST, min_orders=1, limit=100)["pairs"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(pairs, columns=PAIR_FIGURES), expected.pairs, check_dtype=False
    )
    assert_same_day_counts(pipeline.day_counters(FIRST, LAST), expected.daily)
    assert_on_hand(expected.history, page=inventory_page)


def api(path: str, **params: Any) -> Any:
    status, body = pipeline.api_get(path, {k: str(v) for k, v in params.items()})
    assert status == 200, body
    return body


def part_markers() -> list[tuple[str, str]]:
    """The keys of the parts' ``PART#`` markers (parts counted in a transaction)."""
    return [key for key in snapshot() if key[0].startswith("PACKET#") and key[1].startswith("PART#")]


def order(history: list[dict[str, Any]], order_id: str) -> dict[str, Any]:
    return next(e for e in history if e["type"] == "order.placed" and e["data"]["order_id"] == order_id)


def test_a_lone_order_writes_its_claim_profile_and_one_stock_in_item(
    lone_clock: Clock, history: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the history delivered but order o3 (of the 9th in New York)
    others, orders = split(history)
    lone = order(history, "o3")
    pipeline.deliver(others)
    pipeline.deliver([e for e in orders if e is not lone], batch_size=1)
    before = snapshot()
    # When o3 comes alone
    probe = Calls()
    _run_with(monkeypatch, processors, probe, *ORDERS, [lone])
    # Then it made no transaction but the stock alerts' (a crossing of the reorder point), and
    # wrote no day item, marker or facts: one stock-in item
    transactions = [site for site in probe.sites if site[0] == "transact_write_items"]
    assert not [site for site in transactions if "processing/stock.py:evaluate" not in site], transactions
    after = snapshot()
    written = sorted(key for key, item in after.items() if before.get(key) != item)
    assert not [key for key in written if key[0].split("#")[0] in {"DAY", "PACKET", "FACTS"}], written
    items = [key for key in written if key[0].startswith("STOCKIN#")]
    assert items == [(f"STOCKIN#{TODAY.isoformat()}", f"{lone['event_id']}#0")], written
    # And the item holds the order's day figures, its customer's sets as joined
    day = date(2025, 3, 9)
    content = stock_in_items.decode_day_content(after[items[0]]["dc"]["B"])
    assert list(content) == [day]
    expected = oracle.daily([lone], tz=TZ).loc[day]
    assert content[day].sales["orders"] == 1
    assert content[day].sales["gross_sales"] == expected["gross_sales"]
    assert sum(units for _, units, _ in content[day].lines) == expected["units"]
    assert f"C:{lone['data']['customer_id']}" in content[day].members
    assert content[day].baskets
    assert_figures(history)


def test_lone_orders_count_once_delivered_again_before_and_after_the_fold(
    lone_clock: Clock, history: list[dict[str, Any]]
) -> None:
    # Given the history, each order alone
    others, orders = split(history)
    pipeline.deliver(others)
    pipeline.deliver(orders, batch_size=1)
    # Then the orders of the 8th to the 10th are in lone items, the others counted the old way
    lone_days = {day for item in lone_items() for day in stock_in_items.decode_day_content(item["dc"]["B"])}
    assert lone_days == {date(2025, 3, 8), date(2025, 3, 9), date(2025, 3, 10)}
    assert part_markers(), "the orders of the 7th and the 11th"
    assert_figures(history)
    # When they are delivered again, in batches of several packets and alone
    pipeline.deliver(orders, batch_size=4)
    pipeline.deliver(orders, batch_size=1)
    assert_figures(history)
    # And after the fold of those days, by a writer on that day and on a later one
    assert fold(TODAY + timedelta(days=3))["folded_through"] == TODAY.isoformat()
    pipeline.deliver(orders, batch_size=1)
    lone_clock.today = TODAY + timedelta(days=3)
    pipeline.deliver(orders, batch_size=3)
    pipeline.deliver(orders, batch_size=1)
    assert_figures(history)
    assert_segments(history)


def _old_path(history: list[dict[str, Any]], part: list[dict[str, Any]]) -> None:
    """Deliver the history, ``part`` as one packet alone, and check that it was counted in a
    transaction (its ``PART#`` marker), with no day content."""
    others, orders = split(history)
    pipeline.deliver(others)
    pipeline.deliver([e for e in orders if e not in part], batch_size=1)
    lone, markers = len(lone_items()), len(part_markers())
    pipeline.deliver_packets(part, packet_size=len(part), batch_size=1)
    assert (len(lone_items()), len(part_markers())) == (lone, markers + 1)
    pipeline.deliver_packets(part, packet_size=len(part), batch_size=1)
    assert_figures(history)


def test_a_part_with_a_refund_takes_the_old_path(lone_clock: Clock, history: list[dict[str, Any]]) -> None:
    refund = next(e for e in history if e["type"] == "order.refunded")
    _old_path(history, [order(history, "o2"), order(history, "o3"), refund])


@pytest.mark.parametrize("order_id", ["o0", "o6"], ids=["day-before-yesterday", "day-after-tomorrow"])
def test_an_order_two_days_from_its_claim_day_takes_the_old_path(
    lone_clock: Clock, history: list[dict[str, Any]], order_id: str
) -> None:
    _old_path(history, [order(history, order_id)])


def tombstones() -> list[tuple[str, str]]:
    """The keys of the stock-in items that are tombstones (a part counted by a transaction)."""
    return [
        key
        for key, item in snapshot().items()
        if key[0].startswith("STOCKIN#") and "part" in item and "d" not in item and "dc" not in item
    ]


def test_lone_orders_too_late_for_their_items_are_counted_by_transactions_their_items_claim(
    lone_clock: Clock, history: list[dict[str, Any]]
) -> None:
    # Given a store folded through today already (the orders' claim day is closed for items)
    fold(TODAY + timedelta(days=3))
    others, orders = split(history)
    pipeline.deliver(others)
    # When the orders come, each alone, then again
    pipeline.deliver(orders, batch_size=1)
    pipeline.deliver(orders, batch_size=1)
    # Then no item holds day content: the lone ones left tombstones, and the figures are exact
    assert not lone_items()
    assert len(tombstones()) == len([e for e in orders if e["type"] == "order.placed"])
    assert_figures(history)


def test_lone_orders_replayed_after_their_claim_day_closed_count_once(
    lone_clock: Clock, history: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the orders claimed today, alone, but not counted (the items' puts fail)
    others, orders = split(history)
    pipeline.deliver(others)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("stock-in items are broken")

    with monkeypatch.context() as patched:
        patched.setattr(AnalyticsTable, "put_stock_in", broken)
        failed = [pipeline.invoke_batch(*ORDERS, [e]) for e in orders]
        assert any(failed)
    # When they are replayed from the DLQ two days later, and again
    lone_clock.today = TODAY + timedelta(days=2)
    pipeline.deliver(orders, batch_size=len(orders))
    pipeline.deliver(orders, batch_size=1)
    # Then the lone ones were counted by transactions claimed by their items, once
    assert not lone_items() and tombstones()
    assert_figures(history)


def test_a_lone_order_whose_item_an_earlier_release_put_counts_once(
    lone_clock: Clock, history: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the orders put in stock-in items (stock and facts) by the release before lone items,
    # which died before counting them
    others, orders = split(history)
    pipeline.deliver(others)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the processor died")

    with monkeypatch.context() as before:
        before.setattr(stock_in, "LONE_ITEMS", False)
        before.setattr(AnalyticsTable, "count_parts", crash)
        assert all(pipeline.invoke_batch(*ORDERS, [e]) for e in orders)
    assert not lone_items()
    # When this release gets them again
    pipeline.deliver(orders, batch_size=1)
    pipeline.deliver(orders, batch_size=1)
    # Then they are counted once, the way that release counted them
    assert not lone_items()
    assert_figures(history)


# One replay of the lone batch per AWS call it makes, failed before or after it.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
def test_every_aws_call_of_a_lone_batch_can_fail(
    stack: StackFixture, lone_clock: Clock, monkeypatch: pytest.MonkeyPatch, after: bool
) -> None:
    history = pipeline.pipeline_form(mini_history(orders=7))
    others, orders = split(history)
    lone = order(history, "o3")
    # Given the history but o3 counted, the other orders each alone (o1, o2, o4, o5 in lone
    # items): delivered once, and the very items it left put back before each replay (checked
    # item by item), which takes a fraction of delivering it again
    pipeline.clear_analytics(stock_in=False)
    fold(TODAY)
    pipeline.deliver(others)
    pipeline.deliver([e for e in orders if e is not lone], batch_size=1)
    stack.wait_idle()
    given = pipeline.analytics_items()
    probe = Calls()
    _run_with(monkeypatch, processors, probe, *ORDERS, [lone])
    assert len(lone_items()) == 5  # o1 to o5 (o0 and o6: two days from the claim day)
    total = probe.count
    assert total >= 5, "a lone batch should make several AWS calls"
    expected = Expected.of(history)
    for fail_at in range(1, total + 1):
        stack.wait_idle()
        pipeline.restore_analytics(given)
        # When call n of the lone batch fails (before or after it took effect), then SQS
        # delivers it again until it goes through
        _run_with(monkeypatch, processors, Calls(fail_at, after), *ORDERS, [lone])
        # And it is delivered again, alone
        pipeline.deliver([lone], batch_size=1)
        # Then the figures are exact (every SKU's on hand in one page of /v1/inventory, the
        # largest: its paging, which no fault here touches, is the other tests')
        assert_exact(expected, inventory_page=1000)
    assert_segments(history)
