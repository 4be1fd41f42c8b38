"""Reading day rollups: one key per day and rollup, never a scan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from backend.adapters.dynamo import batch_get, day_pk
from backend.adapters.reads import READ_PARALLELISM

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any


def day_rollups(
    client: DynamoDBClient, table: str, days: Sequence[date]
) -> tuple[list[dict[str, Any]], list[dict[str, set[str]]]]:
    """The sales counters and the customer sets of each day (absent days are empty)."""
    keys = [(day_pk(d), sk) for d in days for sk in ("SALES", "CUSTOMERS")]
    items = batch_get(client, table, keys, parallel=READ_PARALLELISM)
    sales = [items.get((day_pk(d), "SALES"), {}) for d in days]
    customers = [
        {name: set(items.get((day_pk(d), "CUSTOMERS"), {}).get(name, set())) for name in ("C", "P", "M")}
        for d in days
    ]
    return sales, customers
