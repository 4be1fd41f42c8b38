"""The typed parts of ``/v1/openapi.json`` that Powertools cannot infer from the routes.

Powertools describes the routes and their parameters; this adds what a client generator needs:
the ``x-api-key`` security scheme (and the routes that need no key), the ``POST /v1/events``
request body built from the pydantic event models, its ``202`` body, and the one error body every
refusal has (``{"error": {"code", "message", "details"}}``) in place of the validation body
Powertools advertises but the API never sends, and the ``200`` body of each read route from its
pydantic model (:data:`backend.api.responses.RESPONSES`), examples included.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from backend.api.responses import RESPONSES
from backend.domain.events import EVENT_TYPES, INBOUND_DATA, Envelope

# The routes API Gateway lets through without a key (infra/stack.json "routes"; a test keeps the
# two the same): the signed token of a digest link is their credential.
# The store connectors need none either: the platform's HMAC signature of the body is theirs.
CONNECTOR_PATHS = {
    "/v1/connectors/shopify": ("X-Shopify-Hmac-Sha256", "X-Shopify-Topic", "X-Shopify-Webhook-Id"),
    "/v1/connectors/woocommerce": (
        "X-WC-Webhook-Signature",
        "X-WC-Webhook-Topic",
        "X-WC-Webhook-Delivery-ID",
    ),
}
PUBLIC_PATHS = frozenset(
    {"/v1/health", "/v1/unsubscribe", "/v1/confirm", "/v1/reports/{report_id}/download", *CONNECTOR_PATHS}
)
MAX_EVENTS = 500
# The digest's links: pages for a person, not JSON.
HTML_PATHS = frozenset({"/v1/unsubscribe", "/v1/confirm"})
REF = "#/components/schemas/{model}"

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "examples": ["invalid_parameter"]},
                "message": {"type": "string", "examples": ["invalid parameter: start"]},
                "details": {"type": "array", "items": {}},
            },
        }
    },
    "examples": [
        {"error": {"code": "unauthorized", "message": "x-api-key is not a valid key", "details": []}}
    ],
}
INGEST_RESULT = {
    "type": "object",
    "required": ["accepted", "duplicates", "rejected"],
    "properties": {
        "accepted": {"type": "integer", "minimum": 0},
        "duplicates": {"type": "integer", "minimum": 0},
        "rejected": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "errors"],
                "properties": {
                    "index": {"type": "integer", "minimum": 0},
                    "event_id": {"type": ["string", "null"]},
                    "errors": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
    "examples": [{"accepted": 2, "duplicates": 1, "rejected": []}],
}
CONNECTOR_RECEIPT = {
    "type": "object",
    "required": ["status", "accepted", "duplicates"],
    "properties": {
        "status": {"enum": ["accepted", "duplicate", "ignored", "kept"]},
        "accepted": {"type": "integer", "minimum": 0},
        "duplicates": {"type": "integer", "minimum": 0},
        "reason": {"type": "string"},
        "event_ids": {"type": "array", "items": {"type": "string"}},
    },
    "examples": [{"status": "accepted", "accepted": 1, "duplicates": 0, "event_ids": ["shopify:b54557e4:0"]}],
}
EXAMPLE_EVENT = {
    "event_id": "evt-1001",
    "type": "order.placed",
    "occurred_at": "2025-03-01T10:00:00Z",
    "data": {
        "order_id": "1001",
        "customer_id": "c-42",
        "currency": "USD",
        "lines": [{"sku": "MUG-1", "quantity": 2, "unit_price": "12.00"}],
    },
}


def _event_schemas(components: dict[str, Any]) -> list[dict[str, Any]]:
    """One envelope schema per event type, its ``data`` the type's pydantic model."""
    envelope = Envelope.model_json_schema(ref_template=REF)
    variants = []
    for event_type in EVENT_TYPES:
        model = INBOUND_DATA[event_type]
        data = model.model_json_schema(ref_template=REF)
        components.update(data.pop("$defs", {}))
        name = f"{model.__name__}Data"
        components[name] = data
        variant = copy.deepcopy(envelope)
        variant.pop("$defs", None)
        variant["title"] = event_type
        variant["properties"]["type"] = {"const": event_type}
        variant["properties"]["data"] = {"$ref": REF.format(model=name)}
        variants.append(variant)
    return variants


