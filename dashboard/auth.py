"""Sign-in for the dashboard: a form with a user name and a password, or Cognito (OIDC).

Every request but the sign-in page and the static assets needs a signed-in session (a Flask
session cookie signed with ``STOREPULSE_DASH_SECRET``). Pages are redirected to the sign-in
page; Dash's own requests (``/_dash-...``) get a 401 so the browser does not follow a redirect
into JSON. With Cognito configured, the same page offers the user pool's hosted UI: the
authorization-code flow, the code exchanged server-side, the user read from ``userInfo``.
"""

from __future__ import annotations

import hmac
import os
import secrets
from typing import Any
from urllib.parse import urlencode

import requests
from flask import Flask, redirect, render_template_string, request, session
from werkzeug.wrappers import Response

from dashboard.settings import DashSettings, get_settings, password_matches

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
      STOREPULSE_DASH_USER and STOREPULSE_DASH_PASSWORD (or COGNITO_DOMAIN, COGNITO_CLIENT_ID and
      COGNITO_CLIENT_SECRET) for the dashboard.</p>
    {% endif %}
  </div>
</main></body></html>"""


def _settings() -> DashSettings:
    return get_settings()


def _safe_next(target: str | None, prefix: str) -> str:
    """Only a path of this dashboard: never another site (an open redirect)."""
    if target and target.startswith(prefix) and not target.startswith("//") and "\\" not in target:
        return target
    return prefix


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


def _sign_in_as(user: str) -> Response:
    session.clear()
    session["user"] = user
    session.permanent = True
    return redirect(_safe_next(request.values.get("next"), _settings().pathname_prefix))


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
    # Both checks always run, so the time taken does not tell a wrong user from a wrong password.
    user_ok = hmac.compare_digest(username.encode(), settings.user.encode())
    password_ok = password_matches(settings.password_hash, password)
    if user_ok and password_ok:
        return _sign_in_as(username)
    return _page("Wrong user name or password.", status=401, username=username)


def logout() -> Response:
    session.clear()
    return redirect(f"{_settings().pathname_prefix}login?signed_out=1")


def _redirect_uri(settings: DashSettings) -> str:
    assert settings.cognito is not None
    if settings.cognito.redirect_uri:
        return settings.cognito.redirect_uri
    return f"{request.host_url.rstrip('/')}{settings.pathname_prefix}login/callback"


def cognito_start() -> Response:
    """Send the browser to the user pool's hosted UI (authorization-code flow, with a state)."""
    settings = _settings()
    if settings.cognito is None:
        return _page(
            "Cognito sign-in is not configured (COGNITO_DOMAIN, COGNITO_CLIENT_ID, COGNITO_CLIENT_SECRET).",
            status=404,
        )
    state = secrets.token_urlsafe(24)
    session["oidc_state"] = state
    session["oidc_next"] = _safe_next(request.args.get("next"), settings.pathname_prefix)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.cognito.client_id,
            "redirect_uri": _redirect_uri(settings),
            "scope": "openid email profile",
            "state": state,
        }
    )
    return redirect(f"{settings.cognito.domain}/oauth2/authorize?{query}")


def cognito_callback() -> Response:
    """Exchange the code for tokens, read the user from ``userInfo``, start the session.

    The tokens come straight from the user pool's token endpoint over TLS with the client
    secret, and ``userInfo`` only answers for a valid access token, so no JWT parsing is needed
    to know who signed in.
    """
    settings = _settings()
    if settings.cognito is None:
        return _page("Cognito sign-in is not configured.", status=404)
    expected = session.pop("oidc_state", None)
    target = session.pop("oidc_next", settings.pathname_prefix)
    if request.args.get("error"):
        return _page(f"Cognito refused the sign-in: {request.args['error']}.", status=401)
    state = request.args.get("state", "")
    if not expected or not hmac.compare_digest(state, expected):
        return _page("The sign-in expired or did not start here; please try again.", status=400)
    cognito = settings.cognito
    try:
        token = requests.post(
            f"{cognito.domain}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": request.args.get("code", ""),
                "redirect_uri": _redirect_uri(settings),
                "client_id": cognito.client_id,
            },
            auth=(cognito.client_id, cognito.client_secret),
            timeout=10,
        )
        if token.status_code != 200:
            return _page("Cognito did not accept the sign-in code; please try again.", status=401)
        info = requests.get(
            f"{cognito.domain}/oauth2/userInfo",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            timeout=10,
        )
    except (requests.RequestException, ValueError, KeyError):
        return _page("Cognito cannot be reached right now; please try again.", status=502)
    if info.status_code != 200:
        return _page("Cognito did not say who signed in; please try again.", status=401)
    claims: dict[str, Any] = info.json()
    user = str(claims.get("email") or claims.get("username") or claims.get("sub") or "")
    if not user:
        return _page("Cognito did not say who signed in; please try again.", status=401)
    session.clear()
    session["user"] = user
    session.permanent = True
    return redirect(_safe_next(target, settings.pathname_prefix))


def require_sign_in() -> Response | None:
    """``before_request``: let the public paths through, ask everyone else to sign in."""
    path = request.path
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or session.get("user"):
        return None
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
