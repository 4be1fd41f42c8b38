"""What both platforms' mappings share: signatures, event ids, money, the result type."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from backend.domain.money import CENT

# The contract's event_id: 1-64 characters of [A-Za-z0-9._:-].
_EVENT_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_MAX_EVENT_ID = 64

# Maps a customer's e-mail (or None) and the platform's own customer id (or None) to the
# customer_id the events carry: the processing layer gives one built on the keyed e-mail hash.
CustomerIds = Callable[[str | None, str | None], str]


class Unmappable(ValueError):
    """A payload of a known topic that cannot become events; the reason says why in words."""


@dataclass
class Mapped:
    """The events a webhook becomes, or why it becomes none.

    Attributes
    ----------
    events
        Events in the form ``POST /v1/events`` takes (money as strings).
    ignored
        Why nothing is sent when ``events`` is empty and that is expected (an unknown topic, an
        order not paid yet): the webhook is acknowledged and nothing is kept.
    """

    events: list[dict[str, Any]] = field(default_factory=list)
    ignored: str = ""
    #: Shopify ``inventory_levels/update``: the absolute level to turn into an adjustment.
    level: StockLevel | None = None
    #: Shopify products: which SKU each inventory item id stands for (levels name items only).
    item_skus: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StockLevel:
    """An absolute stock level of one inventory item at one location, as Shopify reports it."""

    inventory_item_id: str
    location_id: str
    available: int
    updated_at: str


def signature_matches(body: bytes, signature: str | None, secret: str) -> bool:
    """Whether ``signature`` is the base64 HMAC-SHA256 of the raw ``body`` under ``secret``, as
    Shopify (``X-Shopify-Hmac-Sha256``) and WooCommerce (``X-WC-Webhook-Signature``) sign.

    Compared in constant time; no secret or no signature never matches.

    Examples
    --------
    >>> body = b'{"id": 1}'
    >>> good = base64.b64encode(hmac.new(b"s3cret", body, hashlib.sha256).digest()).decode()
    >>> signature_matches(body, good, "s3cret"), signature_matches(body + b" ", good, "s3cret")
    (True, False)
    """
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode("ascii", "replace"))


def event_id_for(platform: str, *parts: object) -> str:
    """A deterministic event id from the platform and what identifies the event there (a
    delivery id and the event's place in it, a refund id): the same webhook delivered again
    makes the same ids, so the ingest path counts it once.

    Ids that would not fit the contract's alphabet or 64 characters become a digest of the
    same parts (still deterministic).

    Examples
    --------
    >>> event_id_for("shopify", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", 0)
    'shopify:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043:0'
    >>> long = event_id_for("shopify", "x" * 80, 0)
    >>> long[:10], len(long), long == event_id_for("shopify", "x" * 80, 0)
    ('shopify:h:', 64, True)
    """
    plain = ":".join([platform, *(str(p) for p in parts)])
    if _EVENT_ID_RE.match(plain):
        return plain
    digest = hashlib.sha256(plain.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{platform}:h:{digest}"[:_MAX_EVENT_ID]


def money(value: object, where: str) -> Decimal:
    """A platform's money value (a string such as ``"19.99"``, or a number in some WooCommerce
    fields) as an exact Decimal of cents.

    Raises :class:`Unmappable` naming ``where`` when it is not a finite amount of whole cents.
    """
    if value is None or value == "":
        return Decimal("0")
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise Unmappable(f"{where}: {value!r} is not an amount")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Unmappable(f"{where}: {value!r} is not an amount") from None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise Unmappable(f"{where}: {value!r} is not an amount of whole cents")
    return amount.quantize(CENT)


def text(value: Decimal) -> str:
    """Money as the contract's decimal string."""
    return format(value.quantize(CENT), "f")


def require_currency(currency: object, store_currency: str, what: str) -> None:
    """Refuse money in another currency than the store's, in words (storepulse counts one)."""
    if not isinstance(currency, str) or not currency:
        raise Unmappable(f"{what} carries no currency")
    if currency.upper() != store_currency.upper():
        raise Unmappable(
            f"{what} is in {currency}, the store counts {store_currency} (STORE_CURRENCY): storepulse "
            "does not convert currencies, so this is kept, not counted"
        )


def identifier(value: object) -> str | None:
    """A platform id (number or string) as text, ``None`` when absent."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    return str(value)


def get(payload: Mapping[str, Any], name: str, where: str) -> Any:
    """A required field, or :class:`Unmappable` naming it."""
    value = payload.get(name)
    if value is None or value == "":
        raise Unmappable(f"{where}{name}: is missing")
    return value


def object_of(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Unmappable(f"{where}: is not a JSON object")
    return value


def list_of(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Unmappable(f"{where}: is not a list")
    return value


def quantity(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Unmappable(f"{where}: {value!r} is not a whole quantity")
    try:
        number = int(value)
    except ValueError:
        raise Unmappable(f"{where}: {value!r} is not a whole quantity") from None
    return number


def split_line(sku: str, count: int, total: Decimal) -> list[dict[str, Any]]:
    """Order lines of ``count`` units worth ``total`` together, at a whole-cent unit price: one
    line when ``total`` divides evenly, else two (the last unit carries the odd cents), so the
    line total is exact.

    Examples
    --------
    >>> [(x["quantity"], x["unit_price"]) for x in split_line("A", 3, Decimal("10.00"))]
    [(2, '3.33'), (1, '3.34')]
    """
    unit = (total / count).quantize(CENT, rounding="ROUND_DOWN")
    if unit * count == total or count == 1:
        return [{"sku": sku, "quantity": count, "unit_price": text(total / count if count == 1 else unit)}]
    last = total - unit * (count - 1)
    return [
        {"sku": sku, "quantity": count - 1, "unit_price": text(unit)},
        {"sku": sku, "quantity": 1, "unit_price": text(last)},
    ]


def iso_utc(value: object, where: str) -> str:
    """A platform time as the contract's ISO-8601 with an offset: WooCommerce's ``*_gmt`` fields
    have none (they are UTC), Shopify's carry one."""
    if not isinstance(value, str) or not value:
        raise Unmappable(f"{where}: is missing")
    from datetime import datetime

    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Unmappable(f"{where}: {value!r} is not an ISO-8601 time") from None
    if parsed.tzinfo is None:
        return parsed.isoformat() + "+00:00"
    return parsed.isoformat()


DEFAULT_CATEGORY = "Uncategorized"


def event(event_id: str, kind: str, occurred_at: str, data: dict[str, Any]) -> dict[str, Any]:
    """An event in the form ``POST /v1/events`` takes.

    Examples
    --------
    >>> event("shopify:d:0", "inventory.adjusted", "2025-03-02T10:00:00+00:00",
    ...       {"sku": "A", "delta": 1, "reason": "return"})["type"]
    'inventory.adjusted'
    """
    return {"event_id": event_id, "type": kind, "occurred_at": occurred_at, "data": data}


def email_in(value: object) -> str | None:
    """``value`` when it looks like an e-mail address, else ``None``."""
    return value if isinstance(value, str) and "@" in value else None


def customer_registered(
    *, event_id: str, occurred_at: str, customer_id: str, country: str, email: str | None
) -> dict[str, Any]:
    """A ``customer.registered``; the e-mail travels only to be hashed at the door by ingest."""
    data: dict[str, Any] = {"customer_id": customer_id, "country": country.upper()}
    if email:
        data["email"] = email
    return event(event_id, "customer.registered", occurred_at, data)


def unknown_topic(topic: str) -> Mapped:
    """The answer to a topic storepulse does not read: acknowledged, nothing kept."""
    return Mapped(ignored=f"topic {topic!r} is not one storepulse reads; acknowledged and ignored")
