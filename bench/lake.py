"""The lake function on a history import: time and objects per batch, then compaction.

First, full batches: the history (5 years, shuffled) handed to the lake handler 2,000 messages
at a time, its event source's batch size, as Lambda delivers a backlog (the case of issue 11:
44-78 s per batch when objects were per store day). Then the import as it happens:

A store's history, spread over years and shuffled (as an import of several exports arrives),
is sent through the ingest API in 500-event requests while the lake function takes it in, in
batches as its event source gathers them (over ``--window`` seconds, up to 2,000 messages), each
invocation timed against its 30 s timeout, with the objects it wrote counted. The
``lake-compaction`` job then files the events under their store days, and its time is measured
too. The other processors are held (their queues emptied at the end): this measures the lake.

Run: ``.venv/bin/python -m bench.lake [--events 4916] [--years 5]``; figures in
``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from backend.adapters.packets import describe
from backend.domain.events import parse_event
from backend.processing.ingest import hash_pii
from bench.meter import percentile
from bench.stack import throwaway_options
from devstack.runtime import new_context
from devstack.simulator import generate, send
from devstack.stack import LocalStack

TZ = "America/New_York"
LAKE = "lake"
HELD = ("orders", "customers", "inventory")
# Long enough for batches of hundreds of events while the import streams in (the deployed
# window is 300 s, for a trickle); short enough that the queue never grows deep in moto.
WINDOW_SECONDS = 5.0


def history(years: int, orders_per_day: int = 1, seed: int = 11, end: date = date(2025, 3, 20)) -> list[Any]:
    """``years`` of the simulated store to ``end``, shuffled; the same for the same arguments."""
    after = datetime.combine(end + timedelta(days=2), clock_time(), tzinfo=UTC)
    events = list(generate(365 * years + years // 4, orders_per_day, seed, end=end, tz=TZ, now=after))
    random.Random(seed).shuffle(events)
    return events


@dataclass
class LakeRun:
    """What each lake invocation did: messages in (packets: one per ingest request), the events
    they held, seconds taken, objects written."""

    messages: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    objects: list[int] = field(default_factory=list)
    events: list[int] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        return {
            "invocations": len(self.seconds),
            "messages_per_invocation_max": max(self.messages, default=0),
            "events_per_invocation_max": max(self.events, default=0),
            "seconds_median": round(percentile(self.seconds, 0.5), 3) if self.seconds else 0.0,
            "seconds_max": round(max(self.seconds, default=0.0), 3),
            "objects_per_invocation_max": max(self.objects, default=0),
            "objects_total": sum(self.objects),
        }


@contextmanager
def held(local: LocalStack, names: Sequence[str]) -> Iterator[None]:
    """Stop these functions' pollers; on the way out empty their queues and start them again."""
    assert local.aws is not None
    pollers = [local.pollers[name] for name in names]
    for poller in pollers:
        poller.stop()
    try:
        yield
    finally:
        for poller in pollers:
            local.aws.sqs.purge_queue(QueueUrl=poller.mapping.queue_url)
            poller.forget_held()
            poller.start()


def _object_count(local: LocalStack, bucket: str) -> int:
    assert local.aws is not None
    pages = local.aws.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="events/")
    return sum(page.get("KeyCount", 0) for page in pages)


def _wait_drained(local: LocalStack, queue_url: str, timeout: float) -> None:
    """Until the lake's queue holds nothing and its function is not running (the held queues
    of the other functions may stay full)."""
    assert local.aws is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        generation, running = local.activity.state()
        attributes = local.aws.sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        waiting = sum(int(v) for v in attributes.values())
        if not waiting and LAKE not in running and local.activity.state()[0] == generation:
            return
        time.sleep(0.2)
    raise TimeoutError(f"the lake queue was not drained after {timeout:.0f} s")


@contextmanager
def timed_lake(local: LocalStack, window: float = WINDOW_SECONDS) -> Iterator[LakeRun]:
    """The lake's poller with batches gathered over ``window`` seconds (up to its batch size),
    timing each invocation of the real handler and counting the objects it wrote; as before
    on the way out."""
    assert local.resources is not None and local.aws is not None
    poller = local.pollers[LAKE]
    bucket = local.resources.environment["LAKE_BUCKET"]
    original_handler, original_mapping = poller.handler, poller.mapping
    run = LakeRun()

    def timed(event: dict[str, Any], context: Any) -> Any:
        before = _object_count(local, bucket)
        started = time.perf_counter()
        try:
            return original_handler(event, context)
        finally:
            run.seconds.append(time.perf_counter() - started)
            run.messages.append(len(event["Records"]))
            run.events.append(sum(describe(r["body"]).count for r in event["Records"]))
            run.objects.append(_object_count(local, bucket) - before)

    # As in AWS, a message stays hidden longer than a batch is gathered and handled (the test
    # stack shortens the visibility timeout to 2 s, which would redeliver within the window).
    sqs, url = local.aws.sqs, original_mapping.queue_url
    # (moto drops a queue's Policy when another attribute is set: put both back afterwards)
    visibility = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "Policy"])[
        "Attributes"
    ]
    poller.stop()
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": str(int(window) + 60)})
    poller.handler, poller.mapping = timed, replace(original_mapping, batching_window_seconds=window)
    poller.start()
    try:
        yield run
    finally:
        poller.stop()
        sqs.set_queue_attributes(QueueUrl=url, Attributes=visibility)
        poller.handler, poller.mapping = original_handler, original_mapping
        poller.start()


