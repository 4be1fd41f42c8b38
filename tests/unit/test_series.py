"""Grouping store days into days, weeks (from Monday) and months."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.domain import metrics
from backend.domain.calendar import days
from backend.domain.series import GRANULARITIES, Granularity, period_of, periods, sales_series

D = Decimal


@pytest.mark.parametrize(
    ("day", "granularity", "first"),
    [
        (date(2025, 3, 9), "day", date(2025, 3, 9)),
        (date(2025, 3, 9), "week", date(2025, 3, 3)),  # a Sunday belongs to the Monday before
        (date(2025, 3, 10), "week", date(2025, 3, 10)),  # a Monday starts its own week
        (date(2025, 1, 1), "week", date(2024, 12, 30)),  # weeks cross years
        (date(2025, 3, 31), "month", date(2025, 3, 1)),
        (date(2024, 2, 29), "month", date(2024, 2, 1)),
    ],
)
def test_a_period_is_named_by_its_first_day(day: date, granularity: Granularity, first: date) -> None:
    assert period_of(day, granularity) == first


def test_the_periods_at_the_edges_hold_only_the_days_in_the_range() -> None:
    # Given a range from a Wednesday to the Tuesday of the week after next
    start, end = date(2025, 3, 5), date(2025, 3, 18)
    # When it is cut into weeks
    weeks = periods(start, end, "week")
    # Then three weeks, named by their Mondays, the first and last clipped to the range
    assert [(w.period, w.first_day, w.last_day) for w in weeks] == [
        (date(2025, 3, 3), date(2025, 3, 5), date(2025, 3, 9)),
        (date(2025, 3, 10), date(2025, 3, 10), date(2025, 3, 16)),
        (date(2025, 3, 17), date(2025, 3, 17), date(2025, 3, 18)),
    ]


def test_months_cross_the_year_and_a_single_day_is_one_period() -> None:
    months = periods(date(2024, 12, 15), date(2025, 2, 3), "month")
    assert [(m.period, m.first_day, m.last_day) for m in months] == [
        (date(2024, 12, 1), date(2024, 12, 15), date(2024, 12, 31)),
        (date(2025, 1, 1), date(2025, 1, 1), date(2025, 1, 31)),
        (date(2025, 2, 1), date(2025, 2, 1), date(2025, 2, 3)),
    ]
    for granularity in GRANULARITIES:
        (only,) = periods(date(2025, 5, 7), date(2025, 5, 7), granularity)
        assert only.first_day == only.last_day == date(2025, 5, 7)


def test_empty_periods_are_zeros_and_money_is_rounded_once_per_period() -> None:
    # Given three days of a week each with half a cent of sales, a refund in the next week,
    # and nothing in the week after
    half_cent = {"gross_sales": D("0.005"), "orders": D(1), "units": D(2)}
    sales = {
        date(2025, 3, 3): half_cent,
        date(2025, 3, 4): half_cent,
        date(2025, 3, 5): half_cent,
        date(2025, 3, 12): {"returns": D("4.50")},
    }
    # When grouped by week
    series = sales_series(sales, date(2025, 3, 3), date(2025, 3, 23), "week")
    # Then 0.015 rounds half-up to 0.02 (not three roundings of 0.005), the refund makes net
    # sales negative, and the empty week is all zeros
    figures = [f for _, f in series]
    assert [p.period for p, _ in series] == [date(2025, 3, 3), date(2025, 3, 10), date(2025, 3, 17)]
    assert figures[0] == {
        "gross_sales": D("0.02"),
        "discounts": D("0.00"),
        "returns": D("0.00"),
        "net_sales": D("0.02"),
        "orders": 3,
        "units": 6,
    }
    assert figures[1]["net_sales"] == D("-4.50") and figures[1]["orders"] == 0
    assert figures[2] == dict.fromkeys(["gross_sales", "discounts", "returns", "net_sales"], D("0.00")) | {
        "orders": 0,
        "units": 0,
    }


def test_a_partial_period_counts_only_its_days_inside_the_range() -> None:
    sales = {date(2025, 3, 3): {"gross_sales": D("100")}, date(2025, 3, 6): {"gross_sales": D("1")}}
    ((period, figures),) = sales_series(sales, date(2025, 3, 5), date(2025, 3, 9), "week")
    assert period.period == date(2025, 3, 3) and figures["gross_sales"] == D("1.00")


cents = st.integers(0, 10_000).map(lambda c: D(c).scaleb(-2))
day_counters = st.fixed_dictionaries(
    {"gross_sales": cents, "discounts": cents, "returns": cents, "orders": st.integers(0, 5).map(D)}
)


@given(
    start=st.dates(date(2024, 1, 1), date(2025, 12, 31)),
    length=st.integers(1, 120),
    granularity=st.sampled_from(GRANULARITIES),
    data=st.data(),
)
def test_the_periods_tile_the_range_and_add_up_to_its_summary(
    start: date, length: int, granularity: Granularity, data: st.DataObject
) -> None:
    # Given any range and whole-cent counters on some of its days
    end = start + timedelta(days=length - 1)
    sales = {day: data.draw(day_counters) for day in days(start, end) if data.draw(st.booleans())}
    # When grouped
    series = sales_series(sales, start, end, granularity)
    # Then the periods cover every day of the range once, in order
    covered = [day for period, _ in series for day in days(period.first_day, period.last_day)]
    assert covered == list(days(start, end))
    assert all(period_of(p.first_day, granularity) == p.period for p, _ in series)
    # And their figures add up to the summary of the whole range
    whole = metrics.summarize(list(sales.values()), [])
    for name in ("gross_sales", "discounts", "returns", "net_sales", "orders"):
        assert sum(f[name] for _, f in series) == whole[name], name
