"""The demand forecast and the anomaly check (pure), on fixed dates, against pandas."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal as D

import pandas as pd
import pytest

from backend.domain import anomalies, forecast
from backend.domain.inventory import CatalogueEntry, StockLevel, inventory_rows

MONDAY = date(2025, 3, 3)


def _days(n: int, last: date) -> list[date]:
    return [last - timedelta(days=k) for k in range(n)][::-1]


def test_the_weekday_index_finds_a_real_weekly_pattern_and_ignores_chance() -> None:
    # Given 8 weeks of a store whose Saturdays sell half again as much, with noise
    rng = random.Random(3)
    days = _days(56, MONDAY + timedelta(days=55))
    seasonal = {d: rng.gauss(150 if d.weekday() == 5 else 100, 5) for d in days}
    # And one whose weekdays differ only by chance (Poisson-like noise around 100)
    flat = {d: rng.gauss(100, 10) for d in days}
    # Then the first index holds the pattern (pandas: weekday mean over the overall mean)
    frame = pd.Series(seasonal)
    raw = frame.groupby([d.weekday() for d in frame.index]).mean() / frame.mean()
    index = forecast.weekday_index(days, seasonal)
    assert index[5] == pytest.approx(raw[5], rel=0.02) and index[5] > 1.3
    assert sum(index) == pytest.approx(7)
    # And the second stays close to flat: chance is shrunk away
    assert max(abs(i - 1) for i in forecast.weekday_index(days, flat)) < 0.03


def test_the_level_weighs_recent_weeks_more_than_old_ones() -> None:
    # Given a product whose sales grew from 2 to 6 a day over 8 weeks
    days = _days(56, MONDAY + timedelta(days=55))
    units = {d: 2 + 4 * n / 55 for n, d in enumerate(days)}
    # Then the weighted level is above the 8 weeks' plain mean (4), below the last day's 6
    plan = forecast.forecast(days[-1], units, (1.0,) * 7)
    assert 4.2 < float(plan.daily_units) < 6
    # And it equals pandas' exponentially weighted mean with the same half-life
    ewm = pd.Series([units[d] for d in days]).ewm(halflife=forecast.HALF_LIFE_DAYS, adjust=True).mean()
    assert float(plan.daily_units) == pytest.approx(ewm.iloc[-1], abs=0.005)


def test_stockout_date_walks_the_weekday_forecast_and_reorder_by_takes_the_lead_time() -> None:
    # Given 3 a day on weekdays and 10 on weekends, 30 on hand on a Monday
    plan = forecast.Forecast(MONDAY - timedelta(days=1), (3, 3, 3, 3, 3, 10, 10))
    # Then Mon..Fri sell 15 and Sat 10 (25), Sunday reaches 30: out on Sunday
    assert forecast.stockout_date(30, plan, MONDAY) == MONDAY + timedelta(days=6)
    # And the same with pandas: the first day whose cumulative forecast reaches on hand
    ahead = pd.Series([plan.units_on(MONDAY + timedelta(days=k)) for k in range(30)]).cumsum()
    assert forecast.stockout_date(30, plan, MONDAY) == MONDAY + timedelta(days=int((ahead >= 30).idxmax()))
    assert forecast.reorder_by(MONDAY + timedelta(days=6), 10) == MONDAY - timedelta(days=4)
    # And stock that is out is out today; nothing selling never runs out
    assert forecast.stockout_date(-2, plan, MONDAY) == MONDAY
    assert forecast.stockout_date(30, forecast.Forecast(MONDAY, (0.0,) * 7), MONDAY) is None
    # And the risk is a reorder-by within 3 days, for a SKU still in stock
    assert forecast.at_risk(30, MONDAY + timedelta(days=3), MONDAY)
    assert not forecast.at_risk(30, MONDAY + timedelta(days=4), MONDAY)
    assert not forecast.at_risk(0, MONDAY - timedelta(days=9), MONDAY)


def test_inventory_rows_carry_the_forecast_with_each_skus_lead_time() -> None:
    # Given a SKU with its own lead time of 10 days and one with the store's default (7)
    today = MONDAY
    plan = forecast.Forecast(today - timedelta(days=1), (2.0,) * 7)
    rows = inventory_rows(
        {"MUG": CatalogueEntry("Mug", "Home", 5, 10), "PEN": CatalogueEntry("Pen", "Office", 2)},
        {"MUG": StockLevel(40), "PEN": StockLevel(40)},
        {},
        {},
        today=today,
        forecasts={"MUG": plan, "PEN": plan},
    )
    mug, pen = (row.to_json() for row in rows)
    # Then 40 units at 2 a day run out on the 20th day (today counts), and each reorders by its lead time
    assert mug["forecast_daily_units"] == 2.0 and mug["stockout_date"] == "2025-03-22"
    assert (mug["lead_time_days"], mug["reorder_by"]) == (10, "2025-03-12")
    assert (pen["lead_time_days"], pen["reorder_by"]) == (7, "2025-03-15")


# -- anomalies


def _store(weeks: int, last: date, seed: int = 1) -> dict[date, dict[str, D]]:
    """``weeks`` weeks to ``last`` of a store with a strong weekly pattern and noise."""
    rng = random.Random(seed)
    factor = (0.8, 0.8, 0.9, 1.0, 1.2, 1.6, 1.4)
    out = {}
    for day in _days(7 * weeks, last):
        orders = round(100 * factor[day.weekday()] * rng.uniform(0.93, 1.07))
        gross = D(orders * 50) * D(str(round(rng.uniform(0.95, 1.05), 2)))
        out[day] = {
            "gross_sales": gross,
            "discounts": D(0),
            "returns": gross * D("0.04"),
            "orders": D(orders),
        }
    return out


def test_ordinary_weekly_swings_raise_nothing() -> None:
    # Given 12 weeks where Saturdays sell twice what Mondays do
    figures = _store(12, MONDAY + timedelta(days=83))
    # Then no day of the last 8 weeks is unusual
    assert [a for day in sorted(figures)[28:] for a in anomalies.detect(day, figures)] == []


def test_fewer_than_4_weeks_of_history_raise_nothing() -> None:
    # Given 3 weeks and a day that sold nothing at all
    figures = _store(3, MONDAY + timedelta(days=20))
    empty_day = MONDAY + timedelta(days=21)
    assert anomalies.detect(empty_day, figures) == []
    # But with a 4th week, the same empty day is a drop
    figures = _store(4, MONDAY + timedelta(days=27))
    assert {a.metric for a in anomalies.detect(MONDAY + timedelta(days=28), figures)} == {
        "net_sales",
        "orders",
    }


def test_a_bad_day_a_spike_and_a_refund_wave_are_found_with_value_expected_and_score() -> None:
    figures = _store(9, MONDAY + timedelta(days=62))
    day = MONDAY + timedelta(days=62)  # a Sunday
    baseline = [anomalies.day_figures(figures[d]) for d in anomalies.baseline_days(day)]
    usual = figures[day]
    # When the day sells a third of its usual
    figures[day] = {name: value / 3 for name, value in usual.items()}
    drop = {a.metric: a for a in anomalies.detect(day, figures)}
    assert {a.type for a in drop.values()} == {"sales_drop"} and set(drop) == {"net_sales", "orders"}
    # Then expected is the median of the same weekday over 8 weeks (pandas), and the score negative
    expected = pd.Series([float(b["net_sales"]) for b in baseline]).median()
    assert float(drop["net_sales"].expected) == pytest.approx(expected, abs=0.01)
    assert drop["net_sales"].value == anomalies.day_figures(figures[day])["net_sales"]
    assert drop["net_sales"].score < -anomalies.THRESHOLDS["sales_drop"]
    # When it sells three times its usual instead (its refunds, of earlier orders, as usual)
    figures[day] = {name: value * 3 for name, value in usual.items()} | {"returns": usual["returns"]}
    assert {(a.type, a.metric) for a in anomalies.detect(day, figures)} == {
        ("sales_spike", "net_sales"),
        ("sales_spike", "orders"),
    }
    # When only refunds surge (a refund wave): a refund spike
    figures[day] = dict(usual, returns=usual["gross_sales"] * D("0.4"))
    assert ("refund_spike", "returns") in {(a.type, a.metric) for a in anomalies.detect(day, figures)}


def _orders_day(orders: int) -> dict[str, D]:
    return {"gross_sales": D(orders * 50), "discounts": D(0), "returns": D(0), "orders": D(orders)}


def test_the_noise_is_measured_over_every_weekday_not_eight_days_that_agree_by_chance() -> None:
    # Given a small store of about 20 orders a day that swing by some 30%, whose last 8 Sundays
    # by chance all had 20
    day = MONDAY + timedelta(days=62)  # a Sunday
    rng = random.Random(5)
    figures = {d: _orders_day(round(20 * rng.lognormvariate(0, 0.3))) for d in anomalies.history_days(day)}
    for weeks_before in range(1, 9):
        figures[day - timedelta(weeks=weeks_before)] = _orders_day(20)
    assert sum(f["orders"] >= 39 for f in figures.values()) >= 2
    # When the Sunday has 39 orders, as two other days of these 8 weeks had
    figures[day] = _orders_day(39)
    # Then it is not unusual (the eight Sundays alone, spread 0, called it a spike)
    assert anomalies.detect(day, figures) == []
    # But 70 orders, twice its best day, is
    figures[day] = _orders_day(70)
    assert {(a.type, a.metric) for a in anomalies.detect(day, figures)} == {
        ("sales_spike", "net_sales"),
        ("sales_spike", "orders"),
    }


def test_the_baseline_is_robust_to_a_past_anomaly() -> None:
    # Given a huge promotion on the same weekday 2 weeks ago
    figures = _store(9, MONDAY + timedelta(days=62))
    day = MONDAY + timedelta(days=62)
    promo = day - timedelta(weeks=2)
    figures[promo] = {name: value * 10 for name, value in figures[promo].items()}
    # Then an ordinary day is still ordinary (a mean would expect twice as much and call it a drop)
    assert anomalies.detect(day, figures) == []


def _noisy_store(
    orders_a_day: int, last: date, seed: int, value_noise: float = 0.03, refunds: float = 0.04
) -> dict[date, dict[str, D]]:
    """8 weeks to ``last`` (and ``last``) of a store of about ``orders_a_day`` orders of 50.00,
    its weekly pattern, 8% demand noise, order values that vary by ``value_noise`` a day, and
    refunds of ``refunds`` of a day's sales."""
    rng = random.Random(seed)
    factor = (0.92, 0.90, 0.93, 0.97, 1.05, 1.18, 1.10)
    out = {}
    for day in _days(57, last):
        orders = round(orders_a_day * factor[day.weekday()] * rng.lognormvariate(0, 0.08))
        gross = D(orders * 50) * D(str(round(rng.lognormvariate(0, value_noise), 3)))
        out[day] = {
            "gross_sales": gross,
            "discounts": D(0),
            "returns": (gross * D(str(refunds))).quantize(D("0.01")),
            "orders": D(orders),
        }
    return out


