"""The dashboard's logs: one JSON object per line, with the correlation id of the page request.

The backend's functions log through Powertools (:mod:`backend.logs`); the dashboard ships without
the backend's packages (``requirements-dashboard.txt``), so it writes the same shape of line
with the standard library: ``timestamp``, ``level``, ``service`` (``storepulse-dashboard``),
``location``, ``message`` and, inside a request, ``correlation_id``. Each request of the
dashboard gets one: the request's ``X-Correlation-Id`` header when it is a valid id, else API
Gateway's request id (Zappa passes the event in the WSGI environ), else a new one. It is sent
back in the response's ``X-Correlation-Id`` header and sent on to the read API with every call
the request makes (:mod:`dashboard.api`), so the read API's lines carry the same id: one search
finds a page view and the reads behind it (``docs/operations.md``).

Each request writes one ``INFO`` line when it ends: method, path (for a Dash callback, the
output it updates), status and duration. Lines go to standard error (Lambda keeps each line as
one log event); when ``STOREPULSE_LOG_FILE`` is set (the local stack), they go to that file, the
one the functions write, and only warnings and errors still reach the terminal. No query
string, e-mail, key or cookie is ever logged.

Examples
--------
>>> valid_correlation_id("page-1"), valid_correlation_id("a b")
('page-1', None)
>>> record = logging.LogRecord("dashboard.x", logging.WARNING, "x.py", 3, "hello %s", ("you",), None)
>>> line = json.loads(JsonFormatter().format(record))
>>> line["level"], line["message"], line["service"], line["location"]
('WARNING', 'hello you', 'storepulse-dashboard', 'x.py:3')
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from flask import Flask, Response, request

SERVICE = "storepulse-dashboard"
CORRELATION_HEADER = "X-Correlation-Id"
LOG_FILE_ENV = "STOREPULSE_LOG_FILE"
_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:/-]{1,128}")
_correlation: ContextVar[str | None] = ContextVar("dashboard_correlation_id", default=None)
_LOCK = threading.Lock()
_FILES: dict[str, IO[str]] = {}
logger = logging.getLogger(__name__)


def valid_correlation_id(value: object) -> str | None:
    """``value`` when it can be a correlation id (1-128 characters of ``[A-Za-z0-9._:/-]``,
    as :func:`backend.logs.valid_correlation_id`), else ``None``."""
    if isinstance(value, str) and _CORRELATION_ID.fullmatch(value):
        return value
    return None


def current_correlation_id() -> str | None:
    """The correlation id of the request being served, if any."""
    return _correlation.get()


class JsonFormatter(logging.Formatter):
    """A record as one JSON object, in the keys of the backend's Powertools lines."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": SERVICE,
            "location": f"{record.filename}:{record.lineno}",
            "logger": record.name,
            "message": record.getMessage(),
        }
        correlation_id = current_correlation_id()
        if correlation_id:
            line["correlation_id"] = correlation_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class Sink(logging.Handler):
    """Writes each line whole to standard error and, when set, the local stack's log file."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
            with _LOCK:
                for stream, level in _targets():
                    if record.levelno >= level:
                        stream.write(line)
                        stream.flush()
        except Exception:
            self.handleError(record)


def _targets() -> list[tuple[IO[str], int]]:
    path = os.environ.get(LOG_FILE_ENV)
    if not path:
        return [(sys.stderr, logging.NOTSET)]
    stream = _FILES.get(path)
    if stream is None or stream.closed:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        stream = _FILES[path] = open(path, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
    return [(stream, logging.NOTSET), (sys.stderr, logging.WARNING)]


def configure() -> None:
    """Send the ``dashboard`` package's loggers through the JSON sink (once per process)."""
    package = logging.getLogger("dashboard")
    if any(isinstance(handler, Sink) for handler in package.handlers):
        return
    handler = Sink()
    handler.setFormatter(JsonFormatter())
    package.handlers = [handler]
    package.propagate = False
    package.setLevel(os.environ.get("LOG_LEVEL") or "INFO")


def _request_correlation_id() -> str:
    given = valid_correlation_id(request.headers.get(CORRELATION_HEADER))
    if given:
        return given
    event = request.environ.get("lambda.event")
    if isinstance(event, dict):
        request_id = valid_correlation_id((event.get("requestContext") or {}).get("requestId"))
        if request_id:
            return request_id
    return uuid.uuid4().hex


def _what(path: str) -> str:
    """The request's path; for a Dash callback, also the output it updates (``id.prop``)."""
    if request.method == "POST" and path.endswith("/_dash-update-component"):
        body = request.get_json(silent=True)
        output = body.get("output") if isinstance(body, dict) else None
        if isinstance(output, str):
            return f"{path} {output[:200]}"
    return path


def install(server: Flask) -> None:
    """Give each request of ``server`` its correlation id, send it back in the response, and
    write one line per request when it ends."""
    configure()

    @server.before_request
    def _begin() -> None:
        _correlation.set(_request_correlation_id())
        request.environ["storepulse.started"] = time.perf_counter()

    @server.after_request
    def _end(response: Response) -> Response:
        correlation_id = current_correlation_id()
        if correlation_id:
            response.headers[CORRELATION_HEADER] = correlation_id
        started = request.environ.get("storepulse.started")
        elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
        logger.info("%s %s %s in %.0f ms", request.method, _what(request.path), response.status_code, elapsed)
        return response

    @server.teardown_request
    def _clear(_: BaseException | None) -> None:
        _correlation.set(None)
