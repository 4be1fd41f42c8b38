"""A store's webhook, from its signed body to the ingest path (CONTRACT section 8).

1. The signature: base64 HMAC-SHA256 of the raw body under the platform's secret, compared in
   constant time; missing or wrong is a 401 and nothing else happens.
2. The mapping (:mod:`backend.connectors`): events of the contract, with ids derived from the
   delivery, so a delivery sent again makes the same ids.
3. The ingest path of ``POST /v1/events``: the same validation (:func:`parse_event`), the same
   e-mail hashing, the same claims and packets (:func:`backend.processing.ingest.accept`). A
   webhook delivered twice is a duplicate there, and counted once.

A payload that cannot be mapped, or whose events the contract refuses (another currency, say),
is answered 200 (so the store keeps the webhook enabled) and kept, its personal data removed,
where ``storepulse dlq list`` shows it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from backend.adapters.analytics import AnalyticsStore
from backend.adapters.connector_state import ConnectorState, LevelState, Unmapped
from backend.adapters.ingest_table import IngestTable
from backend.connectors import (
    Mapped,
    Unmappable,
    event_id_for,
    map_shopify,
    map_woocommerce,
    signature_matches,
)
from backend.connectors.common import CustomerIds, StockLevel
from backend.domain.errors import NotAuthentic, TryAgain
from backend.domain.events import Event, EventError, parse_event
from backend.processing import ingest

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
else:
    SNSClient = Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Platform:
    """How one platform signs and names its webhooks."""

    name: str
    signature_header: str
    topic_header: str
    delivery_header: str
    secret_variable: str
    mapper: Callable[..., Mapped]


PLATFORMS = {
    "shopify": Platform(
        "shopify",
        "x-shopify-hmac-sha256",
        "x-shopify-topic",
        "x-shopify-webhook-id",
        "STOREPULSE_SHOPIFY_SECRET",
        map_shopify,
    ),
    "woocommerce": Platform(
        "woocommerce",
        "x-wc-webhook-signature",
        "x-wc-webhook-topic",
        "x-wc-webhook-delivery-id",
        "STOREPULSE_WOOCOMMERCE_SECRET",
        map_woocommerce,
    ),
}
# Adjustments sent this long ago are taken as counted even without their marker: a crash may
# leave one that was never published, which must not hold the level off forever.
PENDING_HORIZON = timedelta(minutes=15)
LEVEL_ATTEMPTS = 8


@dataclass
class Receipt:
    """What the connector answers the platform (always 200 once the signature is good)."""

    status: str
    accepted: int = 0
    duplicates: int = 0
    reason: str = ""
    events: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": self.status,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
        }
        if self.reason:
            body["reason"] = self.reason
        if self.events:
            body["event_ids"] = self.events
        return body


def customer_ids(platform: str, pii_key: str) -> CustomerIds:
    """How a store's customer becomes a ``customer_id``: the keyed hash of their e-mail (the
    one ingest stores, :func:`backend.processing.ingest.hash_email`), so the same person is one
    customer across webhooks, guest checkouts and an imported export, and no address is in
    clear; without an e-mail, the platform's customer id; else ``guest``.

    Examples
    --------
    >>> ids = customer_ids("shopify", "key")
    >>> ids("Ann@Example.com ", None) == ids("ann@example.com", "7"), ids(None, "7"), ids(None, None)
    (True, 'shopify-7', 'guest')
    """

    def customer_id(email: str | None, platform_id: str | None) -> str:
        if email and email.strip():
            return "c-" + ingest.hash_email(email, pii_key)[:40]
        if platform_id:
            return f"{platform}-{platform_id}"[:128]
        return "guest"

    return customer_id


def raw_body(proxy_event: Mapping[str, Any]) -> bytes:
    """The request body as the platform signed it: API Gateway hands binary bodies in base64."""
    body = proxy_event.get("body") or ""
    if proxy_event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8", "surrogateescape")


def delivery_of(headers: Mapping[str, str], platform: Platform, body: bytes) -> str:
    """The platform's delivery id, or (when a sender leaves it out) a digest of the body: the
    same request sent again still makes the same event ids."""
    delivery = headers.get(platform.delivery_header, "").strip()
    return delivery[:80] if delivery else "body-" + hashlib.sha256(body).hexdigest()[:32]


@dataclass(frozen=True)
class Pipeline:
    """Where the events go and what the connector may keep (the function's resources, built
    by the API route)."""

    #: The ingest table: the events' claims, and the connectors' own state (items, levels).
    claims: IngestTable
    state: ConnectorState
    #: The analytics table: on hand, counted adjustments, unmapped webhooks.
    analytics: AnalyticsStore
    sns: SNSClient
    topic_arn: str
    currency: str
    pii_key: str


def receive(
    platform: Platform,
    *,
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    pipeline: Pipeline,
    now: datetime | None = None,
) -> Receipt:
    """Check, map and ingest one webhook.

    Parameters
    ----------
    headers
        The request's headers, names lower-cased.
    body
        The raw body, as signed.
    secret
        The platform's webhook secret.

    Raises
    ------
    NotAuthentic
        For a missing or wrong signature (nothing is read or written; the API answers 401).
    TryAgain
        When the connector has no secret, or the ingest path could not queue the events (the
        API answers 503; the platform retries the same delivery, which counts once).
    """
    if not secret:
        raise TryAgain(
            "connector_not_configured",
            f"{platform.secret_variable} is not set: no webhook can be checked",
        )
    if not signature_matches(body, headers.get(platform.signature_header), secret):
        raise NotAuthentic(
            "bad_signature", f"{platform.signature_header} is missing or is not the HMAC of this body"
        )
    clock = now or datetime.now(UTC)
    topic = headers.get(platform.topic_header, "").strip()
    delivery = delivery_of(headers, platform, body)
    if _is_ping(platform, topic, body):
        return Receipt("ignored", reason="WooCommerce's ping on saving the webhook: nothing to count")
    try:
        payload = json.loads(body)
    except ValueError:
        # Not kept as it came: text that is not JSON cannot be cleared of personal data.
        shape = f"({len(body)} bytes, not JSON)"
        return _keep(pipeline, platform, delivery, topic, "the body is not JSON", shape, clock)
    try:
        mapped = _map(platform, topic, payload, delivery, pipeline.currency, pipeline.pii_key)
        if mapped.item_skus:
            pipeline.state.remember_skus(platform.name, mapped.item_skus)
        if mapped.level is not None:
            mapped.events += _level_adjustment(pipeline, platform.name, mapped.level, delivery, clock)
    except Unmappable as exc:
        return _keep(pipeline, platform, delivery, topic, str(exc), payload, clock)
    if not mapped.events:
        return Receipt("ignored", reason=mapped.ignored or "nothing to count")
    events: list[Event] = []
    problems: list[str] = []
    for raw in mapped.events:
        try:
            events.append(
                ingest.hash_pii(parse_event(raw, currency=pipeline.currency, now=clock), pipeline.pii_key)
            )
        except EventError as exc:
            problems.append(f"{raw['type']} {raw['event_id']}: {'; '.join(exc.errors)}")
    if problems:
        _keep(pipeline, platform, delivery, topic, " | ".join(problems), payload, clock)
    if not events:
        return Receipt("kept", reason=" | ".join(problems))
    outcome = ingest.accept(
        pipeline.claims,
        pipeline.sns,
        topic_arn=pipeline.topic_arn,
        events=events,
        rejected=[],
    )
    status = "duplicate" if outcome.duplicates and not outcome.accepted else "accepted"
    return Receipt(
        status,
        accepted=outcome.accepted,
        duplicates=outcome.duplicates,
        reason=" | ".join(problems),
        events=[e.event_id for e in events],
    )


def _is_ping(platform: Platform, topic: str, body: bytes) -> bool:
    return platform.name == "woocommerce" and not topic and body.startswith(b"webhook_id=")


def _map(platform: Platform, topic: str, payload: Any, delivery: str, currency: str, pii_key: str) -> Mapped:
    mapper = platform.mapper
    return mapper(
        topic,
        payload,
        delivery_id=delivery,
        currency=currency,
        customers=customer_ids(platform.name, pii_key),
    )


def webhook_events(
    platform: Platform, *, headers: Mapping[str, str], body: bytes, currency: str, pii_key: str, now: datetime
) -> list[Event]:
    """The events a webhook maps to, as the pipeline carries them (e-mails hashed), computed
    again from the request alone: what the local stack journals of a connector's answer
    (:mod:`devstack.journal`). A stock level's adjustment depends on what was stored
    before it, so it is not among them."""
    topic = headers.get(platform.topic_header, "").strip()
    if _is_ping(platform, topic, body):
        return []
    try:
        mapped = _map(
            platform, topic, json.loads(body), delivery_of(headers, platform, body), currency, pii_key
        )
    except (ValueError, Unmappable):
        return []
    events = []
    for raw in mapped.events:
        try:
            events.append(ingest.hash_pii(parse_event(raw, currency=currency, now=now), pii_key))
        except EventError:
            continue
    return events


def _keep(
    pipeline: Pipeline,
    platform: Platform,
    delivery: str,
    topic: str,
    reason: str,
    payload: Any,
    now: datetime,
) -> Receipt:
    logger.warning("%s webhook %s (%s) kept unmapped: %s", platform.name, delivery, topic, reason)
    pipeline.analytics.keep_unmapped_webhook(
        Unmapped(platform.name, delivery, topic or "(no topic)", reason, now.isoformat()), payload
    )
    return Receipt("kept", reason=reason)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _on_hand_and_counted(pipeline: Pipeline, sku: str, pending: Mapping[str, Any]) -> tuple[int, set[str]]:
    """The SKU's on-hand, and which of its pending adjustments it includes.

    An adjustment's marker and its counters are written in one transaction, so reading the
    markers before and after the on-hand, and finding the same ones, means the on-hand holds
    exactly those (a marker that appears in between would have been counted twice, or not at
    all): read again until they agree.
    """
    analytics = pipeline.analytics
    before = analytics.counted_adjustments(pending)
    for _ in range(LEVEL_ATTEMPTS):
        on_hand = analytics.on_hand_of([sku])[sku]
        after = analytics.counted_adjustments(pending) if pending else before
        if after == before:
            return on_hand, after
        before = after
    raise TryAgain("busy", f"stock of {sku} is changing too fast; send the webhook again")


def _level_adjustment(
    pipeline: Pipeline, platform: str, level: StockLevel, delivery: str, now: datetime
) -> list[dict[str, Any]]:
    """The ``inventory.adjusted`` that takes storepulse's on-hand to the platform's level.

    The platform reports an absolute level per location; storepulse's on-hand is store-wide and
    moves with orders and refunds as well. The adjustment is ``sum of the locations' levels -
    (on-hand + adjustments sent but not counted yet)``. The SKU's level item is written with
    the version it was read at, so two deliveries for one SKU never compute from the same
    reading (the loser reads again), and a level older than the one kept for its location is
    ignored (Shopify does not promise order). The adjustment is recorded in that write before it
    is sent: a crash in between, and the platform's retry of the same delivery sends the same
    event again (counted once). Orders still in the queues when a level arrives are the one
    thing it cannot see: it then overshoots by them until the SKU's next level (docs/connectors.md).
    """
    sku = pipeline.state.sku_of_item(platform, level.inventory_item_id)
    if sku is None:
        raise Unmappable(
            f"inventory item {level.inventory_item_id} is not known yet: its product's products/create or "
            "products/update webhook has not arrived; the next level after it is counted"
        )
    event_id = event_id_for(platform, delivery, 0)
    for _ in range(LEVEL_ATTEMPTS):
        current = pipeline.state.read_level(platform, sku)
        if event_id in current.pending:
            delta = int(current.pending[event_id][0])
            break
        kept = current.levels.get(level.location_id)
        if kept is not None and _instant(str(kept[1])) >= _instant(level.updated_at):
            return []  # this location's level is already as new (a redelivery, or a late older level)
        levels = {**current.levels, level.location_id: [level.available, level.updated_at]}
        target = sum(int(v[0]) for v in levels.values())
        on_hand, counted = _on_hand_and_counted(pipeline, sku, current.pending)
        horizon = now - PENDING_HORIZON
        in_flight = {
            e: v for e, v in current.pending.items() if e not in counted and _instant(str(v[1])) > horizon
        }
        delta = target - on_hand - sum(int(v[0]) for v in in_flight.values())
        pending = {**in_flight, event_id: [delta, now.isoformat()]} if delta else in_flight
        if pipeline.state.write_level(platform, sku, LevelState(levels, pending, current.version)):
            break
    else:
        raise TryAgain("busy", f"stock of {sku} is changing too fast; send the webhook again")
    if not delta:
        return []
    return [
        {
            "event_id": event_id,
            "type": "inventory.adjusted",
            "occurred_at": level.updated_at,
            "data": {"sku": sku, "delta": delta, "reason": "correction"},
        }
    ]