def _usual(figures: dict[date, dict[str, D]], day: date) -> dict[str, D]:
    """The day's figures at the median of its baseline days (its usual)."""
    baseline = [figures[d] for d in anomalies.baseline_days(day)]
    return {name: D(str(pd.Series([float(b[name]) for b in baseline]).median())) for name in baseline[0]}


def test_a_big_stores_ordinary_rush_is_not_a_spike_but_twice_its_usual_is() -> None:
    # Given a store of 300 orders a day, whose days vary by some 8%
    day = MONDAY + timedelta(days=62)
    figures = _noisy_store(300, day, seed=3)
    usual = _usual(figures, day)
    # When a day sells 45% more than usual (the earlier check scored it past 4.5: a spike)
    figures[day] = {name: value * D("1.45") for name, value in usual.items()} | {"returns": usual["returns"]}
    # Then it is not unusual: no owner of a store that busy calls a 45% rush a spike
    assert anomalies.detect(day, figures) == []
    # But twice its usual is, in both metrics
    figures[day] = {name: value * 2 for name, value in usual.items()} | {"returns": usual["returns"]}
    assert {(a.type, a.metric) for a in anomalies.detect(day, figures)} == {
        ("sales_spike", "net_sales"),
        ("sales_spike", "orders"),
    }


