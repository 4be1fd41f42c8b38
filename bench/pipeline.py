"""The pipeline benchmark (``make bench``): throughput end to end, and what an event costs in AWS.

``python bench/pipeline.py [--events N] [--precise-events M] [--senders S] [--trickle-orders K]``

1. Starts a throwaway local stack (moto server, HTTP API, SQS pollers; its own ports and a
   temporary data directory; no snapshots, schedules or live trickle).
2. Generates a plausible store with :func:`devstack.simulator.generate` (90 days by default) and
   sends its first ``N`` events through the real ingest API, in batches of 500, from ``S``
   concurrent senders, then waits until the pipeline is idle. Only cheap counting is on, so
   the events per second from the first request to idle are what the pipeline does.
3. Precise phase: the store's next ``M`` events are sent one event type at a time, with
   DynamoDB write and read units computed from item sizes (:mod:`bench.meter`), so that each
   type's units per event are measured on a store with history (catalogue, customers, stock).
   Then a few orders are sent one per request, further apart than the batching window: what
   an order costs when it arrives alone, as in a live store's trickle (placed at the time they
   are sent, in the month still open: :func:`live`).
4. Prices the measured mix at the list prices of ``backend/cost/prices.json``, with the cost
   model's own per-event computation (:func:`backend.cost.model.per_event_costs`).

Prints the tables and writes every figure as JSON to ``.data/bench/pipeline.json``.
Exits 1, saying why, when the stack fails or loses an event.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests
from tqdm import tqdm

from backend.cost import model as cost
from backend.cost.model import Price
from bench.meter import POLLER_THREAD_PREFIX, Invocations, Meter, Tally, percentile
from devstack.aws import free_port
from devstack.runtime import HandlerRef
from devstack.simulator import SimulatorError, generate, send
from devstack.spec import load_stack_spec
from devstack.stack import LocalStack, StackError, StackOptions

ROOT = Path(__file__).resolve().parents[1]
BATCH_SIZE = 500
EVENTS_PER_ORDER = 1.79  # what generate() makes per order placed (registrations, refunds, stock)
TYPES = ("product.upserted", "inventory.adjusted", "customer.registered", "order.placed", "order.refunded")
MIN_UPSERTS = 30
STALL_SECONDS = 10.0
FLUSH_WINDOWS_OVER = 20.0  # seconds of batching window
POLLER_OPERATIONS = frozenset(
    {
        "ReceiveMessage",
        "DeleteMessage",
        "DeleteMessageBatch",
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
    }
)
WRITE_UNIT_BUDGET = {"order.placed": 6.0}
DOLLAR_TARGET = 3.00
# What an AWS call is taken to last from a Lambda function in its region, to price Lambda
# duration as AWS would bill it (locally every call waits on moto: 114 ms a PutItem in
# session 12's `make bench`). DynamoDB's single-item calls: "for most atomic operations, such
# as GetItem and PutItem, an average latency is in single-digit milliseconds"
# (https://repost.aws/knowledge-center/dynamodb-high-latency), taken at its top, 10 ms; its
# multi-item calls (batches, queries, transactions) "depend on many factors" there: 20 ms.
# S3: small requests' median latency is "in the tens of milliseconds"
# (https://docs.aws.amazon.com/whitepapers/latest/s3-optimizing-performance-best-practices/timeouts-and-retries-for-latency-sensitive-applications.html):
# 50 ms. SQS, SNS and EventBridge publish no figure: assumed 20 ms.
AWS_LATENCY_SECONDS = {"dynamodb single item": 0.010, "dynamodb": 0.020, "s3": 0.050, "other": 0.020}
AWS_LATENCY_TEXT = "DynamoDB 10 ms a single-item call, 20 ms a batch, query or transaction; S3 50 ms; else 20"
LAMBDA_MB_PER_VCPU = 1769
DYNAMODB_SINGLE_ITEM = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem"})
THROUGHPUT_TARGET = 1000.0


class BenchFailed(RuntimeError):
    """The stack failed or lost events: the benchmark's figures would mean nothing."""


# -- prices -----------------------------------------------------------------------------------

# The benchmark's line labels and backend.cost's per-event lines: the prices are the one list in
# backend/cost/prices.json, the arithmetic the one of backend.cost.model.per_event_costs.
COST_LINES: dict[str, str] = {
    "API Gateway requests": "API Gateway requests",
    "Lambda requests": "Lambda requests",
    "Lambda duration (arm64)": "Lambda duration (GB-s, local proxy)",
    "SNS publish requests": "SNS publish requests",
    "SQS requests": "SQS requests",
    "DynamoDB write units": "DynamoDB write request units",
    "DynamoDB read units": "DynamoDB read request units",
    "S3 PUT requests": "S3 PUT requests",
    "S3 GET requests": "S3 GET requests",
    "EventBridge events": "EventBridge events",
}


def load_prices() -> dict[str, Price]:
    """The list prices the bill is computed from: ``backend/cost/prices.json``.

    Raises
    ------
    BenchFailed
        When the file is missing or malformed, saying why.
    """
    try:
        return dict(cost.load_prices().prices)
    except cost.CostDataError as exc:
        raise BenchFailed(f"cannot read the prices: {exc}") from None


# -- running the stack ------------------------------------------------------------------------


def _poller_function() -> str | None:
    """The function of a poller thread; ``None`` elsewhere and for the local-only bridges."""
    thread = threading.current_thread().name
    if not thread.startswith(POLLER_THREAD_PREFIX):
        return None
    function = thread[len(POLLER_THREAD_PREFIX) :]
    return None if function.startswith("bridge:") else function


@dataclass
class Phase:
    """What one run of events through the pipeline measured."""

    name: str
    events: int
    types: Counter[str]
    sent_seconds: float
    idle_seconds: float
    tally: Tally
    accepted: int
    duplicates: int
    rejected: int
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    # Write units by (function, operation, item kind), sized phases only.
    kinds: dict[tuple[str, str, str], float] = field(default_factory=dict)
    # The most batches of one queue that ran at once, by function, since the stack started.
    peak_concurrency: dict[str, int] = field(default_factory=dict)
    # Read units by (function, operation, item kind, consistency), sized phases only.
    read_kinds: dict[tuple[str, str, str, str], float] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.events / self.idle_seconds if self.idle_seconds else 0.0

    @property
    def after_last_202(self) -> float:
        """Seconds from the last ``202`` to the last event handled."""
        return self.idle_seconds - self.sent_seconds


