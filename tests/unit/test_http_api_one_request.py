"""The local API Gateway runs one request at a time, as a Lambda environment does.

Powertools keeps the request being resolved in a class attribute (``BaseRouter.current_event``)
shared by every resolver of the process, so two requests resolved at once in this threaded
server would read each other's bodies. The handler here is a real Powertools resolver that
yields the processor between taking its request and reading it, which is where a second
request would overwrite it.
"""

from __future__ import annotations

import io
import json
import threading
import time
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from devstack.http_api import ApiGateway, Route
from devstack.pollers import Activity

CLIENTS = 8


def _echo_function() -> Route:
    app = APIGatewayRestResolver()

    @app.post("/v1/echo")
    def echo() -> dict[str, Any]:
        first = app.current_event.json_body
        time.sleep(0.05)  # another request, if it ran now, would replace current_event
        return {"first": first, "then": app.current_event.json_body}

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    return Route("echo", handler, timeout=5.0, memory=128)


def _call(gateway: ApiGateway, body: bytes) -> tuple[str, dict[str, Any]]:
    status: list[str] = []
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v1/echo",
        "QUERY_STRING": "",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body),
    }
    chunks = gateway(environ, lambda line, headers: status.append(line))  # type: ignore[arg-type]
    return status[0], json.loads(b"".join(chunks))


def test_concurrent_requests_each_see_their_own_body() -> None:
    route = _echo_function()
    gateway = ApiGateway(
        lambda method, path: route, Activity(), region="us-east-1", account_id="123456789012"
    )
    answers: dict[int, tuple[str, dict[str, Any]]] = {}
    start = threading.Barrier(CLIENTS)

    def client(n: int) -> None:
        start.wait()
        answers[n] = _call(gateway, json.dumps({"client": n}).encode())

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == list(range(CLIENTS))
    for n, (status, body) in answers.items():
        assert status.startswith("200"), (status, body)
        assert body == {"first": {"client": n}, "then": {"client": n}}
