"""The ``digests`` job: e-mail each active (confirmed) subscription the digest of the period just
ended.

Exactly one e-mail per subscription and period however often the job runs (a claimed send,
then ``sent`` or ``failed``; at most once across a crash), the PDF made once per report type and
period and its signed link: docs/reports.md, "The digests job".
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from backend.adapters.analytics import AnalyticsStore
from backend.domain.reports import (
    UNSUBSCRIBE_LINK_DAYS,
    digest_period,
    link_lifetime,
    period_key,
    sign_token,
)
from backend.domain.together import pairs
from backend.processing import reports
from backend.processing.context import Context
from backend.processing.subscriptions import Transport, transport
from reports.digest import Digest, compose
from reports.model import BoughtTogether, Kpi

logger = logging.getLogger(__name__)

SEND_ATTEMPTS = 3
# Digests are sent by this many threads: the claims keep each send single, and SES's sending
# quota (per second, per account) is the real bound in AWS; a throttled send is retried.
SENDERS = 8
DIGEST_KPIS = ("net_sales", "orders", "average_order_value", "units", "customers", "new_customers", "returns")


@dataclass
class DigestRun:
    """What one run did, by outcome."""

    sent: int = 0
    already_sent: int = 0
    not_due: int = 0
    failed: int = 0
    uncertain: int = 0
    reports: int = 0
    failures: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "already_sent": self.already_sent,
            "not_due": self.not_due,
            "failed": self.failed,
            "uncertain": self.uncertain,
            "reports": self.reports,
        }


# What the weekly digest shows: a few pairs, each in enough of the week's orders to mean something.
DIGEST_PAIRS = 3
DIGEST_MIN_ORDERS = 3


def often_bought_together(
    analytics: AnalyticsStore,
    start: date,
    end: date,
    *,
    limit: int = DIGEST_PAIRS,
    min_orders: int = DIGEST_MIN_ORDERS,
) -> tuple[BoughtTogether, ...]:
    """The strongest pairs of ``start``..``end`` (as ``/v1/products/pairs`` ranks them) with
    the products' names, for the weekly digest."""
    found = pairs(analytics.range_pair_counts(start, end), min_orders=min_orders, limit=limit)
    names = analytics.catalogue_entries(sorted({sku for p in found for sku in (p.a, p.b)}))

    def name(sku: str) -> str:
        entry = names.get(sku)
        return entry.name if entry and entry.name else sku

    return tuple(BoughtTogether(name(p.a), name(p.b), p.orders, p.lift) for p in found)


