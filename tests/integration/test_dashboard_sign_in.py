"""Sign-in of the dashboard through its Flask server: the password form, and Cognito (OIDC)
against a small OIDC provider served on a local port (discovery, JWKS, token) that signs real
id_tokens, through Authlib's Flask client."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from dashboard.settings import get_settings
from devstack.aws import free_port

CLIENT_ID, CLIENT_SECRET, CODE, TOKEN = "dash-client", "dash-client-secret", "the-code", "the-access-token"
COGNITO_VARIABLES = ("COGNITO_DOMAIN", "COGNITO_ISSUER", "COGNITO_CLIENT_ID", "COGNITO_CLIENT_SECRET")


@pytest.fixture
def dash_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in (*COGNITO_VARIABLES, "COGNITO_REDIRECT_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STOREPULSE_DASH_USER", "ana")
    monkeypatch.setenv("STOREPULSE_DASH_PASSWORD", "pa55word")
    monkeypatch.setenv("STOREPULSE_DASH_SECRET", "sign-in-test-secret")
    monkeypatch.setenv("DASH_REQUESTS_PATHNAME_PREFIX", "/")
    get_settings.cache_clear()
    from dashboard.app import server

    yield server
    get_settings.cache_clear()


@dataclass
class Provider:
    """A small OIDC provider with a Cognito user pool's endpoints: discovery and JWKS at the
    issuer, authorize and token under the domain (here the same URL). It knows the codes the
    test hands out with :meth:`issue`, each bound to the authorize request's nonce and PKCE
    challenge, and signs id_tokens with its key (or with :attr:`signing_key`, a test's forgery)."""

    url: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    signing_key: RSAKey | None = None
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def issue(self, location: str, code: str = CODE, **claims: Any) -> str:
        """Bind ``code`` to the authorize request at ``location``; returns its state."""
        query = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
        self.codes[code] = {
            "nonce": query.get("nonce"),
            "challenge": query.get("code_challenge"),
            "redirect_uri": query.get("redirect_uri"),
            "claims": claims,
        }
        return query["state"]

    def id_token(self, nonce: str | None, /, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": self.url,
            "aud": CLIENT_ID,
            "sub": "u-1",
            "email": "ana@example.com",
            "iat": now,
            "exp": now + 3600,
            "nonce": nonce,
            "token_use": "id",
            **claims,
        }
        key = self.signing_key or self.key
        return jwt.encode(
            {"alg": "RS256", "kid": "k1"}, {k: v for k, v in body.items() if v is not None}, key
        )

    def app(self, request: Request) -> Response:
        if request.path == "/.well-known/openid-configuration":
            return _json(
                {
                    "issuer": self.url,
                    "authorization_endpoint": f"{self.url}/oauth2/authorize",
                    "token_endpoint": f"{self.url}/oauth2/token",
                    "jwks_uri": f"{self.url}/.well-known/jwks.json",
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
            )
        if request.path == "/.well-known/jwks.json":
            return _json({"keys": [self.key.as_dict(private=False)]})
        if request.path == "/oauth2/token":
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            grant = self.codes.pop(request.form.get("code", ""), None)
            verifier = request.form.get("code_verifier", "")
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if (
                request.headers.get("Authorization") != expected
                or grant is None
                or challenge != grant["challenge"]
                or request.form.get("redirect_uri") != grant["redirect_uri"]
            ):
                return _json({"error": "invalid_grant"}, status=400)
            return _json(
                {
                    "access_token": TOKEN,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "id_token": self.id_token(grant["nonce"], **grant["claims"]),
                }
            )
        return Response("not found", status=404)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


@pytest.fixture
def provider() -> Iterator[Provider]:
    """The provider on a local port."""
    served = Provider()
    port = free_port()
    served.url = f"http://127.0.0.1:{port}"
    server = make_server("127.0.0.1", port, Request.application(served.app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()


@pytest.fixture
def cognito(dash_server: Any, provider: Provider, monkeypatch: pytest.MonkeyPatch) -> Provider:
    """Cognito configured for the dashboard, pointing at the provider."""
    monkeypatch.setenv("COGNITO_DOMAIN", provider.url)
    monkeypatch.setenv("COGNITO_ISSUER", provider.url)
    monkeypatch.setenv("COGNITO_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("COGNITO_CLIENT_SECRET", CLIENT_SECRET)
    get_settings.cache_clear()
    return provider


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


def test_cognito_sign_in_exchanges_the_code_and_reads_the_user(dash_server: Any, cognito: Provider) -> None:
    # Given Cognito configured for the dashboard
    client = dash_server.test_client()
    assert b'id="login-cognito"' in client.get("/login").data
    # When the person chooses Cognito, they are sent to its hosted UI with a state, a nonce
    # and a PKCE challenge (S256)
    start = client.get("/login/cognito?next=/sales")
    authorize = urlparse(start.headers["Location"])
    query = parse_qs(authorize.query)
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{cognito.url}/oauth2/authorize"
    assert query["client_id"] == [CLIENT_ID] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://localhost/login/callback"]
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    # A callback with another state is refused
    forged = client.get(f"/login/callback?code={CODE}&state=forged")
    assert forged.status_code == 400 and client.get("/_dash-layout").status_code == 401
    # When Cognito sends them back with the code and the state
    state = cognito.issue(client.get("/login/cognito?next=/sales").headers["Location"])
    back = client.get(f"/login/callback?code={CODE}&state={state}")
    # Then they are signed in as the user the id_token names, on the page they asked for
    assert back.status_code == 302 and back.headers["Location"] == "/sales"
    assert client.get("/_dash-layout").status_code == 200
    with client.session_transaction() as session:
        assert session["user"] == "ana@example.com"
    # And a wrong code signs nobody in
    client.get("/logout")
    state = cognito.issue(client.get("/login/cognito").headers["Location"])
    refused = client.get(f"/login/callback?code=stolen&state={state}")
    assert refused.status_code == 401 and client.get("/_dash-layout").status_code == 401


def _callback(client: Any, cognito: Provider, **claims: Any) -> Any:
    state = cognito.issue(client.get("/login/cognito").headers["Location"], **claims)
    return client.get(f"/login/callback?code={CODE}&state={state}")


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"aud": "another-client"}, b"could not be verified"),
        ({"iss": "https://evil.example"}, b"could not be verified"),
        ({"nonce": "replayed"}, b"could not be verified"),
        ({"exp": 1_000_000_000, "iat": 999_990_000}, b"could not be verified"),
        # an id_token always names its subject: one that names nobody is not valid
        ({"email": None, "sub": None}, b"could not be verified"),
    ],
    ids=["audience", "issuer", "nonce", "expired", "no-subject"],
)
def test_cognito_id_token_claims_are_checked(
    dash_server: Any, cognito: Provider, claims: dict[str, Any], words: bytes
) -> None:
    # Given an id_token whose audience, issuer, nonce or expiry is not this sign-in's, or that
    # names nobody
    client = dash_server.test_client()
    # When it comes back from the token endpoint
    answer = _callback(client, cognito, **claims)
    # Then nobody is signed in, and the page says why in words
    assert answer.status_code == 401 and words in answer.data
    assert client.get("/_dash-layout").status_code == 401


def test_cognito_id_token_signed_by_another_key_is_refused(dash_server: Any, cognito: Provider) -> None:
    # Given a token endpoint whose id_token is signed by a key the pool does not publish
    cognito.signing_key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    client = dash_server.test_client()
    # Then the signature check refuses it
    answer = _callback(client, cognito)
    assert answer.status_code == 401 and b"could not be verified" in answer.data
    assert client.get("/_dash-layout").status_code == 401


def test_cognito_code_without_its_pkce_verifier_is_refused(dash_server: Any, cognito: Provider) -> None:
    # Given a code bound to another sign-in's PKCE challenge (a code stolen in the redirect)
    client = dash_server.test_client()
    thief = dash_server.test_client()
    cognito.issue(client.get("/login/cognito").headers["Location"])
    state = parse_qs(urlparse(thief.get("/login/cognito").headers["Location"]).query)["state"][0]
    # When the thief's browser brings it back with its own state
    answer = thief.get(f"/login/callback?code={CODE}&state={state}")
    # Then the token endpoint refuses the exchange: the verifier is not the victim's
    assert answer.status_code == 401 and b"did not accept the sign-in code" in answer.data
    assert thief.get("/_dash-layout").status_code == 401


def test_cognito_refusal_and_outage_are_said_in_words(
    dash_server: Any, cognito: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = dash_server.test_client()
    # Given the person declined at the hosted UI
    state = cognito.issue(client.get("/login/cognito").headers["Location"])
    declined = client.get(f"/login/callback?error=access_denied&state={state}")
    assert declined.status_code == 401 and b"Cognito refused the sign-in: access_denied." in declined.data
    # Given a token endpoint that cannot be reached when the person comes back
    monkeypatch.setenv("COGNITO_DOMAIN", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    state = cognito.issue(client.get("/login/cognito").headers["Location"])
    down = client.get(f"/login/callback?code={CODE}&state={state}")
    assert down.status_code == 502 and b"cannot be reached" in down.data
    # Given a user pool whose discovery document cannot be read when the sign-in starts
    monkeypatch.setenv("COGNITO_ISSUER", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    start = client.get("/login/cognito")
    assert start.status_code == 502 and b"cannot be reached" in start.data
    assert client.get("/_dash-layout").status_code == 401


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

    def password_matches(stored: str, given: str) -> bool:
        hashed.append(given)
        return False

    monkeypatch.setattr(auth, "password_matches", password_matches)
    assert guesser.post("/login", data={"username": "bob", "password": "y"}).status_code == 429
    assert hashed == []
