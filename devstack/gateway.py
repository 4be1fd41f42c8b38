"""API Gateway's own rules for the local HTTP front: which route of ``infra/stack.json``'s
``routes`` a request reaches, and whether that route needs an API key.

``infra/api.tf`` builds its resources and methods from the same table (tests/infra checks they
agree), so the local stack refuses what API Gateway refuses, with the bodies of the gateway
responses ``infra/api.tf`` configures: a route that needs a key refuses a request without one of
the stage's keys (401) before any function runs; a path or method no route has is 404.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ApiRoute:
    """One resource of the API with its methods.

    Attributes
    ----------
    path
        From the root, API Gateway's syntax: ``/v1/reports/{report_id}/download``, ``/v1/{proxy+}``.
    methods
        ``GET``, ``POST``, ... or ``ANY``.
    function
        The function its integration invokes.
    api_key
        Whether API Gateway requires ``x-api-key`` to be one of the stage's keys.
    """

    path: str
    methods: tuple[str, ...]
    function: str
    api_key: bool

    def rank(self, path: str) -> tuple[int, ...] | None:
        """How specifically this route matches ``path`` (higher wins), ``None`` when it does not:
        API Gateway prefers a literal segment to a ``{parameter}``, and both to ``{proxy+}``.

        Examples
        --------
        >>> ApiRoute("/v1/{proxy+}", ("ANY",), "api", True).rank("/v1/a/b")
        (2, 0)
        >>> ApiRoute("/v1/reports/{id}", ("ANY",), "api", True).rank("/v1/reports/r1")
        (2, 2, 1)
        """
        wanted = [part for part in path.split("/") if part]
        scores: list[int] = []
        for index, part in enumerate(part for part in self.path.split("/") if part):
            if part.endswith("+}"):
                return (*scores, 0) if len(wanted) > index else None
            if index >= len(wanted):
                return None
            if part.startswith("{"):
                scores.append(1)
            elif part == wanted[index]:
                scores.append(2)
            else:
                return None
        return tuple(scores) if len(wanted) == len(scores) else None

    def allows(self, method: str) -> bool:
        return "ANY" in self.methods or method.upper() in self.methods


@dataclass(frozen=True)
class Refusal:
    """A gateway response (infra/api.tf ``gateway_responses``): no function runs."""

    status: int
    code: str
    message: str


INVALID_API_KEY = Refusal(401, "unauthorized", "x-api-key is missing or not a valid key")
MISSING_AUTHENTICATION_TOKEN = Refusal(404, "not_found", "no such route")


def match(routes: Iterable[ApiRoute], path: str) -> ApiRoute | None:
    """The route API Gateway picks for ``path`` (the most specific one), if any."""
    ranked = [(rank, route) for route in routes if (rank := route.rank(path)) is not None]
    return max(ranked, key=lambda pair: pair[0])[1] if ranked else None


def admit(
    routes: Iterable[ApiRoute], method: str, path: str, api_key: str | None, key_digests: Collection[str]
) -> ApiRoute | Refusal:
    """The route a request reaches, or the gateway's refusal.

    Examples
    --------
    >>> routes = [ApiRoute("/v1/health", ("GET",), "api", False),
    ...           ApiRoute("/v1/{proxy+}", ("ANY",), "api", True)]
    >>> admit(routes, "GET", "/v1/health", None, set()).function
    'api'
    >>> admit(routes, "GET", "/v1/alerts", None, set()).status
    401
    """
    route = match(routes, path)
    if route is None or not route.allows(method):
        return MISSING_AUTHENTICATION_TOKEN
    if route.api_key:
        digest = hashlib.sha256((api_key or "").encode("utf-8")).hexdigest()
        if not api_key or digest not in key_digests:
            return INVALID_API_KEY
    return route