def _send_with_retries(send: Transport, message: EmailMessage) -> str:
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return send(message)
        except Exception:
            if attempt == SEND_ATTEMPTS:
                raise
            time.sleep(0.25 * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


class _Periods:
    """The report and the figures of each (report type, period), made once per run."""

    def __init__(self, context: Context, now: datetime, run: DigestRun):
        self.context = context
        self.settings = context.settings
        self.now = now
        self.run = run
        self._reports: dict[tuple[str, date, date], str] = {}
        self._kpis: dict[tuple[date, date], tuple[Kpi, ...]] = {}
        self._pairs: dict[tuple[date, date], tuple[BoughtTogether, ...]] = {}
        # Held while a report or the figures of a period are made: once per run, not per sender.
        self._lock = threading.Lock()

    def report_id(self, report_type: str, start: date, end: date) -> str:
        with self._lock:
            return self._report_id(report_type, start, end)

    def _report_id(self, report_type: str, start: date, end: date) -> str:
        wanted = (report_type, start, end)
        if wanted not in self._reports:
            table = self.context.reports
            report_id = table.digest_report_id(report_type, start, end)
            report = table.get_report(report_id) if report_id else None
            if report is None:
                report_id = secrets.token_urlsafe(24)
                table.create_report(report_id, report_type, start, end, self.now)
                table.remember_digest_report(report_type, start, end, report_id, self.now)
            assert report_id is not None
            reports.generate(self.context, report_id, self.now)
            self.run.reports += 1
            self._reports[wanted] = report_id
        return self._reports[wanted]

    def kpis(self, start: date, end: date) -> tuple[Kpi, ...]:
        with self._lock:
            return self._period_kpis(start, end)

    def _period_kpis(self, start: date, end: date) -> tuple[Kpi, ...]:
        if (start, end) not in self._kpis:
            every = reports.kpis(self.context, start, end)
            self._kpis[(start, end)] = tuple(k for name in DIGEST_KPIS for k in every if k.name == name)
        return self._kpis[(start, end)]

    def bought_together(self, start: date, end: date) -> tuple[BoughtTogether, ...]:
        """The period's "often bought together" pairs (made once per run and period)."""
        with self._lock:
            if (start, end) not in self._pairs:
                self._pairs[(start, end)] = often_bought_together(self.context.analytics, start, end)
            return self._pairs[(start, end)]


_ADDRESS = re.compile(r"[^\s<>\"',;:]+@[^\s<>\"',;]+")


def _without_addresses(text: str) -> str:
    """A transport's error may quote the recipient (SES does): never keep it in a log or table.

    >>> _without_addresses("MessageRejected: Email address is not verified: ada@example.com.")
    'MessageRejected: Email address is not verified: <address>'
    """
    return _ADDRESS.sub("<address>", text)


def _link(base: str, path: str, token: str) -> str:
    return f"{base}{path}?token={quote(token, safe='')}"


def build(subscription: dict[str, Any], start: date, end: date, periods: _Periods) -> EmailMessage:
    """The digest e-mail of one subscription for ``start``..``end``."""
    settings, now = periods.settings, periods.now
    key = settings.require("unsubscribe_signing_key")
    base = settings.require("public_api_url")
    report_id = periods.report_id(subscription["report_type"], start, end)
    # The link lasts one period: the next digest carries the next link (docs/security.md).
    report_token = sign_token(key, "download", report_id, now + link_lifetime(start, end))
    unsubscribe_token = sign_token(
        key, "unsubscribe", subscription["subscription_id"], now + timedelta(days=UNSUBSCRIBE_LINK_DAYS)
    )
    return compose(
        Digest(
            store=settings.store_name,
            sender=settings.require("digest_sender"),
            recipient=subscription["email"],
            frequency=subscription["frequency"],
            start=start,
            end=end,
            currency=settings.store_currency,
            report_type=subscription["report_type"],
            kpis=periods.kpis(start, end),
            report_url=_link(base, f"/v1/reports/{report_id}/download", report_token),
            unsubscribe_url=_link(base, "/v1/unsubscribe", unsubscribe_token),
            sent_at=now,
            # A week holds enough orders for pairs to mean something; a day seldom does.
            bought_together=(
                periods.bought_together(start, end) if subscription["frequency"] == "weekly" else ()
            ),
        )
    )


def run_digests(
    context: Context, today: date, now: datetime | None = None, send: Transport | None = None
) -> DigestRun:
    """Send the digests due on store day ``today``.

    Parameters
    ----------
    context
        The settings and clients (the jobs handler's).
    today
        The store day of the run: daily subscriptions get the day before, weekly ones (on
        Mondays only) the week before.
    now
        The instant of the run (e-mail date, link expiry); the clock by default.
    send
        The transport; the configured one (:func:`transport`) by default.
    """
    now = now or datetime.now(UTC)
    send = send or transport(context)
    run = DigestRun()
    periods = _Periods(context, now, run)
    subscriptions = context.reports.confirmed_subscriptions(now)

    def deliver(subscription: dict[str, Any]) -> tuple[str, str | None]:
        return _deliver(subscription, today, now, periods, send)

    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        for outcome, reason in pool.map(deliver, subscriptions):
            setattr(run, outcome, getattr(run, outcome) + 1)
            if reason:
                run.failures.append(reason)
    return run


def _deliver(
    subscription: dict[str, Any], today: date, now: datetime, periods: _Periods, send: Transport
) -> tuple[str, str | None]:
    """Claim, send and mark one subscription's digest; returns the outcome (a
    :class:`DigestRun` counter) and the reason of a failure."""
    table = periods.context.reports
    subscription_id = subscription["subscription_id"]
    due = digest_period(subscription["frequency"], today)
    if due is None:
        return "not_due", None
    start, end = due
    period = period_key(subscription["frequency"], start)
    if not table.claim_send(subscription_id, period, now):
        return "already_sent", None
    try:
        message = build(subscription, start, end, periods)
        message_id = _send_with_retries(send, message)
    except Exception as exc:
        # Nothing went out: the claim becomes failed, and the next run retries it.
        reason = _without_addresses(f"{type(exc).__name__}: {exc}")
        table.finish_send(subscription_id, period, state="failed", now=now, detail=reason)
        logger.warning(
            "digest not sent", extra={"subscription_id": subscription_id, "period": period, "reason": reason}
        )
        return "failed", reason
    try:
        table.finish_send(subscription_id, period, state="sent", now=now, detail=message_id)
    except Exception:
        # Sent, but not marked: the claim stays, so it is never sent again (at most once).
        logger.exception("digest sent but not marked", extra={"subscription_id": subscription_id})
        return "uncertain", None
    return "sent", None
