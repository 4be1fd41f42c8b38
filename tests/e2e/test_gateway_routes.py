"""The local HTTP front refuses what API Gateway refuses: the route table of infra/stack.json
(which infra/api.tf follows) decides which routes need one of the stage's keys, before any
function runs, with the gateway responses' bodies."""

from __future__ import annotations

import pytest
import requests

from devstack.gateway import INVALID_API_KEY, MISSING_AUTHENTICATION_TOKEN
from tests.conftest import StackFixture

GATEWAY_401 = {"error": {"code": INVALID_API_KEY.code, "message": INVALID_API_KEY.message, "details": []}}
GATEWAY_404 = {
    "error": {
        "code": MISSING_AUTHENTICATION_TOKEN.code,
        "message": MISSING_AUTHENTICATION_TOKEN.message,
        "details": [],
    }
}


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("GET", "/v1/metrics/summary?start=2025-03-01&end=2025-03-02", None),
        ("GET", "/v1/alerts?since=2025-03-01", "not-a-key"),
        ("POST", "/v1/events", None),
        ("GET", "/v1/reports", None),
        ("GET", "/v1/reports/r-1", None),
        ("DELETE", "/v1/subscriptions/s-1", "not-a-key"),
    ],
)
def test_a_route_that_needs_a_key_is_refused_by_the_gateway_without_one(
    stack: StackFixture, method: str, path: str, key: str | None
) -> None:
    headers = {"x-api-key": key} if key else {}
    response = requests.request(method, stack.api_url + path, headers=headers, timeout=10)
    assert (response.status_code, response.json()) == (401, GATEWAY_401)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/health"),
        ("GET", "/v1/unsubscribe?token=forged"),
        ("POST", "/v1/unsubscribe?token=forged"),
        ("GET", "/v1/reports/r-1/download?token=forged"),
    ],
)
def test_the_links_of_a_digest_reach_the_api_without_a_key(
    stack: StackFixture, method: str, path: str
) -> None:
    # The function answers (its own words about the token), not the gateway
    response = requests.request(method, stack.api_url + path, timeout=10)
    assert response.status_code < 500
    assert response.status_code != 401 and INVALID_API_KEY.message not in response.text, response.text


def test_a_method_the_route_table_does_not_have_is_no_route(stack: StackFixture) -> None:
    response = requests.post(stack.api_url + "/v1/reports/r-1/download?token=forged", timeout=10)
    assert (response.status_code, response.json()) == (404, GATEWAY_404)


def test_either_key_passes_the_gateway_and_the_function_keeps_roles_apart(stack: StackFixture) -> None:
    # The gateway knows both keys; the read API itself refuses the ingest key
    path = "/v1/alerts?since=2025-03-01"
    assert (
        requests.get(stack.api_url + path, headers={"x-api-key": stack.read_key}, timeout=10).status_code
        == 200
    )
    refused = requests.get(stack.api_url + path, headers={"x-api-key": stack.ingest_key}, timeout=10)
    assert refused.status_code in (401, 403) and refused.json() != GATEWAY_401
