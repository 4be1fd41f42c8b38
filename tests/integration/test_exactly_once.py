"""Exactly-once: crashes and failures at every AWS call of a processor, then redelivery.

Given a small history, when a processor's n-th AWS call fails (before or after it takes effect)
and SQS delivers the same messages again, and then the batch comes again in new messages (with
new SQS message ids, as a client's retry through the ingest API would send it), then the
figures equal the oracle's, for every n.
"""

from __future__ import annotations

import contextvars
import random
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from types import FrameType
from typing import Any

import pytest

from backend import wiring
from backend.adapters import stock as stock_items
from backend.adapters.analytics import AnalyticsTable
from backend.handlers import _sqs as processors
from tests import oracle, pipeline
from tests.conftest import StackFixture
from tests.figures import assert_same_day_counts, assert_same_figures, assert_same_stock

TZ = "America/New_York"


class Crash(BaseException):
    """The function dies: not an ``Exception``, so nothing inside the handler catches it."""


class Failure(Exception):
    """An AWS call answers with an error."""


# Set while the processor under test is invoked: the calls counted (and failed) are its own,
# made in its thread or in the threads its adapters fan out to (they copy the context). The
# stack's pollers run other functions in this process with the same patched clients (the alert
# feed, fed by the alerts this batch raises); their calls are not the processor's.
UNDER_TEST: contextvars.ContextVar[bool] = contextvars.ContextVar("under_test", default=False)
# The code a call site is named by: this project's modules, up to a fan-out to threads.
BACKEND = "/backend/"
FAN_OUT = "/backend/adapters/parallel.py"


def call_site() -> tuple[str, ...]:
    """Where an AWS call is made: the chain of this project's functions that made it, innermost
    first (``module:function``), up to a fan-out to threads (whose caller is in another
    thread's stack); the same code gives the same chain whatever the batch's size."""
    chain: list[str] = []
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if FAN_OUT in filename:
            break
        if BACKEND in filename:
            chain.append(f"{filename.rsplit(BACKEND, 1)[1]}:{frame.f_code.co_name}")
        frame = frame.f_back
    return tuple(chain)


class Calls:
    """Counts the processor's AWS calls across clients, makes the n-th one fail and tells how
    many times each call site (:func:`call_site`) was called."""

    def __init__(self, fail_at: int | None = None, after: bool = False, crash: bool = True):
        self.count = 0
        self.fail_at = fail_at
        self.after = after
        self.crash = crash
        self.sites: Counter[tuple[str, ...]] = Counter()

    def _boom(self) -> BaseException:
        return Crash() if self.crash else Failure(f"call {self.count} failed")

    def wrap(self, client: Any) -> Any:
        calls = self

        class Flaky:
            def __getattr__(self, name: str) -> Any:
                attribute = getattr(client, name)
                if (
                    name in {"exceptions", "meta"}
                    or not callable(attribute)
                    or name.startswith("get_paginator")
                ):
                    return attribute

                def call(*args: Any, **kwargs: Any) -> Any:
                    if not UNDER_TEST.get():
                        return attribute(*args, **kwargs)
                    calls.count += 1
                    if calls.fail_at is None:
                        calls.sites[(name, *call_site())] += 1
                    failing = calls.count == calls.fail_at
                    if failing and not calls.after:
                        raise calls._boom()
                    result = attribute(*args, **kwargs)
                    if failing and calls.after:
                        raise calls._boom()
                    return result

                return call

        return Flaky()


