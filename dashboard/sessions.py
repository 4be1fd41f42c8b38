"""What the server remembers of sign-ins: session generations and recent wrong passwords.

A session cookie is signed, so the server needs no record of it to trust it; to *end* it the
server keeps, per user, a **session generation**: every cookie carries the generation it was
issued under, and signing out increments it, so every copy of every cookie of that user stops
working at once, in every process (the dashboard runs as many Lambda containers). Wrong
passwords are counted per user and per client address in one-minute windows, so a guesser is
answered ``429`` before a password hash is computed.

Both live in one small DynamoDB table (``DASH_SESSIONS_TABLE``, ``storepulse-dashboard-sessions``
in ``infra/stack.json``): in AWS the dashboard's role may read and update it and nothing else,
locally it is on the moto server of ``make run``. Without that setting (a dashboard started
on its own) the state is kept in this process, with a warning: correct for one process only.
See docs/security.md.
"""

from __future__ import annotations

import logging
import threading
from functools import cache
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class SignInState(Protocol):
    """The server-side state the sign-in needs."""

    def generation(self, user: str) -> int:
        """The user's current session generation (0 before any sign-out)."""

    def end_sessions(self, user: str) -> int:
        """End every session of ``user``: increment their generation, return the new one."""

    def failures(self, scope: str, window: int) -> int:
        """Wrong passwords counted for ``scope`` (a user or an address) in minute ``window``."""

    def add_failure(self, scope: str, window: int, expires_at: int) -> int:
        """Count one more wrong password for ``scope`` in ``window``; return the count."""


class MemoryState:
    """The state in this process (a dashboard without ``DASH_SESSIONS_TABLE``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def generation(self, user: str) -> int:
        return self._counts.get(f"session#{user}", 0)

    def end_sessions(self, user: str) -> int:
        return self._add(f"session#{user}")

    def failures(self, scope: str, window: int) -> int:
        return self._counts.get(f"failures#{scope}#{window}", 0)

    def add_failure(self, scope: str, window: int, expires_at: int) -> int:
        return self._add(f"failures#{scope}#{window}")

    def _add(self, key: str) -> int:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


class TableState:
    """The state in a DynamoDB table keyed by ``key`` (string), expiring on ``expires_at``."""

    def __init__(self, dynamodb: Any, table: str):
        self._dynamodb = dynamodb
        self._table = table

    def _read(self, key: str) -> int:
        item = self._dynamodb.get_item(
            TableName=self._table, Key={"key": {"S": key}}, ConsistentRead=True, ProjectionExpression="n"
        ).get("Item")
        return int(item["n"]["N"]) if item else 0

    def _add(self, key: str, expires_at: int | None = None) -> int:
        update, values = "ADD n :one", {":one": {"N": "1"}}
        if expires_at is not None:
            update += " SET expires_at = :expires"
            values[":expires"] = {"N": str(expires_at)}
        answer = self._dynamodb.update_item(
            TableName=self._table,
            Key={"key": {"S": key}},
            UpdateExpression=update,
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["n"]["N"])

    def generation(self, user: str) -> int:
        return self._read(f"session#{user}")

    def end_sessions(self, user: str) -> int:
        return self._add(f"session#{user}")

    def failures(self, scope: str, window: int) -> int:
        return self._read(f"failures#{scope}#{window}")

    def add_failure(self, scope: str, window: int, expires_at: int) -> int:
        return self._add(f"failures#{scope}#{window}", expires_at)


@cache
def state_for(table: str, endpoint: str) -> SignInState:
    """The state for ``table`` on ``endpoint`` (settings ``sessions_table`` and ``aws_endpoint``),
    made once per process; no table: this process's memory."""
    if not table:
        logger.warning(
            "DASH_SESSIONS_TABLE is not set: sign-outs and sign-in limits hold in this process only"
        )
        return MemoryState()
    import boto3  # the Lambda runtime provides it; only imported when a table is configured

    return TableState(boto3.client("dynamodb", endpoint_url=endpoint or None), table)
