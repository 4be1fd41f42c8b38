"""Sign-in for the dashboard: a form with a user name and a password, or Cognito (OIDC).

Every request but the sign-in page and the static assets needs a signed-in session (a Flask
session cookie signed with ``STOREPULSE_DASH_SECRET``). Pages are redirected to the sign-in
page; Dash's own requests (``/_dash-...``) get a 401 so the browser does not follow a redirect
into JSON. With Cognito configured, the same page offers the user pool's hosted UI: the
authorization-code flow with PKCE through Authlib's Flask client, the code exchanged
server-side, the user read from the id_token once its signature and claims are verified.

A session holds only while the server agrees (docs/security.md): it carries the user's session
generation, which a sign-out increments (every copy of every cookie of that user ends), and a
fingerprint of the password it was opened with (a new password ends them all). Wrong passwords
are limited per user and per client address (:data:`MAX_WRONG_PER_MINUTE`); past the limit the
answer is ``429`` with ``Retry-After``, before any password hash is computed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import posixpath
import time
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import requests
from flask import Flask, redirect, render_template_string, request, session
from werkzeug.wrappers import Response

if TYPE_CHECKING:
    from authlib.integrations.flask_client import FlaskOAuth2App

from dashboard.sessions import SignInState, state_for
from dashboard.settings import (
    COGNITO_VARIABLES,
    CognitoSettings,
    DashSettings,
    get_settings,
    password_matches,
)

# Wrong passwords allowed per user name and per client address in one clock minute.
MAX_WRONG_PER_MINUTE = 5
clock: Callable[[], float] = time.time
# Characters a browser drops from or reads into a URL (tabs, newlines), which must never reach a
# Location header: "/\t/evil.com" is "//evil.com" to a browser.
_NOT_IN_A_PATH = frozenset(chr(c) for c in range(0x21)) | {"\x7f", "\\"}

PUBLIC_PATHS = ("/login", "/login/cognito", "/login/callback", "/_favicon.ico")
PUBLIC_PREFIXES = ("/assets/",)

SIGN_IN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · storepulse</title>
<link rel="icon" href="{{ prefix }}assets/favicon.ico">
<link rel="stylesheet" href="{{ prefix }}assets/00-bootstrap-5.3.6.min.css">
<link rel="stylesheet" href="{{ prefix }}assets/style.css">
</head><body class="sp-signin-body">
<main class="sp-signin card shadow-sm">
  <div class="card-body">
    <div class="d-flex align-items-center gap-2 mb-3">
      <img src="{{ prefix }}assets/logo.svg" alt="" width="32" height="32">
      <h1 class="h4 m-0">storepulse</h1>
    </div>
    <h2 class="h6 text-secondary mb-3">Sign in to the dashboard</h2>
    {% if message %}
    <div id="login-message" class="alert alert-{{ tone }} py-2" role="alert">{{ message }}</div>
    {% endif %}
    {% if password %}
    <form id="login-form" method="post" action="{{ prefix }}login">
      <input type="hidden" name="next" value="{{ next }}">
      <div class="mb-3">
        <label class="form-label" for="login-username">User name</label>
        <input class="form-control" id="login-username" name="username" autocomplete="username"
               value="{{ username }}" required autofocus>
      </div>
      <div class="mb-3">
        <label class="form-label" for="login-password">Password</label>
        <input class="form-control" id="login-password" name="password" type="password"
               autocomplete="current-password" required>
      </div>
      <button id="login-submit" class="btn btn-primary w-100" type="submit">Sign in</button>
    </form>
    {% endif %}
    {% if cognito %}
    <a id="login-cognito" class="btn btn-outline-primary w-100 mt-2"
       href="{{ prefix }}login/cognito?next={{ next|urlencode }}">Sign in with your organisation (Cognito)</a>
    {% endif %}
    {% if not password and not cognito %}
    <p id="login-not-configured" class="text-danger">Sign-in is not configured: set
      STOREPULSE_DASH_USER and STOREPULSE_DASH_PASSWORD (or COGNITO_DOMAIN, COGNITO_ISSUER,
      COGNITO_CLIENT_ID and COGNITO_CLIENT_SECRET) for the dashboard.</p>
    {% endif %}
  </div>
</main></body></html>"""


def _settings() -> DashSettings:
    return get_settings()


def _state() -> SignInState:
    settings = _settings()
    return state_for(settings.sessions_table, settings.aws_endpoint)


