"""``storepulse import``: a store's history into the pipeline through the ingest API.

Events go in requests of up to 500 (and under the API's 1 MiB), each with a deterministic id
(the file's own ids, or ids derived from the Shopify order), so a second run of the same file,
or a run resumed after Ctrl-C, is acknowledged as duplicates and counts nothing twice. After each
acknowledged request the importer writes how far it got to a checkpoint (``imports/`` in the
data directory, named after the file's digest): a run of the same file resumes after it; a
finished run removes it, so running it again sends everything again (all duplicates).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
from tqdm import tqdm

from backend.connectors.common import CustomerIds, Unmappable
from backend.connectors.shopify_export import check_columns, read_export
from devstack.simulator.sender import (
    MAX_BATCH_EVENTS,
    RETRY_BACKOFF_SECONDS,
    IngestRefused,
    batch_bodies,
    post_batch,
)

# (source line number, event), or (line number, why it could not be read); the line number
# names the event in the summary.
Numbered = tuple[int, dict[str, Any] | str]


class ImportError_(ValueError):
    """A file that cannot be imported at all; the message says why."""


@dataclass
class Summary:
    """What an import did, over every run of the same file until it finished."""

    events: int = 0
    accepted: int = 0
    duplicates: int = 0
    #: ``[line, event_id, [errors]]`` of events the ingest API or the mapping refused.
    rejected: list[list[Any]] = field(default_factory=list)
    #: Events already sent by an interrupted run of the same file.
    resumed_after: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        done = [
            f"{self.events} events: {self.accepted} accepted, {self.duplicates} duplicates "
            f"(sent before), {len(self.rejected)} rejected"
        ]
        if self.resumed_after:
            done.append(f"resumed after the {self.resumed_after} events an earlier run had sent")
        if self.seconds:
            done.append(f"{self.events / self.seconds:,.0f} events/s over {self.seconds:.1f} s")
        for line, event_id, errors in self.rejected[:50]:
            done.append(f"  line {line}: {event_id or '(no event id)'}: {'; '.join(errors)}")
        if len(self.rejected) > 50:
            done.append(f"  ... and {len(self.rejected) - 50} more rejected")
        return done


def read_ndjson(path: Path) -> Iterator[Numbered]:
    """``(line, event)`` per non-blank line of an NDJSON file, or ``(line, reason)`` for a line
    that is not a JSON object. An event without an ``event_id`` gets one derived from its line's
    content (the same line imported again has the same id)."""
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                event = json.loads(text)
            except ValueError as exc:
                yield number, f"not JSON: {exc}"
                continue
            if not isinstance(event, dict):
                yield number, "not a JSON object"
                continue
            if "event_id" not in event:
                event = {
                    "event_id": "import:" + hashlib.sha256(text.strip().encode()).hexdigest()[:40],
                    **event,
                }
            yield number, event


def read_shopify_orders(path: Path, *, currency: str, customers: CustomerIds) -> Iterator[Numbered]:
    """``(line, event)`` of a Shopify orders export (:mod:`backend.connectors.shopify_export`)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            check_columns(reader.fieldnames or [])
        except Unmappable as exc:
            raise ImportError_(f"{path}: {exc}") from None
        # DictReader counts physical lines: a quoted field may span several.
        rows = ((reader.line_num, row) for row in reader)
        yield from read_export(rows, currency=currency, customers=customers)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Checkpoint:
    """How far the import of one file got (events acknowledged, and the totals so far)."""

    path: Path

    def load(self) -> Summary | None:
        try:
            return Summary(**json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, summary: Summary) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(summary)), encoding="utf-8")
        os.replace(temporary, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def send_events(
    items: Sequence[Numbered],
    api_url: str,
    ingest_key: str,
    checkpoint: Checkpoint,
    *,
    batch_size: int = MAX_BATCH_EVENTS,
    progress: bool = True,
    after_batch: Callable[[Summary], None] | None = None,
    session: requests.Session | None = None,
) -> Summary:
    """Send the events through ``POST /v1/events``, resuming after ``checkpoint``.

    Parameters
    ----------
    items
        ``(line, event)`` in file order, or ``(line, reason)`` for what could not be read.
    api_url, ingest_key
        The API and the ingest key.
    checkpoint
        Where progress is kept between runs.
    after_batch
        Called after each acknowledged request (tests interrupt an import with it).

    Returns
    -------
    Summary
        Totals over this run and the runs it resumes.

    Examples
    --------
    Against a running stack::

        send_events(list(read_ndjson(Path("history.ndjson"))), "http://127.0.0.1:8000", key,
                    Checkpoint(Path(".data/imports/x.json")))
    """
    earlier = checkpoint.load()
    summary = earlier or Summary()
    if earlier:
        summary.resumed_after = earlier.events
    unreadable = [(line, reason) for line, reason in items if isinstance(reason, str)]
    events = [(line, event) for line, event in items if isinstance(event, dict)]
    if not earlier:
        summary.rejected += [[line, None, [reason]] for line, reason in unreadable]
    pending = events[summary.events :]
    url = api_url.rstrip("/") + "/v1/events"
    started = time.monotonic()
    http = session or requests.Session()
    try:
        with tqdm(
            total=len(events), initial=summary.events, unit="events", desc="import", disable=not progress
        ) as bar:
            offset = 0
            for count, body in batch_bodies([event for _, event in pending], batch_size):
                batch = pending[offset : offset + count]
                try:
                    answer = post_batch(
                        http, url, ingest_key, body, timeout=60, retries=6, backoff=RETRY_BACKOFF_SECONDS
                    )
                except IngestRefused as exc:
                    if exc.status != 400 or exc.error.get("code") != "no_valid_event":
                        raise
                    # Not one event of the request is valid: each is listed, the import goes on.
                    answer = {"accepted": 0, "duplicates": 0, "rejected": exc.error.get("details") or []}
                summary.accepted += int(answer.get("accepted", 0))
                summary.duplicates += int(answer.get("duplicates", 0))
                for rejection in answer.get("rejected") or []:
                    line, event = batch[int(rejection["index"])]
                    summary.rejected.append([line, event.get("event_id"), list(rejection.get("errors", []))])
                offset += count
                summary.events += count
                summary.seconds += time.monotonic() - started
                started = time.monotonic()
                checkpoint.save(summary)
                bar.update(count)
                bar.set_postfix(accepted=summary.accepted, duplicates=summary.duplicates, refresh=False)
                if after_batch is not None:
                    after_batch(summary)
    finally:
        if session is None:
            http.close()
    checkpoint.clear()
    return summary


def checkpoint_for(path: Path, data_dir: Path) -> Checkpoint:
    """The checkpoint of ``path``'s current content."""
    return Checkpoint(data_dir / "imports" / f"{file_digest(path)[:32]}.json")


def report(summary: Summary, out: Any = None) -> None:
    for line in summary.lines():
        print(line, file=out or sys.stdout)
