"""The ingest table: one claim per ``event_id``, taken before its event is published.

A claim item is ``{event_id, type, digest, request, claimed_at}``: ``digest`` is a digest of the
event's payload and ``request`` the request that claimed it. It is *published* once SNS has its
event: either the request's marker item (``event_id = "request#<id>"``; ``#`` is never in an
event id) exists, written once per request after all of its events were published, or, when only
part of a request was published, the claim itself says ``published``. Items written before
claims existed (no digest) were written after publishing: they count as published.

Write units (AWS): each claim is a Put inside ``TransactWriteItems`` (2 write units for an item
under 1 KB), plus 1 for the request's marker. Reads: one strongly consistent read unit per
event (the look-up that answers most duplicates without a write).
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from backend.adapters.dynamo import _backoff, batch_get, batch_put, to_ddb
from backend.domain.events import Event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef
else:
    DynamoDBClient = Any

logger = logging.getLogger(__name__)

REQUEST_PREFIX = "request#"
#: DynamoDB takes at most 100 items per transaction.
CLAIMS_PER_TRANSACTION = 100
CLAIM_ATTEMPTS = 5
CLAIMERS = 5


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

        One transaction of conditional Puts per 100 events, up to :data:`CLAIMERS` at a time.
        """
        chunks = [
            events[i : i + CLAIMS_PER_TRANSACTION] for i in range(0, len(events), CLAIMS_PER_TRANSACTION)
        ]
        now = datetime.now(UTC).isoformat(timespec="seconds")
        if len(chunks) <= 1:
            results = [self._claim_chunk(chunk, digests, request, now) for chunk in chunks]
        else:
            with ThreadPoolExecutor(max_workers=min(CLAIMERS, len(chunks))) as pool:
                futures = [
                    pool.submit(
                        contextvars.copy_context().run, self._claim_chunk, chunk, digests, request, now
                    )
                    for chunk in chunks
                ]
                results = [future.result() for future in futures]
        outcome = Claimed([], [], [])
        for result in results:
            outcome.taken += result.taken
            outcome.held += result.held
            outcome.unclaimed += result.unclaimed
        return outcome

    def _claim_chunk(
        self, chunk: Sequence[Event], digests: Mapping[str, str], request: str, now: str
    ) -> Claimed:
        outcome = Claimed([], [], [])
        todo = list(chunk)
        for attempt in range(CLAIM_ATTEMPTS):
            if not todo:
                break
            try:
                self.client.transact_write_items(
                    TransactItems=cast(
                        "list[TransactWriteItemTypeDef]", [self._put(e, digests, request, now) for e in todo]
                    )
                )
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = exc.response.get("CancellationReasons", [])
                held = {i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"}
                outcome.held += [e for i, e in enumerate(todo) if i in held]
                todo = [e for i, e in enumerate(todo) if i not in held]
                if not held:  # a conflict with another transaction or throttling: wait, retry
                    _backoff(attempt)
                continue
            except Exception:
                logger.exception("claiming %d events failed (attempt %d)", len(todo), attempt + 1)
                _backoff(attempt)
                continue
            outcome.taken += todo
            todo = []
        outcome.unclaimed += todo
        return outcome

    def _put(self, event: Event, digests: Mapping[str, str], request: str, now: str) -> dict[str, Any]:
        item = {
            "event_id": event.event_id,
            "type": event.type,
            "digest": digests[event.event_id],
            "request": request,
            "claimed_at": now,
        }
        return {
            "Put": {
                "TableName": self.table,
                "Item": {k: to_ddb(v) for k, v in item.items()},
                "ConditionExpression": (
                    "attribute_not_exists(event_id) OR (digest = :digest AND attribute_not_exists(published))"
                ),
                "ExpressionAttributeValues": {":digest": {"S": digests[event.event_id]}},
            }
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
        batch_put(self.client, self.table, items)
