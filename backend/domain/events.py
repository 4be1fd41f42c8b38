"""The event envelope and the per-type payloads of CONTRACT section 2.

Parsing is the only thing this module does: it turns untrusted JSON into typed models, or into
error messages that name the field (``data.lines[0].quantity: ...``). No AWS, no settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

import pycountry
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from backend.domain.money import parse_money

MAX_EVENTS_PER_REQUEST = 500
MAX_BODY_BYTES = 1024 * 1024
MAX_FUTURE_SKEW = timedelta(days=1)
# The earliest instant an event may carry (CONTRACT section 2): store days, weeks and months of
# anything earlier could leave the calendar (year 1 minus a day is an OverflowError).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# How deep an event's JSON may nest: the deepest valid event is 4 levels deep.
MAX_DEPTH = 32

EventType = Literal[
    "order.placed", "order.refunded", "customer.registered", "product.upserted", "inventory.adjusted"
]
EVENT_TYPES: tuple[str, ...] = (
    "order.placed",
    "order.refunded",
    "customer.registered",
    "product.upserted",
    "inventory.adjusted",
)
Channel = Literal["web", "mobile", "marketplace", "pos"]
AdjustReason = Literal["restock", "correction", "damage", "return"]

# ISO 3166-1 alpha-2, officially assigned codes, as pycountry keeps them (its ISO data is
# refreshed with each release; the Lambda packages leave out its 22 MB of translations).
COUNTRIES = frozenset(country.alpha_2 for country in pycountry.countries)
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

Identifier = Annotated[StrictStr, Field(min_length=1, max_length=128)]
Money = Annotated[Decimal, BeforeValidator(parse_money)]
NonNegativeMoney = Annotated[Money, Field(ge=0)]
PositiveMoney = Annotated[Money, Field(gt=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _InStoreCurrency(_Model):
    currency: StrictStr

    @field_validator("currency")
    @classmethod
    def _store_currency(cls, value: str, info: ValidationInfo) -> str:
        expected = (info.context or {}).get("currency")
        if expected and value != expected:
            raise ValueError(f"must be the store currency {expected}, got {value!r}")
        return value


class OrderLine(_Model):
    sku: Identifier
    quantity: StrictInt = Field(ge=1, le=1_000_000)
    unit_price: NonNegativeMoney

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


class OrderPlaced(_InStoreCurrency):
    order_id: Identifier
    customer_id: Identifier
    lines: list[OrderLine] = Field(min_length=1, max_length=200)
    discount: NonNegativeMoney = Decimal("0")
    shipping: NonNegativeMoney = Decimal("0")
    tax: NonNegativeMoney = Decimal("0")
    channel: Channel = "web"

    @property
    def gross_sales(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)

    @model_validator(mode="after")
    def _discount_within_total(self) -> OrderPlaced:
        if self.discount > self.gross_sales:
            raise ValueError("discount is larger than the order's line total")
        return self


class RestockLine(_Model):
    sku: Identifier
    quantity: StrictInt = Field(ge=1, le=1_000_000)


class OrderRefunded(_InStoreCurrency):
    order_id: Identifier
    refund_id: Identifier
    amount: PositiveMoney
    restock: list[RestockLine] = Field(default_factory=list, max_length=200)


class CustomerRegisteredIn(_Model):
    """What a store sends: the e-mail in clear, which never leaves the ingest function."""

    customer_id: Identifier
    country: StrictStr
    email: StrictStr | None = None

    @field_validator("country")
    @classmethod
    def _iso_country(cls, value: str) -> str:
        if value not in COUNTRIES:
            raise ValueError("must be an ISO 3166-1 alpha-2 country code such as 'US'")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL_RE.match(value):
            raise ValueError("is not an e-mail address")
        return value


class CustomerRegistered(_Model):
    """What travels through the pipeline: the e-mail replaced by its keyed hash."""

    customer_id: Identifier
    country: StrictStr
    email_hash: StrictStr | None = None


class ProductUpserted(_Model):
    sku: Identifier
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    category: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    price: NonNegativeMoney
    reorder_point: StrictInt = Field(ge=0, le=1_000_000_000)
    # Days from ordering stock to having it (the forecast's reorder_by); absent: unchanged, and
    # the store's LEAD_TIME_DAYS (7) until a product sets its own.
    lead_time_days: StrictInt | None = Field(default=None, ge=0, le=365)


class InventoryAdjusted(_Model):
    sku: Identifier
    delta: StrictInt = Field(ge=-1_000_000_000, le=1_000_000_000)
    reason: AdjustReason

    @field_validator("delta")
    @classmethod
    def _non_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("must not be zero")
        return value


EventData = OrderPlaced | OrderRefunded | CustomerRegistered | ProductUpserted | InventoryAdjusted

INBOUND_DATA: dict[str, type[_Model]] = {
    "order.placed": OrderPlaced,
    "order.refunded": OrderRefunded,
    "customer.registered": CustomerRegisteredIn,
    "product.upserted": ProductUpserted,
    "inventory.adjusted": InventoryAdjusted,
}
PIPELINE_DATA: dict[str, type[_Model]] = {**INBOUND_DATA, "customer.registered": CustomerRegistered}


def _aware_iso(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 string with an offset, such as 2025-03-01T10:00:00Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("is not an ISO-8601 date-time; use a form such as 2025-03-01T10:00:00Z") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("has no time-zone offset; add Z or +hh:mm")
    try:
        instant = parsed.astimezone(UTC)
    except OverflowError:
        # Only the first and last days of the calendar cannot be moved to UTC.
        instant = EARLIEST - timedelta(days=1) if parsed.year == 1 else datetime.max.replace(tzinfo=UTC)
    if instant < EARLIEST:
        raise ValueError("is before 1970-01-01T00:00:00Z; times that early are not accepted")
    if instant.year > 9998:
        raise ValueError("is more than a day in the future")
    return parsed


class Envelope(_Model):
    event_id: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
    type: EventType
    occurred_at: Annotated[datetime, BeforeValidator(_aware_iso)]
    data: dict[str, Any]


@dataclass(frozen=True)
class Event:
    """A validated event as it travels through the pipeline."""

    event_id: str
    type: str
    occurred_at: datetime
    data: Any

    @property
    def version(self) -> str:
        """Orders changes to one thing by event time, then event id: a fixed-width UTC time, so
        that comparing the strings compares the instants whatever offset the sender used."""
        moment = self.occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
        return f"{moment}#{self.event_id}"

    def to_json(self) -> dict[str, Any]:
        """The JSON form published to SNS and written to the lake (money as strings)."""
        return {
            "event_id": self.event_id,
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data.model_dump(mode="json", exclude_none=True),
        }


@dataclass
class Rejection:
    index: int
    event_id: str | None
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "event_id": self.event_id, "errors": self.errors}


def _where(loc: Sequence[int | str], prefix: str = "") -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "event"


def describe_errors(error: ValidationError, prefix: str = "") -> list[str]:
    """Turn pydantic errors into ``field: problem`` sentences."""
    messages = []
    for item in error.errors(include_url=False):
        where = _where(item["loc"], prefix)
        if item["type"] == "extra_forbidden":
            messages.append(f"{where}: unknown field")
        elif item["type"] == "missing":
            messages.append(f"{where}: is required")
        else:
            text = item["msg"].removeprefix("Value error, ")
            messages.append(f"{where}: {text}")
    return messages


def not_text(raw: object) -> list[str]:
    r"""What makes a decoded JSON value unusable as text: nesting deeper than :data:`MAX_DEPTH`,
    or a lone UTF-16 surrogate (``"\ud800"``), which JSON can spell but UTF-8 cannot carry.

    Examples
    --------
    >>> not_text({"data": {"email": "a\ud800@b.example"}})
    ['data.email: contains a lone UTF-16 surrogate (\\ud800), which is not text']
    >>> not_text({"data": [[[]]]})
    []
    """
    problems: list[str] = []
    pending: list[tuple[object, tuple[int | str, ...]]] = [(raw, ())]
    while pending:
        value, loc = pending.pop()
        if len(loc) > MAX_DEPTH:
            return [f"{_where(loc[:MAX_DEPTH])}: nested more than {MAX_DEPTH} levels deep"]
        if isinstance(value, str):
            problems += _surrogate(value, loc)
        elif isinstance(value, Mapping):
            for key, inner in value.items():
                problems += _surrogate(str(key), (*loc, str(key)))
                pending.append((inner, (*loc, str(key))))
        elif isinstance(value, list):
            pending.extend((inner, (*loc, index)) for index, inner in enumerate(value))
    return sorted(set(problems))


def _surrogate(text: str, loc: tuple[int | str, ...]) -> list[str]:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = f"\\u{ord(text[exc.start]):04x}"
        return [f"{_where(loc)}: contains a lone UTF-16 surrogate ({code}), which is not text"]
    return []


def parse_event(
    raw: object,
    *,
    currency: str,
    now: datetime | None = None,
    inbound: bool = True,
) -> Event:
    """Validate one event.

    Parameters
    ----------
    raw
        The decoded JSON object.
    currency
        The store currency; money in another currency is refused.
    now
        The clock, for refusing events from the future.
    inbound
        ``True`` for what a store sends (clear e-mail), ``False`` for the pipeline form.

    Raises
    ------
    EventError
        With one message per problem, each naming its field.

    Examples
    --------
    >>> parse_event({"event_id": "e1", "type": "inventory.adjusted",
    ...              "occurred_at": "2025-01-01T00:00:00Z",
    ...              "data": {"sku": "A", "delta": 5, "reason": "restock"}}, currency="USD").type
    'inventory.adjusted'
    """
    if not isinstance(raw, Mapping):
        raise EventError(["event: must be a JSON object"])
    unreadable = not_text(raw)
    if unreadable:
        raise EventError(unreadable)
    models = INBOUND_DATA if inbound else PIPELINE_DATA
    errors: list[str] = []
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        errors = describe_errors(exc)
    model = models.get(raw.get("type"))  # type: ignore[arg-type]
    data = None
    if model is not None and isinstance(raw.get("data"), Mapping):
        # The payload is checked even when the envelope is wrong, so one answer lists every problem.
        try:
            data = model.model_validate(raw["data"], context={"currency": currency})
        except ValidationError as exc:
            errors += describe_errors(exc, "data")
    if errors:
        raise EventError(errors)
    current = now or datetime.now(UTC)
    if envelope.occurred_at - current > MAX_FUTURE_SKEW:
        raise EventError(["occurred_at: is more than a day in the future"])
    return Event(envelope.event_id, envelope.type, envelope.occurred_at, data)


class EventError(ValueError):
    """An event that cannot be accepted; ``errors`` name each field at fault."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors
