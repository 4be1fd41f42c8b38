"""Structured JSON logs that follow one request from ingest to every processor.

Every line a function writes is one JSON object in Powertools' format (``level``, ``location``,
``message``, ``timestamp``, ``service``, ...): the handlers' Powertools loggers and the module
loggers of the code they run (``backend.processing.*``, ``backend.adapters.*``, ...) alike. Lines
written while an invocation runs carry its keys:

``correlation_id``
    chosen at ingest (the request's ``X-Correlation-Id`` header when it is a valid id, else API
    Gateway's request id, else a new one), sent back in the response's ``X-Correlation-Id``
    header, carried to the processors as the ``correlation_id`` attribute of the SNS message,
    which SNS copies onto the SQS message (raw delivery).
``event_ids`` / ``packet_id``
    on the one line per packet that ingest writes when it publishes it and each processor
    writes when it has applied it (or ``event_id`` on a failure's line).

The keys live in Powertools' context-local keys (a ``ContextVar``), so invocations running side
by side in one process (the local stack) do not mix them. Where the lines go: standard output in
Lambda (its JSON log format keeps each line as one object); a file when
``STOREPULSE_LOG_FILE`` is set (the local stack: ``.data/logs/functions.jsonl``), with warnings
also on standard error. No e-mail, name or address is ever logged: ingest hashes e-mails
before anything else sees them, and no line carries an event's data, only its ids.

Examples
--------
>>> valid_correlation_id("order-123"), valid_correlation_id("a b"), valid_correlation_id("x" * 200)
('order-123', None, None)
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import (
    THREAD_LOCAL_KEYS,
    LambdaPowertoolsFormatter,
    clear_context_keys,
    set_context_keys,
)

CORRELATION_HEADER = "X-Correlation-Id"
CORRELATION_ATTRIBUTE = "correlation_id"
LOG_FILE_ENV = "STOREPULSE_LOG_FILE"
#: The packages whose module loggers run inside the functions (``devstack``, the
#: laptop's tools, talk to a terminal).
FUNCTION_PACKAGES = (
    "backend.adapters",
    "backend.api",
    "backend.domain",
    "backend.handlers",
    "backend.lake",
    "backend.processing",
    "backend.settings",
)
_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:/-]{1,128}")
_LOCK = threading.Lock()
_FILES: dict[str, IO[str]] = {}

Handler = Callable[[dict[str, Any], Any], Any]


def valid_correlation_id(value: object) -> str | None:
    """``value`` when it can be a correlation id (1-128 characters of ``[A-Za-z0-9._:/-]``),
    else ``None``: a client's header never puts arbitrary text into the logs."""
    if isinstance(value, str) and _CORRELATION_ID.fullmatch(value):
        return value
    return None


def _level() -> str:
    return os.environ.get("POWERTOOLS_LOG_LEVEL") or "INFO"


