"""The ``segments`` job and ``GET /v1/customers/segments`` against the pandas oracle.

Given a simulated store's two months in New York delivered to the processors shuffled and partly
twice (refunds included, some before their orders), when the ``segments`` job runs as its
schedule would, then every segment's customers and share of revenue equal the oracle's RFM
computation; before the first run the route says there is no snapshot yet.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devstack.simulator import generate
from tests import oracle, pipeline

TZ = "America/New_York"


@pytest.fixture
def fresh(stack: Any, store_zone: None) -> None:
    pipeline.allow_read_key()
    pipeline.clear_analytics()


def test_segments_before_the_first_run_and_after(fresh: None) -> None:
    # Given no run of the job yet
    status, body = pipeline.api_get("/v1/customers/segments")
    assert status == 200 and body == {"as_of": None, "computed_at": None, "customers": 0, "segments": []}
    # Given a store's history, shuffled with a tenth twice
    today = datetime.now(ZoneInfo(TZ)).date()
    raw = generate(days=30, orders_per_day=3, seed=5, end=today, tz=TZ)
    rng = random.Random(2)
    delivered = rng.sample(raw, len(raw))
    delivered += rng.sample(delivered, len(delivered) // 10)
    pipeline.deliver(pipeline.pipeline_form(delivered), batch_size=50)
    # When the job runs, as its EventBridge schedule invokes it
    result = pipeline.handler("jobs")({"job": "segments"}, pipeline.context("jobs"))
    # Then the snapshot is the oracle's
    status, body = pipeline.api_get("/v1/customers/segments")
    assert status == 200, body
    as_of = datetime.fromisoformat(body["as_of"]).date()
    assert as_of == datetime.now(UTC).astimezone(ZoneInfo(TZ)).date() or as_of == today
    expected = oracle.segments(raw, as_of, tz=TZ)
    table = oracle.rfm(raw, as_of, tz=TZ)
    assert result["customers"] == body["customers"] == len(table)
    assert [r["segment"] for r in body["segments"]] == list(oracle.SEGMENT_NAMES)
    for row, want in zip(body["segments"], expected, strict=True):
        assert row["customers"] == want["customers"], row["segment"]
        assert Decimal(str(row["share_of_revenue"])) == want["share_of_revenue"], row["segment"]
    # The history is varied enough to fill several segments, and refunds lower monetary values
    assert sum(1 for r in body["segments"] if r["customers"]) >= 4
    assert any(e["type"] == "order.refunded" for e in raw)
    assert abs(sum(r["share_of_revenue"] for r in body["segments"]) - 1) < 0.001
