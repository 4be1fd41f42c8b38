"""Orders processor Lambda: ``order.placed`` and ``order.refunded`` from SQS, counted once."""

from __future__ import annotations

from backend.handlers._sqs import pipeline_events, sqs_handler, stock_keeping
from backend.processing import orders

handler = sqs_handler(
    "storepulse-orders",
    pipeline_events(frozenset({"order.placed", "order.refunded"})),
    stock_keeping(orders.apply),
)
