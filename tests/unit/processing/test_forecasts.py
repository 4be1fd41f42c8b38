"""The ``forecast`` job on the in-memory table: each SKU's forecast from its daily sales, one
``stockout_risk`` alert per risk, sent again (the same alert) after a crash, re-armed when the
risk ends."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from backend.domain.products import SkuSales
from backend.processing import forecasts
from tests.unit.processing.fakes import FakeAnalytics

TODAY = date(2025, 5, 1)
NOW = datetime(2025, 5, 1, 3, tzinfo=UTC)


def _store(on_hand: int) -> FakeAnalytics:
    """A mug sold 3 a day over the job's 56 days (lead time 10 days), a pen that never sold."""
    table = FakeAnalytics()
    for n in range(1, 57):
        table.sku_sales[TODAY - timedelta(days=n)] = {"MUG": SkuSales(3, Decimal("42.00"))}
    table.upsert_product("MUG", {"sku": "MUG", "reorder_point": 5, "lead_time_days": 10}, "v1")
    table.upsert_product("PEN", {"sku": "PEN", "reorder_point": 5}, "v1")
    table.on_hand.update({"MUG": on_hand, "PEN": 144})
    return table


def _run(table: FakeAnalytics, send: Any, today: date = TODAY) -> dict[str, Any]:
    return forecasts.run(table, send, today, NOW)


def test_a_sku_running_out_within_its_lead_time_raises_one_alert() -> None:
    # Given 32 mugs on hand: about 10 days at 3 a day, with 10 days' lead time
    table = _store(on_hand=32)
    sent: list[dict[str, Any]] = []
    # When the job runs twice
    first, second = _run(table, sent.append), _run(table, sent.append)
    # Then both SKUs were forecast, the mug at 3 a day and the pen at none
    assert (first["skus"], first["written"], first["at_risk"], first["alerts"]) == (2, 2, 1, 1)
    assert {sku: f.daily_units for sku, f in table.sku_forecasts(["MUG", "PEN"]).items()} == {
        "MUG": Decimal("3.00"),
        "PEN": Decimal("0.00"),
    }
    # And one stockout_risk alert went out: out of stock on 11 May, reorder by 1 May
    (alert,) = sent
    assert {
        k: alert[k] for k in ("type", "sku", "on_hand", "stockout_date", "reorder_by", "lead_time_days")
    } == {
        "type": "stockout_risk",
        "sku": "MUG",
        "on_hand": 32,
        "stockout_date": "2025-05-11",
        "reorder_by": "2025-05-01",
        "lead_time_days": 10,
    }
    # And the second run wrote nothing and sent nothing: the same forecast, the same risk
    assert (second["written"], second["at_risk"], second["alerts"]) == (0, 1, 0)
    assert table.forecast_records["MUG"].pending_alert is None


def test_an_alert_recorded_before_a_crash_is_sent_by_the_next_run_unchanged() -> None:
    table = _store(on_hand=32)

    def bus_down(alert: dict[str, Any]) -> None:
        raise ConnectionError("EventBridge unreachable")

    # Given a run that crashed after recording the alert, before the bus took it
    with pytest.raises(ConnectionError):
        _run(table, bus_down)
    pending = table.forecast_records["MUG"].pending_alert
    assert pending is not None
    # When the next run comes
    sent: list[dict[str, Any]] = []
    result = _run(table, sent.append)
    # Then the recorded alert goes out once, the very same, and no second one is raised
    assert sent == [json.loads(pending)]
    assert (result["resent"], result["alerts"]) == (1, 0)


def test_a_risk_that_ends_re_arms_the_next_one() -> None:
    # Given the mug at risk and alerted
    table = _store(on_hand=32)
    sent: list[dict[str, Any]] = []
    _run(table, sent.append)
    # When it is restocked (risk over), then runs low again
    table.on_hand["MUG"] += 500
    calm = _run(table, sent.append)
    table.on_hand["MUG"] -= 500
    again = _run(table, sent.append)
    # Then the restock raised nothing and the new risk raises a second, distinct alert
    assert (calm["at_risk"], calm["alerts"], again["alerts"]) == (0, 0, 1)
    assert [a["type"] for a in sent] == ["stockout_risk", "stockout_risk"]
    assert sent[0]["alert_id"] != sent[1]["alert_id"]
    assert table.forecast_records["MUG"].risk_crossings == 2
