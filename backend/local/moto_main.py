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

Everything else is moto's own server. The fix is applied only to the moto version it was
written for; with another version moto runs unchanged and a warning says so.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger(__name__)

PATCHED_MOTO_VERSION = "5.2.5"
_DYNAMODB_TARGET = "DynamoDB_"


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


_FAST_READS = frozenset({"GetItem", "BatchGetItem", "Query"})


def _json_execute_result(execute_result: Callable[..., Any]) -> Callable[..., Any]:
    """moto's ``DynamoResult.execute_result``, with plain ``json.dumps`` for the read operations."""

    def execute(self: Any, context: Any) -> Any:
        if context.operation_model.name in _FAST_READS:
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


class SerialDynamoDB:
    """WSGI middleware: one DynamoDB request at a time, everything else concurrent (SQS long
    polls must not wait behind each other)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith(_DYNAMODB_TARGET):
            with self.lock:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


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
    SQSBackend.is_message_valid_based_on_retention_period = _retention_ok  # type: ignore[method-assign]
    SQSBackend.send_message = _send_without_counting(SQSBackend.send_message)  # type: ignore[method-assign]
    for name in _COUNTS:
        setattr(Queue, name, _skipped_while_sending(getattr(Queue, name)))
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    return True


def main(argv: list[str] | None = None) -> None:
    """``python -m backend.local.moto_main -H HOST -p PORT``: serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
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
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: sys.exit(0))
    dispatcher = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        SerialDynamoDB(dispatcher),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
