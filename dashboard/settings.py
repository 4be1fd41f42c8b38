"""The dashboard's configuration, read once from the environment, in one place.

The dashboard knows the product only through the HTTP API: it needs that API's URL and the read
key, the sign-in (a user name with a hashed password, or Cognito), the session secret and the
path prefix it is served under (``/dev/`` behind an API Gateway stage, ``/`` behind a custom
domain or locally).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from werkzeug.security import check_password_hash, generate_password_hash

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CognitoSettings:
    """The OIDC client of a Cognito user pool (hosted UI).

    Attributes
    ----------
    domain
        The user pool's domain, ``https://<prefix>.auth.<region>.amazoncognito.com`` or a custom
        one; the authorize and token endpoints live under it.
    issuer
        The user pool's issuer, ``https://cognito-idp.<region>.amazonaws.com/<user pool id>``:
        its discovery document names the keys that sign the id_token, and its ``iss``.
    client_id, client_secret
        The app client (a confidential client: the code is exchanged server-side).
    redirect_uri
        The dashboard's ``.../login/callback`` as registered on the app client; when empty it is
        derived from the request.
    """

    domain: str
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str = ""


@dataclass(frozen=True)
class DashSettings:
    """Everything the dashboard reads from the environment.

    Attributes
    ----------
    api_url
        ``STOREPULSE_API_URL``; default ``http://127.0.0.1:$STOREPULSE_API_PORT``.
    read_key
        ``STOREPULSE_READ_KEY``, sent as ``x-api-key``.
    api_timeout
        Seconds per API request (``STOREPULSE_API_TIMEOUT``, default 5).
    api_cache_seconds
        How long a GET answer is reused (``STOREPULSE_API_CACHE_SECONDS``, default 30; 0: never).
    user, password_hash
        The sign-in: ``STOREPULSE_DASH_USER`` and the hash of ``STOREPULSE_DASH_PASSWORD`` (or
        ``STOREPULSE_DASH_PASSWORD_HASH``, a Werkzeug or ``sha256$salt$hex`` hash, so AWS never
        holds it in clear). Each of the secrets may be ``ssm:<parameter name>`` instead.
    secret
        ``STOREPULSE_DASH_SECRET``, which signs the session cookie.
    pathname_prefix
        ``DASH_REQUESTS_PATHNAME_PREFIX`` (``/`` by default, ``/dev/`` under an API Gateway stage).
    store_timezone
        ``STORE_TIMEZONE``: "today" and the date presets are store days.
    currency
        ``STORE_CURRENCY``, for the money labels.
    cognito
        Set when ``COGNITO_DOMAIN``, ``COGNITO_ISSUER``, ``COGNITO_CLIENT_ID`` and
        ``COGNITO_CLIENT_SECRET`` are.
    password_fingerprint
        A keyed digest of the configured password, carried by every password session: changing
        the password ends them all (``dashboard.auth``).
    sessions_table
        ``DASH_SESSIONS_TABLE``: where session generations and wrong passwords are counted
        (``dashboard.sessions``); empty keeps them in this process.
    aws_endpoint
        ``AWS_ENDPOINT_URL`` (the local stack's moto server); empty in AWS.
    """

    api_url: str
    read_key: str
    api_timeout: float
    api_cache_seconds: float
    user: str
    password_hash: str
    secret: str
    pathname_prefix: str
    store_timezone: str
    currency: str
    cognito: CognitoSettings | None
    password_fingerprint: str = ""
    sessions_table: str = ""
    aws_endpoint: str = ""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.store_timezone)

    @property
    def password_sign_in(self) -> bool:
        """A user name and a password are configured."""
        return bool(self.user and self.password_hash)


# A secret's variable may name an SSM parameter instead of holding the value: in AWS the Lambda
# environment holds only "ssm:/storepulse/dashboard/session-secret" (docs/deploy.md).
SSM_REFERENCE = "ssm:"


def secret_value(env: dict[str, str], name: str) -> str:
    """The value of secret ``name``: the variable itself, or the SecureString parameter it names.

    Examples
    --------
    >>> secret_value({"STOREPULSE_DASH_SECRET": "s3cret"}, "STOREPULSE_DASH_SECRET")
    's3cret'
    """
    value = env.get(name, "")
    if not value.startswith(SSM_REFERENCE):
        return value
    # boto3 comes with the Lambda runtime (the zip leaves it out); read once per process.
    import boto3

    parameter = boto3.client("ssm").get_parameter(Name=value[len(SSM_REFERENCE) :], WithDecryption=True)
    return str(parameter["Parameter"]["Value"])


def password_matches(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``: a Werkzeug hash, or ``sha256$salt$hex``,
    the salted SHA-256 Terraform can compute for the random password it generates (a 24-character
    random password needs no key stretching; a chosen one should be stored as a Werkzeug hash).

    Examples
    --------
    >>> password_matches("sha256$ab$" + hashlib.sha256(b"abpw").hexdigest(), "pw")
    True
    >>> password_matches(generate_password_hash("pw"), "nope")
    False
    """
    if password_hash.startswith("sha256$"):
        _, salt, digest = password_hash.split("$", 2)
        expected = hashlib.sha256((salt + password).encode("utf-8")).hexdigest()
        return hmac.compare_digest(expected, digest)
    return bool(password_hash) and check_password_hash(password_hash, password)


def normalise_prefix(prefix: str) -> str:
    """``dev`` -> ``/dev/``; empty -> ``/``.

    Examples
    --------
    >>> normalise_prefix("dev"), normalise_prefix("/dev/"), normalise_prefix("")
    ('/dev/', '/dev/', '/')
    """
    stripped = prefix.strip().strip("/")
    return f"/{stripped}/" if stripped else "/"


def fingerprint(secret: str, password: str) -> str:
    """A digest of the password under the session secret: the same in every process (unlike
    its salted hash), and saying nothing about the password to whoever reads a cookie.

    Examples
    --------
    >>> fingerprint("s", "a") == fingerprint("s", "a") != fingerprint("s", "b")
    True
    """
    return hmac.new(secret.encode(), b"password:" + password.encode(), hashlib.sha256).hexdigest()[:32]


COGNITO_VARIABLES = ("COGNITO_DOMAIN", "COGNITO_ISSUER", "COGNITO_CLIENT_ID", "COGNITO_CLIENT_SECRET")


def _cognito(env: dict[str, str]) -> CognitoSettings | None:
    given = [name for name in COGNITO_VARIABLES if env.get(name)]
    if len(given) != len(COGNITO_VARIABLES):
        if given:
            missing = ", ".join(name for name in COGNITO_VARIABLES if name not in given)
            logger.warning("Cognito sign-in is off: %s not set", missing)
        return None
    domain = env["COGNITO_DOMAIN"].rstrip("/")
    if "://" not in domain:
        domain = f"https://{domain}"
    return CognitoSettings(
        domain=domain,
        issuer=env["COGNITO_ISSUER"].rstrip("/"),
        client_id=env["COGNITO_CLIENT_ID"],
        client_secret=env["COGNITO_CLIENT_SECRET"],
        redirect_uri=env.get("COGNITO_REDIRECT_URI", ""),
    )


def settings_from(env: dict[str, str]) -> DashSettings:
    """Build the settings from a mapping of environment variables.

    Examples
    --------
    >>> s = settings_from({"STOREPULSE_API_PORT": "9000", "STOREPULSE_DASH_SECRET": "x"})
    >>> s.api_url, s.password_sign_in, s.pathname_prefix
    ('http://127.0.0.1:9000', False, '/')
    """
    port = env.get("STOREPULSE_API_PORT") or "8000"
    password = secret_value(env, "STOREPULSE_DASH_PASSWORD")
    password_hash = secret_value(env, "STOREPULSE_DASH_PASSWORD_HASH")
    if password and not password_hash:
        # Kept only as a hash: the clear password is not held past this line.
        password_hash = generate_password_hash(password)
    secret = secret_value(env, "STOREPULSE_DASH_SECRET")
    if not secret:
        logger.warning(
            "STOREPULSE_DASH_SECRET is not set: sessions are signed with a random key and end "
            "when this process does"
        )
        secret = secrets.token_urlsafe(32)
    settings = DashSettings(
        api_url=(env.get("STOREPULSE_API_URL") or f"http://127.0.0.1:{port}").rstrip("/"),
        read_key=secret_value(env, "STOREPULSE_READ_KEY"),
        api_timeout=float(env.get("STOREPULSE_API_TIMEOUT") or 5),
        api_cache_seconds=float(env.get("STOREPULSE_API_CACHE_SECONDS") or 30),
        user=env.get("STOREPULSE_DASH_USER", ""),
        password_hash=password_hash,
        secret=secret,
        pathname_prefix=normalise_prefix(env.get("DASH_REQUESTS_PATHNAME_PREFIX", "/")),
        store_timezone=env.get("STORE_TIMEZONE") or "UTC",
        currency=env.get("STORE_CURRENCY") or "USD",
        cognito=_cognito(env),
        password_fingerprint=fingerprint(secret, password or password_hash),
        sessions_table=env.get("DASH_SESSIONS_TABLE", ""),
        aws_endpoint=env.get("AWS_ENDPOINT_URL", ""),
    )
    settings.zone  # noqa: B018 - an unknown time zone fails at start, not on the first page
    return settings


@cache
def get_settings() -> DashSettings:
    """Read the environment once per process (tests call ``get_settings.cache_clear()``)."""
    return settings_from(dict(os.environ))