def mini_history(seed: int = 11, orders: int = 14) -> list[dict[str, Any]]:
    """A few days of a tiny store around the 2025-03-09 DST change in New York: four SKUs, five
    customers (some returning, one whose first order arrives late), refunds with restock,
    adjustments. Small on purpose: the test replays it once per AWS call.

    ``orders`` (at least 3: the refunds are of the second and third) placed before the late
    one, at seven moments around the change in turn; with fewer, the first ones are the same."""
    rng = random.Random(seed)
    skus = ["MUG", "TEE", "CAP", "PIN"]
    events: list[dict[str, Any]] = []

    def add(kind: str, moment: str, data: dict[str, Any]) -> None:
        events.append({"event_id": f"e{len(events)}", "type": kind, "occurred_at": moment, "data": data})

    for sku in skus:
        add(
            "product.upserted",
            "2025-03-01T12:00:00Z",
            {
                "sku": sku,
                "name": sku.title(),
                "category": "Gifts",
                "price": "10.00",
                "reorder_point": 3,
            },
        )
        add("inventory.adjusted", "2025-03-01T13:00:00Z", {"sku": sku, "delta": 12, "reason": "restock"})
    moments = [
        "2025-03-08T04:30:00Z",
        "2025-03-08T05:30:00Z",
        "2025-03-09T06:30:00Z",
        "2025-03-09T07:30:00Z",
        "2025-03-10T03:59:00Z",
        "2025-03-10T04:01:00Z",
        "2025-03-11T15:00:00Z",
    ]
    for number in range(orders):
        lines = [
            {"sku": sku, "quantity": rng.randint(1, 3), "unit_price": f"{rng.randint(300, 2500) / 100:.2f}"}
            for sku in rng.sample(skus, rng.randint(1, 3))
        ]
        add(
            "order.placed",
            moments[number % len(moments)],
            {
                "order_id": f"o{number}",
                "customer_id": f"c{rng.randint(1, 5)}",
                "lines": lines,
                "discount": "1.00" if number % 4 == 0 else "0",
                "currency": "USD",
                "channel": ["web", "mobile", "pos"][number % 3],
            },
        )
    add(
        "order.refunded",
        "2025-03-10T12:00:00Z",
        {
            "order_id": "o1",
            "refund_id": "r1",
            "amount": "2.50",
            "currency": "USD",
            "restock": [{"sku": events[9]["data"]["lines"][0]["sku"], "quantity": 1}],
        },
    )
    add(
        "order.refunded",
        "2025-03-11T12:00:00Z",
        {"order_id": "o2", "refund_id": "r2", "amount": "1.99", "currency": "USD"},
    )
    add("inventory.adjusted", "2025-03-10T13:00:00Z", {"sku": "MUG", "delta": -2, "reason": "damage"})
    # The late first order: customer c1's earliest order is delivered last.
    add(
        "order.placed",
        "2025-03-07T20:00:00Z",
        {
            "order_id": "o-late",
            "customer_id": "c1",
            "currency": "USD",
            "lines": [{"sku": "PIN", "quantity": 1, "unit_price": "4.00"}],
        },
    )
    return events


@pytest.fixture
def history(stack: Any, store_zone: None) -> Iterator[list[dict[str, Any]]]:
    pipeline.allow_read_key()
    pipeline.clear_analytics()
    yield pipeline.pipeline_form(mini_history())
    pipeline.clear_analytics()


# The orders of the history whose orders batch is failed at each call: the first seven (one at
# each of the seven moments around the DST change), the late first order and both refunds. The
# test checks that this batch makes every kind of call the whole history's batch makes.
FAULT_ORDERS = 7


@dataclass(frozen=True)
class Expected:
    """The oracle's figures of a history from ``first`` to ``last``: what :func:`assert_exact`
    compares the stack's with. Computed once where a test checks the same history after each of
    many replays (pandas took about an eighth of a replay)."""

    first: date
    last: date
    summaries: dict[tuple[date, date], dict[str, Any]]
    on_hand: dict[str, int]
    channels: dict[str, dict[str, Any]]
    daily: Any

    @classmethod
    def of(cls, raw: list[dict[str, Any]], first: date, last: date) -> Expected:
        ranges = [(first, last), (first, first), (last, last), (first + timedelta(days=2), last)]
        return cls(
            first,
            last,
            {(start, end): oracle.summary(raw, start, end, tz=TZ) for start, end in ranges},
            oracle.on_hand(raw),
            oracle.channels(raw, first, last, tz=TZ),
            oracle.daily(raw, tz=TZ),
        )


def assert_exact(expected: Expected) -> None:
    """The stack's figures are the oracle's: the summaries of four ranges, stock on hand, the
    channels, and each day's counts."""
    first, last = expected.first, expected.last
    for (start, end), figures in expected.summaries.items():
        assert_same_figures(pipeline.summary(start, end), figures, f"{start}..{end}")
    assert_same_stock(pipeline.on_hand(), expected.on_hand)
    assert_same_channels(expected.channels, first, last)
    # The day items' counts (the anomaly check reads the refunds' count), each event once
    assert_same_day_counts(
        pipeline.day_counters(first - timedelta(days=7), last + timedelta(days=7)), expected.daily
    )


