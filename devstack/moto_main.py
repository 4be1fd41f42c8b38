"""The moto server the local stack runs: ``python -m moto.server`` with fixes for big stores.

moto 5.2.5's server is threaded, but its DynamoDB backend is not thread-safe, and its
``TransactWriteItems`` backs up by deep-copying the *whole table* once per item of the
transaction. With a store of a few months that makes every transaction take seconds; with
concurrent requests the copy fails ("dictionary changed size during iteration", an HTTP 500)
and a rolled-back transaction puts back a copy of the table that erases what other requests
wrote in the meantime. So this server:

1. runs DynamoDB requests one at a time (moto's GIL-bound backend gains nothing from
   running them concurrently anyway), and
2. backs up only the items a transaction touches, restoring them if it is cancelled. Its
   outcome is the same as moto's: all or nothing, same errors;
3. sends and receives SQS messages without counting the queue's messages for each one
   (moto computes every queue attribute, counts included, per message sent or received,
   which makes a deep queue slow to fill and to drain);
4. lists its own package directory once, not on every request (its dispatcher checks the
   request's host against moto's service folders: 7 % of its CPU under load);
5. writes the answers of DynamoDB's read operations (``GetItem``, ``BatchGetItem``, ``Query``)
   with ``json.dumps``: moto walks every attribute value of the answer through its generic,
   model-driven serializer, which took three quarters of its CPU for a ``BatchGetItem`` of 100
   day items (about 0.3 s for 100 items of a few hundred customer ids). The answer is already
   DynamoDB JSON; an answer holding anything else than JSON's own types (binary values, dates,
   ``null``) still goes through moto's serializer. Two more per-value costs of reading big
   items are cut the same way, with the same results: an item's size (moto builds one object
   per member of a string or number set to measure it, twice per item read) and the conversion
   of an answer's attribute values to plain dicts (one recursive call per set member).
   ``PutItem`` and ``UpdateItem`` answers (their old or new attributes, the consumed capacity)
   are written the same way: the serializer was 9 % of the time inside moto's actions in a
   6,000-event ``bench/pipeline.py`` run, where they are 2 of every 2.1 requests per event;

6. refuses requests from web pages (an ``Origin``, a cross-site ``Sec-Fetch-Site``, a ``Host``
   that is not a loopback name): moto answers CORS preflights from any origin, which let any
   page the developer visits read and write the local AWS (:func:`browser_refusal`);
7. writes point-in-time snapshots (``POST /_storepulse/snapshot``, :class:`Gate`): every request
   pauses while the tables, buckets and every message, in flight or not, are written out.
8. answers a ``Query`` of a table's key from that key's partition: moto as it ships lists and
   *sorts every item of the table* to find one partition's items, so a query cost grows with
   the store (a 31-day summary, one query per day, took 17 s on a table of 4,000 items under
   load). Same items, same order, same pages; a partition of string sort keys is put in that
   order by the keys' text, not by moto's key objects' comparisons.
9. keeps a bounded memory of what it carried: moto keeps every model object it ever made
   (``BaseModel.instances_tracked``: every DynamoDB item read or written, every SQS message,
   every S3 object) for its own dashboard and reset, which the stack does not use; it keeps
   none. It also keeps every message published to an SNS
   topic (``Topic.sent_notifications``, bodies included, for tests to inspect) and every
   receipt handle of every deleted SQS message (``Queue.deleted_messages``) for ever, so a
   stack left running grew with every event it ever carried; it keeps the last
   :data:`SNS_MESSAGES_KEPT` and :data:`SQS_DELETED_HANDLES_KEPT`;
10. keeps a client's connection open between its requests: werkzeug's development server, which
   moto serves with, answers every request with ``Connection: close``, so each AWS call opened a
   TCP connection, and the server a thread, of its own (with 11 and 12, a fifth to a third of
   the CPU a conditional ``PutItem`` cost each side, ``bench/claims_floor.py``). A request is
   kept alive when its body is framed by ``Content-Length`` (boto3's always are); the server
   reads exactly that body before moto sees it, so whatever moto leaves unread never reaches
   the next request (:func:`keep_alive_handler`);
11. looks up a response class's action methods once (moto lists every member of the class
   with ``inspect.getmembers`` on every request to find the method the action names);
12. parses an EventBridge input transformer's JSONPath expressions once each (moto builds a new
   parser, tables and all, for each path of each event it delivers through a rule);
13. validates an update expression with the same ten passes over its syntax tree, but tells a
   node's kind by its class once per class: moto asks ``isinstance`` of its abstract node
   classes (a Python-level check each time) and rebuilds each pass's table of node kinds for
   every node visited: a quarter of the time inside moto's actions in a 6,000-event
   ``bench/pipeline.py`` run (every ``UpdateItem``,
   and each update of a transaction, is validated once or twice). An update expression's text
   is parsed once too (moto parses it twice per update, and the tree is only read: the
   validator works on its own copy). Each validation's copy of the tree is unpickled from the
   tree's pickle, made once, rather than deep-copied node by node, and a tree whose clauses
   were counted once (at most one ``SET``, ``ADD``, ``REMOVE``: a search of every node's
   subtree, quadratic in the expression) is not counted again (:func:`_trees_copied_by_pickle`);
14. parses a condition expression once per text, names and values (moto parses a conditional
   put's twice, a transaction's up to three times: :func:`_conditions_parsed_once`);
15. formats a request's log line only for a logger that keeps it, and an answer's ``Date``
   header once a second (werkzeug formats the line, local time and all, before the logger's
   level drops it: 7 % of moto's request time).

Everything else is moto's own server. The fix is applied only to the moto version it was
written for; with another version moto runs unchanged and a warning says so.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import dataclasses
import email.utils
import functools
import importlib
import io
import json
import logging
import math
import pickle
import selectors
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devstack import memtrace
from devstack.aws import SNAPSHOT_ROUTE

if TYPE_CHECKING:
    from werkzeug.serving import WSGIRequestHandler

logger = logging.getLogger(__name__)

PATCHED_MOTO_VERSION = "5.2.5"
_DYNAMODB_TARGET = "DynamoDB_"
_RECEIVE_TARGET = "AmazonSQS.ReceiveMessage"
_POLL_SLICE_SECONDS = 1


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's ``DynamoDBBackend.transact_write_items`` with an item-level backup."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    backups: list[tuple[Any, Any, Any, Any]] = []
    target_items: set[tuple[str, str]] = set()

    def rollback() -> None:
        for table, hash_value, range_value, previous in reversed(backups):
            if previous is None:
                table.delete_item(hash_value, range_value)
            elif range_value is not None:
                table.items[hash_value][range_value] = previous
            else:
                table.items[hash_value] = previous

    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            identity = (str(table_name), str(dict(sorted(key.items()))))
            if identity in target_items:
                raise MultipleTransactionsException()
            target_items.add(identity)

            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition = get_filter_expression(condition_expression, names, values)
                if not condition.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            if op_type != "ConditionCheck":
                table = self.get_table(table_name)
                hash_value, range_value = self.get_keys_value(table, key)
                backups.append((table, hash_value, range_value, copy.deepcopy(current)))
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            rollback()
            raise
        except ConditionalCheckFailed as exc:
            errors.append(("ConditionalCheckFailed", str(exc.message), original_item))
        except Exception as exc:
            errors.append((type(exc).__name__, str(exc), original_item))
    if any(code is not None for code, _, _ in errors):
        rollback()
        raise TransactionCanceledException(errors)


def _retention_ok(self: Any, queue_name: str, message: Any) -> bool:
    """moto's retention check on receive, without computing every queue attribute.

    moto asks for the queue's attributes for each message it hands out, which counts the
    visible and in-flight messages by scanning the queue: O(depth) per message received.
    """
    from moto.core.utils import unix_time

    retention = int(self.get_queue(queue_name).message_retention_period)
    return bool(retention + message.sent_timestamp / 1000 > unix_time())


_sending = threading.local()
_COUNTS = (
    "approximate_number_of_messages",
    "approximate_number_of_messages_not_visible",
    "approximate_number_of_messages_delayed",
)


def _skipped_while_sending(counter: property) -> property:
    def count(queue: Any) -> int:
        if getattr(_sending, "active", False):
            return 0
        return int(counter.fget(queue))  # type: ignore[misc]

    return property(count)


def _send_without_counting(send: Callable[..., Any]) -> Callable[..., Any]:
    """moto's ``send_message`` reads one queue attribute per message sent, which makes it
    count the queue's messages (a scan of the queue) that the send never uses: skip that."""

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        _sending.active = True
        try:
            return send(self, *args, **kwargs)
        finally:
            _sending.active = False

    return send_message


