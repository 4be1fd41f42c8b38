"""The ``segments`` job: RFM scores of every customer, summed into a snapshot per segment.

The customers' facts it reads, and why no item grows with a customer's orders:
docs/architecture.md, "The segments' facts"; the scores are :mod:`backend.domain.segments`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tqdm import tqdm

from backend.adapters.analytics import FACT_SHARDS, AnalyticsStore, fact_items
from backend.domain import segments

__all__ = ["customers_of", "fact_items", "order_fact", "record_facts", "refund_fact", "run"]


def order_fact(customer_id: str, order_id: str, day: date, net: Decimal) -> str:
    """An order counted for ``customer_id``: its store day and ``gross − discount``."""
    return json.dumps(["o", order_id, day.isoformat(), str(net), customer_id], separators=(",", ":"))


def refund_fact(customer_id: str, refund_id: str, amount: Decimal) -> str:
    """A refund of one of ``customer_id``'s orders."""
    return json.dumps(["r", refund_id, str(amount), customer_id], separators=(",", ":"))


def record_facts(analytics: AnalyticsStore, facts: Iterable[str]) -> None:
    """Keep these facts (plain puts: idempotent)."""
    analytics.record_facts(facts)


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


def run(
    analytics: AnalyticsStore, as_of: date, *, now: datetime, progress: bool | None = None
) -> dict[str, Any]:
    """Score every customer as of the store day ``as_of`` and write the snapshot.

    ``now`` (UTC) is when it is computed; ``progress`` shows progress bars (``None``: only on
    a terminal, as with ``storepulse run-job segments``).
    """
    facts: list[str] = []
    for shard in tqdm(range(FACT_SHARDS), desc="facts", unit="shard", disable=_quiet(progress)):
        facts.extend(analytics.facts(shard))
    # The facts of the orders whose stock-in items are not folded yet (backend.processing.stock_in).
    facts.extend(analytics.unfolded_facts())
    customers = customers_of(facts)
    rows = segments.summary(segments.score(customers, as_of))
    analytics.put_segments_snapshot(
        {
            "as_of": as_of.isoformat(),
            "computed_at": now.isoformat(),
            "customers": len(customers),
            "segments": rows,
        }
    )
    return {"as_of": as_of.isoformat(), "customers": len(customers)}


def _quiet(progress: bool | None) -> bool | None:
    return None if progress is None else not progress
