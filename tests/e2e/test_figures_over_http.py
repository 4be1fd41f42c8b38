"""The whole flow over HTTP: ingest API -> SNS -> SQS pollers -> processors -> read API.

Given a simulated store across a DST change in America/New_York, delivered in order, shuffled,
or shuffled with 10% of the events sent twice, the summary of every range equals the pandas
oracle's over the same events, to the cent.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import requests

from devstack.simulator import generate, send
from tests import oracle
from tests.figures import assert_same_figures

TZ = "America/New_York"
END = date(2025, 3, 20)  # the history spans the 2025-03-09 change to daylight time


def _delivered(events: list[dict[str, Any]], how: str) -> list[dict[str, Any]]:
    rng = random.Random(42)
    out = list(events)
    if how in {"shuffled", "duplicated"}:
        rng.shuffle(out)
    if how == "duplicated":
        out += rng.sample(out, len(out) // 10)
        rng.shuffle(out)
    return out


@pytest.mark.parametrize("how", ["in_order", "shuffled", "duplicated"])
def test_summary_equals_the_oracle(stack: Any, how: str) -> None:
    # Given a fresh store and its history
    stack.reset()
    events = generate(days=16, orders_per_day=10, seed=3, end=END, tz=TZ)
    delivered = _delivered(events, how)
    # When it is sent through the public ingest API and the pipeline settles
    totals = send(delivered, stack.api_url, stack.ingest_key, batch_size=97, progress=False)
    assert totals["accepted"] == len(events)
    assert totals["duplicates"] == len(delivered) - len(events)
    stack.wait_idle(120)
    # Then every range's summary equals the oracle's
    first = END - timedelta(days=15)
    ranges = [
        (first, END),
        (date(2025, 3, 9), date(2025, 3, 9)),
        (date(2025, 3, 8), date(2025, 3, 10)),
        (END, END),
    ]
    for start, end in ranges:
        response = requests.get(
            f"{stack.api_url}/v1/metrics/summary",
            params={"start": start.isoformat(), "end": end.isoformat(), "compare": "previous_period"},
            headers={"x-api-key": stack.read_key},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert_same_figures(
            body["current"], oracle.summary(delivered, start, end, tz=TZ), f"{how} {start}..{end}"
        )
        before = start - timedelta(days=(end - start).days + 1)
        expected_before = oracle.summary(delivered, before, start - timedelta(days=1), tz=TZ)
        assert_same_figures(body["previous"], expected_before, "previous")
        # And each change is (current - previous) / previous in percent, half-up to 2 decimals
        expected_now = oracle.summary(delivered, start, end, tz=TZ)

        def exact(figures: dict[str, Any], name: str) -> Decimal:
            # the change of the rate is that of the published (4-decimal) rates
            if name == "returning_customer_rate" and figures["customers"]:
                rate = Decimal(figures["returning_customers"]) / Decimal(figures["customers"])
                return rate.quantize(Decimal("0.0001"), ROUND_HALF_UP)
            return Decimal(str(figures[name]))

        for name, change in body["change_pct"].items():
            was, now = exact(expected_before, name), exact(expected_now, name)
            want = None if was == 0 else ((now - was) / was * 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
            assert (None if change is None else Decimal(str(change))) == want, (name, change, want)
