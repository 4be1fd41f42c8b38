"""The dashboard's JSON logs: one line per request with its correlation id, the id answered in
the response and sent on to the read API, lines in the local stack's log file."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.wrappers import Request, Response

from dashboard import api, logs
from dashboard.settings import get_settings
from tests.unit.dashboard.stand_in import stand_in_api


@pytest.fixture
def log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "functions.jsonl"
    monkeypatch.setenv(logs.LOG_FILE_ENV, str(path))
    return path


@pytest.fixture
def read_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, str]]]:
    """A stand-in read API that keeps the headers of every request it gets."""
    seen: list[dict[str, str]] = []

    @Request.application
    def app(request: Request) -> Response:
        seen.append(dict(request.headers))
        return Response('{"current": {}}', mimetype="application/json")

    with stand_in_api(monkeypatch, app):
        yield seen


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _app() -> Flask:
    app = Flask("log-test")
    logs.install(app)

    @app.get("/figures")
    def figures() -> dict[str, Any]:
        return api.get_fresh("/metrics/summary", start="2025-05-01", end="2025-05-07")

    return app


def test_a_page_request_carries_its_correlation_id_to_the_read_api_and_the_log(
    log_file: Path, read_api: list[dict[str, str]]
) -> None:
    # Given the dashboard's logging on a server whose page reads the API
    client = _app().test_client()

    # When a page is asked for with a correlation id, and another without one
    given = client.get("/figures?start=secret-looking", headers={logs.CORRELATION_HEADER: "page-view-7"})
    fresh = client.get("/figures")

    # Then the first keeps its id, the second gets a new one, each answered and sent to the API
    assert given.status_code == fresh.status_code == 200
    assert given.headers[logs.CORRELATION_HEADER] == "page-view-7"
    new_id = fresh.headers[logs.CORRELATION_HEADER]
    assert logs.valid_correlation_id(new_id) and new_id != "page-view-7"
    assert [h.get(logs.CORRELATION_HEADER) for h in read_api] == ["page-view-7", new_id]
    assert {h["X-Api-Key"] for h in read_api} == {"the-read-key"}
    # and one JSON line per request in the log file, with its id and no query string
    lines = [line for line in _lines(log_file) if line["logger"] == "dashboard.logs"]
    assert [(line["correlation_id"], line["message"].split(" in ")[0]) for line in lines] == [
        ("page-view-7", "GET /figures 200"),
        (new_id, "GET /figures 200"),
    ]
    assert {line["service"] for line in lines} == {"storepulse-dashboard"}
    assert "secret-looking" not in log_file.read_text(encoding="utf-8")
    # and outside a request no id is left behind
    assert logs.current_correlation_id() is None


def test_an_id_that_is_not_one_is_replaced_and_api_gateway_request_id_is_used(log_file: Path) -> None:
    client = _bare_app().test_client()
    odd = client.get("/ok", headers={logs.CORRELATION_HEADER: "not an id " * 20})
    event = {"requestContext": {"requestId": "apigw-req-1"}}
    gateway = client.get("/ok", environ_base={"lambda.event": event})

    assert " " not in odd.headers[logs.CORRELATION_HEADER]
    assert gateway.headers[logs.CORRELATION_HEADER] == "apigw-req-1"


def test_the_dashboard_app_writes_json_lines_and_warnings_reach_the_terminal(
    log_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the real dashboard server
    monkeypatch.setenv("STOREPULSE_DASH_SECRET", "log-test-secret")
    get_settings.cache_clear()
    from dashboard.app import server

    # When its sign-in page is asked for, and a module of the dashboard warns
    response = server.test_client().get("/login", headers={logs.CORRELATION_HEADER: "sign-in-1"})
    logging.getLogger("dashboard.settings").warning("Cognito sign-in is off: %s not set", "COGNITO_DOMAIN")
    get_settings.cache_clear()

    # Then the request's line and the warning are JSON in the file; only the warning on stderr
    assert response.headers[logs.CORRELATION_HEADER] == "sign-in-1"
    lines = _lines(log_file)
    mine = [line for line in lines if line.get("correlation_id") == "sign-in-1"]
    assert [line["message"].split(" in ")[0] for line in mine] == [f"GET /login {response.status_code}"]
    warning = [line for line in lines if line["level"] == "WARNING"]
    assert [line["message"] for line in warning] == ["Cognito sign-in is off: COGNITO_DOMAIN not set"]
    err = capsys.readouterr().err
    assert "Cognito sign-in is off" in err and "GET /login" not in err
    assert json.loads(err.strip().splitlines()[-1])["location"].startswith("test_logs.py:")


def _bare_app() -> Flask:
    app = Flask("log-test-bare")
    logs.install(app)
    app.add_url_rule("/ok", "ok", lambda: "ok")
    return app
