"""Ingest: validate a request, claim the new event ids, publish, and only then say accepted."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from backend.adapters import bus
from backend.adapters.ingest_table import IngestTable, payload_digest
from backend.domain.errors import InvalidRequest, TooLarge, TryAgain
from backend.domain.events import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    MAX_EVENTS_PER_REQUEST,
    CustomerRegistered,
    CustomerRegisteredIn,
    Event,
    EventError,
    Rejection,
    parse_event,
)

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
else:
    SNSClient = Any

logger = logging.getLogger(__name__)
PUBLISH_ATTEMPTS = 3


@dataclass
class Outcome:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [r.to_json() for r in self.rejected],
        }


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_request(
    body: str | None, *, currency: str, pii_key: str, now: datetime | None = None
) -> tuple[list[Event], list[Rejection]]:
    """Validate a request body: the valid events (e-mails hashed) and the rejections.

    Raises :class:`~backend.domain.errors.InvalidRequest` or :class:`~backend.domain.errors.TooLarge`
    (the API answers 400 or 413) when the body itself is unusable.
    """
    raw = body or ""
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        raise TooLarge(
            "payload_too_large",
            f"the body is over {MAX_BODY_BYTES} bytes; send fewer events per request",
        )
    try:
        payload = json.loads(raw, parse_constant=_no_constants)
    except ValueError as exc:
        raise InvalidRequest("invalid_json", f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidRequest(
            "invalid_body", f"the body is nested too deeply; an event is at most {MAX_DEPTH} levels deep"
        ) from None
    if not isinstance(payload, dict) or set(payload) != {"events"}:
        raise InvalidRequest(
            "invalid_body", 'the body must be a JSON object {"events": [...]} and nothing else'
        )
    items = payload["events"]
    if not isinstance(items, list) or not items:
        raise InvalidRequest("invalid_body", "events: must be a list of 1 to 500 events")
    if len(items) > MAX_EVENTS_PER_REQUEST:
        raise TooLarge(
            "too_many_events",
            f"events: {len(items)} events; at most {MAX_EVENTS_PER_REQUEST} per request",
        )
    accepted: list[Event] = []
    rejected: list[Rejection] = []
    clock = now or datetime.now(UTC)
    for index, item in enumerate(items):
        try:
            event = parse_event(item, currency=currency, now=clock)
        except EventError as exc:
            event_id = item.get("event_id") if isinstance(item, dict) else None
            rejected.append(Rejection(index, event_id if isinstance(event_id, str) else None, exc.errors))
            continue
        accepted.append(hash_pii(event, pii_key))
    return accepted, rejected


def hash_email(email: str, pii_key: str) -> str:
    """A keyed hash of an e-mail (lower-cased): joinable, not reversible without the key."""
    return hmac.new(pii_key.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def hash_pii(event: Event, pii_key: str) -> Event:
    """The event as the pipeline carries it: a registration's e-mail replaced by its keyed hash
    (:func:`hash_email`); every other event as it is."""
    data = event.data
    if not isinstance(data, CustomerRegisteredIn):
        return event
    hashed = CustomerRegistered(
        customer_id=data.customer_id,
        country=data.country,
        email_hash=hash_email(data.email, pii_key) if data.email else None,
    )
    return Event(event.event_id, event.type, event.occurred_at, hashed)


def accept(
    claims: IngestTable,
    sns: SNSClient,
    *,
    topic_arn: str,
    events: list[Event],
    rejected: list[Rejection],
) -> Outcome:
    """Claim the events not seen before, publish them, then mark them published.

    Each ``event_id`` is claimed with a condition before it is published (see
    :mod:`backend.adapters.ingest_table`): of two concurrent requests carrying it with different
    payloads, one publishes it and the other answers duplicate. A claim whose publishing did not
    happen (a crash, SNS refusing) stays with its payload: the same payload sent again publishes
    it (the processors absorb a repeat), another payload is a duplicate. A 503 is raised when
    some events could not be claimed or published; the client sends the same batch again.
    """
    outcome = Outcome(rejected=rejected)
    unique: dict[str, Event] = {}
    for event in events:
        if event.event_id in unique:
            outcome.duplicates += 1
        else:
            unique[event.event_id] = event
    digests = {event_id: payload_digest(event) for event_id, event in unique.items()}
    request = uuid.uuid4().hex
    claimed = claims.claim(list(unique.values()), digests, request)
    outcome.duplicates += len(claimed.held)
    pending = claimed.taken
    for attempt in range(PUBLISH_ATTEMPTS):
        pending = bus.publish(sns, topic_arn, pending)
        if not pending:
            break
        time.sleep(0.1 * 2**attempt)
    failed_ids = {e.event_id for e in pending}
    published = [e for e in claimed.taken if e.event_id not in failed_ids]
    if published:
        try:
            claims.published(request, published, digests, whole_request=not pending)
        except Exception:  # SNS has them: a resend publishes them again, and that counts once
            logger.exception("could not mark %d published events", len(published))
    not_queued = [*claimed.unclaimed, *pending]
    if not_queued:
        logger.error("could not queue %d of %d events", len(not_queued), len(unique))
        raise TryAgain(
            "publish_failed",
            f"{len(not_queued)} events could not be queued; nothing was lost: send the same batch again",
            [{"event_id": e.event_id} for e in not_queued],
        )
    outcome.accepted = len(published)
    return outcome
