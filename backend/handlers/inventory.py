"""Inventory processor Lambda: ``product.upserted`` and ``inventory.adjusted`` from SQS."""

from __future__ import annotations

from backend.handlers._sqs import pipeline_events, sqs_handler, stock_keeping
from backend.processing import inventory

handler = sqs_handler(
    "storepulse-inventory",
    pipeline_events(frozenset({"product.upserted", "inventory.adjusted"})),
    stock_keeping(inventory.apply),
)
