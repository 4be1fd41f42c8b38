"""Sign-in of the dashboard through its Flask server: the password form, and Cognito (OIDC)
against a small OIDC provider served on a local port (authorize, token and userInfo)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from backend.local import free_port
from dashboard.settings import get_settings

CLIENT_ID, CLIENT_SECRET, CODE, TOKEN = "dash-client", "dash-client-secret", "the-code", "the-access-token"


@pytest.fixture
def dash_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("COGNITO_DOMAIN", "COGNITO_CLIENT_ID", "COGNITO_CLIENT_SECRET", "COGNITO_REDIRECT_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STOREPULSE_DASH_USER", "ana")
    monkeypatch.setenv("STOREPULSE_DASH_PASSWORD", "pa55word")
    monkeypatch.setenv("STOREPULSE_DASH_SECRET", "sign-in-test-secret")
    monkeypatch.setenv("DASH_REQUESTS_PATHNAME_PREFIX", "/")
    get_settings.cache_clear()
    from dashboard.app import server

    yield server
    get_settings.cache_clear()


@pytest.fixture
def provider() -> Iterator[str]:
    """An OIDC provider with Cognito's endpoints that knows one code and one user."""

    @Request.application
    def app(request: Request) -> Response:
        if request.path == "/oauth2/token":
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("Authorization") != expected or request.form.get("code") != CODE:
                return Response('{"error": "invalid_grant"}', status=400, mimetype="application/json")
            return Response(f'{{"access_token": "{TOKEN}", "id_token": "x"}}', mimetype="application/json")
        if request.path == "/oauth2/userInfo":
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return Response("{}", status=401, mimetype="application/json")
            return Response('{"sub": "u-1", "email": "ana@example.com"}', mimetype="application/json")
        return Response("not found", status=404)

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


def test_the_password_form_signs_in_and_never_redirects_off_site(dash_server: Any) -> None:
    client = dash_server.test_client()
    # Given a person who is not signed in: pages send them to the form, Dash's requests get 401
    page = client.get("/inventory?status=low")
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=%2Finventory%3Fstatus%3Dlow"
    assert client.get("/_dash-layout").status_code == 401
    # When they get the password wrong, they stay out
    wrong = client.post("/login", data={"username": "ana", "password": "nope"})
    assert wrong.status_code == 401 and b"Wrong user name or password." in wrong.data
    assert client.get("/_dash-layout").status_code == 401
    # When they sign in with a "next" pointing at another site, they land on the dashboard
    right = client.post("/login", data={"username": "ana", "password": "pa55word", "next": "//evil.example"})
    assert right.status_code == 302 and right.headers["Location"] == "/"
    assert client.get("/_dash-layout").status_code == 200
    # And signing out ends the session
    assert client.get("/logout").headers["Location"] == "/login?signed_out=1"
    assert client.get("/_dash-layout").status_code == 401


def test_cognito_not_configured_says_so(dash_server: Any) -> None:
    client = dash_server.test_client()
    assert b"login-cognito" not in client.get("/login").data
    answer = client.get("/login/cognito")
    assert answer.status_code == 404 and b"Cognito sign-in is not configured" in answer.data


def test_cognito_sign_in_exchanges_the_code_and_reads_the_user(
    dash_server: Any, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Cognito configured for the dashboard
    monkeypatch.setenv("COGNITO_DOMAIN", provider)
    monkeypatch.setenv("COGNITO_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("COGNITO_CLIENT_SECRET", CLIENT_SECRET)
    get_settings.cache_clear()
    client = dash_server.test_client()
    assert b'id="login-cognito"' in client.get("/login").data
    # When the person chooses Cognito, they are sent to its hosted UI with a state
    start = client.get("/login/cognito?next=/sales")
    authorize = urlparse(start.headers["Location"])
    query = parse_qs(authorize.query)
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{provider}/oauth2/authorize"
    assert query["client_id"] == [CLIENT_ID] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://localhost/login/callback"]
    # A callback with another state is refused
    forged = client.get(f"/login/callback?code={CODE}&state=forged")
    assert forged.status_code == 400 and client.get("/_dash-layout").status_code == 401
    # When Cognito sends them back with the code and the state
    state = parse_qs(urlparse(client.get("/login/cognito?next=/sales").headers["Location"]).query)["state"][0]
    back = client.get(f"/login/callback?code={CODE}&state={state}")
    # Then they are signed in as the user Cognito names, on the page they asked for
    assert back.status_code == 302 and back.headers["Location"] == "/sales"
    assert client.get("/_dash-layout").status_code == 200
    with client.session_transaction() as session:
        assert session["user"] == "ana@example.com"
    # And a wrong code signs nobody in
    client.get("/logout")
    state = parse_qs(urlparse(client.get("/login/cognito").headers["Location"]).query)["state"][0]
    refused = client.get(f"/login/callback?code=stolen&state={state}")
    assert refused.status_code == 401 and client.get("/_dash-layout").status_code == 401
