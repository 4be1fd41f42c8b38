"""Any permutation and duplication of a history gives the oracle's figures.

The processors are driven directly (random batch sizes, duplicates redelivered as new SQS
messages) against the moto server; figures are read through the read API function.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import oracle, pipeline
from tests.figures import assert_same_day_counts, assert_same_figures, assert_same_stock
from tests.histories import deliveries, histories

TZ = "America/New_York"


def local_day(moment: str) -> date:
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(TZ)).date()


@pytest.fixture
def processors(stack: Any, store_zone: None) -> Any:
    pipeline.allow_read_key()
    return stack


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_permutation_and_duplication_gives_the_oracles_figures(
    processors: Any, data: st.DataObject
) -> None:
    # Given a generated history, delivered in any order with some events repeated
    events = data.draw(histories(tz=TZ), label="history")
    delivered = data.draw(deliveries(events), label="delivery")
    batch_size = data.draw(st.integers(min_value=1, max_value=12), label="batch size")
    pipeline.clear_analytics()
    # When every processor has seen every message
    pipeline.deliver(pipeline.pipeline_form(delivered), batch_size=batch_size)
    # Then every range's figures and the stock equal the oracle's over the same events
    orders = [e for e in events if e["type"] == "order.placed"]
    if orders:
        days = sorted(local_day(e["occurred_at"]) for e in orders)
        first, last = days[0], days[-1]
        middle = first + timedelta(days=(last - first).days // 2)
        for start, end in {(first, last), (first, middle), (middle, last), (last, last)}:
            assert_same_figures(
                pipeline.summary(start, end), oracle.summary(delivered, start, end, tz=TZ), f"{start}..{end}"
            )
    assert_same_stock(pipeline.on_hand(), oracle.on_hand(delivered))
    # And each day's counts, the refunds' included, are the oracle's
    counted = [local_day(e["occurred_at"]) for e in events if e["type"] in {"order.placed", "order.refunded"}]
    if counted:
        assert_same_day_counts(
            pipeline.day_counters(min(counted), max(counted)), oracle.daily(delivered, tz=TZ)
        )
