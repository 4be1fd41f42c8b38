"""The one HTTP client of the dashboard: the storepulse read API, with the read key and timeouts.

Every page asks through :func:`get`; failures become one of three exceptions whose message is
meant for a person (see :func:`dashboard.components.problem`).
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import quote

import requests

from dashboard import logs
from dashboard.settings import get_settings

_session = requests.Session()
# Recent GET answers, so a reload, a page switch or several charts of one range do not ask the
# API again for the same figures (STOREPULSE_API_CACHE_SECONDS, 0 turns it off).
_cache: dict[tuple[str, str, tuple[tuple[str, str], ...]], tuple[float, Any]] = {}
_cache_lock = threading.Lock()
_CACHE_LIMIT = 256


class ApiProblem(Exception):
    """The API could not give what a page asked for; ``str()`` says why, in words."""


class ApiUnavailable(ApiProblem):
    """The API did not answer (down, unreachable, or too slow)."""


class RouteMissing(ApiProblem):
    """The API answered 404 for the route: this deployment does not have it yet."""


class ApiRefused(ApiProblem):
    """The API answered with an error (4xx/5xx other than a missing route)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def _headers(read_key: str) -> dict[str, str]:
    """The read key, and the page request's correlation id so the API's log lines carry it."""
    headers = {"x-api-key": read_key}
    correlation_id = logs.current_correlation_id()
    if correlation_id:
        headers[logs.CORRELATION_HEADER] = correlation_id
    return headers


def _error_message(response: requests.Response) -> str:
    try:
        error = response.json().get("error", {})
        message = str(error.get("message") or "")
    except (ValueError, AttributeError):
        message = ""
    return message or f"HTTP {response.status_code}"


def request(method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None) -> Any:
    """Call the read API and return its decoded JSON body.

    Parameters
    ----------
    method
        ``GET``, ``POST`` or ``DELETE``.
    path
        Under ``/v1``, e.g. ``/metrics/summary``.
    params, json
        Query parameters and JSON body.

    Raises
    ------
    ApiUnavailable, RouteMissing, ApiRefused
        With a message for a person.

    Examples
    --------
    With the read API running (so not run as a doctest)::

        params = {"start": "2025-05-01", "end": "2025-05-07"}
        request("GET", "/metrics/summary", params=params)
        # {'start': '2025-05-01', 'end': '2025-05-07', 'current': {...}}
    """
    settings = get_settings()
    if method != "GET":
        forget()
    url = f"{settings.api_url}/v1{path}"
    try:
        response = _session.request(
            method,
            url,
            params=params,
            json=json,
            headers=_headers(settings.read_key),
            timeout=(min(2.0, settings.api_timeout), settings.api_timeout),
        )
    except requests.Timeout:
        raise ApiUnavailable(
            f"The storepulse API at {settings.api_url} did not answer within {settings.api_timeout:g} s."
        ) from None
    except requests.RequestException:
        raise ApiUnavailable(
            f"The storepulse API at {settings.api_url} cannot be reached. Is it running?"
        ) from None
    if response.status_code == 404:
        raise RouteMissing(f"{method} /v1{path} answered 404")
    if response.status_code in (401, 403):
        raise ApiRefused(
            f"The API refused the dashboard's read key ({_error_message(response)}). "
            "Check STOREPULSE_READ_KEY.",
            response.status_code,
        )
    if response.status_code >= 400:
        raise ApiRefused(f"The API answered: {_error_message(response)}", response.status_code)
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


def get(path: str, **params: Any) -> Any:
    """``GET /v1{path}`` with query ``params`` (``None`` values are left out).

    Answers are reused for ``STOREPULSE_API_CACHE_SECONDS`` (default 30); errors are not kept.
    """
    return _get(path, params, fresh=False)


def get_all(path: str, *, items: str = "items", page_size: int = 1000, **params: Any) -> dict[str, Any]:
    """A paged ``GET /v1{path}`` read to its end: the first page's body with the ``items`` of
    every page, following ``next_cursor`` (``limit`` = ``page_size``).

    Each page goes through :func:`get` (and its cache); a store of 15,000 SKUs is 15 requests.
    """
    body = dict(get(path, limit=page_size, **params))
    collected = list(body.get(items, []))
    cursor = body.get("next_cursor")
    while cursor:
        page = get(path, limit=page_size, cursor=cursor, **params)
        collected.extend(page.get(items, []))
        cursor = page.get("next_cursor")
    body[items] = collected
    body["next_cursor"] = None
    return body


def get_fresh(path: str, **params: Any) -> Any:
    """:func:`get` without the cache: for what a person watches change (a report being made)."""
    return _get(path, params, fresh=True)


def _get(path: str, params: dict[str, Any], *, fresh: bool) -> Any:
    query = {k: str(v) for k, v in params.items() if v is not None}
    settings = get_settings()
    key = (settings.api_url, path, tuple(sorted(query.items())))
    now = time.monotonic()
    if settings.api_cache_seconds > 0 and not fresh:
        with _cache_lock:
            hit = _cache.get(key)
        if hit is not None and now - hit[0] < settings.api_cache_seconds:
            return hit[1]
    body = request("GET", path, params=query)
    if settings.api_cache_seconds > 0:
        with _cache_lock:
            if len(_cache) >= _CACHE_LIMIT:
                _cache.clear()
            _cache[key] = (now, body)
    return body


def forget() -> None:
    """Drop the cached answers (after a change: a report asked for, a subscription)."""
    with _cache_lock:
        _cache.clear()


def path_part(value: str) -> str:
    """``value`` made safe as one segment of a path (a SKU with ``/`` or spaces).

    >>> path_part("MUG 1/2")
    'MUG%201%2F2'
    """
    return quote(value, safe="")
