"""Comparing the API's figures with the oracle's, to the cent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from backend.domain.metrics import COUNT_METRICS, MONEY_METRICS, SHARE_METRICS


def assert_same_figures(api: dict[str, Any], expected: dict[str, Any], where: str = "") -> None:
    """Money equal to the cent (as strings with two decimals), counts equal, shares within 1e-4."""
    problems = []
    for name in MONEY_METRICS:
        value = api[name]
        if not (
            isinstance(value, str) and Decimal(value) == Decimal(expected[name]) and value.count(".") == 1
        ):
            problems.append(f"{name}: api {value!r} != oracle {expected[name]}")
    for name in COUNT_METRICS:
        if api[name] != int(expected[name]):
            problems.append(f"{name}: api {api[name]!r} != oracle {expected[name]}")
    for name in SHARE_METRICS:
        if abs(Decimal(str(api[name])) - Decimal(expected[name])) > Decimal("0.0001"):
            problems.append(f"{name}: api {api[name]!r} != oracle {expected[name]}")
    assert not problems, f"{where}: " + "; ".join(problems)


def assert_same_stock(kept: dict[str, int], expected: dict[str, int]) -> None:
    """Stock on hand equal for every SKU either side knows (absent counts as 0)."""
    skus = set(kept) | set(expected)
    wrong = {s: (kept.get(s, 0), expected.get(s, 0)) for s in skus if kept.get(s, 0) != expected.get(s, 0)}
    assert not wrong, f"on hand (kept, oracle) differs: {wrong}"


DAY_COUNTS = ("orders", "units", "refunds")


def assert_same_day_counts(kept: dict[Any, dict[str, Decimal]], expected: Any) -> None:
    """Each day's counts (orders, units, refunds: what the anomaly check reads besides money)
    equal those of the oracle's daily frame (:func:`tests.oracle.daily`); a day one side lacks
    counts 0."""

    def counts(day: Any) -> tuple[int, ...]:
        oracle_row = expected.loc[day] if day in expected.index else {}
        return tuple(int(oracle_row.get(name, 0)) for name in DAY_COUNTS)

    wrong = {
        day: (tuple(int(kept.get(day, {}).get(name, 0)) for name in DAY_COUNTS), counts(day))
        for day in sorted(set(kept) | set(expected.index))
    }
    wrong = {day: pair for day, pair in wrong.items() if pair[0] != pair[1]}
    assert not wrong, f"{DAY_COUNTS} per day (kept, oracle) differ: {wrong}"
