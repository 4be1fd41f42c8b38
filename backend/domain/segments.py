"""RFM scores and named segments over customer profiles (pure).

For each customer with at least one order, as of a store day:

- **recency** = days since their last order (fewer is better);
- **frequency** = number of orders;
- **monetary** = what their orders brought: ``gross_sales − discount`` of each order, less the
  refunds of those orders.

Each is scored 1 to 5 by quintile over all customers: ``score = 1 + ⌊5 · below / n⌋`` where
``below`` is how many customers have a strictly worse value (a longer recency, fewer orders, less
money). Equal values share a score, so many one-order customers all get frequency score 1.
Then the first rule of :data:`RULES` that a customer meets names their segment.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Customer:
    """What the segments need of one customer."""

    customer_id: str
    last_order: date
    orders: int
    monetary: Decimal


@dataclass(frozen=True)
class Scored:
    customer: Customer
    recency: int
    frequency: int
    monetary: int
    segment: str


Rule = tuple[str, Callable[[int, int, int, Customer], bool]]

# In order: the first that matches names the segment. r, f, m are the 1-5 scores.
RULES: Sequence[Rule] = (
    ("champions", lambda r, f, m, c: r >= 4 and f >= 4 and m >= 4),
    ("loyal", lambda r, f, m, c: r >= 3 and f >= 4),
    ("cant_lose_them", lambda r, f, m, c: r <= 2 and f >= 4 and m >= 4),
    ("at_risk", lambda r, f, m, c: r <= 2 and f >= 3),
    ("new", lambda r, f, m, c: r >= 4 and c.orders == 1),
    ("potential_loyalist", lambda r, f, m, c: r >= 4 or (r == 3 and f >= 3)),
    ("need_attention", lambda r, f, m, c: r == 3),
    ("hibernating", lambda r, f, m, c: r == 2),
    ("lost", lambda r, f, m, c: True),
)
SEGMENTS: tuple[str, ...] = tuple(name for name, _ in RULES)
LABELS = {
    "champions": "Champions",
    "loyal": "Loyal",
    "cant_lose_them": "Can't lose them",
    "at_risk": "At risk",
    "new": "New",
    "potential_loyalist": "Potential loyalist",
    "need_attention": "Need attention",
    "hibernating": "Hibernating",
    "lost": "Lost",
}
_SHARE = Decimal("0.0001")


def quintile_scores(values: Sequence[Decimal | int]) -> list[int]:
    """Score each value 1..5 by how many values are strictly smaller (higher is better).

    >>> quintile_scores([10, 20, 30, 40, 50, 50])
    [1, 1, 2, 3, 4, 4]
    """
    ordered = sorted(values)
    n = len(ordered)
    return [1 + (5 * bisect_left(ordered, v)) // n for v in values]


def segment_of(r: int, f: int, m: int, customer: Customer) -> str:
    """The segment of these scores (the first matching rule of :data:`RULES`).

    >>> c = Customer("c", date(2025, 3, 1), 1, Decimal(10))
    >>> segment_of(5, 1, 2, c), segment_of(1, 1, 1, c), segment_of(5, 5, 5, c)
    ('new', 'lost', 'champions')
    """
    for name, rule in RULES:
        if rule(r, f, m, customer):
            return name
    raise AssertionError("the last rule matches everyone")


def score(customers: Sequence[Customer], as_of: date) -> list[Scored]:
    """R, F, M scores and the segment of every customer."""
    if not customers:
        return []
    recency = quintile_scores([-(as_of - c.last_order).days for c in customers])
    frequency = quintile_scores([c.orders for c in customers])
    monetary = quintile_scores([c.monetary for c in customers])
    return [
        Scored(c, r, f, m, segment_of(r, f, m, c))
        for c, r, f, m in zip(customers, recency, frequency, monetary, strict=True)
    ]


def summary(scored: Iterable[Scored]) -> list[dict[str, object]]:
    """Per segment (all listed, in :data:`SEGMENTS` order): ``customers`` and
    ``share_of_revenue``, the segment's monetary over the total of all customers, half-up to 4
    decimals (0 when the total is not positive).

    >>> old = Customer("a", date(2024, 3, 1), 1, Decimal(10))
    >>> new = Customer("b", date(2025, 3, 1), 1, Decimal(30))
    >>> rows = summary(score([old, new], date(2025, 3, 2)))
    >>> [(r["segment"], r["customers"], r["share_of_revenue"]) for r in rows if r["customers"]]
    [('need_attention', 1, Decimal('0.7500')), ('lost', 1, Decimal('0.2500'))]
    """
    counts = dict.fromkeys(SEGMENTS, 0)
    money = dict.fromkeys(SEGMENTS, Decimal(0))
    for s in scored:
        counts[s.segment] += 1
        money[s.segment] += s.customer.monetary
    total = sum(money.values(), Decimal(0))
    return [
        {
            "segment": name,
            "label": LABELS[name],
            "customers": counts[name],
            "share_of_revenue": (money[name] / total).quantize(_SHARE, ROUND_HALF_UP)
            if total > 0
            else Decimal(0),
        }
        for name in SEGMENTS
    ]
