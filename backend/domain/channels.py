"""Sales per channel from the per-channel counters of the day rollups (pure).

An order is counted under its own ``channel`` (``web`` by default), so per channel we know
exactly what orders bring: ``gross_sales``, ``discounts``, ``orders``, ``units`` and so the
``average_order_value``. A refund names its order but not the channel, so returns are known for
the store as a whole, not per channel (see ``docs/api.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, get_args

from backend.domain.events import Channel
from backend.domain.money import ZERO, round_money
from backend.domain.sales import CHANNEL_COUNTERS, channel_counter

CHANNELS: tuple[str, ...] = get_args(Channel)


def by_channel(day_sales: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The figures of each channel over the days given, every channel listed (zeros included).

    Parameters
    ----------
    day_sales
        One mapping of counters per day, with the per-channel counters ``<name>@<channel>``
        of :func:`backend.domain.sales.channel_counter`; missing counters are zero.

    Returns
    -------
    list of dict
        One per channel in the order of :data:`CHANNELS`: ``channel``, then ``gross_sales``,
        ``discounts``, ``average_order_value`` (Decimals rounded half-up to cents) and
        ``orders``, ``units`` (ints).

    Examples
    --------
    >>> day = {"gross_sales@pos": Decimal("30"), "discounts@pos": Decimal("5"), "orders@pos": Decimal(2)}
    >>> pos = by_channel([day])[3]
    >>> pos["channel"], pos["average_order_value"], pos["units"]
    ('pos', Decimal('12.50'), 0)
    """
    totals = {channel: dict.fromkeys(CHANNEL_COUNTERS, ZERO) for channel in CHANNELS}
    for day in day_sales:
        for channel, figures in totals.items():
            for name in CHANNEL_COUNTERS:
                figures[name] += Decimal(day.get(channel_counter(name, channel), ZERO))
    out = []
    for channel, figures in totals.items():
        orders = int(figures["orders"])
        net_of_discounts = figures["gross_sales"] - figures["discounts"]
        out.append(
            {
                "channel": channel,
                "gross_sales": round_money(figures["gross_sales"]),
                "discounts": round_money(figures["discounts"]),
                "average_order_value": round_money(net_of_discounts / orders if orders else ZERO),
                "orders": orders,
                "units": int(figures["units"]),
            }
        )
    return out
