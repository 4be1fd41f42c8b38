"""The ingest journal: what the local API acknowledged with ``202``, on disk before the client
hears it.

moto keeps everything in memory, and the snapshot is taken now and then: an event accepted
between two snapshots would die with the stack (kill -9, a power cut). So the local API
Gateway appends the events of every ``202`` of ``POST /v1/events`` to this journal, as the
pipeline carries them (validated, e-mails already hashed: no clear PII on disk), and the events
of every store webhook the connectors function accepted (mapped again from the request; a stock
level's adjustment, which depends on stored levels, is the one thing left out), and flushes it
to disk before the answer leaves. At start the stack publishes the journal's events again
(:func:`replay`): processors count by event id and business id, so an event that was counted
already counts nothing. A snapshot covers what the journal held when it was taken, which is
then dropped (:meth:`Journal.drop_through`).

The file is JSON lines, one line per acknowledged request: ``{"events": [...]}``. A line cut
short by a crash while it was written was never acknowledged, and is ignored.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.adapters import bus
from backend.domain.events import Event, EventError, parse_event
from backend.processing import connectors
from backend.processing.ingest import read_request
from devstack.snapshot import sync_directory

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
else:
    SNSClient = Any

logger = logging.getLogger(__name__)

JOURNAL_FILE = "ingest-journal.jsonl"
ACCEPTED = 202
# The function behind POST /v1/connectors/*: its 200s with events accepted are journalled too.
CONNECTORS = "connectors"
_PUBLISH_ATTEMPTS = 5


class Journal:
    """An append-only file of acknowledged events, each append flushed to disk.

    Parameters
    ----------
    path
        The journal file (created ``0600`` when missing).
    currency, pii_key
        What the ingest function validates and hashes with (``STORE_CURRENCY``,
        ``PII_HASH_KEY``): the journal holds the events as the pipeline carries them.

    Examples
    --------
    With an API Gateway proxy event (so not run as a doctest)::

        journal = Journal(Path(".data/ingest-journal.jsonl"), currency="USD", pii_key="k")
        journal.record("ingest", proxy_event, 202)
    """

    def __init__(self, path: Path, *, currency: str, pii_key: str):
        self.path = path
        self.currency = currency
        self.pii_key = pii_key
        self._lock = threading.Lock()
        self._file = self._open()

    def _open(self) -> Any:
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(descriptor, "ab")

    @property
    def position(self) -> int:
        """Bytes written so far: what a snapshot taken now covers."""
        with self._lock:
            return self._file.tell()

    def record(
        self, function_name: str, proxy_event: Mapping[str, Any], result: Mapping[str, Any], now: datetime
    ) -> None:
        """Journal the events of an ingest request its function answered ``202``.

        Called by the local API Gateway after the function returned and before the answer is
        sent, with the proxy event and the function's proxy result. A batch answered with no
        event accepted (all duplicates: a client sending again what it could not confirm) adds
        nothing; otherwise every valid event of the request is journalled, each id once (the
        answer does not say which were the duplicates, and a replay counts an id once anyway).
        """
        if function_name == CONNECTORS:
            self._record_webhook(proxy_event, result, now)
            return
        if function_name != "ingest" or result.get("statusCode") != ACCEPTED or not _accepted(result):
            return
        events, _ = read_request(
            proxy_event.get("body"), currency=self.currency, pii_key=self.pii_key, now=now
        )
        self.append(events)

    def _record_webhook(
        self, proxy_event: Mapping[str, Any], result: Mapping[str, Any], now: datetime
    ) -> None:
        """A store webhook the connectors function answered with events accepted: its events,
        mapped again from the request (:func:`backend.processing.connectors.webhook_events`)."""
        if result.get("statusCode") != 200 or not _accepted(result):
            return
        platform = connectors.PLATFORMS.get(str(proxy_event.get("path", "")).rstrip("/").rsplit("/", 1)[-1])
        if platform is None:
            return
        headers = {name.lower(): value for name, value in (proxy_event.get("headers") or {}).items()}
        self.append(
            connectors.webhook_events(
                platform,
                headers=headers,
                body=connectors.raw_body(proxy_event),
                currency=self.currency,
                pii_key=self.pii_key,
                now=now,
            )
        )

    def append(self, events: list[Event]) -> None:
        """Write ``events`` as one line and flush it to disk."""
        unique: dict[str, Event] = {}
        for event in events:
            unique.setdefault(event.event_id, event)
        if not unique:
            return
        line = json.dumps({"events": [e.to_json() for e in unique.values()]}, separators=(",", ":"))
        with self._lock:
            self._file.write(line.encode() + b"\n")
            self._file.flush()
            os.fsync(self._file.fileno())

    def drop_through(self, position: int) -> None:
        """Forget the first ``position`` bytes (a snapshot now holds them); what was appended
        since stays. The rest is written to a new file that replaces this one atomically."""
        with self._lock:
            self._file.flush()
            with open(self.path, "rb") as current:
                current.seek(position)
                rest = current.read()
            temporary = self.path.with_name(f".{self.path.name}.tmp")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(rest)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
            sync_directory(self.path.parent)
            self._file.close()
            self._file = self._open()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def _accepted(result: Mapping[str, Any]) -> int:
    try:
        return int(json.loads(result.get("body") or "{}").get("accepted", 1))
    except (ValueError, TypeError, AttributeError):
        return 1  # an answer of another shape: journal rather than risk losing


def journalled_events(path: Path, *, currency: str) -> Iterator[Event]:
    """The events of a journal, in the order they were acknowledged, each event id once.

    A line that does not parse (the last one, cut short by a crash) is skipped with a warning.
    """
    if not path.exists():
        return
    seen: set[str] = set()
    with open(path, "rb") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                raw_events = json.loads(line)["events"]
            except (ValueError, KeyError, TypeError):
                logger.warning(
                    "%s line %d is incomplete (cut by a crash before its 202); skipped", path, number
                )
                continue
            for raw in raw_events:
                try:
                    event = parse_event(raw, currency=currency, inbound=False, now=datetime.now(UTC))
                except EventError as exc:
                    logger.error("%s line %d holds an event that no longer parses: %s", path, number, exc)
                    continue
                if event.event_id not in seen:
                    seen.add(event.event_id)
                    yield event


def replay(sns: SNSClient, topic_arn: str, path: Path, *, currency: str, chunk: int = 500) -> int:
    """Publish every event of the journal at ``path`` again; how many.

    Raises
    ------
    RuntimeError
        When SNS keeps refusing some of them (the journal is kept: the next start retries).
    """
    published = 0
    pending: list[Event] = []

    def flush() -> None:
        nonlocal published, pending
        refused = pending
        for _ in range(_PUBLISH_ATTEMPTS):
            refused = bus.publish(sns, topic_arn, refused)
            if not refused:
                break
        if refused:
            raise RuntimeError(f"{len(refused)} journalled events could not be published again")
        published += len(pending)
        pending = []

    for event in journalled_events(path, currency=currency):
        pending.append(event)
        if len(pending) == chunk:
            flush()
    if pending:
        flush()
    return published
