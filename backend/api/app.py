"""Building a resolver with the error shapes every storepulse route shares."""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import Router

from backend.api.errors import ApiError, error_response, refusal_status
from backend.domain.errors import Refused

logger = logging.getLogger(__name__)


def _parameter(loc: tuple) -> str:
    return ".".join(str(p) for p in loc[1:]) or str(loc[0]) if loc else "request"


def build_app(*routers: Router) -> APIGatewayRestResolver:
    """A resolver with OpenAPI validation and storepulse's error bodies."""
    app = APIGatewayRestResolver(enable_validation=True)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response[Any]:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(Refused)
    def _refused(exc: Refused) -> Response[Any]:
        return error_response(refusal_status(exc), exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[Any]:
        details = []
        for error in exc.errors():
            # A body that is not JSON at all is located at ("body", <offset>): name the body.
            invalid_json = error.get("type") == "json_invalid"
            name = "body" if invalid_json else _parameter(tuple(error.get("loc", ())))
            details.append({"parameter": name, "problem": str(error.get("msg", "invalid"))})
        names = ", ".join(d["parameter"] for d in details)
        return error_response(422, "invalid_parameter", f"invalid parameter: {names}", details)

    @app.not_found
    def _not_found(_exc: Exception) -> Response[Any]:
        path = app.current_event.path
        return error_response(404, "not_found", f"no route {app.current_event.http_method} {path}")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[Any]:
        logger.exception("unexpected error")
        return error_response(500, "internal", "something went wrong on our side; try again")

    return app
