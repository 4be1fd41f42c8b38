"""Refusals raised below the API are domain errors; the API alone turns them into HTTP answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler.router import Router

from backend.api.app import build_app
from backend.domain.errors import InvalidRequest, NotAuthentic, Refused, TooLarge, TryAgain
from backend.processing import ingest
from tests.pipeline import context


def _answer(raised: Refused) -> dict[str, Any]:
    router = Router()

    @router.get("/v1/refuse")
    def refuse() -> None:
        raise raised

    app = build_app(router)
    event = {
        "httpMethod": "GET",
        "path": "/v1/refuse",
        "resource": "/v1/refuse",
        "headers": {},
        "queryStringParameters": None,
        "requestContext": {"httpMethod": "GET", "path": "/v1/refuse", "resourcePath": "/v1/refuse"},
        "body": None,
        "isBase64Encoded": False,
    }
    return app.resolve(event, context("api"))


@pytest.mark.parametrize(
    ("refusal", "status"),
    [
        (InvalidRequest("invalid_json", "the body is not valid JSON"), 400),
        (NotAuthentic("bad_signature", "X-Signature is missing"), 401),
        (TooLarge("too_many_events", "at most 500 per request"), 413),
        (TryAgain("publish_failed", "send the same batch again", [{"event_id": "e-1"}]), 503),
    ],
)
def test_each_kind_of_refusal_is_its_http_status_with_the_error_body(refusal: Refused, status: int) -> None:
    answer = _answer(refusal)
    assert answer["statusCode"] == status
    assert json.loads(answer["body"]) == {
        "error": {"code": refusal.code, "message": refusal.message, "details": refusal.details}
    }


def test_the_ingest_path_refuses_in_domain_terms_not_http() -> None:
    with pytest.raises(InvalidRequest) as invalid:
        ingest.read_request("{not json", currency="USD", pii_key="k")
    assert invalid.value.code == "invalid_json"
    with pytest.raises(TooLarge) as too_many:
        ingest.read_request(json.dumps({"events": [{}] * 501}), currency="USD", pii_key="k")
    assert too_many.value.code == "too_many_events"
    assert not hasattr(too_many.value, "status")
