"""``POST /v1/connectors/shopify`` and ``POST /v1/connectors/woocommerce``: store webhooks.

No API key: the platform's HMAC signature of the raw body is the credential (CONTRACT section 8).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from backend.adapters.clients import client
from backend.adapters.connector_state import ConnectorState
from backend.adapters.ingest_table import IngestTable
from backend.api.errors import json_response
from backend.processing import connectors
from backend.settings import get_settings
from backend.wiring import analytics_adapter

router = APIGatewayRouter()

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "Acknowledged: {status: accepted|duplicate|ignored|kept, accepted, duplicates, "
        "reason, event_ids}. A payload that cannot be mapped is kept (storepulse dlq list) and still 200."
    },
    401: {"description": "The signature header is missing or is not the HMAC-SHA256 of the body"},
    503: {"description": "No secret configured, or the events could not be queued; the platform retries"},
}


# The topics each platform's route reads, for its description (docs/connectors.md maps them).
_DESCRIPTIONS = {
    "shopify": "Topics orders/create, refunds/create, customers/create, products/create, products/update, "
    "inventory_levels/update (X-Shopify-Topic), signed by X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 "
    "of the raw body under STOREPULSE_SHOPIFY_SECRET). X-Shopify-Webhook-Id is the idempotency key. "
    "No API key. docs/connectors.md maps every field.",
    "woocommerce": "Topics order.created, order.updated, customer.created, product.created, product.updated "
    "(X-WC-Webhook-Topic), signed by X-WC-Webhook-Signature (base64 HMAC-SHA256 of the raw body "
    "under STOREPULSE_WOOCOMMERCE_SECRET). No API key. docs/connectors.md maps every field.",
}
_TITLES = {"shopify": "Shopify webhooks", "woocommerce": "WooCommerce webhooks"}


def _receive(platform: str) -> Response[Any]:
    settings = get_settings()
    event = router.current_event
    headers = {name.lower(): value for name, value in (event.headers or {}).items()}
    receipt = connectors.receive(
        connectors.PLATFORMS[platform],
        headers=headers,
        body=connectors.raw_body(event.raw_event),
        secret=settings.shopify_secret if platform == "shopify" else settings.woocommerce_secret,
        pipeline=connectors.Pipeline(
            claims=IngestTable(client("dynamodb"), settings.require("ingest_table")),
            state=ConnectorState(client("dynamodb"), settings.require("ingest_table")),
            analytics=analytics_adapter(),
            sns=client("sns"),
            topic_arn=settings.require("events_topic_arn"),
            currency=settings.store_currency,
            pii_key=settings.require("pii_hash_key"),
        ),
    )
    return json_response(200, receipt.to_json())


def _route(platform: str) -> None:
    """``POST /v1/connectors/<platform>``: one route per platform, the same handling."""

    def receive() -> Response[Any]:
        return _receive(platform)

    receive.__name__ = f"post_{platform}"
    router.post(
        f"/v1/connectors/{platform}",
        summary=_TITLES[platform],
        description=_DESCRIPTIONS[platform],
        responses=_RESPONSES,
        tags=["connectors"],
    )(receive)


for _platform in connectors.PLATFORMS:
    _route(_platform)
