"""Connectors Lambda behind API Gateway: ``POST /v1/connectors/{shopify,woocommerce}``."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from backend.api.app import build_app
from backend.api.connector_routes import router

logger = Logger(service="storepulse-connectors")
app = build_app(router)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
