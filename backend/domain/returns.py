"""Returns per channel: matching refunds to the channel of the order they refund (pure).

A refund names its ``order_id``, not a channel; the order names the channel. Both sides leave a
note per order: the order its ``channel`` and ``customer_id`` (its link item,
``ORDER#<order_id>``/``LINK``), each refund ``r:<refund_id> = "<amount>|<store day>"`` (on
``ORDER#<order_id>``/``REFUNDS``). Whichever side is written second finds both notes and
attributes the refund: ``amount`` is added to the counter ``returns@<channel>`` of the refund's
day, once, claimed by ``a:<refund_id>`` beside the refund's note.
A refund whose order never arrives stays unattributed (counted in the store's ``returns``
only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

REFUND_PREFIX = "r:"
ATTRIBUTED_PREFIX = "a:"


@dataclass(frozen=True)
class Attribution:
    """A refund matched with its order's channel and customer."""

    order_id: str
    refund_id: str
    channel: str
    customer_id: str
    day: date
    amount: Decimal


def refund_note(amount: Decimal, day: date) -> str:
    """What a refund leaves on its order's link item.

    >>> refund_note(Decimal("5.50"), date(2025, 3, 2))
    '5.50|2025-03-02'
    """
    return f"{amount}|{day.isoformat()}"


def attributions(order_id: str, link: Mapping[str, Any]) -> list[Attribution]:
    """The refunds of a link item that can be attributed (its order is known).

    Already attributed refunds are listed too: attributing is claimed once per refund, and the
    claim decides; listing them lets a redelivery finish what a crash interrupted.

    Examples
    --------
    >>> link = {"channel": "pos", "customer_id": "c1", "r:R1": "5.50|2025-03-02"}
    >>> [(a.refund_id, a.channel, str(a.amount)) for a in attributions("O1", link)]
    [('R1', 'pos', '5.50')]
    >>> attributions("O2", {"r:R2": "1.00|2025-03-02"})
    []
    """
    channel = link.get("channel")
    if channel is None:
        return []
    out = []
    for name, value in sorted(link.items()):
        if not name.startswith(REFUND_PREFIX):
            continue
        amount, day = str(value).split("|")
        out.append(
            Attribution(
                order_id=order_id,
                refund_id=name[len(REFUND_PREFIX) :],
                channel=str(channel),
                customer_id=str(link.get("customer_id", "")),
                day=date.fromisoformat(day),
                amount=Decimal(amount),
            )
        )
    return out
