"""Inventory processor Lambda: ``product.upserted`` and ``inventory.adjusted`` from SQS."""

from __future__ import annotations

from backend.handlers._sqs import sqs_handler, stock_keeping
from backend.processing import inventory

handler = sqs_handler(
    "storepulse-inventory",
    frozenset({"product.upserted", "inventory.adjusted"}),
    stock_keeping(inventory.apply),
)