def _expected_all(raw: list[dict[str, Any]], first: date, last: date) -> None:
    assert_exact(Expected.of(raw, first, last))


def assert_same_channels(expected: dict[str, dict[str, Any]], first: date, last: date) -> None:
    """Returns and net sales per channel (and so the refunds' attribution) as the oracle has them
    (``expected``: :func:`tests.oracle.channels`)."""
    status, body = pipeline.api_get(
        "/v1/metrics/channels", {"start": first.isoformat(), "end": last.isoformat()}
    )
    assert status == 200, body
    for row in body["channels"]:
        for name in ("returns", "net_sales", "gross_sales"):
            assert row[name] == format(expected[row["channel"]][name], "f"), (row["channel"], name)


def _run_with(
    monkeypatch: pytest.MonkeyPatch, module: Any, calls: Calls, function: str, queue: str, events: list
) -> None:
    """Invoke with the n-th call failing, then let SQS deliver the same messages until none fails."""
    records = [pipeline.sqs_record(e, queue) for e in events]
    # The handler module makes the failure log's client, backend.wiring the table's and the bus's.
    real = module.client
    for maker in (module, wiring):
        monkeypatch.setattr(maker, "client", lambda service: calls.wrap(real(service)))
    under_test = UNDER_TEST.set(True)
    try:
        pipeline.invoke_batch(function, queue, events, records)
    except Crash:
        pass
    finally:
        UNDER_TEST.reset(under_test)
        for maker in (module, wiring):
            monkeypatch.setattr(maker, "client", real)
    for _ in range(5):
        if not pipeline.invoke_batch(function, queue, events, records):
            return
    raise AssertionError(f"{function} kept failing after the failure of call {calls.fail_at}")


def _orders_batch_sites(monkeypatch: pytest.MonkeyPatch, history: list[dict[str, Any]]) -> Calls:
    """The calls of the orders processor on this history's orders in one batch, the rest of the
    history counted before (a probe: nothing fails)."""
    pipeline.clear_analytics()
    pipeline.deliver([e for e in history if e["type"] not in {"order.placed", "order.refunded"}])
    probe = Calls()
    orders = pipeline.by_function(history)[("orders", "storepulse-orders")]
    _run_with(monkeypatch, processors, probe, "orders", "storepulse-orders", orders)
    return probe


# One replay of the history per AWS call of the processor (each claim is a call): longer than the
# suite's default timeout on a loaded machine.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("crash", [True, False], ids=["crash", "error"])
def test_every_aws_call_of_the_orders_processor_can_fail(
    history: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, crash: bool, after: bool
) -> None:
    """A replay's calls grow with the batch (the error mode applies a failed batch again message
    by message, then come the redeliveries), and there is one replay per call: the cost grows
    with the square of the batch. So the batch failed is shorter than the whole history's 14
    orders, 2 refunds and late first order (47 calls in session 10): the first
    ``FAULT_ORDERS`` orders at the seven moments around the DST change, the late first order
    and both refunds (32 calls). It asserts that this batch makes every kind of call the whole
    history's batch makes (each call site, named by the chain of functions that made it) and,
    for every kind made more than once there, more than once here too (so a failure still
    falls between two calls of one kind: two claims, two profiles, two stock crossings and
    their alerts)."""
    # Given a batch making every kind of call the whole history's batch makes
    whole = _orders_batch_sites(monkeypatch, history).sites
    shorter = pipeline.pipeline_form(mini_history(orders=FAULT_ORDERS))
    probe = _orders_batch_sites(monkeypatch, shorter)
    assert set(probe.sites) == set(whole), "the failed batch misses or adds kinds of AWS calls"
    assert {s for s, n in whole.items() if n > 1} <= {s for s, n in probe.sites.items() if n > 1}
    total = probe.count
    assert total == sum(probe.sites.values()) >= 4, "the orders processor should make several AWS calls"
    # And the inventory side settled, the orders in one batch
    routed = pipeline.by_function(shorter)
    orders = routed[("orders", "storepulse-orders")]
    others = [e for e in shorter if e["type"] not in {"order.placed", "order.refunded"}]
    first, last = date(2025, 3, 7), date(2025, 3, 11)
    expected = Expected.of(shorter, first, last)

    for fail_at in range(1, total + 1):
        pipeline.clear_analytics()
        pipeline.deliver(others)
        # When call n fails, before or after it took effect
        _run_with(
            monkeypatch,
            processors,
            Calls(fail_at, after, crash),
            "orders",
            "storepulse-orders",
            orders,
        )
        # And the whole batch is delivered again, twice
        pipeline.deliver(orders, batch_size=len(orders))
        pipeline.deliver(orders, batch_size=7)
        # Then the figures are exact
        assert_exact(expected)


