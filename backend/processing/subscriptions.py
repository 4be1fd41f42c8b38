"""Digest subscriptions with double opt-in: a ``pending`` subscription gets one e-mail, the
confirmation; digests go only to ``confirmed`` ones.

The cap, the daily limit on confirmations and why: docs/architecture.md, "Digest subscriptions:
double opt-in" (and docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from backend.adapters import mail
from backend.adapters.reports_store import ListingChanged, ReportsStore
from backend.domain.reports import CONFIRM_LINK_DAYS, MAX_SUBSCRIPTIONS, SubscriptionRequest, sign_token
from backend.processing.context import Context
from backend.settings import SettingMissing

Transport = Callable[[EmailMessage], str]
CONFIRM = "confirm"
FREQUENCY_WORDS = {"daily": "daily", "weekly": "weekly (Mondays)"}
# The cap is checked by counting, then creating only if nothing was created since the count;
# each creation by another request costs one more count.
CAP_ATTEMPTS = 8
REPORT_WORDS = {"sales_summary": "sales summary", "inventory": "inventory", "customers": "customers"}


class SubscriptionRefused(Exception):
    """A subscription that cannot be made now; ``str()`` says why in words."""


class TooManySubscriptions(SubscriptionRefused):
    """The store holds :data:`MAX_SUBSCRIPTIONS` already."""


class SubscriptionsBusy(SubscriptionRefused):
    """Other subscriptions kept being created while this one counted the listing."""


class ConfirmationSentRecently(SubscriptionRefused):
    """This address got a confirmation e-mail less than a day ago."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class ConfirmationNotSent(SubscriptionRefused):
    """The transport did not take the confirmation e-mail: nothing was kept."""


def transport(context: Context) -> Transport:
    """The configured way out: ``ses`` (AWS) or ``outbox`` (``STOREPULSE_DATA_DIR/outbox``)."""
    settings = context.settings
    if settings.digest_transport == "outbox":
        outbox = Path(settings.data_dir) / "outbox"
        return lambda message: mail.write_outbox(outbox, message)
    if settings.digest_transport == "ses":
        ses = context.ses
        return lambda message: mail.send_ses(ses, message)
    raise SettingMissing(f"DIGEST_TRANSPORT must be ses or outbox, not {settings.digest_transport!r}")


def address_key(signing_key: str, email: str) -> str:
    """A keyed digest of an address, so the confirmation limit stores no address in clear.

    >>> address_key("k", "Ada@example.com") == address_key("k", "ada@EXAMPLE.com")
    True
    """
    return hmac.new(signing_key.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()[:40]


@dataclass(frozen=True)
class Confirmation:
    """What the confirmation e-mail says."""

    store: str
    sender: str
    recipient: str
    frequency: str
    report_type: str
    confirm_url: str
    sent_at: datetime


def compose_confirmation(confirmation: Confirmation) -> EmailMessage:
    """The confirmation e-mail: plain text and HTML, one link, nothing else sent before it."""
    frequency = FREQUENCY_WORDS.get(confirmation.frequency, confirmation.frequency)
    report = REPORT_WORDS.get(confirmation.report_type, confirmation.report_type)
    what = f"the {frequency} {confirmation.store} digest ({report})"
    lines = [
        f"Someone, perhaps you, asked for {what} to be sent to this address.",
        "",
        "To start receiving it, open this link and press Confirm:",
        confirmation.confirm_url,
        "",
        f"If it was not you, ignore this e-mail: nothing will be sent, and the request is "
        f"forgotten in {CONFIRM_LINK_DAYS} days.",
    ]
    message = EmailMessage()
    message["From"] = confirmation.sender
    message["To"] = confirmation.recipient
    message["Subject"] = f"Confirm your {confirmation.store} digest"
    message["Date"] = format_datetime(confirmation.sent_at)
    message["Message-ID"] = make_msgid(domain=confirmation.sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n".join(lines) + "\n")
    url = html.escape(confirmation.confirm_url, quote=True)
    message.add_alternative(
        '<!DOCTYPE html><html><body style="font-family: Helvetica, Arial, sans-serif">'
        f"<p>Someone, perhaps you, asked for {html.escape(what)} to be sent to this address.</p>"
        f'<p><a href="{url}">Confirm the subscription</a></p>'
        f"<p>If it was not you, ignore this e-mail: nothing will be sent, and the request is "
        f"forgotten in {CONFIRM_LINK_DAYS} days.</p></body></html>",
        subtype="html",
    )
    return message


def _create_within_cap(table: ReportsStore, request: SubscriptionRequest, now: datetime) -> dict[str, Any]:
    """Count the listing, then create only if no other subscription was created since the count
    (:meth:`~backend.adapters.reports_store.ReportsStore.create_subscription`): two requests racing for the
    last place cannot both take it; the one that lost counts again."""
    for _attempt in range(CAP_ATTEMPTS):
        seen = table.subscriptions_version()
        if len(table.listed_subscriptions(now, consistent=True)) >= MAX_SUBSCRIPTIONS:
            raise TooManySubscriptions(
                f"subscriptions: a store holds at most {MAX_SUBSCRIPTIONS} (pending ones included); "
                "cancel one first"
            )
        try:
            return table.create_subscription(
                secrets.token_urlsafe(18),
                email=request.email,
                frequency=request.frequency,
                report_type=request.report_type,
                now=now,
                seen_version=seen,
            )
        except ListingChanged:
            continue
    raise SubscriptionsBusy("subscriptions: many are being created at this moment; try again")


def subscribe(
    context: Context, request: SubscriptionRequest, now: datetime, send: Transport | None = None
) -> dict[str, Any]:
    """Record a pending subscription and send its confirmation e-mail.

    The cap holds under concurrency (:func:`_create_within_cap`).

    Raises
    ------
    TooManySubscriptions, ConfirmationSentRecently, ConfirmationNotSent, SubscriptionsBusy
        Nothing is kept then.
    """
    settings = context.settings
    table = context.reports
    signing_key = settings.require("unsubscribe_signing_key")
    claimed_for = address_key(signing_key, request.email)
    wait = table.claim_confirmation(claimed_for, now)
    if wait:
        raise ConfirmationSentRecently(
            "email: a confirmation e-mail went to this address less than a day ago; follow its "
            "link, or ask again later",
            wait,
        )
    try:
        item = _create_within_cap(table, request, now)
    except SubscriptionRefused:
        table.release_confirmation(claimed_for)
        raise
    token = sign_token(signing_key, CONFIRM, item["subscription_id"], now + timedelta(days=CONFIRM_LINK_DAYS))
    message = compose_confirmation(
        Confirmation(
            store=settings.store_name,
            sender=settings.require("digest_sender"),
            recipient=request.email,
            frequency=request.frequency,
            report_type=request.report_type,
            confirm_url=f"{settings.require('public_api_url')}/v1/confirm?token={quote(token, safe='')}",
            sent_at=now,
        )
    )
    try:
        (send or transport(context))(message)
    except Exception as exc:
        table.delete_subscription(item)
        table.release_confirmation(claimed_for)
        raise ConfirmationNotSent(
            f"the confirmation e-mail could not be sent ({type(exc).__name__}); nothing was kept, try again"
        ) from None
    return item