def _blocks(events: Sequence[dict[str, Any]], size: int) -> list[Sequence[dict[str, Any]]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


def send_concurrently(
    events: Sequence[dict[str, Any]],
    api_url: str,
    ingest_key: str,
    *,
    senders: int,
    progress: bool,
    desc: str,
    request_size: int = BATCH_SIZE,
) -> dict[str, int]:
    """Send ``events`` in requests of ``request_size`` (500) from ``senders`` threads, each
    taking the next request.

    Batches leave in order, so events arrive roughly in time order, as from a store's
    connectors. Raises what :func:`devstack.simulator.send` raises.
    """
    blocks = iter(_blocks(events, request_size))
    lock = threading.Lock()
    totals: Counter[str] = Counter()
    errors: list[BaseException] = []

    def work(bar: tqdm[Any]) -> None:
        with requests.Session() as session:
            while not errors:
                with lock:
                    block = next(blocks, None)
                if block is None:
                    return
                try:
                    answer = send(block, api_url, ingest_key, request_size, False, session=session)
                except BaseException as exc:
                    errors.append(exc)
                    return
                with lock:
                    totals.update(answer)
                    bar.update(len(block))

    with tqdm(total=len(events), unit="events", desc=desc, disable=not progress) as bar:
        threads = [threading.Thread(target=work, args=(bar,), name=f"sender-{i}") for i in range(senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return dict(totals)


def accepted_types() -> dict[str, frozenset[str] | None]:
    """The event types each subscribed function takes, by the SNS subscriptions' filter
    policies in ``infra/stack.json`` (None: every type)."""
    found: dict[str, frozenset[str] | None] = {}
    for queue in load_stack_spec().queues:
        if queue.subscription is None:
            continue
        policy = (queue.subscription.filter_policy or {}).get("event_type")
        found[queue.function] = None if policy is None else frozenset(policy)
    return found


def routed(types: Mapping[str, int]) -> dict[str, int]:
    """How many events each function should get for events of these types (in packets: a
    function counts only the events of its own types)."""
    return {
        function: sum(n for t, n in types.items() if policy is None or t in policy)
        for function, policy in accepted_types().items()
    }


def windowed_functions(stack: LocalStack) -> set[str]:
    """Functions whose batching window is long (the lake gathers for minutes): a phase counts
    them done once their poller holds every message, and then flushes their batch."""
    return {
        name
        for name, poller in stack.pollers.items()
        if poller.mapping.batching_window_seconds > FLUSH_WINDOWS_OVER
    }


def flush_batches(stack: LocalStack, functions: Iterable[str]) -> None:
    """Hand these functions the batches their pollers are gathering now, as if their batching
    windows had ended: a stopping poller invokes its function with what it holds."""
    for name in functions:
        poller = stack.pollers[name]
        poller.stop(timeout=60)
        poller.start()


def _progress(meter: Meter, function: str, windowed: bool) -> int:
    """Events of its types ``function`` was handed (its poller received, when ``windowed``)."""
    stage = "received" if windowed else "handed"
    return meter.events_in_messages(function, stage, accepted_types().get(function))


def drain(
    stack: LocalStack,
    meter: Meter,
    expected: Mapping[str, int],
    start: Mapping[str, int],
    *,
    windowed: set[str],
    timeout: float,
    progress: bool,
    desc: str,
) -> float:
    """Wait until every function has had the records it is due (on top of ``start``), then
    until the stack is idle; return the moment (``time.perf_counter()``) the last was handled.

    A function in ``windowed`` counts as done once its poller holds every message it is due:
    the rest of its batching window is a deliberate wait, not work. Its batch is then flushed.
    Asking moto for queue depths is not free (it counts each queue's messages one by one), so
    the in-process counts are watched first, and :meth:`LocalStack.wait_idle` only confirms.

    Raises
    ------
    BenchFailed
        When the stack is still busy after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    total = sum(expected.values())
    seen, last_change, last_progress = -1, time.monotonic(), time.perf_counter()
    with tqdm(total=total, unit="events", desc=desc, disable=not progress) as bar:
        while True:
            done = {f: _progress(meter, f, f in windowed) - start[f] for f in expected}
            handled = min(total, sum(min(done[f], n) for f, n in expected.items()))
            if handled != bar.n:
                bar.update(handled - bar.n)
            if sum(done.values()) != seen:
                seen, last_change, last_progress = sum(done.values()), time.monotonic(), time.perf_counter()
            caught_up = all(done[f] >= n for f, n in expected.items())
            # Nothing moving although records are due: events were lost (the lake check says
            # which) or a function is stuck (wait_idle says which).
            stalled = time.monotonic() - last_change > STALL_SECONDS
            if caught_up or stalled:
                flush_batches(stack, windowed & set(expected))
                try:
                    stack.wait_idle(timeout=max(1.0, deadline - time.monotonic()) if caught_up else 1.0)
                except TimeoutError as exc:
                    if caught_up:
                        raise BenchFailed(f"the pipeline did not finish in {timeout:.0f} s: {exc}") from None
                    last_change = time.monotonic()
                    continue
                return last_progress
            if time.monotonic() >= deadline:
                raise BenchFailed(
                    f"the pipeline did not finish in {timeout:.0f} s: records handled so far {done}, "
                    f"due {dict(expected)}"
                )
            time.sleep(0.05)


def run_phase(
    name: str,
    stack: LocalStack,
    meter: Meter,
    events: Sequence[dict[str, Any]],
    *,
    senders: int,
    timeout: float,
    progress: bool,
    gap: float | None = None,
    request_size: int = BATCH_SIZE,
) -> Phase:
    """Send ``events`` through the ingest API and wait until the pipeline is idle.

    With ``gap``, each event goes alone in its own request, ``gap`` seconds after the one
    before: a live store's trickle, where every batch a function gets holds one event.
    """
    assert stack.keys is not None
    types = Counter(e["type"] for e in events)
    due = routed(types)
    before = meter.snapshot()
    windowed = windowed_functions(stack)
    records_before = {f: _progress(meter, f, f in windowed) for f in due}
    cpu_before = cpu_seconds(stack)
    kinds_before = meter.write_units_by_kind()
    read_kinds_before = meter.read_units_by_kind()
    started = time.perf_counter()
    if gap is None:
        totals = send_concurrently(
            events,
            stack.api_url,
            stack.keys.ingest_key,
            senders=senders,
            progress=progress,
            desc=f"{name}: send",
            request_size=request_size,
        )
    else:
        totals = Counter()
        with requests.Session() as session:
            for event in tqdm(events, unit="events", desc=f"{name}: send", disable=not progress):
                totals.update(send([event], stack.api_url, stack.keys.ingest_key, 1, False, session=session))
                time.sleep(gap)
    sent = time.perf_counter() - started
    finished = drain(
        stack,
        meter,
        due,
        records_before,
        windowed=windowed,
        timeout=timeout,
        progress=progress,
        desc=f"{name}: process",
    )
    idle = finished - started
    return Phase(
        name,
        len(events),
        types,
        sent,
        idle,
        meter.snapshot() - before,
        totals.get("accepted", 0),
        totals.get("duplicates", 0),
        totals.get("rejected", 0),
        {k: v - cpu_before.get(k, 0.0) for k, v in cpu_seconds(stack).items()},
        {
            k: v - kinds_before.get(k, 0.0)
            for k, v in meter.write_units_by_kind().items()
            if v - kinds_before.get(k, 0.0)
        },
        {name: poller.peak_concurrency for name, poller in stack.pollers.items() if poller.invocations},
        {
            k: v - read_kinds_before.get(k, 0.0)
            for k, v in meter.read_units_by_kind().items()
            if v - read_kinds_before.get(k, 0.0)
        },
    )


def kinds_table(phase: Phase) -> list[dict[str, Any]]:
    """Write units per event of a sized phase by function, operation and item kind."""
    n = max(phase.events, 1)
    return [
        {"function": fn, "operation": op, "item": kind, "write_units_per_event": round(units / n, 3)}
        for (fn, op, kind), units in sorted(phase.kinds.items(), key=lambda kv: -kv[1])
    ]


def read_kinds_table(phase: Phase) -> list[dict[str, Any]]:
    """Read units per event of a sized phase by function, operation, item kind and consistency."""
    n = max(phase.events, 1)
    return [
        {
            "function": fn,
            "operation": op,
            "item": kind,
            "read": how,
            "read_units_per_event": round(units / n, 3),
        }
        for (fn, op, kind, how), units in sorted(phase.read_kinds.items(), key=lambda kv: -kv[1])
    ]


def cpu_seconds(stack: LocalStack) -> dict[str, float]:
    """CPU time used so far by this process (handlers, pollers, HTTP API, senders) and by the
    moto server (Linux only; empty elsewhere)."""
    found: dict[str, float] = {}
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for name, pid in (("stack process", os.getpid()), ("moto server", stack.moto_pid)):
        if pid is None:
            continue
        try:
            fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[name] = (int(fields_[11]) + int(fields_[12])) / ticks  # utime + stime
    try:
        # user nice system idle iowait irq softirq steal: everything but idle and iowait is busy
        times = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
        found["whole machine"] = (sum(times) - times[3] - times[4]) / ticks
    except (OSError, ValueError, IndexError):
        pass
    return found


def missing_from_lake(stack: LocalStack, sent: Iterable[str]) -> list[str]:
    """Sent events that never reached the pipeline.

    Every event goes to the lake, so an ``event_id`` that the ingest API accepted but that no
    lake object holds was lost between the API and SNS (or never published at all).
    """
    assert stack.aws is not None and stack.resources is not None
    bucket = stack.resources.environment["LAKE_BUCKET"]
    found: set[str] = set()
    for page in stack.aws.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="events/"):
        for summary in page.get("Contents", []):
            body = stack.aws.s3.get_object(Bucket=bucket, Key=summary["Key"])["Body"].read()
            for line in gzip.decompress(body).splitlines():
                found.add(json.loads(line)["event_id"])
    return sorted(set(sent) - found)


def dead_letters(stack: LocalStack) -> dict[str, int]:
    """Messages in each dead-letter queue (only those holding some)."""
    assert stack.aws is not None
    found = {}
    for name, url in stack.dlq_urls().items():
        attributes = stack.aws.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        count = int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )
        if count:
            found[name] = count
    return found


# -- the store --------------------------------------------------------------------------------


def make_store(
    events: int, precise_events: int, *, days: int, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """The events of a store: the first ``events`` (throughput phase) and the next
    ``precise_events`` (precise phase), and the orders per day it took."""
    wanted = events + precise_events
    orders_per_day = max(1, math.ceil(wanted / (days * EVENTS_PER_ORDER)))
    for _ in range(5):
        store = generate(days, orders_per_day, seed, tz="UTC")
        if len(store) >= wanted:
            return store[:events], store[events:wanted], orders_per_day
        orders_per_day = math.ceil(orders_per_day * wanted / max(len(store), 1) * 1.05)
    raise BenchFailed(f"could not generate {wanted} events in {days} days")


def live(orders: Sequence[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The trickle's orders as a live store's: placed in the seconds before ``now``, in their
    order. (Orders of the store's history would be late orders of closed months, which cost a
    month change stamp each that a live store's orders, of the month still open, do not.)"""
    return [
        {**order, "occurred_at": (now - timedelta(seconds=len(orders) - index)).isoformat()}
        for index, order in enumerate(orders)
    ]


def precise_events_by_type(
    history: Sequence[dict[str, Any]], holdout: Sequence[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """The precise phase's events, by type. The store reprices a product a few times a month,
    so catalogue entries are sent again (with the newest event time) until there are enough
    ``product.upserted`` events to measure."""
    by_type: dict[str, list[dict[str, Any]]] = {t: [] for t in TYPES}
    for event in holdout:
        by_type[event["type"]].append(event)
    if len(by_type["product.upserted"]) < MIN_UPSERTS:
        latest: dict[str, dict[str, Any]] = {}
        for event in history:
            if event["type"] == "product.upserted":
                latest[event["data"]["sku"]] = event["data"]
        newest = max((e["occurred_at"] for e in holdout), default=history[-1]["occurred_at"])
        for sku in sorted(latest)[: MIN_UPSERTS - len(by_type["product.upserted"])]:
            by_type["product.upserted"].append(
                {
                    "event_id": f"bench-upsert-{sku}",
                    "type": "product.upserted",
                    "occurred_at": newest,
                    "data": latest[sku],
                }
            )
    return by_type


# -- figures ----------------------------------------------------------------------------------


@dataclass
class PerEvent:
    """Billed quantities per event, in each service's unit."""

    api_requests: float = 0.0
    lambda_invocations: float = 0.0
    lambda_gb_seconds: float = 0.0
    # Of those, the GB-seconds during which an AWS call was in flight (locally: moto's wait).
    lambda_gb_seconds_waiting: float = 0.0
    # The same invocations priced from their own time plus each AWS call at AWS_LATENCY_SECONDS:
    # own time as the time with no call in flight (inflated by a busy machine), or as the
    # handler thread's CPU (less its worker threads' CPU).
    lambda_gb_seconds_at_aws_latency: float = 0.0
    lambda_gb_seconds_at_aws_latency_by_cpu: float = 0.0
    sns_publishes: float = 0.0
    sqs_requests: float = 0.0
    sqs_empty_receives: float = 0.0
    dynamodb_requests: float = 0.0
    dynamodb_write_units: float | None = None
    dynamodb_read_units: float | None = None
    dynamodb_transactions: float = 0.0
    s3_puts: float = 0.0
    s3_gets: float = 0.0
    eventbridge_events: float = 0.0
    by_operation: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def per_event(tally: Tally, events: int, memory: Mapping[str, int], *, sized: bool) -> PerEvent:
    """Divide a phase's tally by its events. SQS receives that found nothing are idle polling
    (a cost of time, not of events) and are kept apart."""
    n = max(events, 1)
    sqs = tally.usage(service="sqs")
    dynamodb = tally.usage(service="dynamodb")
    s3 = tally.usage(service="s3")
    s3_puts = tally.usage(service="s3", operation="PutObject").billed
    gb_seconds = sum(
        stats.billed_ms / 1000 * memory.get(name, 128) / 1024 for name, stats in tally.functions.items()
    )
    waiting = sum(
        p.waited_seconds * memory.get(name, 128) / 1024
        for name, stats in tally.functions.items()
        for p in stats.profiles
    )

    def at_latency(by_cpu: bool) -> float:
        return sum(
            max(
                1,
                math.ceil(
                    p.seconds_at(aws_latency, lambda_cpu_share(memory.get(name, 128)), by_cpu=by_cpu) * 1000
                ),
            )
            / 1000
            * memory.get(name, 128)
            / 1024
            for name, stats in tally.functions.items()
            for p in stats.profiles
        )

    figures = PerEvent(
        api_requests=tally.functions.get("ingest", Invocations()).count / n,
        lambda_invocations=sum(i.count for i in tally.functions.values()) / n,
        lambda_gb_seconds=gb_seconds / n,
        lambda_gb_seconds_waiting=waiting / n,
        lambda_gb_seconds_at_aws_latency=at_latency(by_cpu=False) / n,
        lambda_gb_seconds_at_aws_latency_by_cpu=at_latency(by_cpu=True) / n,
        sns_publishes=tally.usage(service="sns").billed / n,
        sqs_requests=(sqs.billed - sqs.empty) / n,
        sqs_empty_receives=sqs.empty / n,
        dynamodb_requests=dynamodb.calls / n,
        dynamodb_transactions=tally.usage(service="dynamodb", operation="TransactWriteItems").calls / n,
        s3_puts=s3_puts / n,
        s3_gets=(s3.billed - s3_puts) / n,
        eventbridge_events=tally.usage(service="eventbridge").billed / n,
        by_operation={
            f"{svc}:{op}": (u.billed - u.empty) / n for (svc, op), u in tally.operations().items() if u.billed
        },
    )
    if sized:
        figures.dynamodb_write_units = dynamodb.billed_write_units / n
        figures.dynamodb_read_units = dynamodb.read_units / n
    return figures


def provisioned_dynamodb(figures: PerEvent) -> dict[str, float]:
    """What a million events' DynamoDB write and read units cost on provisioned capacity at the
    utilization assumed in ``backend/cost/prices.json`` (as ``storepulse cost --capacity
    provisioned`` prices them; the tables' minimum capacity is a fixed cost, not counted here)."""
    prices = cost.load_prices()
    per_hour = float(cost.SECONDS_PER_HOUR) * float(prices.assumptions["provisioned_utilization"])

    def priced(units: float | None, key: str) -> float:
        return (units or 0.0) * 1_000_000 / per_hour * float(prices[key].unit_price)

    return {
        "DynamoDB write units": priced(figures.dynamodb_write_units, "dynamodb_wcu_hour"),
        "DynamoDB read units": priced(figures.dynamodb_read_units, "dynamodb_rcu_hour"),
    }


def dollars_per_million(figures: PerEvent, prices: Mapping[str, Price]) -> dict[str, float]:
    """Each service's list-price cost of a million events with these per-event figures."""
    mix = {figure: Decimal(str(getattr(figures, figure) or 0.0)) for _, _, figure in cost.PER_EVENT_LINES}
    costs = cost.per_event_costs(mix, prices, Decimal(1_000_000))
    return {label: float(costs[line]) for label, line in COST_LINES.items()}


def mix_units(per_type: Mapping[str, PerEvent], mix: Counter[str]) -> tuple[float, float]:
    """Write and read units per event of the mix, from each type's precise figures."""
    total = sum(mix.values()) or 1
    writes = sum(mix[t] / total * (per_type[t].dynamodb_write_units or 0.0) for t in mix if t in per_type)
    reads = sum(mix[t] / total * (per_type[t].dynamodb_read_units or 0.0) for t in mix if t in per_type)
    return writes, reads


def mix_gb_seconds(
    per_type: Mapping[str, PerEvent], mix: Counter[str], figure: str = "lambda_gb_seconds"
) -> float | None:
    """Lambda GB-seconds per event of the mix from the precise phase, where each type ran
    alone and the meter's own time is left out: the same code with less contention."""
    if not per_type:
        return None
    total = sum(mix.values()) or 1
    return sum(mix[t] / total * float(getattr(per_type[t], figure)) for t in mix if t in per_type)


def lambda_cpu_share(memory_mb: int) -> float:
    """The share of a core a Lambda function of ``memory_mb`` gets: CPU is allocated in
    proportion to memory, one vCPU at 1,769 MB
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html)."""
    return min(1.0, memory_mb / LAMBDA_MB_PER_VCPU)


def aws_latency(service: str, operation: str) -> float:
    """Seconds an AWS call is taken to last in AWS, from a Lambda function in the same region
    (:data:`AWS_LATENCY_SECONDS`)."""
    if service == "dynamodb" and operation in DYNAMODB_SINGLE_ITEM:
        return AWS_LATENCY_SECONDS["dynamodb single item"]
    return AWS_LATENCY_SECONDS.get(service, AWS_LATENCY_SECONDS["other"])


def function_table(tally: Tally, memory: Mapping[str, int]) -> list[dict[str, Any]]:
    """Invocations and durations per function (local proxy for Lambda's)."""
    rows = []
    for name, stats in sorted(tally.functions.items()):
        durations = sorted(stats.durations) or [0.0]
        rows.append(
            {
                "function": name,
                "memory_mb": memory.get(name, 128),
                "invocations": stats.count,
                "records": stats.records,
                "failed_records": stats.failed_records,
                "mean_ms": 1000 * stats.seconds / max(stats.count, 1),
                "p50_ms": 1000 * statistics.median(durations),
                "p95_ms": 1000 * percentile(durations, 0.95),
                "total_s": stats.seconds,
                "own_s": sum(p.own_seconds for p in stats.profiles),
                "cpu_s": sum(p.cpu_seconds for p in stats.profiles),
                "waiting_s": sum(p.waited_seconds for p in stats.profiles),
            }
        )
    return rows


def call_table(tally: Tally) -> list[dict[str, Any]]:
    """Time spent in AWS calls, by service and operation, slowest in total first."""
    rows = []
    for (service, operation), used in tally.operations().items():
        rows.append(
            {
                "service": service,
                "operation": operation,
                "calls": used.calls,
                "errors": used.errors,
                "total_s": used.seconds,
                "mean_ms": 1000 * used.seconds / max(used.calls, 1),
            }
        )
    return sorted(rows, key=lambda r: -r["total_s"])


# -- output -----------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.4f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table, numbers right-aligned."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row, raw in zip(cells, rows, strict=True):
        lines.append(
            "  ".join(
                c.rjust(w) if isinstance(v, int | float) else c.ljust(w)
                for c, v, w in zip(row, raw, widths, strict=True)
            )
        )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    import moto

    commit = "unknown"
    dirty = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        pass
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "moto": moto.__version__,
        "platform": platform.platform(),
        "commit": commit,
        "uncommitted_changes": dirty,
    }


def results_path() -> Path:
    data_dir = Path(os.environ.get("STOREPULSE_DATA_DIR") or ROOT / ".data")
    if not data_dir.is_absolute():
        data_dir = ROOT / data_dir
    return data_dir / "bench" / "pipeline.json"


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=30_000, help="events of the throughput phase")
    parser.add_argument("--precise-events", type=int, default=1_500, help="events of the precise phase")
    parser.add_argument("--senders", type=int, default=4, help="concurrent HTTP senders")
    parser.add_argument(
        "--trickle-orders",
        type=int,
        default=20,
        help="orders sent one per request, as a live store sends them",
    )
    parser.add_argument("--days", type=int, default=90, help="days of store history to generate")
    parser.add_argument("--seed", type=int, default=7, help="the simulated store")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a phase may take to drain")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="batches of one queue at once, for every function (default: each function's "
        "maximum_concurrency in infra/stack.json)",
    )
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.events < 1 or args.precise_events < 0 or args.senders < 1 or args.trickle_orders < 0:
        parser.error(
            "--events and --senders must be at least 1, --precise-events and --trickle-orders at least 0"
        )
    if args.concurrency is not None and args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    return args


def start_stack(meter: Meter, data_dir: Path, concurrency: int | None = None) -> LocalStack:
    """A throwaway stack whose functions and pollers are metered; ``concurrency`` batches of
    one queue at once (else each function's from ``stack.json``)."""
    spec = load_stack_spec()
    handlers = {f.name: meter.function(f.name, HandlerRef(f.handler)) for f in spec.functions}
    options = StackOptions(
        data_dir=data_dir,
        api_port=free_port(),
        aws_port=free_port(),
        snapshot_interval=None,
        restore=False,
        run_schedules=False,
        handlers=handlers,
        maximum_concurrency=concurrency,
    )
    stack = LocalStack(options)
    stack.start()
    assert stack.aws is not None
    # The pollers stand in for Lambda's event source mappings, whose SQS requests are billed;
    # the stack's other calls on this client (queue depths, snapshots) are not AWS costs.
    meter.instrument(stack.aws.sqs, operations=POLLER_OPERATIONS, attribute=_poller_function)
    return stack


def run(args: argparse.Namespace, out: Callable[[str], None] = print) -> dict[str, Any]:
    """The whole benchmark; returns the figures written to JSON."""
    progress = not args.no_progress
    prices = load_prices()
    memory = {f.name: f.memory for f in load_stack_spec().functions}
    history, holdout, orders_per_day = make_store(
        args.events, args.precise_events, days=args.days, seed=args.seed
    )
    by_type = precise_events_by_type(history, holdout) if args.precise_events else {}
    placed = by_type.get("order.placed", [])
    trickle_count = min(args.trickle_orders, len(placed) // 2)
    trickle = live(placed[len(placed) - trickle_count :], datetime.now(UTC))
    if trickle:
        by_type["order.placed"] = placed[: len(placed) - trickle_count]
    out(
        f"store: {args.days} days, about {orders_per_day} orders a day (seed {args.seed}): "
        f"{len(history)} events for the throughput phase, "
        f"{sum(len(v) for v in by_type.values())} for the precise phase, {len(trickle)} orders one by one"
    )
    meter = Meter()
    with tempfile.TemporaryDirectory(prefix="storepulse-bench-") as tmp, meter.handler_clients():
        try:
            stack = start_stack(meter, Path(tmp), args.concurrency)
        except StackError as exc:
            raise BenchFailed(f"the local stack did not start: {exc}") from None
        try:
            throughput = run_phase(
                "throughput",
                stack,
                meter,
                history,
                senders=args.senders,
                timeout=args.timeout,
                progress=progress,
            )
            precise: dict[str, Phase] = {}
            meter.precise = True
            for event_type in TYPES:
                if by_type.get(event_type):
                    precise[event_type] = run_phase(
                        event_type,
                        stack,
                        meter,
                        by_type[event_type],
                        senders=1,
                        timeout=args.timeout,
                        progress=progress,
                    )
            trickled = None
            if trickle:
                trickled = run_phase(
                    "order.placed one by one",
                    stack,
                    meter,
                    trickle,
                    senders=1,
                    timeout=args.timeout,
                    progress=progress,
                    gap=trickle_gap(),
                )
            meter.precise = False
            lost = dead_letters(stack)
            sent = [*history, *(e for v in by_type.values() for e in v), *trickle]
            missing = missing_from_lake(stack, [e["event_id"] for e in sent])
        finally:
            stack.stop(drain_timeout=0)
    figures = report(args, throughput, precise, lost, prices, memory, orders_per_day, out)
    if trickled is not None:
        figures["trickle"] = report_trickle(trickled, prices, memory, out)
    figures["write_units_by_item"] = {}
    figures["read_units_by_item"] = {}
    for phase in [*precise.values(), *([trickled] if trickled is not None else [])]:
        rows = kinds_table(phase)
        figures["write_units_by_item"][phase.name] = rows
        out("")
        out(f"write units per event by item, {phase.name} ({phase.events} events):")
        out(
            table(
                ["function", "operation", "item", "units/event"],
                [[r["function"], r["operation"], r["item"], r["write_units_per_event"]] for r in rows],
            )
        )
        reads = read_kinds_table(phase)
        figures["read_units_by_item"][phase.name] = reads
        out("")
        out(f"read units per event by item, {phase.name} ({phase.events} events):")
        out(
            table(
                ["function", "operation", "item", "read", "units/event"],
                [
                    [r["function"], r["operation"], r["item"], r["read"], r["read_units_per_event"]]
                    for r in reads
                ],
            )
        )
    figures["missing_from_lake"] = {"count": len(missing), "first": missing[:20]}
    # Every function, the HTTP API, the senders and the meter share this process: an upper bound
    # of what one function holds (Linux reports kilobytes).
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["peak_rss_mb_stack_process"] = round(peak_mb, 1)
    out("")
    out(f"peak RSS of the stack process (all functions, the HTTP API and the senders): {peak_mb:.0f} MB")
    if missing:
        out("")
        out(
            f"LOST: {len(missing)} events answered 202 by the ingest API never reached the lake "
            f"(first: {', '.join(missing[:5])})"
        )
    return figures


def trickle_gap() -> float:
    """Seconds between two trickled orders: longer than the orders function's batching window,
    so that each of its batches holds one order, as with a live store's few orders a minute."""
    windows = [
        f.source.batching_window_seconds
        for f in load_stack_spec().functions
        if f.name == "orders" and f.source
    ]
    return max(windows, default=1.0) + 0.5


def report_trickle(
    phase: Phase, prices: Mapping[str, Price], memory: Mapping[str, int], out: Callable[[str], None]
) -> dict[str, Any]:
    """Print and return what an order costs when it arrives alone."""
    figures = per_event(phase.tally, phase.events, memory, sized=True)
    costs = dollars_per_million(figures, prices)
    budget = WRITE_UNIT_BUDGET["order.placed"]
    out("")
    out(
        f"order.placed one per request, {phase.events} orders, each alone in its batches (a live store's "
        "trickle; precise)"
    )
    out(
        table(
            ["line", "per event", "$ per million such orders"],
            [
                ["API Gateway requests", figures.api_requests, costs["API Gateway requests"]],
                ["Lambda invocations", figures.lambda_invocations, costs["Lambda requests"]],
                ["Lambda GB-seconds (arm64)", figures.lambda_gb_seconds, costs["Lambda duration (arm64)"]],
                ["SNS publish requests", figures.sns_publishes, costs["SNS publish requests"]],
                ["SQS requests (empty receives aside)", figures.sqs_requests, costs["SQS requests"]],
                ["DynamoDB write units", figures.dynamodb_write_units or 0.0, costs["DynamoDB write units"]],
                ["DynamoDB read units", figures.dynamodb_read_units or 0.0, costs["DynamoDB read units"]],
                ["S3 PUT requests", figures.s3_puts, costs["S3 PUT requests"]],
                ["EventBridge events", figures.eventbridge_events, costs["EventBridge events"]],
                ["total", "", sum(costs.values())],
            ],
        )
    )
    gb_second = float(prices["lambda_gb_second"].unit_price) * 1_000_000
    gb_seconds, by_cpu = (
        figures.lambda_gb_seconds_at_aws_latency,
        figures.lambda_gb_seconds_at_aws_latency_by_cpu,
    )
    out(
        f"Lambda duration priced at AWS latency instead (as for the mix): {gb_seconds:.4f} GB-s, "
        f"${gb_seconds * gb_second:.2f} per million such orders; {by_cpu:.4f} GB-s, "
        f"${by_cpu * gb_second:.2f} with own time as the handler thread's CPU"
    )
    units = figures.dynamodb_write_units or 0.0
    out(
        f"order.placed alone: {units:.2f} write units per event, "
        f"{'within' if units <= budget else 'OVER'} the budget of {budget:g}"
    )
    return {
        "events": phase.events,
        "seconds": phase.idle_seconds,
        **figures.to_json(),
        "dollars_per_million_events": {**costs, "total": sum(costs.values())},
        "tally": phase.tally.to_json(),
    }


def report(
    args: argparse.Namespace,
    throughput: Phase,
    precise: Mapping[str, Phase],
    lost: Mapping[str, int],
    prices: Mapping[str, Price],
    memory: Mapping[str, int],
    orders_per_day: int,
    out: Callable[[str], None],
) -> dict[str, Any]:
    """Print the tables; return the figures (the JSON of ``--json``)."""
    mix = per_event(throughput.tally, throughput.events, memory, sized=False)
    per_type = {t: per_event(p.tally, p.events, memory, sized=True) for t, p in precise.items()}
    mix.dynamodb_write_units, mix.dynamodb_read_units = mix_units(per_type, throughput.types)
    if not per_type:
        mix.dynamodb_write_units = mix.dynamodb_read_units = None
    measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    host = machine()

    out("")
    out(
        f"storepulse pipeline benchmark, {measured_at}, {host['cores']} cores, Python {host['python']}, "
        f"moto {host['moto']}, commit {host['commit']}"
        + (" (uncommitted changes)" if host["uncommitted_changes"] else "")
    )
    _print_throughput(args, throughput, out)
    _print_requests(mix, out)
    functions, calls = _print_functions_and_calls(throughput, memory, out)
    if per_type:
        _print_per_type(per_type, precise, out)
    bill = _print_bill(mix, per_type, throughput, prices, out)
    if lost:
        out("")
        out("DEAD-LETTERED: " + ", ".join(f"{q}: {n}" for q, n in lost.items()))
    return {
        "measured_at": measured_at,
        "machine": host,
        "parameters": {
            "events": args.events,
            "precise_events": args.precise_events,
            "senders": args.senders,
            "batch_size": BATCH_SIZE,
            "days": args.days,
            "orders_per_day": orders_per_day,
            "seed": args.seed,
            "concurrency": args.concurrency,
        },
        "throughput": {
            "events": throughput.events,
            "types": dict(throughput.types),
            "accepted": throughput.accepted,
            "duplicates": throughput.duplicates,
            "rejected": throughput.rejected,
            "sent_seconds": throughput.sent_seconds,
            "idle_seconds": throughput.idle_seconds,
            "after_last_202_seconds": throughput.after_last_202,
            "peak_concurrency": throughput.peak_concurrency,
            "ingest_events_per_second": throughput.events / throughput.sent_seconds,
            "end_to_end_events_per_second": throughput.events_per_second,
            "cpu_seconds": throughput.cpu_seconds,
            "functions": functions,
            "calls": calls,
            "tally": throughput.tally.to_json(),
        },
        "per_type": {
            t: {
                "events": precise[t].events,
                "seconds": precise[t].idle_seconds,
                **f.to_json(),
                "tally": precise[t].tally.to_json(),
            }
            for t, f in per_type.items()
        },
        "mix": mix.to_json(),
        **bill,
        "prices": {
            k: {"dollars_per_unit": float(p.unit_price), "billed": p.billed, "source": p.source}
            for k, p in prices.items()
        },
        "dead_lettered": dict(lost),
        "targets": {
            "end_to_end_events_per_second": THROUGHPUT_TARGET,
            "order_placed_write_units": WRITE_UNIT_BUDGET["order.placed"],
            "dollars_per_million_events": DOLLAR_TARGET,
        },
    }


def _print_throughput(args: argparse.Namespace, throughput: Phase, out: Callable[[str], None]) -> None:
    """The throughput phase's table: what was sent, how fast it was handled, the CPU it took."""
    out("")
    out("Throughput (cheap counting only)")
    out(
        table(
            ["figure", "value"],
            [
                ["events sent", throughput.events],
                [
                    "accepted / duplicates / rejected",
                    f"{throughput.accepted} / {throughput.duplicates} / {throughput.rejected}",
                ],
                ["concurrent senders, events per request", f"{args.senders}, {BATCH_SIZE}"],
                ["all sent after (s)", throughput.sent_seconds],
                ["every event handled after (s) (lake: in its batch)", throughput.idle_seconds],
                ["every event handled after the last 202 (s)", throughput.after_last_202],
                [
                    "most batches of one queue at once (--concurrency, else stack.json)",
                    ", ".join(f"{f} {n}" for f, n in sorted(throughput.peak_concurrency.items())),
                ],
                ["ingest events/s", throughput.events / throughput.sent_seconds],
                [f"end-to-end events/s (target >= {THROUGHPUT_TARGET:,.0f})", throughput.events_per_second],
                *[
                    [f"CPU seconds, {name} ({100 * cpu / throughput.idle_seconds:.0f}% of one core)", cpu]
                    for name, cpu in throughput.cpu_seconds.items()
                ],
                [
                    "CPU seconds, other processes (near 0 on a quiet machine)",
                    throughput.cpu_seconds.get("whole machine", 0.0)
                    - throughput.cpu_seconds.get("stack process", 0.0)
                    - throughput.cpu_seconds.get("moto server", 0.0),
                ],
            ],
        )
    )


def _print_requests(mix: PerEvent, out: Callable[[str], None]) -> None:
    """AWS requests per event of the measured mix."""
    out("")
    out("Requests per event, measured mix (SQS: receives that returned messages, deletes)")
    out(
        table(
            ["service:operation", "per event"],
            [[k, v] for k, v in mix.by_operation.items()]
            + [["sqs: empty receives (idle polling, not priced per event)", mix.sqs_empty_receives]],
        )
    )


def _print_functions_and_calls(
    throughput: Phase, memory: Mapping[str, int], out: Callable[[str], None]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The functions' invocations and durations, and the time in AWS calls; returns both tables."""
    out("")
    out(
        "Functions in the throughput phase (local durations: a proxy for Lambda's; own: no AWS call in "
        "flight; CPU: of the handler's thread; AWS calls: at least one in flight)"
    )
    functions = function_table(throughput.tally, memory)
    columns = [
        "memory_mb",
        "invocations",
        "records",
        "failed_records",
        "mean_ms",
        "p50_ms",
        "p95_ms",
        "total_s",
        "own_s",
        "cpu_s",
        "waiting_s",
    ]
    out(
        table(
            [
                "function",
                "MB",
                "invocations",
                "records",
                "failed",
                "mean ms",
                "p50 ms",
                "p95 ms",
                "total s",
                "own s",
                "CPU s",
                "AWS calls s",
            ],
            [[r["function"], *(r[c] for c in columns)] for r in functions],
        )
    )
    out("")
    out("Time in AWS calls in the throughput phase (seen from the handlers and pollers)")
    calls = call_table(throughput.tally)
    out(
        table(
            ["service", "operation", "calls", "errors", "total s", "mean ms"],
            [
                [r["service"], r["operation"], r["calls"], r["errors"], r["total_s"], r["mean_ms"]]
                for r in calls
            ],
        )
    )
    return functions, calls


def _print_per_type(
    per_type: Mapping[str, PerEvent], precise: Mapping[str, Phase], out: Callable[[str], None]
) -> None:
    """The precise phase's requests and units per event of each type, and order.placed's verdict."""
    out("")
    out(
        "Per event, by type (precise phase: one type at a time on the warmed store; "
        "transactional writes count double; ingest's own writes included)"
    )
    out(
        table(
            [
                "type",
                "events",
                "write units",
                "read units",
                "DynamoDB req",
                "transactions",
                "SNS",
                "SQS",
                "S3 PUT",
                "EventBridge",
                "Lambda inv",
            ],
            [
                [
                    t,
                    precise[t].events,
                    f.dynamodb_write_units or 0.0,
                    f.dynamodb_read_units or 0.0,
                    f.dynamodb_requests,
                    f.dynamodb_transactions,
                    f.sns_publishes,
                    f.sqs_requests,
                    f.s3_puts,
                    f.eventbridge_events,
                    f.lambda_invocations,
                ]
                for t, f in per_type.items()
            ],
        )
    )
    budget = WRITE_UNIT_BUDGET["order.placed"]
    placed = per_type.get("order.placed")
    if placed is not None:
        verdict = "within" if (placed.dynamodb_write_units or 0) <= budget else "OVER"
        out(
            f"order.placed: {placed.dynamodb_write_units:.2f} write units per event, {verdict} "
            f"the budget of {budget:g}"
        )


def _print_bill(
    mix: PerEvent,
    per_type: Mapping[str, PerEvent],
    throughput: Phase,
    prices: Mapping[str, Price],
    out: Callable[[str], None],
) -> dict[str, Any]:
    """The list price per million events of the mix, on demand and on provisioned capacity;
    returns the bill's figures."""
    costs = dollars_per_million(mix, prices)
    total_cost = sum(costs.values())
    out("")
    out(
        "AWS list price per million events of the measured mix (free tiers not subtracted; "
        "Lambda duration = local durations x configured memory)"
    )
    out(
        table(
            ["line", "per event", "$ per million events"],
            [
                ["API Gateway requests", mix.api_requests, costs["API Gateway requests"]],
                ["Lambda requests", mix.lambda_invocations, costs["Lambda requests"]],
                ["Lambda GB-seconds (arm64)", mix.lambda_gb_seconds, costs["Lambda duration (arm64)"]],
                ["SNS publish requests", mix.sns_publishes, costs["SNS publish requests"]],
                ["SQS requests", mix.sqs_requests, costs["SQS requests"]],
                ["DynamoDB write units", mix.dynamodb_write_units or 0.0, costs["DynamoDB write units"]],
                ["DynamoDB read units", mix.dynamodb_read_units or 0.0, costs["DynamoDB read units"]],
                ["S3 PUT requests", mix.s3_puts, costs["S3 PUT requests"]],
                ["S3 GET requests", mix.s3_gets, costs["S3 GET requests"]],
                ["EventBridge events", mix.eventbridge_events, costs["EventBridge events"]],
                [f"total (target <= ${DOLLAR_TARGET:.2f})", "", total_cost],
            ],
        )
    )
    quiet_gb_seconds = mix_gb_seconds(per_type, throughput.types)
    if quiet_gb_seconds is not None:
        quiet_cost = quiet_gb_seconds * float(prices["lambda_gb_second"].unit_price) * 1_000_000
        out(
            f"Lambda duration measured one type at a time instead of under load: {quiet_gb_seconds:.4f} "
            f"GB-s per event, ${quiet_cost:.2f} per million; the total would then be "
            f"${total_cost - costs['Lambda duration (arm64)'] + quiet_cost:.2f}"
        )
    if mix.lambda_gb_seconds:
        out(
            f"Lambda duration spent with an AWS call in flight (locally: waiting for moto): "
            f"{mix.lambda_gb_seconds_waiting / mix.lambda_gb_seconds:.0%} of the measured line"
        )
    at_latency = mix_gb_seconds(per_type, throughput.types, "lambda_gb_seconds_at_aws_latency")
    by_cpu = mix_gb_seconds(per_type, throughput.types, "lambda_gb_seconds_at_aws_latency_by_cpu")
    if at_latency is not None and by_cpu is not None:
        gb_second = float(prices["lambda_gb_second"].unit_price) * 1_000_000
        latency_total = total_cost - costs["Lambda duration (arm64)"] + at_latency * gb_second
        out(
            f"Lambda duration priced from the handlers' own time (one type at a time, on the share of a "
            f"core their memory buys: 1 vCPU at {LAMBDA_MB_PER_VCPU} MB) plus each AWS call at AWS latency "
            f"({AWS_LATENCY_TEXT}): {at_latency:.4f} GB-s per event, ${at_latency * gb_second:.2f} per "
            f"million (own time: no call in flight; the total would then be ${latency_total:.2f}); "
            f"{by_cpu:.4f} GB-s, ${by_cpu * gb_second:.2f} with own time as the handler thread's CPU"
        )
    provisioned = provisioned_dynamodb(mix)
    provisioned_total = (
        total_cost - costs["DynamoDB write units"] - costs["DynamoDB read units"] + sum(provisioned.values())
    )
    out(
        f"DynamoDB on provisioned capacity instead (infra variable dynamodb_capacity, "
        f"{cost.load_prices().assumptions['provisioned_utilization']:.0%} use): writes "
        f"${provisioned['DynamoDB write units']:.2f}, reads ${provisioned['DynamoDB read units']:.2f} "
        f"per million events; the total would then be ${provisioned_total:.2f}"
    )
    return {
        "dollars_per_million_events": {**costs, "total": total_cost},
        "dollars_per_million_events_provisioned": {**costs, **provisioned, "total": provisioned_total},
        "lambda_gb_seconds_per_event_one_type_at_a_time": quiet_gb_seconds,
        "lambda_gb_seconds_per_event_at_aws_latency": at_latency,
        "lambda_gb_seconds_per_event_at_aws_latency_by_cpu": by_cpu,
        "aws_latency_seconds": AWS_LATENCY_SECONDS,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python bench/pipeline.py``: run, print, write the JSON; 1 when the pipeline failed."""
    args = parse_args(argv)
    try:
        figures = run(args)
    except BenchFailed as exc:
        print(f"bench: FAILED - {exc}", file=sys.stderr)
        return 1
    except SimulatorError as exc:
        print(f"bench: FAILED - sending events through the ingest API: {exc}", file=sys.stderr)
        return 1
    path = args.json or results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    print(f"\nfigures written to {path}")
    problems = []
    throughput = figures["throughput"]
    if throughput["rejected"] or throughput["accepted"] != throughput["events"]:
        problems.append(
            f"{throughput['events']} events sent, {throughput['accepted']} accepted, "
            f"{throughput['rejected']} rejected"
        )
    if figures["missing_from_lake"]["count"]:
        problems.append(f"{figures['missing_from_lake']['count']} accepted events never reached the pipeline")
    if figures["dead_lettered"]:
        problems.append(f"messages were dead-lettered: {figures['dead_lettered']}")
    if problems:
        print("bench: FAILED - " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
