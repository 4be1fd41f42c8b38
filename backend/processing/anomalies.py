"""The ``anomalies`` job: a closed store day against the same weekday of the 8 weeks before.

One alert per day and metric however often it runs: docs/architecture.md, "Alerts" (the
anomalies job); the detection is :mod:`backend.domain.anomalies`.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from backend.adapters.alerts import SendAlert, send_alert
from backend.adapters.analytics import AnalyticsStore
from backend.domain import anomalies
from backend.processing.context import Context


def _alert_id(day: date, metric: str) -> str:
    return "an_" + hashlib.sha256(f"{day.isoformat()}\x00{metric}".encode()).hexdigest()[:24]


def alert_of(found: anomalies.Anomaly, now: datetime) -> dict[str, Any]:
    """The alert of an anomaly as it goes on the bus."""
    return {
        "alert_id": _alert_id(found.day, found.metric),
        "type": found.type,
        "metric": found.metric,
        "day": found.day.isoformat(),
        "value": str(found.value),
        "expected": str(found.expected),
        "score": found.score,
        "raised_at": now.isoformat(),
    }


def run(context: Context, day: date, now: datetime) -> dict[str, Any]:
    """The job: :func:`check` ``day`` on the context's table, alerts to its bus."""
    events, bus = context.events, context.settings.require("event_bus_name")
    return check(context.analytics, lambda alert: send_alert(events, bus, alert), day, now)


def check(analytics: AnalyticsStore, send: SendAlert, day: date, now: datetime) -> dict[str, Any]:
    """Check ``day`` (a closed store day); ``now`` (UTC) is when new alerts are raised."""
    figures = analytics.daily_sales([day, *anomalies.history_days(day)])
    candidates = anomalies.assess(day, figures)
    found = anomalies.alerts(candidates)
    sent = []
    for anomaly in found:
        record = analytics.record_anomaly(day, anomaly.metric, alert_of(anomaly, now))
        if record.sent:
            continue
        send(record.alert)
        analytics.mark_anomaly_sent(day, anomaly.metric)
        sent.append(record.alert)
    return {
        "day": day.isoformat(),
        "baseline_days": sum(1 for d in anomalies.baseline_days(day) if d in figures),
        "anomalies": [{"type": a.type, "metric": a.metric, "score": a.score} for a in found],
        # The refunds checked on their count, or on money alone (days kept before the count)
        "refunds_scored_on": next(
            ("money" if c.count is None else "count" for c in candidates if c.metric == "returns"), None
        ),
        "sent": len(sent),
    }