def _component(schemas: dict[str, Any], model: type[BaseModel]) -> dict[str, str]:
    """Put ``model``'s schema (and those it uses) among the components; its ``$ref``."""
    body = model.model_json_schema(ref_template=REF, mode="serialization")
    schemas.update(body.pop("$defs", {}))
    schemas[model.__name__] = body
    return {"$ref": REF.format(model=model.__name__)}


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (Powertools' description) with the security scheme, the events body and the
    error body."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Error"] = ERROR
    schemas["IngestResult"] = INGEST_RESULT
    schemas["ConnectorReceipt"] = CONNECTOR_RECEIPT
    schemas["Event"] = {"oneOf": _event_schemas(schemas), "examples": [EXAMPLE_EVENT]}
    schemas["EventBatch"] = {
        "type": "object",
        "required": ["events"],
        "additionalProperties": False,
        "properties": {
            "events": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_EVENTS,
                "items": {"$ref": REF.format(model="Event")},
            }
        },
        "examples": [{"events": [EXAMPLE_EVENT]}],
    }
    components["securitySchemes"] = {
        "apiKey": {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": "the ingest or the read key",
        }
    }
    schema["security"] = [{"apiKey": []}]
    error = {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if path in PUBLIC_PATHS:
                operation["security"] = []
            responses = operation.setdefault("responses", {})
            # Powertools advertises its own validation body; the API answers 422 with Error.
            responses["422"] = {"description": "A parameter or the body is invalid"}
            # Any other refusal (no key, unknown id, throttled, ...) has the same body.
            responses.setdefault("default", {"description": "Refused: the error says what and where"})
            for status, response in responses.items():
                if status.startswith(("4", "5")) or status == "default":
                    response["content"] = error
            if path in HTML_PATHS:
                responses["200"]["content"] = {"text/html": {"schema": {"type": "string"}}}
            model = RESPONSES.get((path, method))
            if model is not None:
                # The route's success status: the one it declares (201, 202), else 200.
                status = next((s for s in responses if s.startswith("2")), "200")
                responses.setdefault(status, {"description": "OK"})["content"] = {
                    "application/json": {"schema": _component(schemas, model)}
                }
            if (path, method) == ("/v1/events", "post"):
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": REF.format(model="EventBatch")}}},
                }
                responses["202"]["content"] = {
                    "application/json": {"schema": {"$ref": REF.format(model="IngestResult")}}
                }
            if path in CONNECTOR_PATHS and method == "post":
                _describe_connector(operation, CONNECTOR_PATHS[path])
    return schema


def _describe_connector(operation: dict[str, Any], headers: tuple[str, str, str]) -> None:
    """A webhook route: the platform's JSON as the body, its three headers, the receipt."""
    signature, topic, delivery = headers
    operation["requestBody"] = {
        "required": True,
        "description": "The platform's webhook payload, exactly as signed (docs/connectors.md).",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    operation["parameters"] = [
        {"name": signature, "in": "header", "required": True, "schema": {"type": "string"},
         "description": "base64 HMAC-SHA256 of the raw body under the platform's secret"},
        {"name": topic, "in": "header", "required": True, "schema": {"type": "string"},
         "description": "the webhook's topic; an unknown one is acknowledged and ignored"},
        {"name": delivery, "in": "header", "required": False, "schema": {"type": "string"},
         "description": "the delivery id, the same on the platform's retries: the idempotency key"},
    ]  # fmt: skip
    operation["responses"]["200"]["content"] = {
        "application/json": {"schema": {"$ref": REF.format(model="ConnectorReceipt")}}
    }
