"""Read API Lambda behind API Gateway: every ``GET /v1/...`` route and ``/v1/openapi.json``."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from backend.api import (
    connector_routes,
    customer_routes,
    docs,
    ingest_routes,
    metrics_routes,
    product_routes,
    read_routes,
    report_routes,
    stock_routes,
)
from backend.api.app import build_app
from backend.api.errors import error_response, json_response
from backend.api.openapi import complete
from backend.logs import function_logger, http_function

logger = function_logger("storepulse-api")
READ_ROUTERS = (
    read_routes.router,
    metrics_routes.router,
    product_routes.router,
    stock_routes.router,
    customer_routes.router,
    report_routes.router,
)
app = build_app(*READ_ROUTERS)
# The description covers every route, the ingest and connectors functions' too.
_described = build_app(ingest_routes.router, connector_routes.router, *READ_ROUTERS)


def _document() -> dict[str, Any]:
    schema = _described.get_openapi_json_schema(
        title="storepulse API",
        version="1",
        description="Ingest store events and read exact e-commerce analytics. Keys per role in x-api-key.",
    )
    return complete(json.loads(schema))


@app.get("/v1/openapi.json", summary="This description (OpenAPI 3)", tags=["meta"])
def openapi() -> Response[Any]:
    read_routes.require_read_key()
    return json_response(200, _document())


@app.get("/v1/docs", include_in_schema=False)
def swagger_ui() -> Response[str]:
    return docs.page(_document())


@app.get("/v1/docs/<name>", include_in_schema=False)
def swagger_ui_asset(name: str) -> Response[Any]:
    return docs.asset(name) or error_response(404, "not_found", f"no file {name} in /v1/docs")


@http_function(logger)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
