"""Role keys: the ingest key only ingests, the read key only reads.

Functions know keys only by their SHA-256 digests (``INGEST_KEY_SHA256``, ``READ_KEY_SHA256``,
comma-separated for rotation), compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Literal

from backend.api.errors import ApiError
from backend.settings import SettingMissing

Role = Literal["ingest", "read"]


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_key(presented: str | None, allowed: Iterable[str], others: Iterable[str], role: Role) -> None:
    """Raise 401 for a missing or unknown key, 403 for a key of the other role.

    Raises
    ------
    SettingMissing
        When one digest is both roles' (``INGEST_KEY_SHA256`` and ``READ_KEY_SHA256`` share a
        key): the function serves no request rather than let one key both ingest and read.
    """
    if set(allowed) & set(others):
        raise SettingMissing(
            "INGEST_KEY_SHA256 and READ_KEY_SHA256 share a key: one key would both ingest and "
            "read; give each role its own key"
        )
    if not presented:
        raise ApiError(401, "unauthorized", "missing x-api-key header")
    digest = key_digest(presented)
    if any(hmac.compare_digest(digest, d) for d in allowed):
        return
    if any(hmac.compare_digest(digest, d) for d in others):
        other = "a read" if role == "ingest" else "an ingest"
        raise ApiError(403, "forbidden", f"this is {other} key; it cannot {role}")
    raise ApiError(401, "unauthorized", "x-api-key is not a valid key")


def header(headers: dict[str, str] | None, name: str) -> str | None:
    """A header by name, whatever its case."""
    for candidate, value in (headers or {}).items():
        if candidate.lower() == name:
            return value
    return None
