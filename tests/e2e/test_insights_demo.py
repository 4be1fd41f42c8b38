"""What ``make run`` shows of the insights: the simulator's planted bad day, refund wave and
stock-out become alerts and forecasts once the backfill is in (the jobs ``make run`` runs after
it), through the real pipeline, jobs, EventBridge rule and read API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import requests

from devstack.foreground import insights_after_backfill
from devstack.simulator import generate, planted_bundles, send
from tests.conftest import STORE_TIMEZONE

if TYPE_CHECKING:
    from tests.conftest import StackFixture

DAYS = 49
# The evening of the store's last day (20:00 in New York).
NOW = datetime(2025, 6, 30, 0, 0, tzinfo=UTC)


def test_the_backfill_shows_the_planted_bad_day_refund_wave_and_stock_risks(stack: StackFixture) -> None:
    # Given 7 weeks of a simulated store ending on a fixed day (its plants are days before its
    # end), in the store's time zone: never today's date, so the history is the same every run
    now = NOW
    today = now.astimezone(ZoneInfo(STORE_TIMEZONE)).date()
    stack.reset()
    events = generate(DAYS, 40, seed=5, end=today, tz=STORE_TIMEZONE, now=now)
    totals = send(events, stack.api_url, stack.ingest_key, progress=False)
    assert totals["rejected"] == 0
    # When the insights jobs run as after make run's backfill
    insights_after_backfill(stack.local, today=today)
    stack.wait_idle(120)
    # Then the bad day (9 days before the end) is a sales drop, the refund wave (4 days before)
    # a refund spike; other days are hardly ever flagged (the check's precision is about 0.99,
    # and the lost stock of a best seller 12 days before the end is a true dip in sales)
    body = requests.get(
        stack.api_url + "/v1/alerts",
        params={"limit": 1000},
        headers={"x-api-key": stack.read_key},
        timeout=30,
    ).json()
    anomalies = {(a["type"], a["day"]) for a in body["alerts"] if "metric" in a}
    bad_day, wave = (today - timedelta(days=9)).isoformat(), (today - timedelta(days=4)).isoformat()
    assert ("sales_drop", bad_day) in anomalies and ("refund_spike", wave) in anomalies
    assert len(anomalies - {("sales_drop", bad_day), ("refund_spike", wave), ("sales_drop", wave)}) <= 2
    # And every SKU has a forecast, and the SKUs running low within their lead time are risks
    items: list[dict[str, Any]] = requests.get(
        stack.api_url + "/v1/inventory", headers={"x-api-key": stack.read_key}, timeout=30
    ).json()["items"]
    assert items and all(i["forecast_daily_units"] is not None for i in items)
    risks = {a["sku"] for a in body["alerts"] if a["type"] == "stockout_risk"}
    assert risks and risks <= {i["sku"] for i in items}
    # And the nightly segments and pairs have run: a first make run shows RFM segments as of the
    # store's day and the planted bundles at the top of the bought-together pairs
    segments = requests.get(
        stack.api_url + "/v1/customers/segments", headers={"x-api-key": stack.read_key}, timeout=30
    ).json()
    assert segments["as_of"] == today.isoformat() and segments["customers"] > 0
    assert sum(s["customers"] for s in segments["segments"]) == segments["customers"]
    pairs = requests.get(
        stack.api_url + "/v1/products/pairs",
        params={"start": (today - timedelta(days=DAYS)).isoformat(), "end": today.isoformat(), "limit": "3"},
        headers={"x-api-key": stack.read_key},
        timeout=60,
    ).json()["pairs"]
    bundles = [set(bundle) for bundle in planted_bundles(5)]
    assert pairs and all(any({p["a"], p["b"]} <= bundle for bundle in bundles) for p in pairs)
