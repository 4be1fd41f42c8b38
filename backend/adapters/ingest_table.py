"""The ingest table: one claim per ``event_id``, taken before its event is published.

A claim item is ``{event_id, type, digest, request, claimed_at}``: ``digest`` is a digest of the
event's payload and ``request`` the request that claimed it. It is *published* once SNS has its
event: either the request's marker item (``event_id = "request#<id>"``; ``#`` is never in an
event id) exists, written once per request after all of its events were published, or, when only
part of a request was published, the claim itself says ``published``. Items written before
claims existed (no digest) were written after publishing: they count as published.

Write units (AWS): each claim is a plain conditional ``PutItem`` (1 write unit for an item under
1 KB; in a ``TransactWriteItems`` it cost 2, and a transaction buys nothing here: each claim
stands alone, and a claim taken by a request that then fails is taken again by the same
payload), plus 1 for the request's marker. Reads: one strongly consistent read unit per event
(the look-up that answers most duplicates without a write).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from backend.adapters.dynamo import _backoff, batch_get, batch_put, to_ddb
from backend.adapters.parallel import parallel_map
from backend.domain.events import Event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

logger = logging.getLogger(__name__)

REQUEST_PREFIX = "request#"
CLAIM_ATTEMPTS = 5
#: Conditional puts made side by side (boto3 clients are thread-safe).
CLAIMERS = 16


def payload_digest(event: Event) -> str:
    """A digest of the event as the pipeline carries it: two payloads differ, so do digests."""
    text = json.dumps(event.to_json(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Claim:
    """What the table says of an event id: the payload that holds it, and whether SNS has it."""

    digest: str | None
    published: bool


@dataclass
class Claimed:
    """The outcome of claiming: ``taken`` by this request; ``held`` by another payload (the
    request answers duplicate); ``unclaimed``, the table did not answer (a 503)."""

    taken: list[Event]
    held: list[Event]
    unclaimed: list[Event]


class IngestTable:
    """The claims of event ids, in the ingest table."""

    def __init__(self, client: DynamoDBClient, table: str):
        self.client = client
        self.table = table

    def read(self, event_ids: Sequence[str]) -> dict[str, Claim]:
        """The claims on these event ids (strongly consistent); unclaimed ids are absent."""
        items = batch_get(
            self.client,
            self.table,
            [(i,) for i in event_ids],
            consistent=True,
            key_names=("event_id",),
            parallel=5,
        )
        requests = {
            str(item["request"])
            for item in items.values()
            if item.get("digest") and item.get("request") and not item.get("published")
        }
        markers = batch_get(
            self.client,
            self.table,
            [(REQUEST_PREFIX + r,) for r in requests],
            consistent=True,
            key_names=("event_id",),
        )
        done = {str(k[0]).removeprefix(REQUEST_PREFIX) for k in markers}
        claims: dict[str, Claim] = {}
        for (event_id,), item in items.items():
            digest = item.get("digest")
            published = not digest or bool(item.get("published")) or item.get("request") in done
            claims[str(event_id)] = Claim(str(digest) if digest else None, published)
        return claims

    def claim(self, events: Sequence[Event], digests: Mapping[str, str], request: str) -> Claimed:
        """Claim each event id for its payload, unless another payload holds it or it was
        published (the same payload's claim, still pending, is taken again: its request
        crashed or failed before publishing, and this retry publishes it).

        One conditional ``PutItem`` per event, up to :data:`CLAIMERS` at a time.
        """
        now = datetime.now(UTC).isoformat(timespec="seconds")
        outcome = Claimed([], [], [])
        if not events:
            return outcome
        results = parallel_map(lambda e: self._claim_one(e, digests, request, now), events, workers=CLAIMERS)
        for event, result in zip(events, results, strict=True):
            getattr(outcome, result).append(event)
        return outcome

    def _claim_one(self, event: Event, digests: Mapping[str, str], request: str, now: str) -> str:
        """``taken``, ``held`` (another payload holds it, or it was published) or
        ``unclaimed`` (the table kept failing)."""
        for attempt in range(CLAIM_ATTEMPTS):
            try:
                self.client.put_item(**self._put(event, digests, request, now))
            except self.client.exceptions.ConditionalCheckFailedException:
                return "held"
            except Exception:
                logger.exception("claiming %s failed (attempt %d)", event.event_id, attempt + 1)
                _backoff(attempt)
                continue
            return "taken"
        return "unclaimed"

    def _put(self, event: Event, digests: Mapping[str, str], request: str, now: str) -> dict[str, Any]:
        item = {
            "event_id": event.event_id,
            "type": event.type,
            "digest": digests[event.event_id],
            "request": request,
            "claimed_at": now,
        }
        return {
            "TableName": self.table,
            "Item": {k: to_ddb(v) for k, v in item.items()},
            "ConditionExpression": (
                "attribute_not_exists(event_id) OR (digest = :digest AND attribute_not_exists(published))"
            ),
            "ExpressionAttributeValues": {":digest": {"S": digests[event.event_id]}},
        }

    def published(
        self, request: str, events: Sequence[Event], digests: Mapping[str, str], *, whole_request: bool
    ) -> None:
        """Record that SNS has these events: one marker for the request when all of its claimed
        events were published, else each published claim marked on its own."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        if whole_request:
            items: list[dict[str, Any]] = [
                {"event_id": REQUEST_PREFIX + request, "published_at": now, "events": len(events)}
            ]
        else:
            items = [
                {
                    "event_id": e.event_id,
                    "type": e.type,
                    "digest": digests[e.event_id],
                    "request": request,
                    "published": True,
                    "claimed_at": now,
                }
                for e in events
            ]
        batch_put(self.client, self.table, items, key_names=("event_id",))
