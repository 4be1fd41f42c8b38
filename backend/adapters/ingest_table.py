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
payload), plus 1 for the request's marker. Reads: none for a new event id. The put's condition
is the look-up: when it fails, DynamoDB hands back the claim that holds the id
(``ReturnValuesOnConditionCheckFailure``, no read unit), and only a claim of the same payload
not marked published costs a read, of its request's marker. A duplicate costs the failed put's
write unit instead of a strongly consistent read unit of every event (1 read unit per event,
$0.125 per million at on-demand prices; a failed put is $0.625 per million duplicates): cheaper
while fewer than one event in five is a duplicate, and a resend is rare.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from backend.adapters.dynamo import _backoff, batch_get, batch_put, from_ddb, to_ddb
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
class Pending:
    """A claim of the same payload, not marked published, found holding an event id: whether
    SNS has its event is its request's marker's to say."""

    request: str


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

    def claim(self, events: Sequence[Event], digests: Mapping[str, str], request: str) -> Claimed:
        """Claim each event id for its payload, unless another payload holds it or it was
        published (the same payload's claim, still pending, is taken again: its request
        crashed or failed before publishing, and this retry publishes it).

        One conditional ``PutItem`` per event, up to :data:`CLAIMERS` at a time. A claim of the
        same payload found pending costs one read of its request's marker and a second put.
        """
        now = datetime.now(UTC).isoformat(timespec="seconds")
        outcome = Claimed([], [], [])
        first = parallel_map(
            lambda e: self._claim_one(self._put(e, digests, request, now, new=True), digests[e.event_id]),
            events,
            workers=CLAIMERS,
        )
        pending = {
            e.event_id: found for e, found in zip(events, first, strict=True) if isinstance(found, Pending)
        }
        published = self._published_requests({p.request for p in pending.values()})
        retaken = [
            e for e in events if e.event_id in pending and pending[e.event_id].request not in published
        ]
        again = parallel_map(
            lambda e: self._claim_one(self._put(e, digests, request, now, new=False), digests[e.event_id]),
            retaken,
            workers=CLAIMERS,
        )
        second = {e.event_id: result for e, result in zip(retaken, again, strict=True)}
        for event, result in zip(events, first, strict=True):
            final = second.get(event.event_id, "held") if isinstance(result, Pending) else result
            getattr(outcome, str(final)).append(event)
        return outcome

    def _published_requests(self, requests: set[str]) -> set[str]:
        """Those of ``requests`` whose marker says all of their events were published."""
        markers = batch_get(
            self.client,
            self.table,
            [(REQUEST_PREFIX + r,) for r in sorted(requests) if r],
            consistent=True,
            key_names=("event_id",),
        )
        return {str(k[0]).removeprefix(REQUEST_PREFIX) for k in markers}

    def _claim_one(self, put: dict[str, Any], digest: str) -> str | Pending:
        """``taken``; ``held`` (another payload holds the id, or it was published);
        ``unclaimed`` (the table kept failing); or, for a first put, the :class:`Pending` claim
        of the same payload that holds it."""
        for attempt in range(CLAIM_ATTEMPTS):
            try:
                self.client.put_item(**put)
            except self.client.exceptions.ConditionalCheckFailedException as exc:
                # The claim that holds the id, handed back by the failed put (not with a retake)
                found: Mapping[str, Any] = cast(Mapping[str, Any], exc.response).get("Item") or {}
                holder = from_ddb(found)
                if holder.get("digest") != digest or holder.get("published"):
                    return "held"
                return Pending(str(holder.get("request") or ""))
            except Exception:
                logger.exception("claiming %s failed (attempt %d)", put["Item"]["event_id"]["S"], attempt + 1)
                _backoff(attempt)
                continue
            return "taken"
        return "unclaimed"

    def _put(
        self, event: Event, digests: Mapping[str, str], request: str, now: str, *, new: bool
    ) -> dict[str, Any]:
        """The claim's put: ``new``, only if no claim holds the id, handing back the one that
        does (no read unit); else again over a pending claim of the same payload."""
        item = {
            "event_id": event.event_id,
            "type": event.type,
            "digest": digests[event.event_id],
            "request": request,
            "claimed_at": now,
        }
        put: dict[str, Any] = {"TableName": self.table, "Item": {k: to_ddb(v) for k, v in item.items()}}
        if new:
            put["ConditionExpression"] = "attribute_not_exists(event_id)"
            put["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        else:
            put["ConditionExpression"] = (
                "attribute_not_exists(event_id) OR (digest = :digest AND attribute_not_exists(published))"
            )
            put["ExpressionAttributeValues"] = {":digest": {"S": digests[event.event_id]}}
        return put

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
