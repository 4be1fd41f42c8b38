"""API Gateway's route precedence and key rule, as the local front applies them."""

from __future__ import annotations

from devstack.gateway import INVALID_API_KEY, MISSING_AUTHENTICATION_TOKEN, ApiRoute, admit, match
from devstack.keys import sha256_hex
from devstack.spec import load_stack_spec

ROUTES = load_stack_spec().routes
KEYS = {sha256_hex("the-key")}


def _route(path: str) -> ApiRoute:
    route = match(ROUTES, path)
    assert route is not None, f"no route for {path}"
    return route


def test_the_most_specific_route_wins() -> None:
    # A literal segment beats a {parameter}, and both beat {proxy+}
    assert _route("/v1/reports/r-1/download").path == "/v1/reports/{report_id}/download"
    assert _route("/v1/reports/r-1").path == "/v1/reports/{report_id}"
    assert _route("/v1/reports").path == "/v1/reports"
    assert _route("/v1/inventory").path == "/v1/{proxy+}"
    assert _route("/v1/events").function == "ingest"
    assert match(ROUTES, "/other") is None


def test_keys_are_checked_only_where_the_table_asks() -> None:
    assert admit(ROUTES, "GET", "/v1/inventory", None, KEYS) == INVALID_API_KEY
    assert admit(ROUTES, "GET", "/v1/inventory", "wrong", KEYS) == INVALID_API_KEY
    assert isinstance(admit(ROUTES, "GET", "/v1/inventory", "the-key", KEYS), ApiRoute)
    assert isinstance(admit(ROUTES, "POST", "/v1/unsubscribe", None, KEYS), ApiRoute)
    assert isinstance(admit(ROUTES, "GET", "/v1/reports/r-1/download", None, KEYS), ApiRoute)
    # A method the resource lacks is no route at all, key or not
    assert (
        admit(ROUTES, "DELETE", "/v1/reports/r-1/download", "the-key", KEYS) == MISSING_AUTHENTICATION_TOKEN
    )
    assert admit(ROUTES, "GET", "/v1/events", "the-key", KEYS) == MISSING_AUTHENTICATION_TOKEN
