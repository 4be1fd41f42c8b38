"""Publishing a request's events to SNS, several ``PublishBatch`` calls at a time.

Given 95 events (ten calls of up to ten) and an SNS client whose calls for two of the batches
fail, when they are published, then exactly the events of those two batches are reported as not
taken, every other event reached the topic once, and each call carried at most ten events.
"""

from __future__ import annotations

import threading
from typing import Any

from backend.adapters import bus
from backend.domain.events import Event, parse_event
from backend.settings import get_settings


def _events(count: int) -> list[Event]:
    return [
        parse_event(
            {
                "event_id": f"pub-{n:03d}",
                "type": "customer.registered",
                "occurred_at": "2025-06-02T12:00:00Z",
                "data": {"customer_id": f"P{n}", "country": "FR"},
            },
            currency="USD",
            inbound=False,
        )
        for n in range(count)
    ]


class FailingFor:
    """A real SNS client whose ``publish_batch`` fails when a batch holds one of ``poison``."""

    def __init__(self, sns: Any, poison: set[str]):
        self._sns = sns
        self._poison = poison
        self.lock = threading.Lock()
        self.published: list[str] = []
        self.sizes: list[int] = []

    def publish_batch(self, **request: Any) -> Any:
        entries = request["PublishBatchRequestEntries"]
        ids = [e["Message"].split('"event_id":"', 1)[1].split('"', 1)[0] for e in entries]
        with self.lock:
            self.sizes.append(len(entries))
        if self._poison & set(ids):
            raise ConnectionError("SNS did not answer")
        response = self._sns.publish_batch(**request)
        with self.lock:
            self.published.extend(ids)
        return response


def test_failed_calls_report_their_events_and_only_theirs(stack: Any) -> None:
    # Given 95 events and SNS failing the calls that carry pub-015 or pub-072
    events = _events(95)
    sns = FailingFor(stack.client("sns"), {"pub-015", "pub-072"})
    # When they are published
    failed = bus.publish(sns, get_settings().require("events_topic_arn"), events)
    # Then the events of those two calls are not taken, and the others were published once
    not_taken = sorted(e.event_id for e in failed)
    assert not_taken == [f"pub-{n:03d}" for n in [*range(10, 20), *range(70, 80)]]
    assert sorted(sns.published) == sorted(set(e.event_id for e in events) - set(not_taken))
    assert len(sns.sizes) == 10 and max(sns.sizes) == 10
    stack.wait_idle(60)  # the registrations reach the customers function before the next test
