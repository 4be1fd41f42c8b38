"""Every error answers ``{"error": {"code", "message", "details"}}``: words, never a trace."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from backend.domain.errors import InvalidRequest, NotAuthentic, Refused, TooLarge, TryAgain

#: The HTTP status of each kind of refusal the code below the API raises.
REFUSAL_STATUS: dict[type[Refused], int] = {
    InvalidRequest: 400,
    NotAuthentic: 401,
    TooLarge: 413,
    TryAgain: 503,
}


class ApiError(Exception):
    """An error the client can act on."""

    def __init__(self, status: int, code: str, message: str, details: list[Any] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


def refusal_status(refusal: Refused) -> int:
    """The HTTP status of a domain refusal (the nearest kind it is a subclass of; 400 otherwise).

    Examples
    --------
    >>> refusal_status(TooLarge("payload_too_large", "too big"))
    413
    """
    for kind in type(refusal).__mro__:
        if kind in REFUSAL_STATUS:
            return REFUSAL_STATUS[kind]
    return 400


def error_response(status: int, code: str, message: str, details: list[Any] | None = None) -> Response[Any]:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


def json_response(status: int, body: Any) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))
