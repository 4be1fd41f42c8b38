"""Ingest Lambda behind API Gateway: ``POST /v1/events``."""

from __future__ import annotations

from typing import Any

from backend.api.app import build_app
from backend.api.ingest_routes import router
from backend.logs import function_logger, http_function

logger = function_logger("storepulse-ingest")
app = build_app(router)


@http_function(logger)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