def test_refunds_of_earlier_orders_lower_net_sales_but_are_not_a_bad_day() -> None:
    # Given a small store of about 20 orders a day and its usual refunds
    day = MONDAY + timedelta(days=62)
    figures = _noisy_store(20, day, seed=4, value_noise=0.1)
    usual = _usual(figures, day)
    # When a usual day's sales get 9 orders' worth of refunds of earlier (big) orders: its net
    # sales fall by half (the earlier check called that a sales drop)
    figures[day] = dict(usual, returns=D("450.00"))
    # Then it is neither a bad day nor (9 orders' worth) a refund wave
    assert anomalies.detect(day, figures) == []
    # But 20 orders' worth of refunds is a wave (and still not a bad day)
    figures[day] = dict(usual, returns=D("1000.00"))
    assert {(a.type, a.metric) for a in anomalies.detect(day, figures)} == {("refund_spike", "returns")}


def test_a_drop_in_orders_confirms_the_drop_in_net_sales_of_the_same_day() -> None:
    # Given a store of 120 orders a day whose order values vary by 15% from day to day, so that
    # its net sales are noisier than its orders
    day = MONDAY + timedelta(days=62)
    figures = _noisy_store(120, day, seed=5, value_noise=0.15)
    usual = _usual(figures, day)
    # When a day sells half its usual orders, of the usual value
    figures[day] = {name: value / 2 for name, value in usual.items()} | {"returns": usual["returns"]}
    found = {a.metric: a for a in anomalies.detect(day, figures)}
    # Then both are a sales drop: net sales alone would not pass the threshold (the earlier check
    # found the orders only), but the orders' drop on the same day confirms it
    assert abs(found["net_sales"].score) < anomalies.THRESHOLDS["sales_drop"]
    assert {(a.type, m) for m, a in found.items()} == {("sales_drop", "net_sales"), ("sales_drop", "orders")}


