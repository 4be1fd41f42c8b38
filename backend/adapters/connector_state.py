"""What the connectors function keeps between webhooks, and what it keeps of those it could not
map.

In the ingest table (hash key ``event_id``; ``#`` is never in an event id, so these never meet a
claim):

- ``item#<platform>#<inventory item id>``: the SKU of an inventory item (Shopify's stock levels
  name items, its products name SKUs);
- ``level#<platform>#<sku>``: the SKU's last absolute level per location, the adjustments sent
  to reach them that the pipeline may not have counted yet, and a version for optimistic
  concurrency (:mod:`backend.processing.connectors`).

In the analytics table, ``pk="UNMAPPED"``, ``sk="<platform>#<delivery id>"``: a webhook that
could not be mapped, its reason and its payload with personal data removed; ``storepulse dlq
list`` shows them (:mod:`devstack.dlq`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

UNMAPPED_PK = "UNMAPPED"
# An unmapped payload is kept whole up to this size (DynamoDB items hold 400 KB).
MAX_KEPT_PAYLOAD = 300_000
# Fields that hold personal data in Shopify's and WooCommerce's payloads: never stored.
PERSONAL = frozenset(
    {
        "email", "contact_email", "phone", "first_name", "last_name", "name_on_card", "address1",
        "address2", "address_1", "address_2", "zip", "postcode", "city", "company", "latitude",
        "longitude", "browser_ip", "customer_ip_address", "customer_user_agent", "client_details",
        "note", "customer_note", "billing_address", "shipping_address", "billing", "shipping",
        "default_address", "addresses", "customer", "payment_details",
    }
)  # fmt: skip


def redact(value: Any) -> Any:
    """``value`` with every personal field replaced by ``"[redacted]"``, at any depth.

    Examples
    --------
    >>> redact({"id": 1, "email": "a@b.example", "line_items": [{"sku": "A", "phone": "1"}]})
    {'id': 1, 'email': '[redacted]', 'line_items': [{'sku': 'A', 'phone': '[redacted]'}]}
    """
    if isinstance(value, Mapping):
        return {k: "[redacted]" if k in PERSONAL else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


@dataclass(frozen=True)
class Unmapped:
    """A webhook kept because it could not be mapped."""

    platform: str
    delivery_id: str
    topic: str
    reason: str
    received_at: str
    payload: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "queue": "connectors",
            "message_id": None,
            "event_id": self.delivery_id,
            "type": f"{self.platform} {self.topic}",
            "receive_count": 0,
            "reason": self.reason,
            "failed_at": self.received_at,
        }


def keep_unmapped(dynamodb: DynamoDBClient, table: str, unmapped: Unmapped, payload: Any) -> None:
    """Keep a webhook that could not be mapped (its personal data removed); the same delivery
    kept again replaces itself."""
    text = json.dumps(redact(payload), separators=(",", ":"), default=str)
    if len(text) > MAX_KEPT_PAYLOAD:
        text = text[:MAX_KEPT_PAYLOAD] + "...(cut)"
    dynamodb.put_item(
        TableName=table,
        Item={
            "pk": {"S": UNMAPPED_PK},
            "sk": {"S": f"{unmapped.platform}#{unmapped.delivery_id}"},
            "platform": {"S": unmapped.platform},
            "delivery_id": {"S": unmapped.delivery_id},
            "topic": {"S": unmapped.topic},
            "reason": {"S": unmapped.reason},
            "received_at": {"S": unmapped.received_at},
            "payload": {"S": text},
        },
    )


def partition_items(dynamodb: DynamoDBClient, table: str, pk: str) -> Iterator[dict[str, Any]]:
    """Every item of one partition of the analytics table, its attributes as plain values."""
    for page in dynamodb.get_paginator("query").paginate(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
    ):
        for raw in page.get("Items", []):
            yield {name: next(iter(value.values())) for name, value in raw.items()}


def remember_skus(dynamodb: DynamoDBClient, table: str, platform: str, skus: Mapping[str, str]) -> None:
    """Which SKU each inventory item id is (idempotent puts)."""
    items = [
        {"PutRequest": {"Item": {"event_id": {"S": f"item#{platform}#{item}"}, "sku": {"S": sku}}}}
        for item, sku in sorted(skus.items())
    ]
    for start in range(0, len(items), 25):
        pending: Any = {table: items[start : start + 25]}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None


def sku_of_item(dynamodb: DynamoDBClient, table: str, platform: str, item: str) -> str | None:
    found = dynamodb.batch_get_item(
        RequestItems={
            table: {"Keys": [{"event_id": {"S": f"item#{platform}#{item}"}}], "ConsistentRead": True}
        }
    )["Responses"].get(table, [])
    return found[0]["sku"]["S"] if found else None


@dataclass
class LevelState:
    """A SKU's stock levels as the platform last reported them, per location.

    Attributes
    ----------
    levels
        ``{location id: [available, updated_at]}``.
    pending
        ``{event id: [delta, sent_at]}``: adjustments sent that the pipeline may not have
        counted yet.
    version
        Bumped by every write; a write expects the version it read.
    """

    levels: dict[str, list[Any]] = field(default_factory=dict)
    pending: dict[str, list[Any]] = field(default_factory=dict)
    version: int = 0


def read_level(dynamodb: DynamoDBClient, table: str, platform: str, sku: str) -> LevelState:
    found = dynamodb.batch_get_item(
        RequestItems={
            table: {"Keys": [{"event_id": {"S": f"level#{platform}#{sku}"}}], "ConsistentRead": True}
        }
    )["Responses"].get(table, [])
    if not found:
        return LevelState()
    item = found[0]
    return LevelState(
        levels=json.loads(item["levels"]["S"]),
        pending=json.loads(item["pending"]["S"]),
        version=int(item["version"]["N"]),
    )


def write_level(dynamodb: DynamoDBClient, table: str, platform: str, sku: str, state: LevelState) -> bool:
    """Store ``state`` if nobody wrote since it was read (its version is the one read); ``False``
    when someone did (read again and recompute)."""
    condition = "attribute_not_exists(event_id)" if state.version == 0 else "version = :read"
    values = {":read": {"N": str(state.version)}} if state.version else None
    try:
        dynamodb.put_item(
            TableName=table,
            Item={
                "event_id": {"S": f"level#{platform}#{sku}"},
                "levels": {"S": json.dumps(state.levels, sort_keys=True)},
                "pending": {"S": json.dumps(state.pending, sort_keys=True)},
                "version": {"N": str(state.version + 1)},
            },
            ConditionExpression=condition,
            **cast("dict[str, Any]", {"ExpressionAttributeValues": values} if values else {}),
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


class ConnectorState:
    """What the connectors keep in the ingest table (which SKU an inventory item is, the stock
    levels a platform reported): the functions above on one table.

    Parameters
    ----------
    client
        A DynamoDB client (the API route's).
    name
        The ingest table's name (``INGEST_TABLE``).
    """

    def __init__(self, client: DynamoDBClient, name: str):
        self.client = client
        self.name = name

    def remember_skus(self, platform: str, skus: Mapping[str, str]) -> None:
        """Which SKU each inventory item id is (idempotent)."""
        remember_skus(self.client, self.name, platform, skus)

    def sku_of_item(self, platform: str, item: str) -> str | None:
        """The SKU of a platform's inventory item, if its product was seen."""
        return sku_of_item(self.client, self.name, platform, item)

    def read_level(self, platform: str, sku: str) -> LevelState:
        """A SKU's stock levels as the platform last reported them (strongly consistent)."""
        return read_level(self.client, self.name, platform, sku)

    def write_level(self, platform: str, sku: str, state: LevelState) -> bool:
        """Store ``state`` if nobody wrote since it was read; ``False`` when someone did."""
        return write_level(self.client, self.name, platform, sku, state)


def counted_adjustments(dynamodb: DynamoDBClient, table: str, event_ids: Iterable[str]) -> set[str]:
    """Which of these ``inventory.adjusted`` events the inventory processor has counted (its
    marker ``ADJ#<event id>``/``MARKER`` exists)."""
    ids = sorted(set(event_ids))
    counted: set[str] = set()
    for start in range(0, len(ids), 100):
        keys = [{"pk": {"S": f"ADJ#{e}"}, "sk": {"S": "MARKER"}} for e in ids[start : start + 100]]
        request: Any = {table: {"Keys": keys, "ConsistentRead": True, "ProjectionExpression": "pk"}}
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            counted |= {i["pk"]["S"].removeprefix("ADJ#") for i in answer["Responses"].get(table, [])}
            request = answer.get("UnprocessedKeys") or None
    return counted
