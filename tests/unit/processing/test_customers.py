"""The customers processor on the in-memory table, with the registrations the orders queue's
packets carry: kept once, the latest of a customer winning when they are read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backend.adapters.batch import Parsed
from backend.processing import customers
from tests.unit.processing.conftest import process
from tests.unit.processing.fakes import FakeAnalytics
from tests.unit.processing.sqs_events import load

REGISTRATIONS = frozenset({"customer.registered"})


def _deliver(table: FakeAnalytics, event: dict[str, Any]) -> None:
    def apply(items: Sequence[Parsed]) -> dict[str, BaseException]:
        return customers.apply(table, items=items)

    assert process(event, REGISTRATIONS, apply) == {"batchItemFailures": []}


def test_a_registration_is_kept_and_delivered_again_rewrites_the_same_item() -> None:
    # Given the packet that holds c3's registration (FR)
    table = FakeAnalytics()
    event = load("orders_sqs_event.json")
    # When it is delivered, then delivered again
    _deliver(table, event)
    first = dict(table.immutable)
    _deliver(table, event)
    # Then c3 is registered from FR, without an e-mail, in one item written twice
    found = customers.latest(table.immutable.values())
    assert {c: (r.country, r.email_hash) for c, r in found.items()} == {"c3": ("FR", None)}
    assert table.immutable == first
    assert len(first) == 1
    assert table.calls["put_immutable"] == 2
