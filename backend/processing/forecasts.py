"""The ``forecast`` job: each SKU's demand forecast, and one ``stockout_risk`` alert per risk.

Nightly after the store day closes (``storepulse-forecast``), and on ``storepulse run-job
forecast``:

1. The units sold per SKU on each of the 56 closed days to yesterday come from the days'
   SKU part items (``SKUP#``, one Query per day, read a week at a time and folded, so memory
   holds one week of days and a 56-day series per SKU that sold). Their store-wide total
   gives the weekday index (:mod:`backend.domain.forecast`).
2. The SKUs are walked a page at a time (``stock_page``, with their exact on hand and lead
   time); each SKU's forecast is written to its own small item when it changed
   (``FORECAST#<sku>``, :mod:`backend.adapters.forecasts`).
3. A SKU whose ``reorder_by`` falls within the next 3 days that was not at risk at the last run
   gets a ``stockout_risk`` alert, recorded first as pending on its item (conditional on its
   risk count), then put on the bus, then cleared: a crash in between leaves it pending, and the
   next run sends it again with the same ``alert_id`` and ``raised_at`` (the feed stores it
   once). A SKU no longer at risk is re-armed.

Nothing grows with the store: the items are per SKU, the reads per day and per page.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from tqdm import tqdm

from backend.adapters.alerts import SendAlert
from backend.adapters.analytics import AnalyticsStore, ForecastState, SkuStock
from backend.domain import forecast as demand

PAGE = 500
READ_DAYS_AT_ONCE = 7


def _alert_id(sku: str, sequence: int) -> str:
    return "sr_" + hashlib.sha256(f"{sku}\x00risk\x00{sequence}".encode()).hexdigest()[:24]


def daily_units(analytics: AnalyticsStore, days: list[date]) -> dict[str, array[float]]:
    """Units sold per SKU on each of ``days`` (a series per SKU that sold, in ``days``' order)."""
    series: dict[str, array[float]] = {}
    position = {day: n for n, day in enumerate(days)}
    for start in range(0, len(days), READ_DAYS_AT_ONCE):
        chunk = days[start : start + READ_DAYS_AT_ONCE]
        for day, sold in analytics.day_sku_sales(chunk).items():
            for sku, figures in sold.items():
                if figures.units:
                    if sku not in series:
                        series[sku] = array("d", bytes(8 * len(days)))
                    series[sku][position[day]] += figures.units
    return series


@dataclass
class _Run:
    """One run of the job: where it writes, its clock, and what it has done so far."""

    analytics: AnalyticsStore
    send: SendAlert
    today: date
    now: datetime
    default_lead_time: int
    done: Counter[str] = field(default_factory=Counter)


def run(
    analytics: AnalyticsStore,
    send: SendAlert,
    today: date,
    now: datetime,
    *,
    default_lead_time: int = demand.DEFAULT_LEAD_TIME_DAYS,
) -> dict[str, Any]:
    """Forecast every SKU from the closed days before ``today`` (a store day); ``now`` (UTC) is
    the instant alerts are raised at. Returns what it did."""
    as_of = today - timedelta(days=1)
    days = [as_of - timedelta(days=n) for n in range(demand.HISTORY_DAYS)]
    series = daily_units(analytics, days)
    totals = {day: sum(s[n] for s in series.values()) for n, day in enumerate(days)}
    index = demand.weekday_index(days, totals)
    job = _Run(analytics, send, today, now, default_lead_time)
    for name in ("skus", "written", "at_risk", "alerts", "resent"):
        job.done[name] = 0
    after: str | None = None
    with tqdm(desc="forecast", unit=" SKUs", disable=None) as progress:
        while True:
            chunk, more = analytics.stock_page(after, PAGE)
            if not chunk:
                break
            stored = analytics.forecast_states([s.sku for s in chunk])
            for stock in chunk:
                units = dict(zip(days, series[stock.sku], strict=True)) if stock.sku in series else {}
                _one_sku(job, stock, demand.forecast(as_of, units, index), stored.get(stock.sku, NEVER))
            job.done["skus"] += len(chunk)
            progress.update(len(chunk))
            after = chunk[-1].sku
            if not more:
                break
    return {"as_of": as_of.isoformat(), **job.done, "weekday_index": [round(i, 3) for i in index]}


#: The record of a SKU never forecast.
NEVER = ForecastState(units=None, as_of=None, at_risk=False, risk_crossings=0, pending_alert=None)


def _one_sku(job: _Run, stock: SkuStock, plan: demand.Forecast, stored: ForecastState) -> None:
    sku, analytics = stock.sku, job.analytics
    if stored.pending_alert is not None:  # a run interrupted after recording it
        job.send(json.loads(stored.pending_alert))
        analytics.clear_pending_risk_alert(sku, stored.pending_alert)
        job.done["resent"] += 1
    if not stored.holds(plan):
        analytics.put_forecast(sku, plan)
        job.done["written"] += 1
    lead_time = job.default_lead_time if stock.lead_time_days is None else stock.lead_time_days
    stockout = demand.stockout_date(stock.on_hand, plan, job.today)
    reorder = demand.reorder_by(stockout, lead_time)
    risky = demand.at_risk(stock.on_hand, reorder, job.today)
    was_risky = stored.at_risk
    if risky:
        job.done["at_risk"] += 1
    if risky and not was_risky:
        crossings = stored.risk_crossings
        alert = json.dumps(
            {
                "alert_id": _alert_id(sku, crossings + 1),
                "type": "stockout_risk",
                "sku": sku,
                "on_hand": stock.on_hand,
                "reorder_point": stock.reorder_point or 0,
                "forecast_daily_units": str(plan.daily_units),
                "stockout_date": stockout.isoformat() if stockout else None,
                "reorder_by": reorder.isoformat() if reorder else None,
                "lead_time_days": lead_time,
                "raised_at": job.now.isoformat(),
            }
        )
        if analytics.start_stockout_risk(sku, crossings, alert):
            job.send(json.loads(alert))
            analytics.clear_pending_risk_alert(sku, alert)
            job.done["alerts"] += 1
    elif was_risky and not risky:
        analytics.end_stockout_risk(sku)
