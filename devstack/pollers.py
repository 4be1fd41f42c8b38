"""SQS -> Lambda event-source mappings, with the semantics Lambda gives them in AWS.

One thread per mapping long-polls its queue and gathers up to ``batch_size`` messages for at
most ``batching_window_seconds`` (Lambda's ``MaximumBatchingWindowInSeconds``); each batch is
handed to an invocation of its own, and up to ``maximum_concurrency`` invocations run at once
(Lambda's ``ScalingConfig.MaximumConcurrency``), so the poller gathers the next batch while
the function works on the last. Each invocation calls the handler with the Lambda SQS event
and reads its partial batch response (``ReportBatchItemFailures``):
every message not reported as failed is deleted; failed messages stay in flight until their
visibility timeout ends, and SQS's redrive policy moves them to the DLQ after
``maxReceiveCount`` receives. A handler that raises fails the whole batch.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devstack.runtime import Handler, new_context

logger = logging.getLogger(__name__)

SQS_MAX_BATCH = 10
SQS_MAX_WAIT_SECONDS = 20
_MAX_HELD = 10_000


class Activity:
    """Counts the work in progress in the stack, for :meth:`LocalStack.wait_idle`.

    ``generation`` grows whenever a piece of work starts or ends, so that an observer who sees
    the same generation before and after looking at the queues knows nothing ran meanwhile.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: Counter[str] = Counter()
        self._generation = 0

    def begin(self, what: str) -> None:
        with self._lock:
            self._busy[what] += 1
            self._generation += 1

    def end(self, what: str) -> None:
        with self._lock:
            self._busy[what] -= 1
            if self._busy[what] <= 0:
                del self._busy[what]
            self._generation += 1

    @contextlib.contextmanager
    def working(self, what: str) -> Iterator[None]:
        """Mark ``what`` (a function name) busy for the duration of the block."""
        self.begin(what)
        try:
            yield
        finally:
            self.end(what)

    def state(self) -> tuple[int, tuple[str, ...]]:
        """The generation and the names of what is running now."""
        with self._lock:
            return self._generation, tuple(sorted(self._busy))


@dataclass(frozen=True)
class EventSourceMapping:
    """One queue feeding one function."""

    function_name: str
    queue_name: str
    queue_url: str
    queue_arn: str
    batch_size: int = 10
    batching_window_seconds: float = 0.0
    timeout: float = 30.0
    memory: int = 128
    maximum_concurrency: int = 1