def test_twelve_refunds_where_one_is_usual_on_a_small_store_are_a_wave() -> None:
    # Given a store of 20 orders of 50.00 a day and one refund a day
    day = MONDAY + timedelta(days=62)
    figures = {
        d: {"gross_sales": D(1000), "discounts": D(0), "returns": D(50), "orders": D(20)}
        for d in _days(57, day)
    }
    for n, d in enumerate(sorted(figures)):
        figures[d] = dict(figures[d], orders=D(19 + n % 3), gross_sales=D(50 * (19 + n % 3)))
    # When 12 orders are refunded on one day: a refund wave
    figures[day] = dict(figures[day], returns=D(600))
    assert {(a.type, a.metric) for a in anomalies.detect(day, figures)} == {("refund_spike", "returns")}


@pytest.mark.parametrize("weeks", [4, 8])
def test_an_ordinary_days_score_is_in_standard_deviations_of_the_stores_noise(weeks: int) -> None:
    # Given many stores whose days vary by normal noise (on the square-root scale the check
    # scores on, far above counting noise), with 4 or 8 weeks of history before a checked day
    rng = random.Random(weeks)
    factor = (0.9, 0.9, 0.95, 1.0, 1.05, 1.2, 1.1)
    scores = []
    for _ in range(1000):
        day = MONDAY + timedelta(days=7 * weeks)
        days = _days(7 * weeks + 1, day)
        roots = {d: 30 * factor[d.weekday()] + 2 * rng.gauss(0, 1) for d in days}
        figures = {d: _orders_day(round(root**2)) for d, root in roots.items()}
        scores.append(next(c.score for c in anomalies.assess(day, figures) if c.metric == "orders"))
    # Then an ordinary day's score varies by about one standard deviation (a little more with
    # 4 weeks: the noise is measured on fewer days). The earlier spread, a MAD of 4 or 8 days a
    # weekday, was biased low: its scores varied by 1.5 and 1.2, so a short history alarmed more
    assert pd.Series(scores).std() == pytest.approx(1.0, abs=0.15)


