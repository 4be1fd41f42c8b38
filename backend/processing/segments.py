"""The ``segments`` job: RFM scores of every customer, summed into a snapshot per segment.

A batch job may read every customer, but never scans the table: it queries the eight shards of
the customer directory (``CUSTOMERS#<n>``, filled by the orders processor, see
:mod:`backend.processing.cohorts`; a customer may be listed twice), reads the profiles by key
(BatchGetItem, 100 at a time), scores them (:mod:`backend.domain.segments`) and writes one snapshot item
(``SEGMENTS``/``LATEST``) that ``GET /v1/customers/segments`` reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from backend.adapters.dynamo import batch_get, batch_put, query_partition
from backend.domain import segments
from backend.domain.returns import REFUND_PREFIX
from backend.processing.cohorts import DIRECTORY_SHARDS, directory_members
from backend.processing.orders import ORDER_PREFIX, profile_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

SNAPSHOT_KEY = ("SEGMENTS", "LATEST")
PROFILES_PER_READ = 100


def customer_of(customer_id: str, profile: Mapping[str, Any]) -> segments.Customer | None:
    """Last order day, order count and monetary value from a profile (None without orders).

    Each order entry is ``<utc time>|<store day>|<gross − discount>``; each refund of the
    customer's orders ``r:<refund_id> = <amount>``.
    """
    orders = [str(v).split("|") for name, v in profile.items() if name.startswith(ORDER_PREFIX)]
    if not orders:
        return None
    refunds = sum((Decimal(v) for name, v in profile.items() if name.startswith(REFUND_PREFIX)), Decimal(0))
    return segments.Customer(
        customer_id=customer_id,
        last_order=max(date.fromisoformat(o[1]) for o in orders),
        orders=len(orders),
        monetary=sum((Decimal(o[2]) for o in orders), Decimal(0)) - refunds,
    )


def run(dynamodb: DynamoDBClient, table: str, as_of: date, *, progress: bool | None = None) -> dict[str, Any]:
    """Score every customer as of the store day ``as_of`` and write the snapshot.

    ``progress`` shows progress bars (``None``: only on a terminal, as with
    ``storepulse run-job segments``).
    """
    listed: dict[str, None] = {}
    for shard in tqdm(range(DIRECTORY_SHARDS), desc="directory", unit="shard", disable=_quiet(progress)):
        for item in query_partition(dynamodb, table, f"CUSTOMERS#{shard}", projection=["sk", "ids"]):
            listed.update(dict.fromkeys(directory_members(item)))
    ids = list(listed)
    customers = []
    with tqdm(total=len(ids), desc="profiles", unit="customers", disable=_quiet(progress)) as bar:
        for start in range(0, len(ids), PROFILES_PER_READ):
            chunk = ids[start : start + PROFILES_PER_READ]
            profiles = batch_get(dynamodb, table, [profile_key(c) for c in chunk])
            for customer_id in chunk:
                found = customer_of(customer_id, profiles.get(profile_key(customer_id), {}))
                if found is not None:
                    customers.append(found)
            bar.update(len(chunk))
    rows = segments.summary(segments.score(customers, as_of))
    snapshot = {
        "pk": SNAPSHOT_KEY[0],
        "sk": SNAPSHOT_KEY[1],
        "as_of": as_of.isoformat(),
        "computed_at": datetime.now(UTC).isoformat(),
        "customers": len(customers),
        "segments": rows,
    }
    batch_put(dynamodb, table, [snapshot])
    return {"as_of": as_of.isoformat(), "customers": len(customers)}


def _quiet(progress: bool | None) -> bool | None:
    return None if progress is None else not progress
