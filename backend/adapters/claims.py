"""Store-wide claims of business ids: each ``order_id`` and ``refund_id`` counts once.

An order is claimed by its own item, ``ORDER#<order_id>``/``LINK`` (which also holds the
order's channel and customer, what a refund needs to be attributed), a refund by
``REFUND#<refund_id>``/``CLAIM``. A claim is a plain conditional ``PutItem`` (one write unit,
outside any transaction) that records the claiming ``event_id`` and its *owner*: the packet the
event travelled in (:attr:`backend.adapters.batch.Parsed.packet`). What a processor then makes
of an event, from the claim it finds:

- absent (its put succeeds), or present with the same event and owner: **ours**. The packet
  counts it, in a transaction guarded by the packet's marker (a packet delivered again has the
  same owner, so what it claimed before a crash is still its to count);
- present with the same event and another owner: a **duplicate** (the same event in another
  packet, which counts it);
- present with another event: a **conflict**, never counted, kept as a ``CONFLICT`` item that
  ``storepulse dlq list`` shows. A claim of an older release without an ``event_id`` counts as
  a duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, cast

from backend.adapters.dynamo import Key, batch_put, from_ddb, key, to_ddb
from backend.adapters.parallel import parallel_map

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

CONFLICT_PK = "CONFLICT"
# Claims are independent conditional puts: a few side by side cut a batch's wait.
CLAIM_PARALLELISM = 8


class Outcome(Enum):
    OURS = "ours"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class BusinessClaim:
    """The claim of one business id by one event of one packet."""

    item: Key
    kind: str  # "order_id" or "refund_id"
    business_id: str
    event_id: str
    owner: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Found:
    """What a claim found: the outcome, and the item as stored (the winner's attributes)."""

    outcome: Outcome
    stored: Mapping[str, Any]
    #: Whether this claim's put made the item (no earlier delivery got as far as this claim).
    made: bool = False


def order_claim_key(order_id: str) -> Key:
    return (f"ORDER#{order_id}", "LINK")


def refund_claim_key(refund_id: str) -> Key:
    return (f"REFUND#{refund_id}", "CLAIM")


def _put(client: DynamoDBClient, table: str, claim: BusinessClaim) -> tuple[dict[str, Any], bool]:
    item = {
        **key(*claim.item),
        "event_id": to_ddb(claim.event_id),
        "owner": to_ddb(claim.owner),
        **{name: to_ddb(value) for name, value in claim.attributes.items()},
    }
    try:
        client.put_item(
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        return from_ddb(cast(dict[str, Any], exc.response.get("Item") or {})), False
    return from_ddb(item), True


def outcome(claim: BusinessClaim, stored: Mapping[str, Any]) -> Outcome:
    """What a claim means for ``claim``'s event, given the item stored.

    >>> c = BusinessClaim(("ORDER#o1", "LINK"), "order_id", "o1", "e1", "p1")
    >>> [outcome(c, s).value for s in ({"event_id": "e1", "owner": "p1"},
    ...  {"event_id": "e1", "owner": "p2"}, {"event_id": "e2", "owner": "p1"}, {})]
    ['ours', 'duplicate', 'conflict', 'duplicate']
    """
    if "event_id" not in stored:
        return Outcome.DUPLICATE
    if stored["event_id"] != claim.event_id:
        return Outcome.CONFLICT
    return Outcome.OURS if stored.get("owner") == claim.owner else Outcome.DUPLICATE


def claim_all(client: DynamoDBClient, table: str, claims: Sequence[BusinessClaim]) -> list[Found]:
    """Claim every business id (one conditional put per distinct id; an id twice in the list is
    claimed once and the stored claim decides for both). Returns one :class:`Found` per claim."""
    first: dict[Key, BusinessClaim] = {}
    for claim in claims:
        first.setdefault(claim.item, claim)
    todo = list(first.values())
    found = parallel_map(lambda c: _put(client, table, c), todo, workers=CLAIM_PARALLELISM)
    stored = {c.item: f for c, f in zip(todo, found, strict=True)}
    return [Found(outcome(c, stored[c.item][0]), *stored[c.item]) for c in claims]


def conflict_items(
    conflicts: Iterable[tuple[BusinessClaim, Mapping[str, Any], Mapping[str, Any]]],
    found_at: datetime | None = None,
) -> list[dict[str, Any]]:
    """``CONFLICT`` items for events whose business id was counted from another event:
    ``(claim, stored claim, the event as JSON)``. Keyed by the id and the event, so finding the
    same conflict again rewrites the same item."""
    moment = (found_at or datetime.now(UTC)).isoformat(timespec="seconds")
    return [
        {
            "pk": CONFLICT_PK,
            "sk": f"{claim.kind}#{claim.business_id}#{claim.event_id}",
            "kind": claim.kind,
            "business_id": claim.business_id,
            "event_id": claim.event_id,
            "type": str(event.get("type", "")),
            "counted_event_id": str(stored.get("event_id", "")),
            "found_at": moment,
            "event": json.dumps(event, sort_keys=True, default=str),
        }
        for claim, stored, event in conflicts
    ]


def record_conflicts(
    client: DynamoDBClient,
    table: str,
    conflicts: Iterable[tuple[BusinessClaim, Mapping[str, Any], Mapping[str, Any]]],
) -> None:
    """Keep each conflict as an item (plain puts: idempotent)."""
    batch_put(client, table, conflict_items(conflicts))