def _refunding_store(last: date, seed: int, counted_from: date | None = None) -> dict[date, dict[str, D]]:
    """8 weeks to ``last`` (and ``last``) of a store of about 20 orders of 50.00 a day and a
    refund a day or so (of orders of any size); the days from ``counted_from`` on (all, by
    default) also hold their count of refunds, as the orders processor keeps it since 2026-12."""
    rng = random.Random(seed)
    out = {}
    for day in _days(57, last):
        orders = round(20 * rng.lognormvariate(0, 0.08))
        refunds = [D(str(round(50 * rng.lognormvariate(0, 0.5), 2))) for _ in range(rng.choice((0, 1, 1, 2)))]
        out[day] = {
            "gross_sales": D(orders * 50),
            "discounts": D(0),
            "returns": sum(refunds, D(0)),
            "orders": D(orders),
        }
        if counted_from is None or day >= counted_from:
            out[day]["refunds"] = D(len(refunds))
    return out


def test_one_big_refund_is_not_a_wave_but_many_small_ones_are() -> None:
    # Given a store of 20 orders a day and a refund or so, with the days' counts of refunds
    day = MONDAY + timedelta(days=62)
    figures = _refunding_store(day, seed=6)
    usual = _usual(figures, day)
    # When one refund of 1,000.00 (a whole day's sales) comes on a usual day
    figures[day] = dict(usual, returns=D("1000.00"), refunds=D(1))
    # Then it is one refund, no wave (on money alone, the check called it one)
    assert anomalies.detect(day, figures) == []
    assert anomalies.detect(day, _without_counts(figures)) != []
    # But ten refunds of 40.00 are a wave: its value and expected are the refunded money
    figures[day] = dict(usual, returns=D("400.00"), refunds=D(10))
    (wave,) = anomalies.detect(day, figures)
    assert (wave.type, wave.metric, wave.value) == ("refund_spike", "returns", D("400.00"))
    expected = pd.Series([float(figures[d]["returns"]) for d in anomalies.baseline_days(day)]).median()
    assert float(wave.expected) == pytest.approx(expected, abs=0.01)
    assert wave.score >= anomalies.COUNTED_REFUNDS_THRESHOLD
    # And ten refunds of 1.00 (shipping fees) are many, but no money to call a wave
    figures[day] = dict(usual, returns=D("10.00"), refunds=D(10))
    assert anomalies.detect(day, figures) == []


def _without_counts(figures: dict[date, dict[str, D]]) -> dict[date, dict[str, D]]:
    return {d: {k: v for k, v in f.items() if k != "refunds"} for d, f in figures.items()}


def test_days_kept_before_the_refund_count_are_checked_on_money_until_4_weeks_have_counts() -> None:
    # Given a store whose days hold a count of refunds only for the last 3 weeks (the release
    # that keeps it came then), and a day with one refund of 1,000.00
    day = MONDAY + timedelta(days=62)
    for weeks, counted in ((3, False), (4, True)):
        figures = _refunding_store(day, seed=6, counted_from=day - timedelta(weeks=weeks))
        usual = _usual(_refunding_store(day, seed=6), day)  # the same days, all counted
        figures[day] = dict(usual, returns=D("1000.00"), refunds=D(1))
        candidate = next(c for c in anomalies.assess(day, figures) if c.metric == "returns")
        # Then with fewer than 4 of its weekday's baseline days counted, the check is on money
        # (what it was before the count: a refund of a whole day's sales is a spike), and with
        # 4 on the count (one refund is no wave)
        assert (candidate.count is not None) == counted
        assert bool(anomalies.detect(day, figures)) != counted
    # And the days before the first day with a count are not taken for days without refunds
    counts = anomalies.refund_counts(
        day, _refunding_store(day, seed=6, counted_from=day - timedelta(weeks=4))
    )
    assert min(counts) == day - timedelta(weeks=4) and max(counts) == day
