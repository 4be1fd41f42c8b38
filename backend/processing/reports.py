"""Making a report: read the figures as the API routes do, render, store, mark ready.

The figures come from the very functions behind the read routes (``backend.processing.figures``:
``summary_for`` of ``/metrics/summary``, the day reads of ``/metrics/sales`` and ``/products/top``,
``inventory_report`` of ``/inventory``), so a PDF shows what the API answers for its range.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

from backend.adapters.analytics import AnalyticsStore
from backend.adapters.reports_store import put_pdf
from backend.domain import cohorts, metrics, products, series
from backend.domain.calendar import days, previous_period
from backend.domain.money import round_money
from backend.domain.reports import file_name
from backend.processing.context import Context
from backend.processing.figures import inventory_report, summary_for
from reports.model import Cohort, Kpi, ReportData, SalesPoint, Segment, StockItem, TopProduct
from reports.pdf import render_pdf

logger = logging.getLogger(__name__)

TOP_PRODUCTS = 10
KPI_LABELS = {
    "net_sales": "Net sales",
    "gross_sales": "Gross sales",
    "discounts": "Discounts",
    "returns": "Returns",
    "orders": "Orders",
    "units": "Units",
    "average_order_value": "Average order value",
    "customers": "Customers",
    "new_customers": "New customers",
    "returning_customers": "Returning customers",
    "returning_customer_rate": "Returning customer rate",
}


class ReportMissing(LookupError):
    """A queued report id that the table does not know (a poison message)."""


def kpis(context: Context, start: date, end: date) -> tuple[Kpi, ...]:
    """Every summary metric of the range with the previous period's and the change, exactly as
    ``GET /v1/metrics/summary?compare=previous_period`` computes them."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        current = pool.submit(summary_for, context, start, end)
        previous = pool.submit(summary_for, context, *previous_period(start, end))
        return kpi_rows(current.result(), previous.result())


def kpi_rows(current: Mapping[str, Any], previous: Mapping[str, Any]) -> tuple[Kpi, ...]:
    """The KPI table from two summaries (:func:`backend.domain.metrics.summarize`)."""
    change = metrics.change_pct(current, previous)
    return tuple(
        Kpi(
            name=name,
            label=label,
            kind="money"
            if name in metrics.MONEY_METRICS
            else "share"
            if name in metrics.SHARE_METRICS
            else "count",
            current=current[name],
            previous=previous[name],
            change_pct=change[name],
        )
        for name, label in KPI_LABELS.items()
    )


def chart_granularity(start: date, end: date) -> series.Granularity:
    """Days up to two months, weeks up to half a year, months beyond."""
    length = (end - start).days + 1
    return "day" if length <= 62 else "week" if length <= 183 else "month"


COHORT_MONTHS = 24


def customer_analyses(
    analytics: AnalyticsStore, start: date, end: date, today: date
) -> tuple[tuple[Cohort, ...], tuple[Segment, ...] | None]:
    """The customers report's cohorts and RFM segments, read as ``GET /v1/customers/cohorts``
    and ``/customers/segments`` read them.

    The cohorts are those of the months the range touches (the last 24 of them at most, the
    route's cap), with retention up to the current month. The segments are the last snapshot of
    the ``segments`` job: ``None`` before its first run, which the PDF says in words.
    """
    first = cohorts.month_of(start)
    last = cohorts.month_of(end)
    span = min(cohorts.months_between(first, last) + 1, COHORT_MONTHS)
    months = [cohorts.add_months(last, -k) for k in reversed(range(span))]
    new, active = analytics.cohort_months(months[0], today)
    rows = cohorts.cohort_rows(new, active, months, cohorts.month_of(today))
    found = tuple(
        Cohort(row["cohort"], int(row["size"]), tuple(float(share) for share in row["retention"]))
        for row in rows
        if row["size"]
    )
    snapshot = analytics.segments_snapshot()
    if snapshot is None:
        return found, None
    segments = tuple(
        Segment(row["segment"], int(row["customers"]), float(row["share_of_revenue"]))
        for row in snapshot["segments"]
    )
    return found, segments


