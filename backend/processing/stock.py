"""Stock crossings: one alert per crossing into low or out, never lost, never listed twice.

After the stock counters moved, each touched SKU's status is compared with the status stored
in its own item. A crossing is recorded first, with the alert *pending* (the status changes only
if it is still the one read, and the pending alert is kept only if none is:
:meth:`~backend.adapters.analytics.AnalyticsStore.record_stock_crossing`); then the alert goes on
the bus; then the pending alert is cleared. A crash in between leaves it, and the next
evaluation of that SKU (or the ``alert-sweep`` job) sends it again with the same ``alert_id``,
which the alert feed stores once.

Then the on-hand inbox items of those SKUs are settled if they have grown
(:meth:`~backend.adapters.analytics.AnalyticsStore.settle_stock_inbox`), so no stock item grows
with the store. The items: docs/architecture.md, "Stock at any size".
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from backend.adapters.alerts import SendAlert
from backend.adapters.analytics import AnalyticsStore, SkuStock
from backend.domain.stock import crossing, status

logger = logging.getLogger(__name__)


def _alert_id(sku: str, sequence: int) -> str:
    return "al_" + hashlib.sha256(f"{sku}\x00{sequence}".encode()).hexdigest()[:24]


def evaluate(
    analytics: AnalyticsStore,
    send: SendAlert,
    skus: Iterable[str],
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[dict[str, Any]]:
    """Raise the alerts these SKUs' current stock calls for, then settle their inbox items if
    they have grown; returns the alerts sent. ``now`` is the clock of ``raised_at``."""
    wanted = sorted(set(skus))
    if not wanted:
        return []
    stock = analytics.sku_stock(wanted)
    pending = analytics.pending_stock_alerts(wanted)
    sent = []
    for sku in wanted:
        if sku in pending:
            _deliver_pending(analytics, send, sku, pending[sku])
        alert = _settle_status(analytics, send, stock[sku], now())
        if alert:
            sent.append(alert)
    analytics.settle_stock_inbox(wanted)
    return sent


def sweep(analytics: AnalyticsStore, send: SendAlert) -> int:
    """Send every alert left pending by an interrupted evaluation; returns how many. Moves an
    older release's stock bookkeeping out of the 16 buckets first, and settles the inbox."""
    analytics.migrate_stock_buckets()
    analytics.settle_stock_inbox(None)
    pending = analytics.every_pending_stock_alert()
    for sku, alert in pending.items():
        _deliver_pending(analytics, send, sku, alert)
    return len(pending)


def _settle_status(
    analytics: AnalyticsStore, send: SendAlert, stock: SkuStock, now: datetime
) -> dict[str, Any] | None:
    sku = stock.sku
    reorder_point = stock.reorder_point or 0
    before = stock.status
    after = status(stock.on_hand, reorder_point)
    if after == before:
        return None
    kind = crossing(before, after)
    sequence = stock.crossings + (1 if kind else 0)
    alert = None
    if kind:
        alert = {
            "alert_id": _alert_id(sku, sequence),
            "sku": sku,
            "type": kind,
            "on_hand": stock.on_hand,
            "reorder_point": reorder_point,
            "raised_at": now.isoformat(timespec="milliseconds"),
        }
    if not analytics.record_stock_crossing(stock, after, sequence, alert):
        return None  # another processor made this transition and owns its alert
    if alert:
        _deliver_pending(analytics, send, sku, json.dumps(alert))
    return alert


def _deliver_pending(analytics: AnalyticsStore, send: SendAlert, sku: str, pending: str) -> None:
    """Send a pending alert, then clear it (if it is still that alert)."""
    send(json.loads(pending))
    if not analytics.clear_pending_stock_alert(sku, pending):
        logger.info("pending alert of %s already cleared", sku)