def lambda_message_attributes(attributes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """SQS message attributes in the shape of Lambda's SQS event.

    Examples
    --------
    >>> lambda_message_attributes({"event_type": {"DataType": "String", "StringValue": "x"}})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'event_type': {'stringValue': 'x', 'stringListValues': [], 'binaryListValues': [],
                    'dataType': 'String'}}
    """
    shaped: dict[str, dict[str, Any]] = {}
    for name, value in attributes.items():
        attribute: dict[str, Any] = {}
        if "StringValue" in value:
            attribute["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
        attribute["stringListValues"] = list(value.get("StringListValues", []))
        attribute["binaryListValues"] = [
            base64.b64encode(item).decode("ascii") for item in value.get("BinaryListValues", [])
        ]
        attribute["dataType"] = value["DataType"]
        shaped[name] = attribute
    return shaped


def lambda_sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One ``Records`` entry of Lambda's SQS event, from a ReceiveMessage message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": lambda_message_attributes(message.get("MessageAttributes", {})),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_message_ids(result: Any, message_ids: Sequence[str]) -> set[str]:
    """The messages a partial batch response reports as failed.

    Follows Lambda's rules: no response, or an empty or null ``batchItemFailures``, is a
    complete success; a response that is not an object, or an item whose
    ``itemIdentifier`` is missing, empty or not in the batch, fails the whole batch.

    Examples
    --------
    >>> sorted(failed_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, ["a", "b"]))
    ['b']
    >>> sorted(failed_message_ids("ok", ["a", "b"]))
    ['a', 'b']
    """
    everything = set(message_ids)
    if result is None:
        return set()
    if not isinstance(result, Mapping):
        logger.error("the partial batch response is not an object: the whole batch failed")
        return everything
    items = result.get("batchItemFailures") or []
    if not isinstance(items, list):
        logger.error("batchItemFailures is not a list: the whole batch failed")
        return everything
    failed = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not identifier or identifier not in everything:
            logger.error("batchItemFailures names an unknown message: the whole batch failed")
            return everything
        failed.add(identifier)
    return failed


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqsPoller:
    """The event-source mapping of one function: a thread polling its queue, handing each batch
    to an invocation thread, at most ``mapping.maximum_concurrency`` at once.

    One receiver, not one per invocation: moto does not lock a queue while it picks messages
    (two concurrent receives could take the same message), and a batching window must not wait
    behind another thread's long poll.

    Parameters
    ----------
    mapping
        The queue, the function and the batching settings.
    handler
        Called as ``handler(event, context)``; a stack's function or a test's stub.
    sqs
        An SQS client bound to the stack's endpoint.
    activity
        Where the poller marks itself busy while it holds messages.
    region, account_id
        For the event's ``awsRegion`` and the context's function ARN.
    poll_wait_seconds
        Long-poll wait while the queue is empty; also how fast :meth:`stop` takes effect.
    """

    def __init__(
        self,
        mapping: EventSourceMapping,
        handler: Handler,
        sqs: Any,
        activity: Activity,
        *,
        region: str,
        account_id: str,
        poll_wait_seconds: int = 1,
    ):
        self.mapping = mapping
        self.handler = handler
        self._sqs = sqs
        self._activity = activity
        self._region = region
        self._account_id = account_id
        self._poll_wait = poll_wait_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._slots = threading.BoundedSemaphore(max(1, mapping.maximum_concurrency))
        self._workers: set[threading.Thread] = set()
        self._workers_lock = threading.Lock()
        # Receipt handles of the messages this poller left in flight after a failure, so that
        # a shutdown can make them visible again and the final snapshot keeps them.
        self._held: OrderedDict[str, str] = OrderedDict()
        self._held_lock = threading.Lock()
        self.invocations = 0
        # Invocations running now, and the most that ever ran at once.
        self.running = 0
        self.peak_concurrency = 0

    @property
    def name(self) -> str:
        return self.mapping.function_name

    def start(self) -> None:
        """Start polling in a daemon thread."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"poller-{self.mapping.function_name}", daemon=True
        )
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the poller to stop after the batch in hand, without waiting for it."""
        self._stop.set()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop after the batches in hand (if any) are handled; wait up to ``timeout`` seconds."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._workers_lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        if any(worker.is_alive() for worker in workers):
            logger.warning("%s is still running its batch; leaving it behind", self.name)

    def _run(self) -> None:
        while not self._stop.is_set():
            # A batch is gathered only when an invocation may start: that many at once at most.
            if not self._slots.acquire(timeout=self._poll_wait):
                continue
            handed = False
            try:
                handed = self._gather_and_hand()
            except Exception:
                if self._stop.is_set():
                    return
                logger.exception("polling %s failed; retrying in a second", self.mapping.queue_name)
                self._stop.wait(1.0)
            finally:
                if not handed:
                    self._slots.release()

    def _gather_and_hand(self) -> bool:
        """Gather a batch and start its invocation in a thread of its own; whether one started."""
        messages = self._receive(self.mapping.batch_size, self._poll_wait)
        if not messages:
            return False
        self._activity.begin(self.name)
        try:
            self._fill_batch(messages)
            worker = threading.Thread(
                target=self._work, args=(messages,), name=f"poller-{self.mapping.function_name}", daemon=True
            )
            with self._workers_lock:
                self._workers.add(worker)
            worker.start()
        except BaseException:
            self._activity.end(self.name)
            raise
        return True

    def _work(self, messages: list[dict[str, Any]]) -> None:
        try:
            self._invoke(messages)
        except Exception:
            logger.exception("handing a batch of %s to its function failed", self.mapping.queue_name)
        finally:
            with self._workers_lock:
                self._workers.discard(threading.current_thread())
            self._slots.release()
            self._activity.end(self.name)

    def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self.mapping.queue_url,
            MaxNumberOfMessages=min(SQS_MAX_BATCH, count),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _fill_batch(self, messages: list[dict[str, Any]]) -> None:
        # Like MaximumBatchingWindowInSeconds: keep receiving until the batch is full or the
        # window, counted from the first message, has passed.
        window_ends = time.monotonic() + self.mapping.batching_window_seconds
        while len(messages) < self.mapping.batch_size and not self._stop.is_set():
            remaining = window_ends - time.monotonic()
            if remaining <= 0:
                return
            wanted = self.mapping.batch_size - len(messages)
            # SQS long polls for at most 20 s; a longer window polls again.
            more = self._receive(wanted, min(SQS_MAX_WAIT_SECONDS, int(remaining)) if remaining >= 1 else 0)
            if more:
                messages.extend(more)
            elif remaining < 1:
                self._stop.wait(min(remaining, 0.05))

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        mapping = self.mapping
        records = [lambda_sqs_record(m, mapping.queue_arn, self._region) for m in messages]
        ids = [record["messageId"] for record in records]
        context = new_context(
            mapping.function_name,
            memory=mapping.memory,
            timeout=mapping.timeout,
            region=self._region,
            account_id=self._account_id,
        )
        with self._workers_lock:
            self.invocations += 1
            self.running += 1
            self.peak_concurrency = max(self.peak_concurrency, self.running)
        started = time.monotonic()
        try:
            result = self.handler({"Records": records}, context)
        except Exception:
            logger.exception(
                "%s raised on a batch of %d; every message is retried after its visibility timeout",
                mapping.function_name,
                len(records),
            )
            self._hold(messages)
            return
        finally:
            with self._workers_lock:
                self.running -= 1
            elapsed = time.monotonic() - started
            if elapsed > mapping.timeout:
                logger.error(
                    "%s ran %.1f s, over its %.0f s timeout: in Lambda it would have been "
                    "stopped and the batch retried",
                    mapping.function_name,
                    elapsed,
                    mapping.timeout,
                )
        failed = failed_message_ids(result, ids)
        if failed:
            logger.warning(
                "%s: %d of %d messages failed and will be retried",
                mapping.function_name,
                len(failed),
                len(records),
            )
        self._hold([m for m in messages if m["MessageId"] in failed])
        self._delete([m for m in messages if m["MessageId"] not in failed])

    def _hold(self, messages: Sequence[Mapping[str, Any]]) -> None:
        with self._held_lock:
            for message in messages:
                self._held[message["MessageId"]] = message["ReceiptHandle"]
                self._held.move_to_end(message["MessageId"])
            while len(self._held) > _MAX_HELD:
                self._held.popitem(last=False)

    def _delete(self, messages: Sequence[Mapping[str, Any]]) -> None:
        with self._held_lock:
            for message in messages:
                self._held.pop(message["MessageId"], None)
        for chunk in _chunks(messages, SQS_MAX_BATCH):
            response = self._sqs.delete_message_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            for failure in response.get("Failed", []):
                logger.warning(
                    "could not delete message %s from %s: %s",
                    chunk[int(failure["Id"])]["MessageId"],
                    self.mapping.queue_name,
                    failure.get("Code"),
                )

    def forget_held(self) -> None:
        """Drop the receipt handles of failed messages (their queue was purged)."""
        with self._held_lock:
            self._held.clear()

    def release_held(self) -> int:
        """Make the messages this poller failed visible again; return how many it tried.

        Called after :meth:`stop`, so that the final snapshot finds them in the queue instead
        of in flight, and the next start retries them at once.
        """
        with self._held_lock:
            held = list(self._held.items())
            self._held.clear()
        for chunk in _chunks(held, SQS_MAX_BATCH):
            # Messages already redriven to the DLQ or received again fail here; that is fine.
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for i, (_, handle) in enumerate(chunk)
                ],
            )
        return len(held)


def forward_to_topic(sns: Any, topic_arn: str) -> Handler:
    """The function behind a bridge queue: publish each message body to ``topic_arn``.

    This is what EventBridge does for a rule's SNS target: the event JSON becomes the SNS
    message. Publishing failures are reported per message, so only they are retried.
    """

    def forward(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for chunk in _chunks(event["Records"], SQS_MAX_BATCH):
            response = sns.publish_batch(
                TopicArn=topic_arn,
                PublishBatchRequestEntries=[
                    {"Id": str(i), "Message": record["body"]} for i, record in enumerate(chunk)
                ],
            )
            failures += [
                {"itemIdentifier": chunk[int(failure["Id"])]["messageId"]}
                for failure in response.get("Failed", [])
            ]
        return {"batchItemFailures": failures}

    return forward
