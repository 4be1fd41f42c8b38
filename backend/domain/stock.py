"""Stock status and the alert crossings of CONTRACT section 6."""

from __future__ import annotations

import zlib
from typing import Literal

Status = Literal["ok", "low", "out"]
AlertType = Literal["low_stock", "out_of_stock"]

STOCK_BUCKETS = 16
ON_HAND_ITEMS = 4
ON_HAND_PREFIX = "OH#"
_RANK = {"ok": 0, "low": 1, "out": 2}


def bucket_of(sku: str) -> str:
    """The stock bucket a SKU's reorder point and alert state live in (stable across processes
    and releases)."""
    return f"{zlib.crc32(sku.encode()) % STOCK_BUCKETS:02d}"


def on_hand_item(sku: str) -> str:
    """The sort key of the ``STOCK`` item that holds a SKU's on-hand counter.

    The counters are kept apart from the buckets (reorder points, versions, alert states): every
    counting transaction adds to them, and a transaction's items are billed by size, each at
    least one write unit, twice. Four small items cost a transaction 8 write units where the 16
    buckets cost 32.

    >>> on_hand_item("SKU-1")
    'OH#0'
    """
    return f"{ON_HAND_PREFIX}{zlib.crc32(sku.encode()) % ON_HAND_ITEMS}"


def status(on_hand: int, reorder_point: int) -> Status:
    """``out`` when nothing is left, ``low`` at or under the reorder point, else ``ok``.

    >>> status(0, 5), status(5, 5), status(6, 5)
    ('out', 'low', 'ok')
    """
    if on_hand <= 0:
        return "out"
    if on_hand <= reorder_point:
        return "low"
    return "ok"


def crossing(previous: Status, current: Status) -> AlertType | None:
    """The alert a change of status raises, if any.

    Getting worse raises one alert (into ``low``: low_stock; into ``out``: out_of_stock).
    Getting better raises nothing but re-arms: the next fall raises again.

    >>> crossing("ok", "low"), crossing("low", "out"), crossing("out", "low"), crossing("low", "low")
    ('low_stock', 'out_of_stock', None, None)
    """
    if _RANK[current] <= _RANK[previous]:
        return None
    return "out_of_stock" if current == "out" else "low_stock"
