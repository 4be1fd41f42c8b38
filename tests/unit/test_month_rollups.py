"""Folding a month's days into one rollup gives the same summary as the days themselves."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain import rollups
from backend.domain.calendar import days
from backend.domain.customers import memberships
from backend.domain.metrics import summarize

FIRST = date(2024, 12, 20)
SPAN = 120

histories = st.dictionaries(
    keys=st.sampled_from([f"c{n}" for n in range(25)]),
    values=st.lists(st.integers(min_value=0, max_value=SPAN - 1), min_size=1, max_size=6),
    max_size=25,
)


def day_figures(history: dict[str, list[int]]) -> dict[date, tuple[dict[str, Decimal], dict[str, set[str]]]]:
    """Per day: the counters and the C/P/M sets the processors would keep for this history."""
    out: dict[date, tuple[dict[str, Decimal], dict[str, set[str]]]] = {}
    sets: dict[date, dict[str, set[str]]] = defaultdict(lambda: {"C": set(), "P": set(), "M": set()})
    orders: dict[date, int] = defaultdict(int)
    for customer, offsets in history.items():
        order_days = [FIRST + timedelta(days=o) for o in offsets]
        for day in order_days:
            orders[day] += 1
        for day, names in memberships(order_days).items():
            for name in names:
                sets[day][name].add(customer)
    for day in days(FIRST, FIRST + timedelta(days=SPAN - 1)):
        n = orders.get(day, 0)
        counters = {
            "orders": Decimal(n),
            "gross_sales": Decimal("12.34") * n,
            "discounts": Decimal("0.05") * n,
        }
        out[day] = (counters, sets[day])
    return out


@settings(max_examples=150, deadline=None)
@given(
    history=histories,
    start=st.integers(min_value=0, max_value=SPAN - 1),
    length=st.integers(min_value=1, max_value=SPAN),
)
def test_months_folded_give_the_summary_of_their_days(
    history: dict[str, list[int]], start: int, length: int
) -> None:
    figures = day_figures(history)
    first = FIRST + timedelta(days=start)
    last = min(first + timedelta(days=length - 1), FIRST + timedelta(days=SPAN - 1))
    every_day = [figures[d] for d in days(first, last)]
    expected = summarize([s for s, _ in every_day], [c for _, c in every_day])

    months, edges = rollups.split(first, last)
    entries = [figures[d] for d in edges]
    for month in months:
        month_first, month_last = rollups.month_days(month)
        inside = [figures[d] for d in days(month_first, month_last)]
        folded = rollups.fold([s for s, _ in inside], [c for _, c in inside])
        entries.append(rollups.as_day(rollups.decode(rollups.encode(folded))))
    assert summarize([s for s, _ in entries], [c for _, c in entries]) == expected


def test_split_covers_the_range_once() -> None:
    months, edges = rollups.split(date(2024, 2, 1), date(2024, 12, 30))
    assert months == [f"2024-{m:02d}" for m in range(2, 12)]
    assert edges == list(days(date(2024, 12, 1), date(2024, 12, 30)))
    assert rollups.split(date(2025, 3, 5), date(2025, 3, 5)) == ([], [date(2025, 3, 5)])


@pytest.mark.parametrize("month", ["2025-13", "2025-3", "25-03", "2025-03-01", ""])
def test_a_malformed_month_is_refused(month: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        rollups.month_days(month)


def test_an_unknown_format_is_refused_not_misread() -> None:
    import json
    import zlib

    with pytest.raises(ValueError, match="format"):
        rollups.decode(zlib.compress(json.dumps({"format": 99}).encode()))
