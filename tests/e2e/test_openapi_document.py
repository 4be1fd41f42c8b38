"""``/v1/openapi.json`` is typed: the key scheme and the routes that need none, the events body
from the pydantic models, and the error body the API really sends; live answers validate
against it."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import requests

from backend.api.openapi import PUBLIC_PATHS
from backend.api.responses import RESPONSES
from devstack.spec import load_stack_spec
from tests.conftest import StackFixture

EVENT: dict[str, Any] = {
    "event_id": "openapi-1",
    "type": "product.upserted",
    "occurred_at": "2025-03-01T10:00:00Z",
    "data": {"sku": "MUG-1", "name": "Mug", "category": "kitchen", "price": "12.00", "reorder_point": 5},
}


def _document(stack: StackFixture) -> dict[str, Any]:
    response = requests.get(
        stack.api_url + "/v1/openapi.json", headers={"x-api-key": stack.read_key}, timeout=10
    )
    assert response.status_code == 200
    return dict(response.json())


def _validator(document: dict[str, Any], name: str) -> jsonschema.protocols.Validator:
    # The components resolve against the whole document ($ref: #/components/schemas/...).
    schema = {**document["components"]["schemas"][name], "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


def test_the_document_names_the_key_scheme_and_the_public_routes(stack: StackFixture) -> None:
    document = _document(stack)
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "the ingest or the read key",
    }
    assert document["security"] == [{"apiKey": []}]
    for path in PUBLIC_PATHS:
        for operation in document["paths"][path].values():
            assert operation["security"] == [], path
    # The public routes are those API Gateway lets through without a key
    keyless = {route.path for route in load_stack_spec().routes if not route.api_key}
    assert keyless - {"/v1/docs", "/v1/docs/{proxy+}"} == PUBLIC_PATHS


def test_every_refusal_is_described_with_the_error_body(stack: StackFixture) -> None:
    document = _document(stack)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)


def test_live_answers_validate_against_the_document(stack: StackFixture) -> None:
    document = _document(stack)
    batch = {"events": [EVENT]}
    # The events body is described by the pydantic models: a valid batch validates, a wrong one not
    _validator(document, "EventBatch").validate(batch)
    wrong = {"events": [{**EVENT, "data": {**EVENT["data"], "surprise": 1}}]}
    assert list(_validator(document, "EventBatch").iter_errors(wrong))
    accepted = requests.post(
        stack.api_url + "/v1/events", json=batch, headers={"x-api-key": stack.ingest_key}, timeout=10
    )
    assert accepted.status_code == 202
    _validator(document, "IngestResult").validate(accepted.json())
    # Each refusal's body is the Error schema: bad parameters, no key, unknown route
    refusals = [
        requests.get(
            stack.api_url + "/v1/metrics/summary?start=2025-13-01&end=x",
            headers={"x-api-key": stack.read_key},
            timeout=10,
        ),
        requests.get(stack.api_url + "/v1/alerts", timeout=10),
        requests.get(stack.api_url + "/v1/nothing-here", headers={"x-api-key": stack.read_key}, timeout=10),
        requests.post(
            stack.api_url + "/v1/events",
            data="{not json",
            headers={"x-api-key": stack.ingest_key},
            timeout=10,
        ),
    ]
    for refusal in refusals:
        assert 400 <= refusal.status_code < 500, refusal.text
        _validator(document, "Error").validate(refusal.json())


def test_swagger_ui_is_served_without_a_cdn_or_a_key(stack: StackFixture) -> None:
    # Given the docs page, fetched as a browser would (no key)
    page = requests.get(stack.api_url + "/v1/docs", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    # Then everything it loads comes from the API itself, relative to /v1/docs
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources == ["docs/swagger-ui.css", "docs/swagger-ui-bundle.js"]
    for source in sources:
        loaded = requests.get(f"{stack.api_url}/v1/{source}", timeout=10)
        assert loaded.status_code == 200 and len(loaded.text) > 10_000, source
    # and the page holds the document itself
    assert '"securitySchemes"' in page.text and '"/v1/events"' in page.text
    assert requests.get(stack.api_url + "/v1/docs/../../etc/passwd", timeout=10).status_code == 404
    assert requests.get(stack.api_url + "/v1/docs/index.j2", timeout=10).status_code == 404


def test_a_cohort_month_in_year_zero_is_a_named_4xx_not_a_500(stack: StackFixture) -> None:
    # Found by schemathesis (tests/e2e/test_schemathesis.py): 0000-01 matches YYYY-MM
    response = requests.get(
        stack.api_url + "/v1/customers/cohorts?start_month=0000-01&end_month=0000-01",
        headers={"x-api-key": stack.read_key},
        timeout=10,
    )
    # (a month outside 1900-2999 is refused by its pattern: a 422 naming both parameters)
    assert response.status_code in (400, 422), response.text
    named = {detail["parameter"] for detail in response.json()["error"]["details"]}
    assert named == {"start_month", "end_month"}


# Routes whose success is not a JSON body: pages (HTML), a redirect, the document itself.
NOT_JSON = {
    ("/v1/unsubscribe", "get"),
    ("/v1/unsubscribe", "post"),
    ("/v1/confirm", "get"),
    ("/v1/confirm", "post"),
    ("/v1/reports/{report_id}/download", "get"),
    ("/v1/openapi.json", "get"),
}


def test_every_read_route_has_a_typed_body(stack: StackFixture) -> None:
    # Given the document's routes
    document = _document(stack)
    routes = {(path, method) for path, operations in document["paths"].items() for method in operations}
    # Then each read route that answers JSON has a model in backend/api/responses.py
    reads = {(path, method) for path, method in routes if method == "get"}
    untyped = sorted(reads - set(RESPONSES) - NOT_JSON)
    assert untyped == [], f"add a model for each to RESPONSES in backend/api/responses.py: {untyped}"
    assert set(RESPONSES) <= routes
    # the digest's pages are described as the HTML they are
    for path in ("/v1/unsubscribe", "/v1/confirm"):
        for operation in document["paths"][path].values():
            assert set(operation["responses"]["200"]["content"]) == {"text/html"}, path
    for path, method in RESPONSES:
        responses = document["paths"][path][method]["responses"]
        (status,) = [s for s in responses if s.startswith("2")]
        schema = responses[status]["content"]["application/json"]["schema"]
        model = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        assert model["examples"], (path, method)
        # the examples are themselves valid bodies
        for example in model["examples"]:
            _validator(document, schema["$ref"].rsplit("/", 1)[1]).validate(example)


def test_every_typed_route_answers_what_the_document_says(stack: StackFixture) -> None:
    # Given a store with a product, stock, a customer and an order
    day = "2025-03-03"
    events = [
        EVENT,
        {
            "event_id": "openapi-stock",
            "type": "inventory.adjusted",
            "occurred_at": f"{day}T08:00:00Z",
            "data": {"sku": "MUG-1", "delta": 20, "reason": "restock"},
        },
        {
            "event_id": "openapi-customer",
            "type": "customer.registered",
            "occurred_at": f"{day}T08:00:00Z",
            "data": {"customer_id": "c-openapi", "country": "FR"},
        },
        {
            "event_id": "openapi-order",
            "type": "order.placed",
            "occurred_at": f"{day}T09:00:00Z",
            "data": {
                "order_id": "o-openapi",
                "customer_id": "c-openapi",
                "lines": [{"sku": "MUG-1", "quantity": 2, "unit_price": "12.00"}],
                "currency": "USD",
            },
        },
    ]
    sent = requests.post(
        stack.api_url + "/v1/events",
        json={"events": events},
        headers={"x-api-key": stack.ingest_key},
        timeout=10,
    )
    assert sent.status_code == 202, sent.text
    stack.wait_idle(30)
    document = _document(stack)
    key = {"x-api-key": stack.read_key}
    api = stack.api_url
    report = requests.post(
        api + "/v1/reports", json={"type": "sales_summary", "start": day, "end": day}, headers=key, timeout=10
    )
    subscription = requests.post(
        api + "/v1/subscriptions",
        json={"email": "openapi@example.com", "frequency": "weekly", "report_type": "inventory"},
        headers=key,
        timeout=10,
    )
    assert report.status_code == 202 and subscription.status_code == 201, (report.text, subscription.text)
    report_id, subscription_id = report.json()["report_id"], subscription.json()["subscription_id"]
    range_ = {"start": day, "end": "2025-03-09"}
    # When every typed route is asked
    answers = {
        ("/v1/health", "get"): requests.get(api + "/v1/health", timeout=10),
        ("/v1/metrics/summary", "get"): requests.get(
            api + "/v1/metrics/summary",
            params={**range_, "compare": "previous_period"},
            headers=key,
            timeout=10,
        ),
        ("/v1/metrics/sales", "get"): requests.get(
            api + "/v1/metrics/sales", params={**range_, "granularity": "week"}, headers=key, timeout=10
        ),
        ("/v1/metrics/channels", "get"): requests.get(
            api + "/v1/metrics/channels", params=range_, headers=key, timeout=10
        ),
        ("/v1/products/top", "get"): requests.get(
            api + "/v1/products/top", params=range_, headers=key, timeout=10
        ),
        ("/v1/products/{sku}", "get"): requests.get(
            api + "/v1/products/MUG-1", params=range_, headers=key, timeout=10
        ),
        ("/v1/products/pairs", "get"): requests.get(
            api + "/v1/products/pairs", params=range_, headers=key, timeout=10
        ),
        ("/v1/products/{sku}/together", "get"): requests.get(
            api + "/v1/products/MUG-1/together", params=range_, headers=key, timeout=10
        ),
        ("/v1/customers/cohorts", "get"): requests.get(
            api + "/v1/customers/cohorts",
            params={"start_month": "2025-02", "end_month": "2025-03"},
            headers=key,
            timeout=10,
        ),
        ("/v1/customers/segments", "get"): requests.get(
            api + "/v1/customers/segments", headers=key, timeout=10
        ),
        ("/v1/inventory", "get"): requests.get(api + "/v1/inventory", headers=key, timeout=10),
        ("/v1/alerts", "get"): requests.get(api + "/v1/alerts", headers=key, timeout=10),
        ("/v1/reports", "get"): requests.get(api + "/v1/reports", headers=key, timeout=10),
        ("/v1/reports", "post"): report,
        ("/v1/reports/{report_id}", "get"): requests.get(
            api + f"/v1/reports/{report_id}", headers=key, timeout=10
        ),
        ("/v1/subscriptions", "get"): requests.get(api + "/v1/subscriptions", headers=key, timeout=10),
        ("/v1/subscriptions", "post"): subscription,
        ("/v1/subscriptions/{subscription_id}", "delete"): requests.delete(
            api + f"/v1/subscriptions/{subscription_id}", headers=key, timeout=10
        ),
    }
    # Then each answer validates against its route's success schema in the document
    assert set(answers) == set(RESPONSES)
    for (path, method), answer in answers.items():
        assert answer.status_code < 300, (path, answer.text)
        schema = document["paths"][path][method]["responses"][str(answer.status_code)]["content"]
        name = schema["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        _validator(document, name).validate(answer.json())
    # and the data is really there (not only empty lists validating)
    assert answers[("/v1/inventory", "get")].json()["items"]
    assert answers[("/v1/products/top", "get")].json()["products"]
    assert answers[("/v1/products/{sku}", "get")].json()["series"]
