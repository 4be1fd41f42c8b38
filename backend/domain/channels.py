"""Sales per channel from the per-channel counters of the day rollups (pure).

An order is counted under its own ``channel`` (``web`` by default), so per channel we know
exactly what orders bring: ``gross_sales``, ``discounts``, ``orders``, ``units`` and so the
``average_order_value``. A refund names its order, not the channel: it counts under
``returns@<channel>`` on its own day once its order is known (:mod:`backend.domain.returns`);
the returns of refunds whose order never arrived are the store's ``returns`` less the sum over
channels (``unattributed_returns``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, get_args

from backend.domain.events import Channel
from backend.domain.money import ZERO, round_money
from backend.domain.sales import CHANNEL_COUNTERS, channel_counter

CHANNELS: tuple[str, ...] = get_args(Channel)


def by_channel(day_sales: Iterable[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], Decimal]:
    """The figures of each channel over the days given, every channel listed (zeros included),
    and the returns no channel holds (refunds whose order is unknown).

    Parameters
    ----------
    day_sales
        One mapping of counters per day, with the per-channel counters ``<name>@<channel>``
        of :func:`backend.domain.sales.channel_counter`; missing counters are zero.

    Returns
    -------
    list of dict
        One per channel in the order of :data:`CHANNELS`: ``channel``, then ``gross_sales``,
        ``discounts``, ``returns``, ``net_sales``, ``average_order_value`` (Decimals rounded
        half-up to cents) and ``orders``, ``units`` (ints).
    Decimal
        The unattributed returns, to the cent.

    Examples
    --------
    >>> day = {"gross_sales@pos": Decimal("30"), "discounts@pos": Decimal("5"), "orders@pos": Decimal(2)}
    >>> rows, unattributed = by_channel([{**day, "returns": Decimal("4"), "returns@pos": Decimal("3")}])
    >>> pos = rows[3]
    >>> pos["channel"], pos["net_sales"], pos["average_order_value"], pos["units"], unattributed
    ('pos', Decimal('22.00'), Decimal('12.50'), 0, Decimal('1.00'))
    """
    counters = (*CHANNEL_COUNTERS, "returns")
    totals = {channel: dict.fromkeys(counters, ZERO) for channel in CHANNELS}
    all_returns = ZERO
    for day in day_sales:
        all_returns += Decimal(day.get("returns", ZERO))
        for channel, figures in totals.items():
            for name in counters:
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
                "returns": round_money(figures["returns"]),
                "net_sales": round_money(net_of_discounts - figures["returns"]),
                "average_order_value": round_money(net_of_discounts / orders if orders else ZERO),
                "orders": orders,
                "units": int(figures["units"]),
            }
        )
    unattributed = all_returns - sum((figures["returns"] for figures in totals.values()), ZERO)
    return out, round_money(unattributed)


def channel_day(day: Mapping[str, Any], channel: str) -> dict[str, Decimal]:
    """One channel's counters of a day rollup, under the store-wide names (``gross_sales@pos``
    becomes ``gross_sales``), so that a series can be drawn for that channel alone.

    Refunds whose order is unknown belong to no channel: they are not in any channel's day.

    Examples
    --------
    >>> channel_day({"gross_sales@pos": Decimal("30"), "gross_sales": Decimal("50"),
    ...              "returns@pos": Decimal("3")}, "pos")["gross_sales"]
    Decimal('30')
    """
    return {
        name: Decimal(day.get(channel_counter(name, channel), ZERO))
        for name in (*CHANNEL_COUNTERS, "returns")
    }
