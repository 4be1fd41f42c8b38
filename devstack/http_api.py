"""The local API Gateway: real HTTP requests in, REST API (v1) Lambda proxy events out.

Each request becomes the event API Gateway gives a Lambda proxy integration on a
``/{proxy+}`` resource, the routed handler is called with it, and its proxy response becomes
the HTTP response. The local server behaves like a custom domain mapped to the ``local``
stage: paths carry no stage prefix.
"""

from __future__ import annotations

import base64
import errno
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from devstack.aws import port_in_use
from devstack.gateway import Refusal
from devstack.runtime import Handler, new_context

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from devstack.journal import Journal
    from devstack.pollers import Activity

logger = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's hard limit for a request payload
STAGE = "local"
_RAW_HEADERS = "storepulse.raw_headers"
# Powertools keeps the request being resolved in a class attribute (BaseRouter.current_event),
# shared by every resolver of the process. A Lambda environment runs one request at a time, so
# that is safe there; this threaded server must do the same or concurrent requests would read
# each other's bodies.
_ONE_REQUEST_AT_A_TIME = threading.Lock()
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    307: "Temporary Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class Route:
    """The function that serves a request."""

    function_name: str
    handler: Handler
    timeout: float
    memory: int


Router = Callable[[str, str], Route]
# gate(method, path, x-api-key) -> the gateway's refusal, or None to let the request through.
Gate = Callable[[str, str, str | None], "Refusal | None"]


def error_body(code: str, message: str) -> bytes:
    """The product's error shape (CONTRACT section 4) as JSON bytes."""
    return json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()


def _single_and_multi(
    pairs: Iterable[tuple[str, str]], *, fold_case: bool
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}
    for name, value in pairs:
        # Header names are case-insensitive: the first spelling seen is kept for all values.
        key = spelled.setdefault(name.lower(), name) if fold_case else name
        single[key] = value
        multi.setdefault(key, []).append(value)
    return (single or None), (multi or None)


