"""Stock status, the alert crossings of CONTRACT section 6, and where stock is kept.

Where a SKU's stock lives (``backend/adapters/dynamo.py`` has the whole table layout):

- ``CATALOG``/``<sku>``: the SKU's own item. Beside the catalogue fields (reorder point
  included) it holds ``oh``, the settled part of its on-hand count, and ``st``/``seq``, its last
  status and its number of crossings (the alert bookkeeping). One small item per SKU, so no item
  grows with the store; the partition is sorted by SKU, which is what ``/inventory`` pages over.
- ``STOCK#OH#<n>``/``OH`` (:data:`ON_HAND_ITEMS` items, :func:`on_hand_key`): the on-hand
  *inbox*. Every counting transaction adds its deltas there (``oh:<sku>``): a transaction pays
  for each item it writes, by size and twice, so a few small items keep an order's stock write
  cheap whatever the number of SKUs. Each item has a partition key of its own, so the inbox's
  write units spread over that many partitions (under one key, ``STOCK``, it was a busy store's
  hottest partition). When an inbox item passes :data:`SETTLE_AT_BYTES`, its counters are moved
  into their SKUs' items (one conditional transaction per chunk), so it stays small.
  Releases before December 2026 kept the inbox under ``STOCK``/``OH#<n>``
  (:func:`legacy_on_hand_key`): read, and emptied by the ``alert-sweep``.
- ``STOCK#PENDING``/``<sku>``: an alert recorded and not yet known to be sent.

A SKU's on hand is its ``oh`` plus its counter in its inbox item.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

Status = Literal["ok", "low", "out"]
AlertType = Literal["low_stock", "out_of_stock"]

STOCK_BUCKETS = 16
ON_HAND_ITEMS = 4
ON_HAND_PREFIX = "OH#"
ON_HAND_PK_PREFIX = "STOCK#OH#"
ON_HAND_SK = "OH"
ON_HAND_COUNTER = "oh:"
# An inbox item larger than this is settled into the SKUs' items after the batch that grew it:
# small enough that the counting transactions stay cheap (an item costs a write unit per KB),
# large enough that a store of a few hundred SKUs never needs it.
SETTLE_AT_BYTES = 8 * 1024
_RANK = {"ok": 0, "low": 1, "out": 2}


def bucket_of(sku: str) -> str:
    """A stable hash bucket of a SKU, ``00`` to ``15`` (the same across processes and releases).

    Releases before the SKUs' own stock items kept reorder points and alert states in 16
    ``STOCK``/``<bucket>`` items; the day's per-SKU sales shards still hash SKUs this way.

    >>> bucket_of("SKU-1")
    '04'
    """
    return f"{zlib.crc32(sku.encode()) % STOCK_BUCKETS:02d}"


def on_hand_key(sku: str) -> tuple[str, str]:
    """The key of the inbox item that counting transactions add a SKU's on-hand deltas to.

    >>> on_hand_key("SKU-1")
    ('STOCK#OH#0', 'OH')
    """
    return f"{ON_HAND_PK_PREFIX}{_inbox_of(sku)}", ON_HAND_SK


def legacy_on_hand_key(sku: str) -> tuple[str, str]:
    """Where releases before December 2026 kept a SKU's inbox counter (all under ``STOCK``).

    >>> legacy_on_hand_key("SKU-1")
    ('STOCK', 'OH#0')
    """
    return "STOCK", f"{ON_HAND_PREFIX}{_inbox_of(sku)}"


def _inbox_of(sku: str) -> int:
    return zlib.crc32(sku.encode()) % ON_HAND_ITEMS


def item_size(item: Mapping[str, Any]) -> int:
    """The size DynamoDB gives an item (attribute names and values, in bytes), for the plain
    strings and numbers the stock items hold; other values count as their text.

    >>> item_size({"oh:SKU-1": 12, "pk": "STOCK"})
    17
    """
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if isinstance(value, bool):
            size += 1
        elif isinstance(value, int | Decimal):
            digits = len(str(abs(value)).replace(".", "").lstrip("0")) or 1
            size += (digits + 1) // 2 + 1
        else:
            size += len(str(value).encode())
    return size


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
