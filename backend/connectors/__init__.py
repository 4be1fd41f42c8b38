"""Store connectors: Shopify and WooCommerce webhooks, and Shopify's orders export, as events of
the contract (CONTRACT sections 2 and 8).

Pure mapping only: JSON in, event dicts out (the form ``POST /v1/events`` takes). No AWS, no
settings; the processing layer validates the events with the ingest path's own models and hands
them to the ingest path (:mod:`backend.processing.connectors`).
"""

from __future__ import annotations

from backend.connectors.common import Mapped, Unmappable, event_id_for, signature_matches
from backend.connectors.shopify import map_shopify
from backend.connectors.woocommerce import map_woocommerce

__all__ = ["Mapped", "Unmappable", "event_id_for", "map_shopify", "map_woocommerce", "signature_matches"]
