"""What claiming event ids reads: nothing for new ids (the conditional put is the look-up), one
marker for a resend of a published batch, and still every duplicate answered as one.

The requests go through :func:`backend.processing.ingest.accept` with a DynamoDB client bound
to the moto server, metered by the benchmark's meter (read units by AWS's rules).
"""

from __future__ import annotations

import json
from typing import Any

from backend.adapters.ingest_table import IngestTable
from backend.processing import ingest
from backend.settings import get_settings
from bench.meter import Meter
from tests import pipeline


def _adjustments(prefix: str, delta: int, count: int) -> str:
    return json.dumps(
        {
            "events": [
                {
                    "event_id": f"{prefix}-{n}",
                    "type": "inventory.adjusted",
                    "occurred_at": "2025-07-01T12:00:00Z",
                    "data": {"sku": "READS", "delta": delta, "reason": "restock"},
                }
                for n in range(count)
            ]
        }
    )


def test_new_event_ids_are_claimed_without_a_read_and_a_resend_reads_one_marker(stack: Any) -> None:
    stack.reset()
    settings = get_settings()
    # A client of its own: the stack's shared one also serves the processors running beside
    dynamodb = stack.session.client("dynamodb", endpoint_url=stack.endpoint_url)
    meter = Meter(precise=True)
    meter.instrument(dynamodb)
    claims = IngestTable(dynamodb, settings.require("ingest_table"))

    def send(body: str) -> dict[str, Any]:
        events, rejected = ingest.read_request(body, currency="USD", pii_key="test-pepper")
        outcome = ingest.accept(
            claims,
            stack.client("sns"),
            topic_arn=settings.require("events_topic_arn"),
            events=events,
            rejected=rejected,
        )
        return outcome.to_json()

    # Given a request of 20 new event ids
    before = meter.snapshot()
    assert send(_adjustments("reads", 1, 20)) == {"accepted": 20, "duplicates": 0, "rejected": []}
    first = meter.snapshot() - before
    # Then it read nothing: 20 claims and the request's marker, 1 write unit each
    assert first.usage(operation="BatchGetItem").calls == 0
    assert first.usage(service="dynamodb").read_units == 0
    assert first.usage(service="dynamodb").write_units == 21
    # When the same batch comes again, every id is a duplicate, told by the failed puts and
    # one read of the first request's marker
    before = meter.snapshot()
    assert send(_adjustments("reads", 1, 20)) == {"accepted": 0, "duplicates": 20, "rejected": []}
    again = meter.snapshot() - before
    assert again.usage(operation="BatchGetItem").read_units == 1
    assert again.usage(operation="PutItem").failed_write_units == 20
    assert again.usage(service="dynamodb").write_units == 0
    # When another payload comes for those ids, it is a duplicate without any read
    before = meter.snapshot()
    assert send(_adjustments("reads", 5, 20)) == {"accepted": 0, "duplicates": 20, "rejected": []}
    other = meter.snapshot() - before
    assert other.usage(service="dynamodb").read_units == 0
    # Then the stock counted each event once, with the first payload
    stack.wait_idle(60)
    assert pipeline.on_hand() == {"READS": 20}
    meter.uninstrument()