# What moto keeps of a topic's published messages (only for tests to inspect) and of the
# receipt handles of deleted messages (so deleting one again succeeds, as in AWS): bounded, so
# a stack that runs for days holds the recent ones, not every message it ever carried.
SNS_MESSAGES_KEPT = 100
SQS_DELETED_HANDLES_KEPT = 10_000


class RecentSet:
    """A set that keeps only its ``limit`` most recently added members (what moto's
    ``Queue.deleted_messages`` is used as: ``in`` and ``update``).

    >>> recent = RecentSet(2)
    >>> recent.update(["a", "b", "c"])
    >>> ("a" in recent, "b" in recent, "c" in recent, len(recent))
    (False, True, True, 2)
    """

    def __init__(self, limit: int):
        self.limit = limit
        self._members: dict[str, None] = {}

    def __contains__(self, member: object) -> bool:
        return member in self._members

    def __len__(self) -> int:
        return len(self._members)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._members))

    def add(self, member: str) -> None:
        self.update([member])

    def update(self, members: Iterable[str]) -> None:
        for member in members:
            self._members.pop(member, None)
            self._members[member] = None
        for _ in range(len(self._members) - self.limit):
            del self._members[next(iter(self._members))]


def _untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
    """moto's ``BaseModel.__new__`` without ``cls.instances_tracked.append(instance)``: moto
    keeps every model object it ever made (each DynamoDB item read or written, each SQS message,
    each S3 object version) in a class-level list, for its ``/moto-api`` dashboard and reset,
    neither of which the local stack uses; a running stack kept them all."""
    from moto.core.common_models import BaseModel

    return super(BaseModel, cls).__new__(cls)  # type: ignore[misc]