def gather(context: Context, report_type: str, start: date, end: date, generated_at: datetime) -> ReportData:
    """Everything the PDF of ``report_type`` over ``start``..``end`` shows."""
    # One view of the lone items for every read of the report (its threads share it).
    context = context.for_request()
    settings = context.settings
    analytics = context.analytics
    previous_start, previous_end = previous_period(start, end)
    in_range = list(days(start, end))
    granularity = chart_granularity(start, end)
    local_now = generated_at.astimezone(settings.zone)
    # The reads are independent: run them side by side (boto3 clients are thread-safe).
    with ThreadPoolExecutor(max_workers=5) as pool:
        current = pool.submit(summary_for, context, start, end)
        previous = pool.submit(summary_for, context, previous_start, previous_end)
        day_sales = pool.submit(analytics.daily_sales, in_range)
        day_skus = pool.submit(analytics.day_sku_sales, in_range)
        stock = (
            pool.submit(inventory_report, context, local_now.date()) if report_type == "inventory" else None
        )
    sales = [
        SalesPoint(period.period, figures["net_sales"], int(figures["orders"]))  # type: ignore[arg-type]
        for period, figures in series.sales_series(day_sales.result(), start, end, granularity)
    ]
    sold = products.totals(day_skus.result().values())
    best = products.top(sold, "net_sales", TOP_PRODUCTS)
    entries = analytics.catalogue_entries([sku for sku, _ in best])
    top = [
        TopProduct(rank, sku, entries[sku].name if sku in entries else None, s.units, round_money(s.revenue))
        for rank, (sku, s) in enumerate(best, start=1)
    ]
    extra: dict[str, Any] = {}
    if stock is not None:
        rows = stock.result()
        extra["stock_as_of"] = local_now.date()
        extra["stock_items"] = tuple(
            StockItem(r.sku, r.name, r.on_hand, r.reorder_point, r.days_of_cover, r.status)
            for r in sorted(rows, key=lambda r: (r.status != "out", r.on_hand - r.reorder_point, r.sku))
            if r.status in ("low", "out")
        )
    if report_type == "customers":
        extra["cohorts"], extra["segments"] = customer_analyses(analytics, start, end, local_now.date())
    return ReportData(
        store=settings.store_name,
        report_type=report_type,
        start=start,
        end=end,
        previous_start=previous_start,
        previous_end=previous_end,
        generated_at=local_now,
        currency=settings.store_currency,
        kpis=kpi_rows(current.result(), previous.result()),
        granularity=granularity,
        sales=tuple(sales),
        top_products=tuple(top),
        **extra,
    )


def generate(context: Context, report_id: str, now: datetime | None = None) -> dict[str, Any]:
    """Render report ``report_id``, store its PDF (SSE, unguessable key) and mark it ready.

    Idempotent: a report already ready is left as it is (a redelivered message).

    Raises
    ------
    ReportMissing
        When no report has this id.
    """
    report = context.reports.get_report(report_id)
    if report is None:
        raise ReportMissing(f"no report {report_id[:6]}... in the reports table")
    if report["status"] == "ready":
        return report
    start, end = date.fromisoformat(report["start"]), date.fromisoformat(report["end"])
    generated_at = now or datetime.now(UTC)
    pdf = render_pdf(gather(context, report["type"], start, end, generated_at))
    object_key = f"reports/{secrets.token_urlsafe(24)}/{file_name(report['type'], start, end)}"
    put_pdf(context.s3, context.settings.require("reports_bucket"), object_key, pdf)
    context.reports.mark_ready(report_id, object_key, generated_at, len(pdf))
    logger.info("report ready", extra={"report_type": report["type"], "bytes": len(pdf)})
    return {**report, "status": "ready", "object_key": object_key}
