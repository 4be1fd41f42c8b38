"""The customers processor: country and hashed e-mail on the customer's profile."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from backend.adapters.batch import Parsed
from backend.adapters.dynamo import profile_key, set_if_newer
from backend.domain.events import CustomerRegistered, Event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any


def apply(dynamodb: DynamoDBClient, *, table: str, items: Sequence[Parsed]) -> dict[str, BaseException]:
    """Record each registration; the latest by event time wins, so order does not matter."""
    for item in items:
        event: Event = item.value
        data: CustomerRegistered = event.data
        values: dict[str, Any] = {"country": data.country}
        if data.email_hash:
            values["email_hash"] = data.email_hash
        set_if_newer(
            dynamodb,
            table,
            profile_key(data.customer_id),
            values,
            version_attribute="registration_version",
            version=event.version,
        )
    return {}