def _safe_next(target: str | None, prefix: str) -> str:
    """``target`` when it is a path of this dashboard once normalised, else the dashboard's home:
    never another site (an open redirect), never a character a header or a browser would twist.

    Examples
    --------
    >>> _safe_next("/sales?start=2025-01-01", "/"), _safe_next("/\t/evil.com", "/")
    ('/sales?start=2025-01-01', '/')
    >>> _safe_next("/dev/./../evil", "/dev/"), _safe_next("/dev/inventory", "/dev/")
    ('/dev/', '/dev/inventory')
    """
    if not target or any(ch in _NOT_IN_A_PATH for ch in target):
        return prefix
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.fragment or not parts.path.startswith("/"):
        return prefix
    path = posixpath.normpath(parts.path)
    if parts.path.endswith("/") and path != "/":
        path += "/"
    if path.startswith("//") or not (path + "/").startswith(prefix):
        return prefix
    return path + (f"?{parts.query}" if parts.query else "")


def _page(message: str = "", tone: str = "danger", status: int = 200, username: str = "") -> Response:
    settings = _settings()
    body = render_template_string(
        SIGN_IN_PAGE,
        prefix=settings.pathname_prefix,
        message=message,
        tone=tone,
        next=_safe_next(request.values.get("next"), settings.pathname_prefix),
        password=settings.password_sign_in,
        cognito=settings.cognito is not None,
        username=username,
    )
    return Response(body, status=status, mimetype="text/html")


SESSION_KEYS = ("user", "generation", "password")


def _open_session(user: str, fingerprint: str, target: str | None) -> Response:
    """Start a session of ``user`` under their current generation; ``fingerprint`` is the
    password's (empty for a Cognito sign-in, which no password of ours governs)."""
    session.clear()
    session["user"] = user
    session["generation"] = _state().generation(user)
    session["password"] = fingerprint
    session.permanent = True
    return redirect(_safe_next(target, _settings().pathname_prefix))


def signed_in_user() -> str | None:
    """The user of this request's session, if the server still honours it."""
    user = session.get("user")
    if not isinstance(user, str) or not user:
        return None
    fingerprint = session.get("password")
    if fingerprint and fingerprint != _settings().password_fingerprint:
        return None
    if fingerprint is None or session.get("generation") != _state().generation(user):
        return None
    return user


def _window() -> tuple[int, int]:
    """The current clock minute and the seconds left in it (at least 1)."""
    now = clock()
    return int(now // 60), 60 - int(now % 60)


def _throttle_scopes(username: str) -> tuple[str, str]:
    # A digest keeps a megabyte-long user name a short key.
    name = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"user:{name}", f"address:{request.remote_addr or 'unknown'}"


def _too_many(retry_after: int) -> Response:
    answer = _page(
        f"Too many wrong passwords; try again in {retry_after} seconds.", status=429, tone="warning"
    )
    answer.headers["Retry-After"] = str(retry_after)
    return answer


def login() -> Response:
    """``GET`` shows the form; ``POST`` checks the user name and password."""
    settings = _settings()
    if request.method == "GET":
        signed_out = request.args.get("signed_out") == "1"
        return _page("You are signed out." if signed_out else "", tone="info")
    if not settings.password_sign_in:
        return _page("Password sign-in is not configured.", status=403)
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    state = _state()
    window, retry_after = _window()
    scopes = _throttle_scopes(username)
    if any(state.failures(scope, window) >= MAX_WRONG_PER_MINUTE for scope in scopes):
        return _too_many(retry_after)
    # Both checks always run, so the time taken does not tell a wrong user from a wrong password.
    user_ok = hmac.compare_digest(username.encode("utf-8", "surrogatepass"), settings.user.encode())
    password_ok = password_matches(settings.password_hash, password)
    if user_ok and password_ok:
        return _open_session(username, settings.password_fingerprint, request.values.get("next"))
    for scope in scopes:
        # Kept two minutes, then DynamoDB's TTL removes it.
        state.add_failure(scope, window, expires_at=(window + 2) * 60)
    return _page("Wrong user name or password.", status=401, username=username)


def logout() -> Response:
    """End the session everywhere: every copy of this user's cookies stops working."""
    user = signed_in_user()
    if user:
        _state().end_sessions(user)
    session.clear()
    return redirect(f"{_settings().pathname_prefix}login?signed_out=1")


def _redirect_uri(settings: DashSettings) -> str:
    assert settings.cognito is not None
    if settings.cognito.redirect_uri:
        return settings.cognito.redirect_uri
    return f"{request.host_url.rstrip('/')}{settings.pathname_prefix}login/callback"


@cache
def _oidc(cognito: CognitoSettings) -> FlaskOAuth2App:
    """Authlib's Flask client of the user pool: the authorization-code flow with PKCE (S256), a
    state and a nonce kept in the session, and the id_token's signature (the pool's JWKS, from
    its discovery document), issuer, audience, nonce and expiry checked.

    Authlib (and joserfc, cryptography under it) is imported here, on the first Cognito sign-in:
    a dashboard signed in by password never loads it (it was about a sixth of the cold import of
    `dashboard.app`, measured with `python -X importtime`).
    """
    from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App

    return FlaskOAuth2App(
        FlaskIntegration("cognito"),
        name="cognito",
        client_id=cognito.client_id,
        client_secret=cognito.client_secret,
        authorize_url=f"{cognito.domain}/oauth2/authorize",
        access_token_url=f"{cognito.domain}/oauth2/token",
        server_metadata_url=f"{cognito.issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid email profile",
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
            "default_timeout": 10,
        },
    )


