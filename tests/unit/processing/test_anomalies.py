"""The anomalies job on the in-memory table: a bad day found, its alert recorded, sent once."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from backend.domain.anomalies import history_days
from backend.processing import anomalies
from tests.unit.processing.fakes import FakeAnalytics

MONDAY = date(2025, 3, 31)
NOW = datetime(2025, 4, 1, 0, 5, tzinfo=UTC)


def _store() -> FakeAnalytics:
    """Eight weeks of 10,000.00 gross with 400.00 of returns and 200-202 orders a day, then a
    Monday of 3,000.00 gross, the same returns and 60 orders."""
    table = FakeAnalytics()
    for i, day in enumerate(history_days(MONDAY)):
        table.given_day_sales(day, {"gross_sales": "10000", "returns": "400", "orders": 200 + i % 3})
    table.given_day_sales(MONDAY, {"gross_sales": "3000", "returns": "400", "orders": 60})
    return table


def test_a_bad_day_raises_one_alert_per_metric_however_often_it_runs() -> None:
    # Given the store's history and a bus that records what is put on it
    table = _store()
    sent: list[dict[str, Any]] = []
    # When the job checks the Monday
    result = anomalies.check(table, sent.append, MONDAY, NOW)
    # Then net sales (2,600.00 = 3,000.00 - 400.00, where 9,600.00 is usual) and orders (60)
    # dropped, each alert sent once, raised now
    assert result["baseline_days"] == 8
    assert [(a["type"], a["metric"]) for a in result["anomalies"]] == [
        ("sales_drop", "net_sales"),
        ("sales_drop", "orders"),
    ]
    net = next(a for a in sent if a["metric"] == "net_sales")
    assert (Decimal(net["value"]), Decimal(net["expected"]), net["day"]) == (
        Decimal("2600"),
        Decimal("9600.00"),
        "2025-03-31",
    )
    assert next(a for a in sent if a["metric"] == "orders")["value"] == "60"
    assert {a["raised_at"] for a in sent} == {NOW.isoformat()}
    # When it runs again an hour later
    again = anomalies.check(table, sent.append, MONDAY, NOW + timedelta(hours=1))
    # Then it finds the same and sends nothing more
    assert (len(again["anomalies"]), again["sent"], len(sent)) == (2, 0, 2)


def test_an_interrupted_run_sends_the_same_alert_again() -> None:
    # Given a run that recorded its alerts but crashed before putting them on the bus
    table = _store()

    def crash(alert: dict[str, Any]) -> None:
        raise ConnectionError("the bus is not answering")

    with contextlib.suppress(ConnectionError):
        anomalies.check(table, crash, MONDAY, NOW)
    # When the next run comes, two hours later
    later = NOW + timedelta(hours=2)
    sent: list[dict[str, Any]] = []
    anomalies.check(table, sent.append, MONDAY, later)
    # Then it sends the net sales alert the crashed run recorded, raised_at unchanged (so the
    # feed, keyed by it, keeps one), and the orders alert it never reached, raised now
    assert [(a["metric"], a["raised_at"]) for a in sent] == [
        ("net_sales", NOW.isoformat()),
        ("orders", later.isoformat()),
    ]


def test_a_store_with_three_weeks_of_history_gets_no_alert() -> None:
    # Given only the three weeks before the Monday
    table = FakeAnalytics()
    for day in history_days(MONDAY)[:21]:
        table.given_day_sales(day, {"gross_sales": "10000", "orders": 200})
    sent: list[dict[str, Any]] = []
    # When the job checks the Monday (which sold nothing)
    result = anomalies.check(table, sent.append, MONDAY, NOW)
    # Then 3 baseline days are too few to judge: nothing
    assert (result["baseline_days"], result["anomalies"], sent) == (3, [], [])


def test_a_refund_wave_is_scored_on_the_count_and_alerted_as_money() -> None:
    # Given eight weeks of 200 orders and 8 refunds (400.00) a day, counted
    table = FakeAnalytics()
    for i, day in enumerate(history_days(MONDAY)):
        table.given_day_sales(
            day, {"gross_sales": "10000", "returns": "400", "refunds": 8 + i % 3 - 1, "orders": 200 + i % 3}
        )
    # When the Monday has 40 refunds of 30.00 (1,200.00) and its usual orders
    table.given_day_sales(MONDAY, {"gross_sales": "10000", "returns": "1200", "refunds": 40, "orders": 201})
    sent: list[dict[str, Any]] = []
    result = anomalies.check(table, sent.append, MONDAY, NOW)
    # Then the refunds were scored on their count, and the alert carries the refunded money
    # (the contract's `returns`) as its value and expected
    assert result["refunds_scored_on"] == "count"
    (wave,) = sent
    assert (wave["type"], wave["metric"], wave["value"], wave["expected"]) == (
        "refund_spike",
        "returns",
        "1200",
        "400.00",
    )
    # And a store whose days predate the count is checked on money, as the job reports
    assert anomalies.check(_store(), [].append, MONDAY, NOW)["refunds_scored_on"] == "money"
