"""The ``segments`` job: RFM scores of every customer, summed into a snapshot per segment.

What the scores need of each customer (last order day, order count, money net of refunds) is
kept as *facts*: the orders processor puts, for the orders and refunds it counts, immutable
items shared by a batch (``FACTS#<n>``/``B#<digest>``, 8 shards; :func:`fact_items`), one JSON
member per order ``["o", order_id, day, net, customer]`` or attributed refund ``["r", refund_id,
amount, customer]``. A redelivered batch puts the same items again, or others repeating some
facts, which the job reads once (by order and refund id). So no item grows with a customer's
orders. A batch job may read every fact, but never scans the table: it queries the eight
shards, scores the customers (:mod:`backend.domain.segments`) and writes one snapshot item
(``SEGMENTS``/``LATEST``) that ``GET /v1/customers/segments`` reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from backend.adapters.dynamo import batch_put, content_keyed_items, query_partition
from backend.domain import segments

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

SNAPSHOT_KEY = ("SEGMENTS", "LATEST")
FACT_SHARDS = 8
FACT_BYTES = 3_900
FACTS = "facts"


def order_fact(customer_id: str, order_id: str, day: date, net: Decimal) -> str:
    """An order counted for ``customer_id``: its store day and ``gross − discount``."""
    return json.dumps(["o", order_id, day.isoformat(), str(net), customer_id], separators=(",", ":"))


def refund_fact(customer_id: str, refund_id: str, amount: Decimal) -> str:
    """A refund of one of ``customer_id``'s orders."""
    return json.dumps(["r", refund_id, str(amount), customer_id], separators=(",", ":"))


def fact_items(facts: Iterable[str]) -> list[dict[str, Any]]:
    """The shared immutable items that hold these facts (each under 4 KB)."""
    return content_keyed_items(
        facts, prefix="FACTS#", shards=FACT_SHARDS, attribute=FACTS, max_bytes=FACT_BYTES
    )


def record_facts(dynamodb: DynamoDBClient, table: str, facts: Iterable[str]) -> None:
    """Put the items of these facts (plain puts: idempotent)."""
    batch_put(dynamodb, table, fact_items(facts))


def customers_of(facts: Iterable[str]) -> list[segments.Customer]:
    """Each customer with an order, from facts (each order and refund taken once).

    >>> c = customers_of([order_fact("c1", "o1", date(2025, 1, 2), Decimal("9")),
    ...                   order_fact("c1", "o1", date(2025, 1, 2), Decimal("9")),
    ...                   refund_fact("c1", "r1", Decimal("2"))])
    >>> [(x.customer_id, x.orders, str(x.monetary)) for x in c]
    [('c1', 1, '7')]
    """
    orders: dict[str, tuple[str, date, Decimal]] = {}
    refunds: dict[str, tuple[str, Decimal]] = {}
    for fact in facts:
        kind, *fields = json.loads(fact)
        if kind == "o":
            order_id, day, net, customer = fields
            orders.setdefault(order_id, (customer, date.fromisoformat(day), Decimal(net)))
        elif kind == "r":
            refund_id, amount, customer = fields
            refunds.setdefault(refund_id, (customer, Decimal(amount)))
    last: dict[str, date] = {}
    count: dict[str, int] = {}
    money: dict[str, Decimal] = {}
    for customer, day, net in orders.values():
        last[customer] = max(day, last.get(customer, day))
        count[customer] = count.get(customer, 0) + 1
        money[customer] = money.get(customer, Decimal(0)) + net
    for customer, amount in refunds.values():
        if customer in money:
            money[customer] -= amount
    return [segments.Customer(c, last[c], count[c], money[c]) for c in sorted(last)]


def run(dynamodb: DynamoDBClient, table: str, as_of: date, *, progress: bool | None = None) -> dict[str, Any]:
    """Score every customer as of the store day ``as_of`` and write the snapshot.

    ``progress`` shows progress bars (``None``: only on a terminal, as with
    ``storepulse run-job segments``).
    """
    facts: list[str] = []
    for shard in tqdm(range(FACT_SHARDS), desc="facts", unit="shard", disable=_quiet(progress)):
        for item in query_partition(dynamodb, table, f"FACTS#{shard}", projection=[FACTS]):
            facts.extend(str(f) for f in item.get(FACTS, ()))
    customers = customers_of(facts)
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