def cognito_start() -> Response:
    """Send the browser to the user pool's hosted UI (authorization-code flow with PKCE)."""
    settings = _settings()
    if settings.cognito is None:
        return _page(f"Cognito sign-in is not configured ({', '.join(COGNITO_VARIABLES)}).", status=404)
    session["oidc_next"] = _safe_next(request.args.get("next"), settings.pathname_prefix)
    try:
        answer: Response = _oidc(settings.cognito).authorize_redirect(_redirect_uri(settings))
    except (requests.RequestException, ValueError):  # its discovery document, read once
        return _page("Cognito cannot be reached right now; please try again.", status=502)
    return answer


def cognito_callback() -> Response:
    """Exchange the code (with the PKCE verifier), verify the id_token, start the session of the
    user it names."""
    settings = _settings()
    if settings.cognito is None:
        return _page("Cognito sign-in is not configured.", status=404)
    from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
    from joserfc.errors import JoseError

    target = session.pop("oidc_next", settings.pathname_prefix)
    try:
        token = _oidc(settings.cognito).authorize_access_token()
    except MismatchingStateError:
        return _page("The sign-in expired or did not start here; please try again.", status=400)
    except OAuthError as exc:
        if request.args.get("error"):
            return _page(f"Cognito refused the sign-in: {exc.error}.", status=401)
        return _page("Cognito did not accept the sign-in code; please try again.", status=401)
    except JoseError:
        return _page("Cognito's answer could not be verified; please try again.", status=401)
    except (requests.RequestException, ValueError, KeyError):
        return _page("Cognito cannot be reached right now; please try again.", status=502)
    claims: dict[str, Any] = dict(token.get("userinfo") or {})
    user = str(claims.get("email") or claims.get("cognito:username") or claims.get("sub") or "")
    if not user:
        return _page("Cognito did not say who signed in; please try again.", status=401)
    return _open_session(user, "", target)


def require_sign_in() -> Response | None:
    """``before_request``: let the public paths through, ask everyone else to sign in."""
    path = request.path
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or signed_in_user():
        return None
    # An ended session is forgotten; a sign-in under way (Cognito's state) is kept.
    for name in SESSION_KEYS:
        session.pop(name, None)
    if path.startswith("/_dash-") or path.startswith("/_reload-hash"):
        return Response('{"error": "sign in first"}', status=401, mimetype="application/json")
    settings = _settings()
    wanted = settings.pathname_prefix + path.lstrip("/")
    if request.query_string:
        wanted += "?" + request.query_string.decode("latin-1")
    return redirect(f"{settings.pathname_prefix}login?{urlencode({'next': wanted})}")


def install(server: Flask, settings: DashSettings) -> None:
    """Add the sign-in routes and the guard to the dashboard's Flask server."""
    server.secret_key = settings.secret
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # In Lambda the dashboard is only ever served over HTTPS.
        SESSION_COOKIE_SECURE=bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")),
        PERMANENT_SESSION_LIFETIME=12 * 3600,
    )
    server.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "logout", logout)
    server.add_url_rule("/login/cognito", "login_cognito", cognito_start)
    server.add_url_rule("/login/callback", "login_callback", cognito_callback)
    server.before_request(require_sign_in)
