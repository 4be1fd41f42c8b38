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


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r/evil.example",
        "\t//evil.example",
        "/\\evil.example",
        "/./\t/evil.example",
        "/.//evil.example",
        "https://evil.example/",
        "//evil.example/sales",
        "/ /evil.example",
        "javascript:alert(1)",
    ],
)
def test_next_is_only_ever_a_path_of_this_dashboard(dash_server: Any, target: str) -> None:
    # Given a sign-in whose "next" a browser could read as another site (or that breaks a header)
    client = dash_server.test_client()
    right = client.post("/login", data={"username": "ana", "password": "pa55word", "next": target})
    # Then the person lands on a path of the dashboard, never a 500 nor another host
    assert right.status_code == 302
    location = right.headers["Location"]
    assert location.startswith("/") and not location.startswith("//"), location
    assert not any(ch in location for ch in "\t\r\n\\ "), location
    assert client.get(f"/login?next={target}").status_code == 200


def test_next_keeps_a_real_page_with_its_query(dash_server: Any) -> None:
    client = dash_server.test_client()
    right = client.post(
        "/login",
        data={"username": "ana", "password": "pa55word", "next": "/sales?start=2026-01-01&end=2026-01-31"},
    )
    assert right.headers["Location"] == "/sales?start=2026-01-01&end=2026-01-31"


MINUTE = 29_000_000 * 60  # a fixed minute: the sign-in limits never read the wall clock


@pytest.fixture
def shared(stack: Any, dash_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The dashboard keeping its sign-in state in the stack's sessions table (as in AWS)."""
    from dashboard import auth

    table = stack.local.resources.environment["DASH_SESSIONS_TABLE"]
    monkeypatch.setenv("DASH_SESSIONS_TABLE", table)
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.endpoint_url)
    monkeypatch.setattr(auth, "clock", lambda: MINUTE + 20.0, raising=False)
    get_settings.cache_clear()
    stack.reset()
    yield dash_server
    get_settings.cache_clear()


def _from(server: Any, address: str) -> Any:
    """A browser at ``address``."""
    client = server.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _signed_in(server: Any, address: str = "192.0.2.1") -> Any:
    client = _from(server, address)
    assert client.post("/login", data={"username": "ana", "password": "pa55word"}).status_code == 302
    assert client.get("/_dash-layout").status_code == 200
    return client


def _copy_of(server: Any, client: Any) -> Any:
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = server.test_client()
    cookie = client.get_cookie("session")
    thief.set_cookie("session", cookie.value)
    return thief


def test_sign_out_ends_every_copy_of_the_cookie(shared: Any, stack: Any) -> None:
    from dashboard.sessions import state_for

    # Given a signed-in person whose cookie was copied elsewhere, and a second device
    browser = _signed_in(shared)
    thief = _copy_of(shared, browser)
    assert thief.get("/_dash-layout").status_code == 200
    # When they sign out
    assert browser.get("/logout").status_code == 302
    # Then the copy is refused too, in this process and in any other (a fresh state reader)
    assert thief.get("/_dash-layout").status_code == 401
    state_for.cache_clear()
    assert thief.get("/_dash-layout").status_code == 401
    assert thief.get("/sales").status_code == 302
    # The server remembers it in the shared table, not in the process
    item = stack.client("dynamodb").get_item(
        TableName=stack.local.resources.environment["DASH_SESSIONS_TABLE"], Key={"key": {"S": "session#ana"}}
    )["Item"]
    assert item["n"] == {"N": "1"}
    # And signing in again works, with a new cookie
    again = _signed_in(shared)
    assert again.get("/_dash-layout").status_code == 200


def test_a_password_change_ends_every_session(shared: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a signed-in person and a copy of their cookie
    browser = _signed_in(shared)
    thief = _copy_of(shared, browser)
    # When the password is changed (the dashboard's setting, as a deploy changes it)
    monkeypatch.setenv("STOREPULSE_DASH_PASSWORD", "new-pa55word")
    get_settings.cache_clear()
    # Then both are signed out, the old password no longer signs in, the new one does
    assert browser.get("/_dash-layout").status_code == 401
    assert thief.get("/_dash-layout").status_code == 401
    old = browser.post("/login", data={"username": "ana", "password": "pa55word"})
    assert old.status_code == 401
    assert browser.post("/login", data={"username": "ana", "password": "new-pa55word"}).status_code == 302
    assert browser.get("/_dash-layout").status_code == 200


def test_wrong_passwords_are_answered_429_per_user(shared: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard import auth

    # Given five wrong passwords for "ana" from five addresses within one minute
    for n in range(5):
        client = _from(shared, f"198.51.100.{n}")
        assert client.post("/login", data={"username": "ana", "password": f"guess{n}"}).status_code == 401
    # Then the next attempt for "ana", even the right password from a new address, is a 429
    late = _from(shared, "203.0.113.9")
    refused = late.post("/login", data={"username": "ana", "password": "pa55word"})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "40"
    assert b"Too many wrong passwords" in refused.data
    assert late.get("/_dash-layout").status_code == 401
    # And the next minute the right password signs in
    monkeypatch.setattr(auth, "clock", lambda: MINUTE + 61.0)
    assert late.post("/login", data={"username": "ana", "password": "pa55word"}).status_code == 302


def test_wrong_passwords_are_answered_429_per_address(shared: Any) -> None:
    # Given one address trying five user names
    guesser = _from(shared, "198.51.100.77")
    for n in range(5):
        assert guesser.post("/login", data={"username": f"user{n}", "password": "x"}).status_code == 401
    # Then that address is refused, whatever it sends, while another address signs in
    refused = guesser.post("/login", data={"username": "ana", "password": "pa55word"})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "40"
    _signed_in(shared, address="192.0.2.50")


def test_throttling_computes_no_password_hash(shared: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard import auth

    guesser = _from(shared, "198.51.100.88")
    for _ in range(5):
        guesser.post("/login", data={"username": "bob", "password": "x"})
    hashed: list[str] = []
    monkeypatch.setattr(auth, "password_matches", lambda stored, given: hashed.append(given) or False)
    assert guesser.post("/login", data={"username": "bob", "password": "y"}).status_code == 429
    assert hashed == []
