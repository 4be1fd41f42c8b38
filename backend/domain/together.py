"""Products bought together: support, confidence and lift over the orders of a range (pure).

An order's **basket** is the set of distinct SKUs on its lines (quantities do not matter: two
mugs and a plate make the pair mug+plate once). Over the ``N`` orders of a range, with
``n(a)`` the orders holding ``a`` and ``n(a, b)`` those holding both:

- ``support = n(a, b) / N``;
- ``confidence_ab = n(a, b) / n(a)``: the share of the orders with ``a`` that also hold ``b``;
- ``lift = n(a, b) * N / (n(a) * n(b))``: how much more often the two are bought together than if
  they were bought independently (1 is chance).

:class:`PairCounts` holds ``N``, ``n(a)`` and ``n(a, b)``; counts of disjoint sets of orders add
up (:meth:`PairCounts.add`), so a range's counts are the sum of its days' (or months').
Shares are rounded to six decimals at the end.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations
from typing import Any

PLACES = 6


@dataclass(frozen=True)
class Basket:
    """One order's distinct SKUs."""

    order_id: str
    skus: frozenset[str]

    def member(self) -> str:
        """The basket as one string (for a set of baskets stored in an item).

        >>> Basket("o1", frozenset({"B", "A"})).member()
        '["o1", "A", "B"]'
        """
        return json.dumps([self.order_id, *sorted(self.skus)])

    @classmethod
    def from_member(cls, member: str) -> Basket:
        """The basket of :meth:`member`'s string.

        >>> Basket.from_member('["o1", "A", "B"]') == Basket("o1", frozenset({"A", "B"}))
        True
        """
        order_id, *skus = json.loads(member)
        return cls(order_id, frozenset(skus))


@dataclass
class PairCounts:
    """Orders, orders per SKU and orders per pair (``a < b``) of a set of orders."""

    orders: int = 0
    sku_orders: Counter[str] = field(default_factory=Counter)
    pair_orders: Counter[tuple[str, str]] = field(default_factory=Counter)

    @classmethod
    def of(cls, baskets: Iterable[Basket]) -> PairCounts:
        """The counts of these baskets, each order once (a repeated order id is one order).

        >>> c = PairCounts.of([Basket("1", frozenset("AB")), Basket("2", frozenset("ABC")),
        ...                    Basket("1", frozenset("AB"))])
        >>> c.orders, c.sku_orders["A"], c.pair_orders[("A", "B")], c.pair_orders[("B", "C")]
        (2, 2, 2, 1)
        """
        counts = cls()
        seen: set[str] = set()
        for basket in baskets:
            if basket.order_id in seen:
                continue
            seen.add(basket.order_id)
            counts.orders += 1
            counts.sku_orders.update(basket.skus)
            counts.pair_orders.update(combinations(sorted(basket.skus), 2))
        return counts

    def add(self, other: PairCounts) -> PairCounts:
        """These counts plus those of another, disjoint, set of orders (in place)."""
        self.orders += other.orders
        self.sku_orders.update(other.sku_orders)
        self.pair_orders.update(other.pair_orders)
        return self

    def minus(self, part: PairCounts) -> PairCounts:
        """These counts without those of a subset of their orders (a new value).

        >>> whole = PairCounts.of([Basket("1", frozenset("AB")), Basket("2", frozenset("BC"))])
        >>> whole.minus(PairCounts.of([Basket("1", frozenset("AB"))])) == PairCounts.of(
        ...     [Basket("2", frozenset("BC"))])
        True
        """
        return PairCounts(
            self.orders - part.orders, self.sku_orders - part.sku_orders, self.pair_orders - part.pair_orders
        )

    def encode(self) -> bytes:
        """Compressed JSON, for an item."""
        body = {
            "n": self.orders,
            "s": sorted(self.sku_orders.items()),
            "p": sorted([a, b, n] for (a, b), n in self.pair_orders.items()),
        }
        return zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 6)

    @classmethod
    def decode(cls, blob: bytes) -> PairCounts:
        """The counts :meth:`encode` wrote.

        >>> c = PairCounts.of([Basket("1", frozenset("AB"))])
        >>> PairCounts.decode(c.encode()) == c
        True
        """
        body = json.loads(zlib.decompress(blob))
        return cls(
            body["n"],
            Counter({sku: n for sku, n in body["s"]}),
            Counter({(a, b): n for a, b, n in body["p"]}),
        )


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    orders: int
    support: float
    confidence_ab: float
    confidence_ba: float
    lift: float

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "orders": self.orders,
            "support": self.support,
            "confidence_ab": self.confidence_ab,
            "confidence_ba": self.confidence_ba,
            "lift": self.lift,
        }


def _share(value: Fraction) -> float:
    return round(float(value), PLACES)


def _pair(counts: PairCounts, a: str, b: str, together: int) -> Pair:
    n_a, n_b, total = counts.sku_orders[a], counts.sku_orders[b], counts.orders
    return Pair(
        a=a,
        b=b,
        orders=together,
        support=_share(Fraction(together, total)),
        confidence_ab=_share(Fraction(together, n_a)),
        confidence_ba=_share(Fraction(together, n_b)),
        lift=_share(Fraction(together * total, n_a * n_b)),
    )


def _ranked(found: Iterable[Pair]) -> list[Pair]:
    # By lift, then orders, both descending; then by the SKUs, so that the order is total.
    return sorted(found, key=lambda p: (-p.lift, -p.orders, p.a, p.b))


def pairs(counts: PairCounts, *, min_orders: int, limit: int) -> list[Pair]:
    """The pairs in at least ``min_orders`` orders, by lift then orders, descending.

    >>> baskets = [Basket(str(i), frozenset("AB")) for i in range(3)] + [Basket("9", frozenset("BC"))]
    >>> c = PairCounts.of(baskets)
    >>> [(p.a, p.b, p.orders, p.lift) for p in pairs(c, min_orders=1, limit=5)]
    [('A', 'B', 3, 1.0), ('B', 'C', 1, 1.0)]
    """
    found = (_pair(counts, a, b, n) for (a, b), n in counts.pair_orders.items() if n >= max(min_orders, 1))
    return _ranked(found)[:limit]


@dataclass(frozen=True)
class Companion:
    """A product bought with a given one: in how many of its orders, the share of its orders
    (``confidence``) and the lift."""

    sku: str
    orders: int
    confidence: float
    lift: float

    def to_json(self) -> dict[str, Any]:
        return {"sku": self.sku, "orders": self.orders, "confidence": self.confidence, "lift": self.lift}


def companions(counts: PairCounts, sku: str, *, min_orders: int, limit: int) -> list[Companion]:
    """What else the orders holding ``sku`` hold, in at least ``min_orders`` of them, ranked as
    :func:`pairs` ranks pairs.

    >>> baskets = [Basket("1", frozenset("AB")), Basket("2", frozenset("AC")), Basket("3", frozenset("C"))]
    >>> c = PairCounts.of(baskets)
    >>> [(x.sku, x.orders, x.confidence, x.lift) for x in companions(c, "A", min_orders=1, limit=5)]
    [('B', 1, 0.5, 1.5), ('C', 1, 0.5, 0.75)]
    """
    found = []
    for (a, b), n in counts.pair_orders.items():
        if sku in (a, b) and n >= max(min_orders, 1):
            pair = _pair(counts, sku, b if a == sku else a, n)
            found.append(pair)
    return [Companion(p.b, p.orders, p.confidence_ab, p.lift) for p in _ranked(found)[:limit]]
