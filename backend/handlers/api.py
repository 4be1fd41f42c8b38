"""Read API Lambda behind API Gateway: every ``GET /v1/...`` route and ``/v1/openapi.json``."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response

from backend.api import (
    customer_routes,
    ingest_routes,
    metrics_routes,
    read_routes,
    report_routes,
    stock_routes,
)
from backend.api.app import build_app
from backend.api.errors import json_response
from backend.api.openapi import complete

logger = Logger(service="storepulse-api")
READ_ROUTERS = (
    read_routes.router,
    metrics_routes.router,
    stock_routes.router,
    customer_routes.router,
    report_routes.router,
)
app = build_app(*READ_ROUTERS)
# The description covers every route, the ingest function's too.
_described = build_app(ingest_routes.router, *READ_ROUTERS)


@app.get("/v1/openapi.json", summary="This description (OpenAPI 3)", tags=["meta"])
def openapi() -> Response[Any]:
    read_routes.require_read_key()
    schema = _described.get_openapi_json_schema(
        title="storepulse API",
        version="1",
        description="Ingest store events and read exact e-commerce analytics. Keys per role in x-api-key.",
    )
    return json_response(200, complete(json.loads(schema)))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
