"""Reports and digests: requests, names, digest periods and signed links (pure).

No boto3 and no settings here: keys, clocks and days are arguments.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

from backend.domain.calendar import within_calendar

ReportType = Literal["sales_summary", "inventory", "customers"]
REPORT_TYPES: tuple[ReportType, ...] = ("sales_summary", "inventory", "customers")
ReportStatus = Literal["pending", "ready", "failed"]
Frequency = Literal["daily", "weekly"]

# A digest link works as long as its report is kept (the bucket's lifecycle expiry).
REPORT_KEEP_DAYS = 30
# An unsubscribe link keeps working for a quarter after the e-mail that carries it.
UNSUBSCRIBE_LINK_DAYS = 90
# Double opt-in: a subscription is pending until its address follows the confirmation link,
# which works this long; then the pending subscription is forgotten.
CONFIRM_LINK_DAYS = 7
# At most one confirmation e-mail per address in this time, however often it is subscribed.
CONFIRMATION_EVERY = timedelta(days=1)
# The most subscriptions (pending or confirmed) one store may hold.
MAX_SUBSCRIPTIONS = 50
# A cancelled subscription is remembered, without its address, this long (to say "already").
TOMBSTONE_DAYS = 90

_EMAIL_RE = re.compile(
    r"^[^@\s<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def normalize_email(value: str) -> str:
    """An address as stored: trimmed, the domain lower-cased; ``ValueError`` when not one.

    >>> normalize_email("  Ada@Example.ORG ")
    'Ada@example.org'
    """
    text = value.strip()
    if len(text) > 254 or not _EMAIL_RE.match(text):
        raise ValueError("must be an e-mail address such as ada@example.com")
    local, _, domain = text.rpartition("@")
    if not domain.rsplit(".", 1)[-1].isalpha():
        raise ValueError("must be an e-mail address such as ada@example.com")
    return f"{local}@{domain.lower()}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportRequest(_Model):
    """The body of ``POST /v1/reports``."""

    type: ReportType = Field(description="sales_summary, inventory or customers")
    start: Annotated[date, AfterValidator(within_calendar)] = Field(description="First store day, YYYY-MM-DD")
    end: Annotated[date, AfterValidator(within_calendar)] = Field(description="Last store day, inclusive")


class SubscriptionRequest(_Model):
    """The body of ``POST /v1/subscriptions``."""

    email: Annotated[StrictStr, Field(max_length=254), AfterValidator(normalize_email)] = Field(
        description="Where the digest goes"
    )
    frequency: Frequency = Field(description="daily (the previous store day) or weekly (the previous week)")
    report_type: ReportType = Field(default="sales_summary", description="The PDF linked from each digest")


def link_lifetime(start: date, end: date) -> timedelta:
    """How long a digest's report link works: the length of the digest's period, so a daily
    digest's link lasts until the next daily digest, a weekly one's until the next week's.

    >>> link_lifetime(date(2025, 3, 3), date(2025, 3, 9)).days
    7
    """
    return timedelta(days=(end - start).days + 1)


def file_name(report_type: str, start: date, end: date) -> str:
    """The name a report downloads as.

    >>> file_name("inventory", date(2025, 3, 1), date(2025, 3, 31))
    'storepulse-inventory-2025-03-01-2025-03-31.pdf'
    """
    return f"storepulse-{report_type}-{start.isoformat()}-{end.isoformat()}.pdf"


def digest_period(frequency: str, today: date) -> tuple[date, date] | None:
    """The store days a digest sent ``today`` covers, or ``None`` when none is due.

    Daily: yesterday. Weekly: on Mondays, the Monday-to-Sunday week that just ended.

    >>> digest_period("weekly", date(2025, 3, 10))
    (datetime.date(2025, 3, 3), datetime.date(2025, 3, 9))
    >>> digest_period("weekly", date(2025, 3, 11)) is None
    True
    """
    if frequency == "daily":
        yesterday = today - timedelta(days=1)
        return yesterday, yesterday
    if frequency == "weekly" and today.weekday() == 0:
        return today - timedelta(days=7), today - timedelta(days=1)
    return None


def period_key(frequency: str, start: date) -> str:
    """The name of one digest period, the idempotency key of a send.

    >>> period_key("weekly", date(2025, 3, 3))
    'weekly:2025-03-03'
    """
    return f"{frequency}:{start.isoformat()}"


class TokenInvalid(ValueError):
    """The token was not signed with our key for this purpose, or is malformed."""


class TokenExpired(ValueError):
    """The token was ours but its time is over."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, purpose: str, payload: str) -> bytes:
    return hmac.new(key.encode(), f"{purpose}\x00{payload}".encode(), hashlib.sha256).digest()


def sign_token(key: str, purpose: str, subject: str, expires_at: datetime) -> str:
    """A URL-safe token saying ``subject`` for ``purpose`` until ``expires_at``.

    The purpose is part of what is signed, so an unsubscribe token is no download token.

    >>> t = sign_token("k", "unsubscribe", "sub1", datetime(2030, 1, 1, tzinfo=UTC))
    >>> verify_token("k", "unsubscribe", t, now=datetime(2029, 1, 1, tzinfo=UTC))
    'sub1'
    """
    payload = _b64(
        json.dumps({"s": subject, "e": int(expires_at.timestamp())}, separators=(",", ":")).encode()
    )
    return f"{payload}.{_b64(_mac(key, purpose, payload))}"


def verify_token(key: str, purpose: str, token: str, *, now: datetime) -> str:
    """The subject of a token made by :func:`sign_token`.

    Raises
    ------
    TokenInvalid
        Not ours, changed, or not a token at all.
    TokenExpired
        Ours, but past its expiry.
    """
    payload, _, signature = token.strip().partition(".")
    try:
        given = _unb64(signature)
        fields = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        raise TokenInvalid("not a token") from None
    if not payload or not hmac.compare_digest(given, _mac(key, purpose, payload)):
        raise TokenInvalid("bad signature")
    if (
        not isinstance(fields, dict)
        or not isinstance(fields.get("s"), str)
        or not isinstance(fields.get("e"), int)
    ):
        raise TokenInvalid("malformed")
    if now.timestamp() > fields["e"]:
        raise TokenExpired(datetime.fromtimestamp(fields["e"], UTC).isoformat())
    return str(fields["s"])