def _bounded_topic(init: Callable[..., None]) -> Callable[..., None]:
    """moto's ``Topic.__init__``, its ``sent_notifications`` (every message published, bodies
    included, kept for ever) a deque of the last :data:`SNS_MESSAGES_KEPT`."""

    def topic_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.sent_notifications = deque(maxlen=SNS_MESSAGES_KEPT)

    return topic_init


def _bounded_deleted_handles(init: Callable[..., None]) -> Callable[..., None]:
    """moto's ``Queue.__init__``, its ``deleted_messages`` (every receipt handle of every
    message deleted, kept for ever) a :class:`RecentSet` of the last
    :data:`SQS_DELETED_HANDLES_KEPT`."""

    def queue_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.deleted_messages = RecentSet(SQS_DELETED_HANDLES_KEPT)

    return queue_init


# Operations whose answers hold only what their output shape names (DeleteItem's, for one,
# carries a ConsumedCapacityUnits that moto's serializer leaves out).
_PLAIN_ANSWERS = frozenset({"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem"})


def _json_execute_result(execute_result: Callable[..., Any]) -> Callable[..., Any]:
    """moto's ``DynamoResult.execute_result``, with plain ``json.dumps`` for :data:`_PLAIN_ANSWERS`."""

    def execute(self: Any, context: Any) -> Any:
        if context.operation_model.name in _PLAIN_ANSWERS:
            try:
                body = json.dumps(self.result, separators=(",", ":"))
            except (TypeError, ValueError):  # bytes, datetimes: moto's serializer knows them
                body = None
            # moto's serializer leaves out members without a value; JSON would say null.
            if body is not None and "null" not in body:
                return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return execute_result(self, context)

    return execute


_PLAIN_TYPES = frozenset({"S", "N", "BOOL", "NULL"})
_PLAIN_SETS = frozenset({"SS", "NS"})
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _fast_set_size(size: Callable[[Any], int]) -> Callable[[Any], int]:
    """moto's ``DynamoType.size``, summed directly over the members of a string or number set
    (moto wraps each member in a ``DynamoType`` to measure it: same sizes, one object fewer each)."""
    from moto.dynamodb.models.utilities import bytesize

    def set_size(self: Any) -> int:
        if self.type == "SS":
            return sum(bytesize(member) for member in self.value)
        if self.type == "NS":
            return sum(len(str(member)) for member in self.value)
        return size(self)

    return set_size


def _fast_to_dict(to_dict: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's ``dynamo_to_dict`` without a recursive call per member of a string or number set;
    anything but plain dicts, lists and string, number, boolean and null values goes to moto's."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    def convert(obj: Any) -> Any:
        kind = type(obj)
        if kind is DynamoType:
            if obj.type in _PLAIN_TYPES and type(obj.value) in (str, bool):
                return {obj.type: obj.value}
            if obj.type in _PLAIN_SETS and all(type(member) is str for member in obj.value):
                return {obj.type: list(obj.value)}
            if obj.type == "B" and type(obj.value) is bytes:  # as moto's: base64 on the wire
                return {"B": base64.b64encode(obj.value).decode("ascii")}
        elif kind in _SCALARS:
            return obj
        elif kind is dict:
            return {name: convert(value) for name, value in obj.items()}
        elif kind is list:
            return [convert(value) for value in obj]
        return to_dict(obj)

    return convert


_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0].lower()


def browser_refusal(environ: dict[str, Any]) -> str | None:
    """Why a request looks like it comes from a web page (or through a rebound DNS name), or
    ``None`` for a local SDK call.

    boto3 sends no ``Origin`` and names the endpoint by a loopback address; a browser names the
    page's origin in ``Origin`` on every cross-origin request (its CORS preflight included) and
    in ``Sec-Fetch-Site``. Without this, any page the developer visits could read and write the
    local AWS (moto answers CORS preflights from any origin).
    """
    host = environ.get("HTTP_HOST", "")
    hostname = _hostname(host)
    if hostname not in _LOCAL_HOSTS and not hostname.endswith(".localhost"):
        return f"the host {host!r} is not this machine's loopback address"
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and origin != f"http://{host}":
        return f"cross-origin requests ({origin}) are refused"
    if environ.get("HTTP_SEC_FETCH_SITE", "same-origin") not in ("same-origin", "none"):
        return "cross-site browser requests are refused"
    return None


class Pause:
    """Requests run side by side until a snapshot pauses them: it waits for those in progress
    to finish, holds new ones back while it dumps, then lets them go (a readers-writer lock
    that favours the snapshot)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running = 0
        self._paused = False

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        with self._changed:
            while self._paused:
                self._changed.wait()
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        with self._changed:
            while self._paused:
                self._changed.wait()
            self._paused = True
            while self._running:
                self._changed.wait()
        try:
            yield
        finally:
            with self._changed:
                self._paused = False
                self._changed.notify_all()


def _dynamo_json(value: Any) -> dict[str, Any]:
    """A moto ``DynamoType`` in the snapshot's DynamoDB JSON (binary values as ``B64``/``BS64``)."""
    kind, inner = value.type, value.value
    if kind == "M":
        return {"M": {name: _dynamo_json(member) for name, member in inner.items()}}
    if kind == "L":
        return {"L": [_dynamo_json(member) for member in inner]}
    if kind == "B":
        return {"B64": _base64(inner)}
    if kind == "BS":
        return {"BS64": [_base64(member) for member in inner]}
    return {kind: inner}


def _base64(value: bytes | str) -> str:
    # moto keeps a binary value as the base64 text it was sent, or as bytes.
    return value if isinstance(value, str) else base64.b64encode(value).decode("ascii")


_OBJECT_HEADERS = {
    "content-type": "ContentType",
    "content-encoding": "ContentEncoding",
    "content-disposition": "ContentDisposition",
    "cache-control": "CacheControl",
}


def _object_record(bucket: str, key: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"kind": "object", "bucket": bucket, "key": key.name}
    record["body"] = base64.b64encode(key.value).decode("ascii")
    metadata = {}
    for name, value in key.metadata.items():
        lowered = name.lower()
        if lowered.startswith("x-amz-meta-"):
            metadata[lowered.removeprefix("x-amz-meta-")] = value
        elif lowered in _OBJECT_HEADERS:
            record[_OBJECT_HEADERS[lowered]] = value
    record["metadata"] = metadata
    return record


def _message_record(queue: str, message: Any) -> dict[str, Any]:
    attributes = {}
    for name, value in message.message_attributes.items():
        attribute = {"DataType": value["DataType"]}
        if value.get("StringValue") is not None:
            attribute["StringValue"] = value["StringValue"]
        if value.get("BinaryValue") is not None:
            attribute["BinaryValue"] = _base64(value["BinaryValue"])
        attributes[name] = attribute
    return {"kind": "message", "queue": queue, "body": message.body, "attributes": attributes}


def _backends(backend_dict: Any) -> Iterator[Any]:
    for regions in list(backend_dict.values()):
        yield from list(regions.values())


def state_records(
    tables: Iterable[str], buckets: Iterable[str], queues: Iterable[str]
) -> Iterator[dict[str, Any]]:
    """This server's state as snapshot records: every item of ``tables``, every object of
    ``buckets`` and every message of ``queues``, in flight or not (requests must be paused)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import FakeKey, s3_backends
    from moto.sqs.models import sqs_backends

    wanted_tables, wanted_buckets, wanted_queues = set(tables), set(buckets), set(queues)
    for backend in _backends(dynamodb_backends):
        for name, table in backend.tables.items():
            if name not in wanted_tables:
                continue
            for stored in table.items.values():
                for item in stored.values() if table.range_key_attr else [stored]:
                    attributes = {k: _dynamo_json(v) for k, v in item.attrs.items()}
                    yield {"kind": "item", "table": name, "item": attributes}
    for backend in _backends(s3_backends):
        for name, bucket in backend.buckets.items():
            if name in wanted_buckets:
                for _, key in bucket.keys.items():
                    if isinstance(key, FakeKey):
                        yield _object_record(name, key)
    for backend in _backends(sqs_backends):
        for name, queue in backend.queues.items():
            if name in wanted_queues:
                for message in list(queue._messages):
                    yield _message_record(name, message)


def holdings() -> dict[str, int]:
    """What this server holds (read without pausing requests: a census, not a snapshot), for
    :mod:`devstack.memtrace`: the data it must keep, and what it remembers of what it carried."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    held = Counter[str]()
    for backend in _backends(dynamodb_backends):
        for table in list(backend.tables.values()):
            for stored in list(table.items.values()):
                held["items"] += len(stored) if table.range_key_attr else 1
    for backend in _backends(s3_backends):
        for bucket in list(backend.buckets.values()):
            for _, key in list(bucket.keys.items()):
                held["objects"] += 1
                held["object_kb"] += int(getattr(key, "size", 0) or 0) // 1024
    for backend in _backends(sqs_backends):
        for queue in list(backend.queues.values()):
            held["messages"] += len(queue._messages)
            held["deleted_handles"] += len(queue.deleted_messages)
    for backend in _backends(sns_backends):
        for topic in list(backend.topics.values()):
            held["sns_kept"] += len(topic.sent_notifications)
    return dict(held)