@pytest.mark.parametrize("settle", [False, True], ids=["inbox", "settling"])
def test_every_aws_call_of_the_inventory_processor_can_fail(
    stack: StackFixture, history: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, settle: bool
) -> None:
    if settle:
        # Every inbox item is settled into the SKUs' own items after every batch, so that the
        # settle's reads and transactions fail too
        monkeypatch.setattr(stock_items, "SETTLE_AT_BYTES", 0)
    routed = pipeline.by_function(history)
    stock = routed[("inventory", "storepulse-inventory")]
    orders = routed[("orders", "storepulse-orders")]
    probe = Calls()
    _run_with(monkeypatch, processors, probe, "inventory", "storepulse-inventory", stock)
    total = probe.count
    rng = random.Random(5)
    expected = oracle.on_hand(history)
    # Given the orders counted: delivered once, and the very items they left put back before
    # each replay (checked item by item), which takes a fraction of delivering them again
    pipeline.clear_analytics()
    pipeline.deliver(orders)
    stack.wait_idle()
    counted = pipeline.analytics_items()
    for fail_at in range(1, total + 1):
        for after in (False, True):
            stack.wait_idle()
            pipeline.restore_analytics(counted)
            _run_with(
                monkeypatch,
                processors,
                Calls(fail_at, after),
                "inventory",
                "storepulse-inventory",
                stock,
            )
            pipeline.deliver(rng.sample(stock, len(stock)), batch_size=9)
            assert_same_stock(pipeline.on_hand(), expected)


def test_an_event_twice_in_one_batch_counts_once(history: list[dict[str, Any]]) -> None:
    # Given the inventory side settled, when one batch holds every order twice
    routed = pipeline.by_function(history)
    orders = routed[("orders", "storepulse-orders")]
    pipeline.deliver([e for e in history if e["type"] not in {"order.placed", "order.refunded"}])
    failed = pipeline.invoke_batch("orders", "storepulse-orders", orders + orders[::-1])
    # Then nothing fails and every figure counts each order once
    assert failed == []
    _expected_all(history, date(2025, 3, 7), date(2025, 3, 11))


def test_packets_count_once_when_delivered_twice_in_other_company(history: list[dict[str, Any]]) -> None:
    # Given the history in packets of mixed types (several events per SQS message, each
    # processor keeping its own types), delivered in batches of packets
    pipeline.deliver_packets(history, packet_size=4, batch_size=3)
    # When every packet is delivered again, in other packets and batches, and once more as
    # one event per message (the body from before packets)
    shuffled = random.Random(11).sample(history, len(history))
    pipeline.deliver_packets(shuffled, packet_size=7, batch_size=2)
    pipeline.deliver(history, batch_size=5)
    # Then the figures are the oracle's
    _expected_all(history, date(2025, 3, 7), date(2025, 3, 11))


def test_a_batch_replayed_from_the_dlq_counts_what_it_claimed_before_failing(
    history: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the orders' claims made, and the processor failing before it counted them

    routed = pipeline.by_function(history)
    orders = routed[("orders", "storepulse-orders")]
    pipeline.deliver([e for e in history if e["type"] not in {"order.placed", "order.refunded"}])

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("counting is broken")

    monkeypatch.setattr(AnalyticsTable, "count_parts", broken)
    assert sorted(pipeline.invoke_batch("orders", "storepulse-orders", orders)) == sorted(
        e["event_id"] for e in orders
    )
    monkeypatch.undo()
    # When the messages come back from the DLQ (new message ids, the same events)
    pipeline.deliver(orders, batch_size=len(orders))
    # Then every order counts once
    _expected_all(history, date(2025, 3, 7), date(2025, 3, 11))