def _targets() -> list[tuple[IO[str], int]]:
    path = os.environ.get(LOG_FILE_ENV)
    if not path:
        return [(sys.stdout, logging.NOTSET)]
    stream = _FILES.get(path)
    if stream is None or stream.closed:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        stream = _FILES[path] = open(path, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
    return [(stream, logging.NOTSET), (sys.stderr, logging.WARNING)]


class Sink(logging.Handler):
    """A handler that writes each formatted line whole, under one lock for the process, to
    where this process's logs go (see the module's docstring), decided when the line is
    written. ``terminal=False`` keeps its warnings off standard error, for a logger that
    already has a console handler of its own (the local stack's)."""

    def __init__(self, level: int = logging.NOTSET, *, terminal: bool = True) -> None:
        super().__init__(level)
        self.terminal = terminal

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
            with _LOCK:
                for stream, level in _targets():
                    if not self.terminal and stream is sys.stderr:
                        continue
                    if record.levelno >= level:
                        # print, not stream.write: tests/infra/aws_calls.py follows calls by name,
                        # and a write() of an adapter writes to DynamoDB.
                        print(line, end="", file=stream, flush=True)
        except Exception:
            self.handleError(record)


def close_files() -> None:
    """Close the log files this process opened (the local stack calls it when it stops)."""
    with _LOCK:
        for stream in _FILES.values():
            stream.close()
        _FILES.clear()


@functools.cache
def _route_module_loggers() -> None:
    """Send the function packages' module loggers through a JSON sink instead of the root
    logger (Lambda's runtime would print them as its own lines, without our keys)."""
    for name in FUNCTION_PACKAGES:
        module_logger = logging.getLogger(name)
        handler = Sink()
        handler.setFormatter(LambdaPowertoolsFormatter(service="storepulse", utc=True))
        module_logger.handlers = [handler]
        module_logger.propagate = False
        module_logger.setLevel(_level())


_FUNCTION_LOGGERS: dict[str, Logger] = {}
_LOGGERS_LOCK = threading.Lock()  # not _LOCK: making a logger may write a line through a Sink


def function_logger(service: str) -> Logger:
    """The Powertools logger of the function ``service``, writing JSON to this process's sink;
    the function packages' module loggers write the same JSON.

    One per service in a process: Powertools configures a service's ``logging.Logger`` once,
    so a second ``Logger`` of the same service would keep a handler without its formatter and
    fail at its first ``append_keys`` (the local stack runs every handler in one process)."""
    _route_module_loggers()
    with _LOGGERS_LOCK:
        if service not in _FUNCTION_LOGGERS:
            _FUNCTION_LOGGERS[service] = Logger(
                service=service, level=_level(), logger_handler=Sink(), utc=True
            )
        return _FUNCTION_LOGGERS[service]


def current_keys() -> dict[str, Any]:
    """The context-local keys of the running invocation (``correlation_id``, ...)."""
    return dict(THREAD_LOCAL_KEYS.get())


def current_correlation_id() -> str | None:
    """The correlation id of the running invocation, if any."""
    return current_keys().get(CORRELATION_ATTRIBUTE)


@contextmanager
def keys(**values: Any) -> Iterator[None]:
    """Context-local keys on every line written inside the block (``None`` values are left
    out); the keys from before the block are back after it."""
    before = current_keys()
    set_context_keys(**{k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        clear_context_keys()
        if before:
            set_context_keys(**before)


def _header(headers: Mapping[str, Any] | None, name: str) -> Any:
    lowered = name.lower()
    return next((v for k, v in (headers or {}).items() if k.lower() == lowered), None)


def request_correlation_id(event: Mapping[str, Any]) -> str:
    """The correlation id of an API Gateway proxy request: its valid ``X-Correlation-Id``
    header, else API Gateway's request id, else a new one.

    >>> request_correlation_id({"headers": {"x-correlation-id": "c-1"}})
    'c-1'
    >>> request_correlation_id({"headers": {}, "requestContext": {"requestId": "r-9"}})
    'r-9'
    """
    given = valid_correlation_id(_header(event.get("headers"), CORRELATION_HEADER))
    context = event.get("requestContext") or {}
    from_gateway = valid_correlation_id(context.get("requestId")) if isinstance(context, Mapping) else None
    return given or from_gateway or uuid.uuid4().hex


def http_function(logger: Logger) -> Callable[[Handler], Handler]:
    """Decorate an API Gateway handler: Powertools' Lambda context keys, the request's
    correlation id on every line, and in the response's ``X-Correlation-Id`` header."""

    def decorate(handler: Handler) -> Handler:
        @logger.inject_lambda_context
        @functools.wraps(handler)
        def wrapped(event: dict[str, Any], context: Any) -> Any:
            correlation_id = request_correlation_id(event if isinstance(event, Mapping) else {})
            with keys(service=logger.service, correlation_id=correlation_id):
                response = handler(event, context)
            if isinstance(response, dict):
                headers = response.get("headers")
                response["headers"] = {**(headers or {}), CORRELATION_HEADER: correlation_id}
                multi = response.get("multiValueHeaders")
                if isinstance(multi, dict):
                    multi[CORRELATION_HEADER] = [correlation_id]
            return response

        return wrapped

    return decorate


def function(logger: Logger) -> Callable[[Handler], Handler]:
    """Decorate a handler that is not behind API Gateway (queues, schedules): Powertools' Lambda
    context keys, and the function's service name on the module loggers' lines too."""

    def decorate(handler: Handler) -> Handler:
        @logger.inject_lambda_context
        @functools.wraps(handler)
        def wrapped(event: dict[str, Any], context: Any) -> Any:
            with keys(service=logger.service):
                return handler(event, context)

        return wrapped

    return decorate


def message_correlation_id(attributes: Mapping[str, Any] | None) -> str | None:
    """The correlation id an SQS record carries in its message attributes (Lambda's event
    shape: ``{"correlation_id": {"stringValue": ..., "dataType": "String"}}``)."""
    attribute = (attributes or {}).get(CORRELATION_ATTRIBUTE)
    if isinstance(attribute, Mapping):
        return valid_correlation_id(attribute.get("stringValue"))
    return None