def build_proxy_event(
    *,
    method: str,
    path: str,
    query_string: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    source_ip: str,
    account_id: str,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The API Gateway REST (v1) proxy event for one HTTP request.

    Parameters
    ----------
    method, path, query_string
        From the request line; ``path`` already percent-decoded, ``query_string`` raw.
    headers
        The headers as sent, in order (repeated names allowed).
    body
        The raw body; text bodies are passed as ``str``, others base64-encoded.
    source_ip
        The client's address (``requestContext.identity.sourceIp``).
    account_id
        The account of the stack's resources.
    request_id
        API Gateway's request id; a new UUID by default.

    Examples
    --------
    >>> event = build_proxy_event(method="GET", path="/v1/health", query_string="a=1&a=2",
    ...     headers=[("Host", "x")], body=b"", source_ip="127.0.0.1", account_id="1")
    >>> event["queryStringParameters"], event["multiValueQueryStringParameters"]
    ({'a': '2'}, {'a': ['1', '2']})
    """
    request_id = request_id or str(uuid.uuid4())
    single_headers, multi_headers = _single_and_multi(headers, fold_case=True)
    query, multi_query = _single_and_multi(parse_qsl(query_string, keep_blank_values=True), fold_case=False)
    text: str | None = None
    encoded = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode("ascii"), True
    resource = "/{proxy+}" if path != "/" else "/"
    now = datetime.now(UTC)
    header_value = {name.lower(): value for name, value in headers}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": {"proxy": path.lstrip("/")} if resource != "/" else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": account_id,
            "apiId": "local",
            "domainName": header_value.get("host", "127.0.0.1"),
            "domainPrefix": header_value.get("host", "127.0.0.1").split(".", 1)[0],
            "extendedRequestId": request_id,
            "httpMethod": method,
            "identity": {
                "sourceIp": source_ip,
                "userAgent": header_value.get("user-agent"),
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
            },
            "path": path,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": "local",
            "resourcePath": resource,
            "stage": STAGE,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


class MalformedResponse(ValueError):
    """A handler's result that API Gateway would answer with 502."""


def proxy_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body bytes from a handler's proxy response.

    ``multiValueHeaders`` win over ``headers`` for the same name, as in API Gateway.

    Raises
    ------
    MalformedResponse
        When ``result`` is not a proxy response (API Gateway's 502).
    """
    if not isinstance(result, Mapping) or not isinstance(result.get("statusCode"), int):
        raise MalformedResponse("the handler's result has no integer statusCode")
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise MalformedResponse("the handler's body is not a string")
    elif result.get("isBase64Encoded"):
        payload = base64.b64decode(body)
    else:
        payload = body.encode("utf-8")
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    multi_names = {name.lower() for name in multi}
    for name, value in (result.get("headers") or {}).items():
        if name.lower() not in multi_names:
            headers.append((name, str(value)))
    for name, values in multi.items():
        headers += [(name, str(value)) for value in values]
    headers = [(n, v) for n, v in headers if n.lower() not in ("content-length", "transfer-encoding")]
    return int(result["statusCode"]), headers, payload


class ApiGateway:
    """The WSGI application standing in for API Gateway.

    Parameters
    ----------
    router
        ``router(method, path)`` names the function for a request.
    activity
        Marks each request as work in progress (for ``wait_idle``).
    region, account_id
        For the Lambda context and ``requestContext``.
    max_payload_bytes
        Bodies above this get 413 before any handler runs.
    gate
        API Gateway's key and route rules (:func:`devstack.gateway.admit`); none by default.
    journal
        Where the events of each ``202`` of the ingest function go, on disk before the answer
        is sent (see :mod:`devstack.journal`).
    """

    def __init__(
        self,
        router: Router,
        activity: Activity,
        *,
        region: str,
        account_id: str,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        gate: Gate | None = None,
        journal: Journal | None = None,
    ):
        self.gate = gate
        self.journal = journal
        self.router = router
        self.activity = activity
        self.region = region
        self.account_id = account_id
        self.max_payload_bytes = max_payload_bytes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        request_id = str(uuid.uuid4())
        status, headers, payload = self._handle(environ, request_id)
        headers = [
            *headers,
            ("x-amzn-RequestId", request_id),
            ("Content-Length", str(len(payload))),
        ]
        start_response(f"{status} {_STATUS_TEXT.get(status, 'Status')}", headers)
        return [payload]

    def _read_body(self, environ: WSGIEnvironment) -> bytes | None:
        """The body, or ``None`` when it exceeds the limit (read no further than needed)."""
        length_text = environ.get("CONTENT_LENGTH") or ""
        stream = environ["wsgi.input"]
        if length_text.isdigit():
            length = int(length_text)
            if length > self.max_payload_bytes:
                return None
            return bytes(stream.read(length)) if length else b""
        if not environ.get("wsgi.input_terminated"):
            return b""
        body = bytes(stream.read(self.max_payload_bytes + 1))
        return None if len(body) > self.max_payload_bytes else body

    def _handle(self, environ: WSGIEnvironment, request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
        json_type = [("Content-Type", "application/json")]
        body = self._read_body(environ)
        if body is None:
            return (
                413,
                [*json_type, ("Connection", "close")],
                error_body(
                    "payload_too_large",
                    f"the request body is over API Gateway's {self.max_payload_bytes} byte limit",
                ),
            )
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace") or "/"
        refusal = self.gate(method, path, environ.get("HTTP_X_API_KEY")) if self.gate else None
        if refusal is not None:
            return refusal.status, json_type, error_body(refusal.code, refusal.message)
        route = self.router(method, path)
        event = build_proxy_event(
            method=method,
            path=path,
            query_string=environ.get("QUERY_STRING", ""),
            headers=environ.get(_RAW_HEADERS) or _headers_from_environ(environ),
            body=body,
            source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
            account_id=self.account_id,
            request_id=request_id,
        )
        context = new_context(
            route.function_name,
            memory=route.memory,
            timeout=route.timeout,
            region=self.region,
            account_id=self.account_id,
        )
        started = time.monotonic()
        now = datetime.now(UTC)
        with self.activity.working(route.function_name):
            try:
                with _ONE_REQUEST_AT_A_TIME:
                    result = route.handler(event, context)
                    if self.journal is not None and isinstance(result, Mapping):
                        self.journal.record(route.function_name, event, result, now)
            except Exception:
                logger.exception(
                    "%s raised on %s %s (request %s)", route.function_name, method, path, request_id
                )
                return (
                    500,
                    json_type,
                    error_body(
                        "internal",
                        f"the {route.function_name} function failed; the stack's log has the "
                        f"details under request id {request_id}",
                    ),
                )
        elapsed = time.monotonic() - started
        if elapsed > route.timeout:
            logger.error(
                "%s took %.1f s on %s %s, over its %.0f s timeout (Lambda would have stopped it)",
                route.function_name,
                elapsed,
                method,
                path,
                route.timeout,
            )
        try:
            return proxy_response(result)
        except MalformedResponse as exc:
            logger.error("%s on %s %s: %s", route.function_name, method, path, exc)
            return 502, json_type, error_body("internal", f"malformed response from {route.function_name}")


def requests_held() -> threading.Lock:
    """Held, no request of any local API Gateway runs (a snapshot takes it: an ingest request
    is then either wholly before the snapshot, journalled, or wholly after it)."""
    return _ONE_REQUEST_AT_A_TIME


def _headers_from_environ(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").title(), str(value)))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").title(), str(value)))
    return headers


class _RequestHandler(WSGIRequestHandler):
    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        # Headers exactly as the client sent them (case, order, underscores): werkzeug's
        # environ upper-cases names and drops those with underscores.
        environ[_RAW_HEADERS] = [(name, value) for name, value in self.headers.items()]
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The path only: query strings may hold tokens (unsubscribe links).
        logger.debug("%s %s -> %s", self.command, self.path.split("?", 1)[0], code)


class HttpServer:
    """A threaded HTTP server for a WSGI app on ``host:port``, in a background thread.

    Examples
    --------
    With a WSGI app to serve (so not run as a doctest)::

        server = HttpServer(app, port=8000)
        server.start(); server.url
        # 'http://127.0.0.1:8000'
    """

    def __init__(self, app: Any, *, port: int, host: str = "127.0.0.1", name: str = "http"):
        self.host = host
        self.port = port
        self.name = name
        self._app = app
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Bind and serve.

        Raises
        ------
        OSError
            When the port is taken.
        """
        if port_in_use(self.port, self.host):
            raise OSError(errno.EADDRINUSE, "address already in use")
        self._server = make_server(
            self.host, self.port, self._app, threaded=True, request_handler=_RequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name=f"{self.name}-server", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests; requests in progress finish on their own threads."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