class Gate:
    """WSGI middleware in front of moto: refuses browsers, runs DynamoDB requests one at a
    time (everything else concurrently: SQS long polls must not wait behind each other), and
    serves ``POST /_storepulse/snapshot``, a point-in-time dump to ``snapshot_path``.

    The dump pauses every request (those in progress finish first), so the file holds one
    instant of every table, bucket and queue, messages in flight included.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], snapshot_path: Path | None = None):
        self.app = app
        self.snapshot_path = snapshot_path
        self.dynamodb = threading.Lock()
        self.pause = Pause()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        refusal = browser_refusal(environ)
        if refusal is not None:
            return _answer(start_response, "403 Forbidden", {"error": refusal})
        if environ.get("PATH_INFO") == SNAPSHOT_ROUTE and environ.get("REQUEST_METHOD") == "POST":
            return self._snapshot(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target == _RECEIVE_TARGET:
            return self._receive(environ, start_response)
        with self.pause.request():
            if target.startswith(_DYNAMODB_TARGET):
                with self.dynamodb:
                    return list(self.app(environ, start_response))
            return list(self.app(environ, start_response))

    def _receive(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """An SQS long poll as a series of polls of at most a second each, so that a snapshot
        never waits behind a 20 s poll (the answer is the same: messages as soon as any come)."""
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        request = json.loads(body or b"{}")
        if "WaitTimeSeconds" not in request:  # the queue's own default applies: moto's business
            environ = dict(environ, CONTENT_LENGTH=str(len(body)))
            environ["wsgi.input"] = io.BytesIO(body)
            with self.pause.request():
                return list(self.app(environ, start_response))
        deadline = time.monotonic() + int(request.get("WaitTimeSeconds") or 0)
        answer: dict[str, Any] = {}

        def keep(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            answer.update(status=status, headers=headers)
            return lambda data: None

        while True:
            request["WaitTimeSeconds"] = max(
                0, min(_POLL_SLICE_SECONDS, math.ceil(deadline - time.monotonic()))
            )
            sliced = json.dumps(request).encode()
            poll = dict(environ, CONTENT_LENGTH=str(len(sliced)))
            poll["wsgi.input"] = io.BytesIO(sliced)
            with self.pause.request():
                payload = b"".join(self.app(poll, keep))
            if (
                not answer["status"].startswith("200")
                or time.monotonic() >= deadline
                or json.loads(payload or b"{}").get("Messages")
            ):
                start_response(answer["status"], answer["headers"])
                return [payload]

    def _snapshot(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from devstack.snapshot import write_snapshot

        if self.snapshot_path is None:
            return _answer(start_response, "404 Not Found", {"error": "started without --snapshot"})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        wanted = json.loads(environ["wsgi.input"].read(length) or b"{}")
        with self.pause.paused():
            counts = write_snapshot(
                self.snapshot_path,
                state_records(wanted.get("tables", []), wanted.get("buckets", []), wanted.get("queues", [])),
            )
        return _answer(start_response, "200 OK", dataclasses.asdict(counts))


_QUERIED = threading.local()


def _one_partition_query(query: Callable[..., Any]) -> Callable[..., Any]:
    """moto's ``Table.query``, which finds a partition's items in ``all_items()``, with
    ``all_items()`` narrowed to the queried partition while it runs (a query of the table's
    own key: an index query still sees every item)."""

    def narrowed(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None:
            return query(self, hash_key, *args, **kwargs)
        _QUERIED.partition = (self, hash_key)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _QUERIED.partition = None

    return narrowed


def _partition_items(all_items: Callable[..., Any]) -> Callable[..., Any]:
    """moto's ``Table.all_items``: during a narrowed query, only the queried partition's
    items, in moto's own order (by hash key, then range key)."""

    def items(self: Any) -> Any:
        queried = getattr(_QUERIED, "partition", None)
        if queried is None or queried[0] is not self:
            return all_items(self)
        found = self.items.get(queried[1])
        if found is None:
            return []
        found = list(found.values()) if self.range_key_attr else [found]
        if all(item.range_key is not None and item.range_key.type == "S" for item in found):
            # One partition's items, all with a string sort key: moto's order is the keys' text's
            # (its DynamoType comparisons compare the text), sorted without an object call per
            # comparison (7 % of moto's time in the 15,000-SKU stock test).
            return sorted(found, key=lambda x: x.range_key.value)
        return sorted(found, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    return items


def _answer(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


_KEPT_ALIVE = threading.local()


class _NothingToDrain:
    """The selector werkzeug drains a request's unread bytes with, after a request whose body
    :class:`KeepAlive` has already read: nothing is left, and the next request must stay."""

    def register(self, *args: Any) -> None:
        pass

    def select(self, timeout: float | None = None) -> list[Any]:
        return []

    def close(self) -> None:
        pass


class _DrainSelectors:
    """``werkzeug.serving``'s ``selectors``: the real one, but for requests kept alive."""

    EVENT_READ = selectors.EVENT_READ

    @staticmethod
    def DefaultSelector() -> Any:
        if getattr(_KEPT_ALIVE, "active", False):
            return _NothingToDrain()
        return selectors.DefaultSelector()


def keep_alive_handler(handler: type[WSGIRequestHandler]) -> type[WSGIRequestHandler]:
    """``handler`` (moto's request handler) keeping HTTP/1.1 connections open between requests.

    werkzeug closes every connection because Python's ``http.server`` cannot tell where an
    unread body ends. Here a request whose body has a ``Content-Length`` (and no ``Expect``,
    which waits for an interim answer before sending it) is read whole first, and the
    application reads it from memory; anything else closes its connection as before.
    """

    class KeepAlive(handler):  # type: ignore[valid-type, misc]
        close_connection: bool
        rfile: io.BufferedIOBase
        _kept_alive = False
        # An answer goes out in two writes (headers, body): on a connection that stays open,
        # Nagle's algorithm would hold the body until the client's delayed ACK of the headers.
        disable_nagle_algorithm = True

        def run_wsgi(self) -> None:
            length = self.headers.get("Content-Length", "0")
            if (
                self.request_version != "HTTP/1.1"
                or self.close_connection
                or "Transfer-Encoding" in self.headers
                or "Expect" in self.headers
                or not length.isdigit()
            ):
                self.close_connection = True
                return super().run_wsgi()
            body = self.rfile.read(int(length))
            if len(body) < int(length):  # the client went away mid-body
                self.close_connection = True
                return None
            connection_file, self.rfile = self.rfile, io.BytesIO(body)
            self._kept_alive = _KEPT_ALIVE.active = True
            try:
                return super().run_wsgi()
            finally:
                self.rfile = connection_file
                self._kept_alive = _KEPT_ALIVE.active = False

        def send_header(self, keyword: str, value: str) -> None:
            if self._kept_alive and keyword.lower() == "connection" and value.lower() == "close":
                return
            super().send_header(keyword, value)

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            # werkzeug formats the line (the path decoded, the client's address, the local
            # time) before its logger's level is looked at: 7 % of moto's request time when
            # the level (WARNING, :func:`main`) drops it anyway. A logger without a level of
            # its own is left to werkzeug, which sets INFO on it and logs.
            requests = logging.getLogger("werkzeug")
            if requests.level == logging.NOTSET or requests.isEnabledFor(logging.INFO):
                super().log_request(code, size)

        def date_time_string(self, timestamp: float | None = None) -> str:
            # Every answer's Date header, formatted once per second (it shows whole seconds).
            if timestamp is not None:
                return str(super().date_time_string(timestamp))
            return _http_date(int(time.time()))

    return KeepAlive


@functools.lru_cache(maxsize=2)
def _http_date(second: int) -> str:
    return email.utils.formatdate(second, usegmt=True)


def _cached_by_class(names_of: Callable[[object], list[str]]) -> Callable[[object], list[str]]:
    """moto's ``method_names_from_class``, computed once per class (its methods do not change)."""
    found: dict[object, list[str]] = {}

    def names(clazz: object) -> list[str]:
        if clazz not in found:
            found[clazz] = names_of(clazz)
        return found[clazz]

    return names


def _kinds_told_by_class(node_class: type[Any]) -> Callable[..., Any]:
    """moto's ``DepthFirstTraverser.traverse_node_recursively``, the same depth-first walk
    with each node's kind looked up by its class: whether it is a ``node_class`` at all, and
    whether a traverser processes it (its ``_processing_map``'s keys are fixed per class)."""
    is_node: dict[type, bool] = {}
    processed: dict[tuple[type, type], bool] = {}

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        kind = type(node)
        if kind not in is_node:
            is_node[kind] = issubclass(kind, node_class)
        if not is_node[kind]:
            return node
        parent_node = node.parent
        if node.children is not None:
            for i, child_node in enumerate(node.children):
                self.pre_processing_of_child(node, i)
                self.traverse_node_recursively(child_node, i)
        wanted = (type(self), kind)
        if wanted not in processed:
            processed[wanted] = issubclass(kind, self.nodes_to_be_processed())
        if processed[wanted]:
            node = self.process(node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
        return node

    return traverse_node_recursively


def _clauses_told_by_class(descended: tuple[type, ...]) -> Callable[..., list[Any]]:
    """moto's ``Node.find_clauses``, whether to look into a child told once per class."""
    descends: dict[type, bool] = {}

    def find_clauses(self: Any, clause_types: list[type]) -> list[Any]:
        clauses: list[Any] = []
        for child in self.children or []:
            kind = type(child)
            if kind in clause_types:
                clauses.append(child)
                continue
            if kind not in descends:
                descends[kind] = issubclass(kind, descended)
            if descends[kind]:
                clauses.extend(child.find_clauses(clause_types))
        return clauses

    return find_clauses


@dataclasses.dataclass
class _Tree:
    """A parsed update expression's tree (parsed once: :func:`patch_moto`), pickled, and
    whether its clauses have been counted (moto's first validation pass: at most one ``SET``,
    ``ADD``, ``REMOVE``), which depends on the tree alone."""

    expression: Any
    pickled: bytes | None
    clauses_counted: bool = False


class _CountingOnce:
    """moto's ``ActionCountValidator`` for a tree not yet counted: records that it passed."""

    def __init__(self, validator: Any, tree: _Tree):
        self.validator, self.tree = validator, tree

    def traverse(self, node: Any) -> Any:
        node = self.validator.traverse(node)
        self.tree.clauses_counted = True
        return node


def _trees_copied_by_pickle(init: Callable[..., None], counter: type) -> Callable[..., None]:
    """moto's ``Validator.__init__``, its copy of the update expression's syntax tree made by
    unpickling the tree, pickled once per tree (the parsed trees are cached, :func:`patch_moto`):
    ``copy.deepcopy`` walks the tree in Python, node by node, 2-8 times slower (a twentieth of
    moto's request time in ``bench/pipeline.py``, a seventh in the 15,000-SKU stock test). A
    tree is only read (each validator works on its own copy), so its pickle stays right; one
    that does not pickle is deep-copied as before. The clauses of a tree that passed ``counter``
    (moto's ``ActionCountValidator``, which looks for clauses in the subtree of every node:
    quadratic in the expression's length) are not counted again."""
    trees: dict[int, _Tree] = {}
    lock = threading.Lock()

    def validator_init(self: Any, expression: Any, *args: Any, **kwargs: Any) -> None:
        with lock:
            tree = trees.get(id(expression))
            if tree is None or tree.expression is not expression:
                if len(trees) >= _PICKLED_TREES_KEPT:
                    trees.clear()
                try:
                    tree = _Tree(expression, pickle.dumps(expression, pickle.HIGHEST_PROTOCOL))
                except (pickle.PicklingError, TypeError, AttributeError):
                    tree = _Tree(expression, None)
                trees[id(expression)] = tree
        if tree.pickled is None:
            init(self, expression, *args, **kwargs)
            return
        # moto's own __init__ with a tree that copies itself for nothing: the unpickled one.
        init(self, _Uncopied(), *args, **kwargs)
        self.node_to_validate = pickle.loads(tree.pickled)
        if tree.clauses_counted:
            self.processors = [p for p in self.processors if type(p) is not counter]
        else:
            self.processors = [_CountingOnce(p, tree) if type(p) is counter else p for p in self.processors]

    return validator_init


_PICKLED_TREES_KEPT = 1024


class _Uncopied:
    """What :func:`_trees_copied_by_pickle` hands moto's ``Validator.__init__`` to deep-copy
    in place of the tree: nothing to copy (the tree is set after, from its pickle)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _Uncopied:
        return self


def _conditions_parsed_once(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's ``ConditionExpressionParser.parse``, each condition parsed once: moto parses a
    conditional put's or update's condition in its request handler (to check the names it
    uses) and again in its backend, a transaction's up to three times, and the claims' few
    conditions come again in every request. The parsed condition (moto's ``Op`` objects,
    which evaluating against an item does not change) is kept by the condition's text, names
    and values; so are the names and values it found, which moto's handler checks."""

    @functools.lru_cache(maxsize=1024)
    def parsed(kind: Any, text: str, names: str, values: str) -> tuple[Any, list[str], list[str]]:
        parser = kind(text, json.loads(names), json.loads(values))
        return parse(parser), parser.expr_attr_names_found, parser.expr_attr_values_found

    def parse_once(self: Any) -> Any:
        text = self.condition_expression
        if not text:
            return parse(self)
        try:
            names = json.dumps(self.expression_attribute_names)
            values = json.dumps(self.expression_attribute_values)
        except (TypeError, ValueError):  # values JSON cannot say (bytes): parsed as moto does
            return parse(self)
        op, names_found, values_found = parsed(self.__class__, text, names, values)
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return op

    return parse_once


def patch_moto() -> bool:
    """Install the transaction fix; ``False`` (and a warning) with an unexpected moto."""
    import moto
    from moto.dynamodb.models import DynamoDBBackend

    if moto.__version__ != PATCHED_MOTO_VERSION:
        logger.warning(
            "moto %s is not %s: its DynamoDB transactions run unpatched (slow on a big store)",
            moto.__version__,
            PATCHED_MOTO_VERSION,
        )
        return False
    from moto.sqs.models import Queue, SQSBackend

    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    from moto.dynamodb.responses import DynamoResult

    DynamoResult.execute_result = _json_execute_result(DynamoResult.execute_result)  # type: ignore[method-assign]
    from moto.dynamodb import responses as dynamodb_responses
    from moto.dynamodb.models.dynamo_type import DynamoType

    dynamodb_responses.dynamo_to_dict = _fast_to_dict(dynamodb_responses.dynamo_to_dict)  # type: ignore[assignment]
    DynamoType.size = _fast_set_size(DynamoType.size)  # type: ignore[method-assign, assignment]
    from moto.dynamodb.models.table import Table

    Table.query = _one_partition_query(Table.query)  # type: ignore[method-assign]
    Table.all_items = _partition_items(Table.all_items)  # type: ignore[method-assign]
    from moto.core.common_models import BaseModel
    from moto.sns.models import Topic

    BaseModel.__new__ = staticmethod(_untracked_new)  # type: ignore[method-assign]
    Topic.__init__ = _bounded_topic(Topic.__init__)  # type: ignore[method-assign]
    Queue.__init__ = _bounded_deleted_handles(Queue.__init__)  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = _retention_ok  # type: ignore[method-assign]
    SQSBackend.send_message = _send_without_counting(SQSBackend.send_message)  # type: ignore[method-assign]
    for name in _COUNTS:
        setattr(Queue, name, _skipped_while_sending(getattr(Queue, name)))
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    from moto.core import responses as core_responses

    core_responses.method_names_from_class = _cached_by_class(core_responses.method_names_from_class)  # type: ignore[assignment]
    # moto.events imports jsonpath_ng.ext's parse at each call: the cached one is what it finds.
    import jsonpath_ng.ext

    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)
    # moto's expression modules are untyped (they declare no attributes to mypy).
    ast_nodes: Any = importlib.import_module("moto.dynamodb.parsing.ast_nodes")
    parser: Any = importlib.import_module("moto.dynamodb.parsing.expressions").UpdateExpressionParser
    ast_nodes.DepthFirstTraverser.traverse_node_recursively = _kinds_told_by_class(ast_nodes.Node)
    ast_nodes.Node.find_clauses = _clauses_told_by_class(
        (ast_nodes.Expression, ast_nodes.UpdateExpressionFunction)
    )
    parser.make = staticmethod(functools.lru_cache(maxsize=1024)(parser.make))
    validators: Any = importlib.import_module("moto.dynamodb.parsing.validators")
    validators.Validator.__init__ = _trees_copied_by_pickle(
        validators.Validator.__init__, validators.ActionCountValidator
    )
    from moto.dynamodb.comparisons import ConditionExpressionParser

    ConditionExpressionParser.parse = _conditions_parsed_once(ConditionExpressionParser.parse)  # type: ignore[method-assign, assignment]
    from werkzeug import serving

    serving.selectors = _DrainSelectors  # type: ignore[assignment]
    return True


def main(argv: list[str] | None = None) -> None:
    """``python -m devstack.moto_main -H HOST -p PORT [--snapshot PATH]``: serve until
    SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--snapshot", type=Path, help="where POST /_storepulse/snapshot writes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    # One line per request would grow without bound while the live trickle runs; errors stay.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    patch_moto()
    memtrace.install("moto", holdings)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: sys.exit(0))
    dispatcher = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        Gate(dispatcher, args.snapshot),
        threaded=True,
        request_handler=keep_alive_handler(MotoRequestHandler),
    )


if __name__ == "__main__":
    main()
