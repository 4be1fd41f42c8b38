"""The local API Gateway: real HTTP requests become REST (v1) proxy events and back.

A stub function is served by the same server class the stack uses, on a free port.
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import requests

from devstack.aws import free_port
from devstack.http_api import MAX_PAYLOAD_BYTES, ApiGateway, HttpServer, Route
from devstack.pollers import Activity

if TYPE_CHECKING:
    from tests.conftest import StackFixture


class Echo:
    """A function that records its event and answers what the test asks."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self.answer: Any = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        self.contexts.append(context)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
def echo() -> Iterator[tuple[Echo, str]]:
    function = Echo()
    app = ApiGateway(
        lambda method, path: Route("api", function, timeout=10, memory=512),
        Activity(),
        region="us-east-1",
        account_id="123456789012",
    )
    server = HttpServer(app, port=free_port())
    server.start()
    yield function, server.url
    server.stop()


def test_get_becomes_a_proxy_event(echo: tuple[Echo, str]) -> None:
    function, url = echo
    # When a GET with a repeated query parameter and a custom header arrives
    response = requests.get(
        f"{url}/v1/metrics/summary?start=2025-03-01&end=2025-03-02&tag=a&tag=b%20c",
        headers={"X-Api-Key": "secret", "Accept": "application/json"},
        timeout=5,
    )
    # Then the function got API Gateway's REST proxy event
    assert response.status_code == 200
    (event,) = function.events
    assert event["resource"] == "/{proxy+}"
    assert event["path"] == "/v1/metrics/summary"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"proxy": "v1/metrics/summary"}
    assert event["headers"]["X-Api-Key"] == "secret"
    assert event["multiValueHeaders"]["X-Api-Key"] == ["secret"]
    assert event["queryStringParameters"] == {"start": "2025-03-01", "end": "2025-03-02", "tag": "b c"}
    assert event["multiValueQueryStringParameters"]["tag"] == ["a", "b c"]
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "local"
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/v1/metrics/summary"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["requestId"] == response.headers["x-amzn-RequestId"]
    # And a Lambda context with the function's settings
    (lambda_context,) = function.contexts
    assert lambda_context.function_name == "api"
    assert lambda_context.memory_limit_in_mb == 512
    assert lambda_context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:api"
    assert 0 < lambda_context.get_remaining_time_in_millis() <= 10_000


def test_no_query_string_gives_nulls(echo: tuple[Echo, str]) -> None:
    function, url = echo
    requests.get(f"{url}/v1/health", timeout=5)
    (event,) = function.events
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_text_body_is_a_string_and_binary_is_base64(echo: tuple[Echo, str]) -> None:
    function, url = echo
    requests.post(f"{url}/v1/events", data='{"events": ["é"]}'.encode(), timeout=5)
    requests.post(f"{url}/v1/upload", data=b"\xff\x00\xfe", timeout=5)
    text, binary = function.events
    assert (text["body"], text["isBase64Encoded"]) == ('{"events": ["é"]}', False)
    assert (base64.b64decode(binary["body"]), binary["isBase64Encoded"]) == (b"\xff\x00\xfe", True)


def test_proxy_response_becomes_the_http_response(echo: tuple[Echo, str]) -> None:
    function, url = echo
    function.answer = {
        "statusCode": 201,
        "headers": {"Content-Type": "application/pdf", "X-One": "ignored"},
        "multiValueHeaders": {"X-One": ["1"], "Set-Cookie": ["a=1", "b=2"]},
        "body": base64.b64encode(b"%PDF-1.7").decode(),
        "isBase64Encoded": True,
    }
    response = requests.get(f"{url}/v1/reports/r1", timeout=5)
    assert response.status_code == 201
    assert response.content == b"%PDF-1.7"
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-One"] == "1"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_a_raising_function_is_a_500_in_words(echo: tuple[Echo, str]) -> None:
    function, url = echo
    function.answer = RuntimeError("table storepulse-analytics: secret detail")
    response = requests.get(f"{url}/v1/health", timeout=5)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal"
    assert response.headers["x-amzn-RequestId"] in error["message"]
    assert error["details"] == []
    assert "Traceback" not in response.text and "secret detail" not in response.text


def test_a_malformed_response_is_a_502(echo: tuple[Echo, str]) -> None:
    function, url = echo
    function.answer = {"body": "no status"}
    response = requests.get(f"{url}/v1/health", timeout=5)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "internal"


def test_a_body_over_10_mb_is_refused_before_the_function(echo: tuple[Echo, str]) -> None:
    function, url = echo
    # Only the headers are sent: the refusal must not need the body
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=5)
    connection.putrequest("POST", "/v1/events")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(MAX_PAYLOAD_BYTES + 1))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["error"]["code"] == "payload_too_large"
    connection.close()
    assert function.events == []


def test_a_body_of_exactly_10_mb_reaches_the_function(echo: tuple[Echo, str]) -> None:
    function, url = echo
    requests.post(f"{url}/v1/events", data=b"x" * MAX_PAYLOAD_BYTES, timeout=30)
    (event,) = function.events
    assert len(event["body"]) == MAX_PAYLOAD_BYTES


def test_the_stack_routes_ingest_and_everything_else(stack: StackFixture) -> None:
    assert stack.local.route("POST", "/v1/events").function_name == "ingest"
    assert stack.local.route("GET", "/v1/events").function_name == "api"
    assert stack.local.route("GET", "/v1/metrics/summary").function_name == "api"
    assert stack.local.route("DELETE", "/v1/subscriptions/s1").function_name == "api"
