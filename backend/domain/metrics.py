"""The figures of CONTRACT section 3, computed from day rollups (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from backend.domain.money import ZERO, format_money, round_money

MONEY_METRICS = ("gross_sales", "discounts", "returns", "net_sales", "average_order_value")
COUNT_METRICS = ("orders", "units", "customers", "new_customers", "returning_customers")
SHARE_METRICS = ("returning_customer_rate",)
METRICS = MONEY_METRICS + COUNT_METRICS + SHARE_METRICS

_SHARE = Decimal("0.0001")
_PCT = Decimal("0.01")


def summarize(
    day_sales: Iterable[Mapping[str, Decimal]],
    day_customers: Iterable[Mapping[str, set[str]]],
) -> dict[str, Decimal | int]:
    """Every summary metric over the days given.

    Parameters
    ----------
    day_sales
        One mapping of counters per day (``gross_sales``, ``discounts``, ``returns``,
        ``orders``, ``units``); missing counters are zero.
    day_customers
        One mapping per day of the ``C``, ``P``, ``M`` sets of :mod:`backend.domain.customers`;
        or, for a whole month (:func:`backend.domain.rollups.as_day`), its ``C``, ``N`` (first
        orders) and ``R`` (orders not a customer's first).

    Examples
    --------
    >>> s = summarize([{"gross_sales": Decimal("10"), "orders": Decimal(1)}], [{"C": {"a"}}])
    >>> s["net_sales"], s["new_customers"]
    (Decimal('10.00'), 1)
    """
    totals: dict[str, Decimal] = {name: ZERO for name in ("gross_sales", "discounts", "returns")}
    orders = units = 0
    for day in day_sales:
        for name in totals:
            totals[name] += Decimal(day.get(name, ZERO))
        orders += int(day.get("orders", 0))
        units += int(day.get("units", 0))

    customers: set[str] = set()
    new: set[str] = set()
    returning: set[str] = set()
    for sets in day_customers:
        ordered = sets.get("C", set())
        customers |= ordered
        if "N" in sets:  # a month rollup (backend.domain.rollups.as_day): N and R given
            new |= sets["N"]
            returning |= sets.get("R", set())
            continue
        earlier = sets.get("P", set())
        new |= ordered - earlier
        returning |= earlier | sets.get("M", set())

    net_of_discounts = totals["gross_sales"] - totals["discounts"]
    aov = net_of_discounts / orders if orders else ZERO
    rate = (Decimal(len(returning)) / len(customers)).quantize(_SHARE, ROUND_HALF_UP) if customers else ZERO
    return {
        "gross_sales": round_money(totals["gross_sales"]),
        "discounts": round_money(totals["discounts"]),
        "returns": round_money(totals["returns"]),
        "net_sales": round_money(net_of_discounts - totals["returns"]),
        "orders": orders,
        "units": units,
        "average_order_value": round_money(aov),
        "customers": len(customers),
        "new_customers": len(new),
        "returning_customers": len(returning),
        "returning_customer_rate": rate,
    }


def change_pct(
    current: Mapping[str, Decimal | int], previous: Mapping[str, Decimal | int]
) -> dict[str, Decimal | None]:
    """Change of each metric in percent of the previous value (``None`` when that was zero)."""
    out: dict[str, Decimal | None] = {}
    for name in METRICS:
        before = Decimal(previous[name])
        after = Decimal(current[name])
        out[name] = None if before == 0 else ((after - before) / before * 100).quantize(_PCT, ROUND_HALF_UP)
    return out


def change_to_json(changes: Mapping[str, Decimal | None]) -> dict[str, float | None]:
    """Wire form of :func:`change_pct`: every change a number of percent with its two decimals
    (a change is not money nor a count, whatever metric it is of), ``None`` kept.

    Examples
    --------
    >>> change_to_json({"orders": Decimal("3.94"), "net_sales": None})
    {'orders': 3.94, 'net_sales': None}
    """
    return {name: None if change is None else float(change) for name, change in changes.items()}


def to_json(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Wire form: money as two-decimal strings, counts as integers, shares as numbers."""
    out: dict[str, Any] = {}
    for name, value in metrics.items():
        if value is None:
            out[name] = None
        elif name in MONEY_METRICS:
            out[name] = format_money(value)
        elif name in COUNT_METRICS:
            out[name] = int(value)
        else:
            out[name] = float(value)
    return out