def import_history(
    local: LocalStack,
    events: Sequence[Any],
    window: float = WINDOW_SECONDS,
    timeout: float = 600.0,
    *,
    paced: bool = False,
) -> LakeRun:
    """Send ``events`` through the ingest API in 500-event requests while the lake function
    takes them in (timed), with the other processors held; return once the lake has them all.

    ``paced``: each request waits until the lake has taken the previous one in, as a client
    importing at the pace the pipeline keeps. moto's receive scans the whole queue, so an
    unpaced import of thousands of one-event messages spends minutes in SQS, not in the lake.
    """
    assert local.keys is not None
    size = 500
    with held(local, HELD), timed_lake(local, window) as run:
        queue_url = local.pollers[LAKE].mapping.queue_url
        for start in range(0, len(events), size if paced else len(events)):
            chunk = list(events[start : start + (size if paced else len(events))])
            sent = send(chunk, local.api_url, local.keys.ingest_key, batch_size=size, progress=False)
            if sent["accepted"] != len(chunk):
                raise RuntimeError(f"the ingest API did not accept the whole history: {sent}")
            if paced:
                _wait_drained(local, queue_url, timeout)
        _wait_drained(local, queue_url, timeout)
    return run


def sqs_records(events: Sequence[dict[str, Any]], queue_arn: str) -> list[dict[str, Any]]:
    """Lambda's SQS records for events as the lake queue delivers them (raw SNS delivery, one
    event per message)."""
    return [
        {
            "messageId": str(uuid.UUID(int=random.Random(e["event_id"]).getrandbits(128))),
            "receiptHandle": f"bench-{n}",
            "body": json.dumps(e),
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "bench"},
            "messageAttributes": {"event_type": {"stringValue": e["type"], "dataType": "String"}},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": "us-east-1",
        }
        for n, e in enumerate(events)
    ]


def direct_batches(local: LocalStack, events: Sequence[dict[str, Any]], size: int = 2000) -> LakeRun:
    """The lake handler invoked directly with full batches of ``size`` messages (its event
    source's batch size), as Lambda would once the queue holds a backlog: the issue's case."""
    assert local.resources is not None
    bucket = local.resources.environment["LAKE_BUCKET"]
    arn = local.resources.queue_arns[local.pollers[LAKE].mapping.queue_name]
    handler = local.handlers[LAKE]
    run = LakeRun()
    for start in range(0, len(events), size):
        records = sqs_records(events[start : start + size], arn)
        context = new_context(LAKE, memory=512, timeout=30, region="us-east-1", account_id="123456789012")
        before = _object_count(local, bucket)
        started = time.perf_counter()
        result = handler({"Records": records}, context)
        run.seconds.append(time.perf_counter() - started)
        if result.get("batchItemFailures"):
            raise RuntimeError(f"the lake function failed {len(result['batchItemFailures'])} messages")
        run.messages.append(len(records))
        run.events.append(sum(describe(r["body"]).count for r in records))
        run.objects.append(_object_count(local, bucket) - before)
    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--orders-per-day", type=int, default=1)
    parser.add_argument(
        "--window", type=float, default=WINDOW_SECONDS, help="the lake's batching window in seconds"
    )
    parser.add_argument("--direct-only", action="store_true", help="only the full batches, no import")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    events = history(args.years, args.orders_per_day)
    print(f"{len(events):,} events over {args.years} years, shuffled", flush=True)
    with tempfile.TemporaryDirectory(prefix="storepulse-lakebench-") as tmp:
        local = LocalStack(throwaway_options(Path(tmp) / "data", store_timezone=TZ)).start()
        try:
            figures = measure(local, events, args.window, direct_only=args.direct_only)
        finally:
            local.stop(drain_timeout=5)
    figures["events"] = len(events)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def measure(local: LocalStack, events: Sequence[Any], window: float, *, direct_only: bool) -> dict[str, Any]:
    """Full batches of the history into the lake handler; unless ``direct_only``, then the
    import through the API with the lake timed, and the compaction; the figures."""
    publish_form = [
        hash_pii(parse_event(e, currency="USD", now=datetime.now(UTC)), "bench-key").to_json() for e in events
    ]
    direct = direct_batches(local, publish_form)
    figures: dict[str, Any] = {"direct_batches_of_2000": direct.figures()}
    if direct_only:
        return figures
    local.reset()
    started = time.monotonic()
    run = import_history(local, events, window)
    imported = time.monotonic() - started
    compaction_started = time.monotonic()
    compacted = local.invoke_job("lake-compaction")
    return {
        **figures,
        "window_seconds": window,
        "import_seconds": round(imported, 1),
        "lake": run.figures(),
        "compaction_seconds": round(time.monotonic() - compaction_started, 1),
        "compaction": {k: compacted.get(k) for k in ("objects", "compacted", "rows")},
    }


if __name__ == "__main__":
    sys.exit(main())
