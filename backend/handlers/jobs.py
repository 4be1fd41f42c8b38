"""Scheduled jobs Lambda: EventBridge schedules send ``{"job": NAME}``.

``storepulse run-job NAME`` calls this same handler with the same input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from backend.adapters import leases
from backend.adapters.clients import client
from backend.logs import function, function_logger
from backend.processing import (
    anomalies,
    compaction,
    digests,
    forecasts,
    rollups,
    segments,
    stock,
    stock_in,
    together,
)
from backend.processing.context import Context
from backend.settings import get_settings
from backend.wiring import analytics_adapter, stock_alerts

logger = function_logger("storepulse-jobs")


def store_day(given: str | None, now: datetime | None = None) -> date:
    """The day a job runs as: ``given`` (``YYYY-MM-DD``, for a backfilled history or a test),
    else the store's date at ``now`` (the clock by default)."""
    if given:
        return date.fromisoformat(given)
    return (now or datetime.now(UTC)).astimezone(get_settings().zone).date()


def alert_sweep() -> dict[str, Any]:
    """Send the stock alerts an interrupted evaluation left pending."""
    return {"resent": stock.sweep(analytics_adapter(), stock_alerts())}


def send_digests() -> dict[str, Any]:
    """E-mail the digests due today (store day): daily ones, and weekly ones on Mondays."""
    settings = get_settings()
    run = digests.run_digests(
        Context.of(settings, client), datetime.now(UTC).astimezone(settings.zone).date()
    )
    return run.to_json()


def segments_job(today: str | None = None) -> dict[str, Any]:
    """Score every customer (RFM) as of ``today`` (the store's date by default; ``YYYY-MM-DD``
    for a backfilled history) and write the segments snapshot."""
    settings = get_settings()
    context = Context.of(settings, client)
    return segments.run(context.analytics, store_day(today), now=datetime.now(UTC))


def lake_compaction(days: Sequence[str] | None = None) -> dict[str, Any]:
    """Merge the raw NDJSON that arrived since the last run into the Parquet files of its store
    days; ``{"days": ["2025-03-09"]}`` rebuilds those days from every raw object. One run at a
    time: while another holds the lake's lease, this one does nothing and says so."""
    settings = get_settings()
    chosen = None if days is None else [date.fromisoformat(day) for day in days]
    try:
        return compaction.run_exclusive(
            client("s3"),
            settings.require("lake_bucket"),
            analytics_adapter(),
            zone=settings.zone,
            now=datetime.now(UTC),
            days=chosen,
        )
    except leases.Taken as taken:
        # The run in progress merges what arrived before it began; the next run, the rest.
        return {"skipped": str(taken)}


def job_clock(given: str | None, now: datetime | None = None) -> datetime:
    """The instant a job that folds closed months runs at: the start of the store day ``given``
    (``YYYY-MM-DD``, for a backfilled history or a test), else ``now`` (the clock by default)."""
    if given:
        return datetime.combine(date.fromisoformat(given), time(), get_settings().zone)
    return now or datetime.now(UTC)


def month_rollups(months: Sequence[str] | None = None, today: str | None = None) -> dict[str, Any]:
    """Fold each month that ended more than an hour before ``today`` began (the clock's instant
    by default; ``YYYY-MM-DD`` for a backfilled history) written since its rollup into a new
    one; ``{"months": ["2025-03"]}`` limits the run to those months (still only if stale)."""
    chosen = None if months is None else list(months)
    return rollups.run(analytics_adapter(), job_clock(today), get_settings().zone, months=chosen)


def forecast_job(today: str | None = None) -> dict[str, Any]:
    """Recompute every SKU's demand forecast from the days closed before ``today`` (the store's
    date by default; ``YYYY-MM-DD`` for a backfilled history); raise stock-out risks."""
    settings = get_settings()
    now = datetime.now(UTC)
    return forecasts.run(
        analytics_adapter(),
        stock_alerts(),
        store_day(today, now),
        now,
        default_lead_time=settings.default_lead_time_days,
    )


def anomalies_job(day: str | None = None) -> dict[str, Any]:
    """Compare a closed store day (``{"day": "2025-03-09"}``; yesterday by default) with the same
    weekday of the 8 weeks before; raise its anomaly alerts."""
    settings = get_settings()
    now = datetime.now(UTC)
    checked = (
        now.astimezone(settings.zone).date() - timedelta(days=1) if day is None else date.fromisoformat(day)
    )
    return anomalies.run(Context.of(settings, client), checked, now)


def pairs_job() -> dict[str, Any]:
    """Fold the baskets of each day and closed month written since their last fold (the open
    month's days by their basket items) into the pair counts /v1/products/pairs reads."""
    now = datetime.now(UTC)
    return together.run(analytics_adapter(), store_day(None, now), now=now, zone=get_settings().zone)


def stock_fold(today: str | None = None) -> dict[str, Any]:
    """Fold the stock-in items of each closed day (UTC; no writer can add to it any more) into
    the on-hand inbox and the segments' facts, once (``today``: ``YYYY-MM-DD``, as at the start
    of that UTC day, for a test)."""
    now = date.fromisoformat(today) if today else datetime.now(UTC)
    return stock_in.fold(analytics_adapter(), now)


# A job takes its options from the rest of its input: {"job": NAME, **options}.
JOBS: dict[str, Callable[..., dict[str, Any]]] = {
    "alert-sweep": alert_sweep,
    "anomalies": anomalies_job,
    "forecast": forecast_job,
    "digests": send_digests,
    "lake-compaction": lake_compaction,
    "pairs": pairs_job,
    "rollups": month_rollups,
    "segments": segments_job,
    "stock-fold": stock_fold,
}


class UnknownJob(ValueError):
    pass


@function(logger)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    name = event.get("job")
    if name not in JOBS:
        raise UnknownJob(f"unknown job {name!r}; known jobs: {', '.join(sorted(JOBS))}")
    options = {key: value for key, value in event.items() if key != "job"}
    result = JOBS[name](**options)
    logger.info("job done", extra={"job": name, "result": result})
    return {"job": name, **result}
