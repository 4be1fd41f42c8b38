"""The dev API keys and the PII hashing key of a local stack.

Keys come from the environment when set, otherwise they are generated once and kept in the
data directory (mode 0600), so that a restart keeps the keys a developer already copied.
Handlers never see a clear API key: only its SHA-256 digest, as in AWS where Terraform gives
them the digests.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

KEYS_FILE = "keys.json"
# A key set by hand must be at least this long (a generated one is 43 characters): 32 random
# characters are beyond guessing, a word or a short phrase is not.
MIN_KEY_LENGTH = 32


@dataclass(frozen=True)
class DevKeys:
    """The keys of one local stack."""

    ingest_key: str
    read_key: str
    pii_hash_key: str
    unsubscribe_signing_key: str = ""
    # The dashboard's sign-in and the key that signs its session cookie.
    dash_user: str = "storepulse"
    dash_password: str = ""
    dash_secret: str = ""
    # The store webhooks' HMAC keys (a Shopify app's own secret when set by hand).
    shopify_secret: str = ""
    woocommerce_secret: str = ""

    def dashboard_environment(self) -> dict[str, str]:
        """What the dashboard process gets (it hashes the password as it reads it)."""
        return {
            "STOREPULSE_DASH_USER": self.dash_user,
            "STOREPULSE_DASH_PASSWORD": self.dash_password,
            "STOREPULSE_DASH_SECRET": self.dash_secret,
        }

    def handler_environment(self) -> dict[str, str]:
        """What the handlers get: digests of the API keys and the HMAC key for e-mails.

        Examples
        --------
        >>> env = DevKeys("a", "b", "c").handler_environment()
        >>> env["INGEST_KEY_SHA256"][:12]
        'ca978112ca1b'
        """
        return {
            "INGEST_KEY_SHA256": sha256_hex(self.ingest_key),
            "READ_KEY_SHA256": sha256_hex(self.read_key),
            "PII_HASH_KEY": self.pii_hash_key,
            "UNSUBSCRIBE_SIGNING_KEY": self.unsubscribe_signing_key,
            "STOREPULSE_SHOPIFY_SECRET": self.shopify_secret,
            "STOREPULSE_WOOCOMMERCE_SECRET": self.woocommerce_secret,
        }


def sha256_hex(value: str) -> str:
    """Hex SHA-256 of ``value`` encoded as UTF-8."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def ensure_data_dir(data_dir: Path) -> Path:
    """Create the data directory (private to the user) and return its absolute path."""
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return data_dir


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only, replacing it atomically."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def read_stored_keys(data_dir: Path) -> dict[str, str]:
    """The keys kept in ``data_dir`` (empty when none were generated yet)."""
    path = data_dir / KEYS_FILE
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); delete it to generate new keys") from None
    return {k: v for k, v in stored.items() if isinstance(v, str)}


def check_hand_set_keys(environ: Mapping[str, str]) -> None:
    """Refuse keys set by hand that are too short, or one key for both roles.

    Raises
    ------
    ValueError
        Saying which variable is at fault and what to do.

    Examples
    --------
    >>> check_hand_set_keys({"STOREPULSE_READ_KEY": "r" * 32})
    >>> check_hand_set_keys({"STOREPULSE_READ_KEY": "short"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: STOREPULSE_READ_KEY is 5 characters; use at least 32 (...)
    """
    for name in ("STOREPULSE_INGEST_KEY", "STOREPULSE_READ_KEY", "PII_HASH_KEY", "UNSUBSCRIBE_SIGNING_KEY"):
        value = environ.get(name) or ""
        if value and len(value) < MIN_KEY_LENGTH:
            raise ValueError(
                f"{name} is {len(value)} characters; use at least {MIN_KEY_LENGTH} "
                '(python -c "import secrets; print(secrets.token_urlsafe(32))")'
            )
    ingest, read = environ.get("STOREPULSE_INGEST_KEY"), environ.get("STOREPULSE_READ_KEY")
    if ingest and ingest == read:
        raise ValueError(
            "STOREPULSE_INGEST_KEY and STOREPULSE_READ_KEY are the same: a client could then both "
            "send events and read the figures; set two different keys (or unset them to generate both)"
        )


def load_or_create_keys(data_dir: Path, environ: Mapping[str, str] | None = None) -> DevKeys:
    """The stack's keys: from the environment, else from ``data_dir``, else new ones.

    Parameters
    ----------
    data_dir
        ``STOREPULSE_DATA_DIR``; created when missing.
    environ
        Where ``STOREPULSE_INGEST_KEY``, ``STOREPULSE_READ_KEY``, ``PII_HASH_KEY``,
        ``UNSUBSCRIBE_SIGNING_KEY``, ``STOREPULSE_DASH_USER``, ``STOREPULSE_DASH_PASSWORD``,
        ``STOREPULSE_DASH_SECRET``, ``STOREPULSE_SHOPIFY_SECRET`` and
        ``STOREPULSE_WOOCOMMERCE_SECRET`` may be set; ``os.environ`` by default.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     first = load_or_create_keys(Path(d), environ={})
    ...     first == load_or_create_keys(Path(d), environ={})
    True
    """
    environ = os.environ if environ is None else environ
    data_dir = ensure_data_dir(data_dir)
    stored = read_stored_keys(data_dir)
    generated = {
        name: stored.get(name) or secrets.token_urlsafe(32)
        for name in (
            "ingest_key",
            "read_key",
            "pii_hash_key",
            "unsubscribe_signing_key",
            "dash_password",
            "dash_secret",
            "shopify_secret",
            "woocommerce_secret",
        )
    }
    if generated != stored:
        write_private(data_dir / KEYS_FILE, json.dumps(generated, indent=2) + "\n")
    check_hand_set_keys(environ)
    return DevKeys(
        ingest_key=environ.get("STOREPULSE_INGEST_KEY") or generated["ingest_key"],
        read_key=environ.get("STOREPULSE_READ_KEY") or generated["read_key"],
        pii_hash_key=environ.get("PII_HASH_KEY") or generated["pii_hash_key"],
        unsubscribe_signing_key=(
            environ.get("UNSUBSCRIBE_SIGNING_KEY") or generated["unsubscribe_signing_key"]
        ),
        dash_user=environ.get("STOREPULSE_DASH_USER") or "storepulse",
        dash_password=environ.get("STOREPULSE_DASH_PASSWORD") or generated["dash_password"],
        dash_secret=environ.get("STOREPULSE_DASH_SECRET") or generated["dash_secret"],
        shopify_secret=environ.get("STOREPULSE_SHOPIFY_SECRET") or generated["shopify_secret"],
        woocommerce_secret=environ.get("STOREPULSE_WOOCOMMERCE_SECRET") or generated["woocommerce_secret"],
    )
