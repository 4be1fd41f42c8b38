"""The fake of the analytics table offers exactly the interface the real adapter does, so a unit
test on the fake tests code that runs on the table."""

from __future__ import annotations

import inspect

import pytest

from backend.adapters.analytics import AnalyticsStore, AnalyticsTable
from backend.adapters.reports_store import ReportsStore, ReportsTable
from tests.unit.processing.fakes import FakeAnalytics

METHODS = sorted(
    name for name in vars(AnalyticsStore) if not name.startswith("_") and callable(vars(AnalyticsStore)[name])
)


def _public(cls: type) -> set[str]:
    return {name for name, value in vars(cls).items() if not name.startswith("_") and callable(value)}


def test_the_fake_and_the_adapter_offer_the_interface_and_little_else() -> None:
    # The fake adds only the test's "given" steps (what the orders path's own adapters write);
    # the adapter only the operator's reads for storepulse dlq list
    assert {n for n in _public(FakeAnalytics) if not n.startswith("given_")} == set(METHODS)
    assert _public(AnalyticsTable) - set(METHODS) == {
        "failure_reasons",
        "conflicting_events",
        "unmapped_webhooks",
    }


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("implementation", [AnalyticsTable, FakeAnalytics])
def test_each_implementation_has_the_same_signature(implementation: type, name: str) -> None:
    wanted = inspect.signature(getattr(AnalyticsStore, name))
    found = inspect.signature(getattr(implementation, name))
    assert [(p.name, p.kind, p.default) for p in found.parameters.values()] == [
        (p.name, p.kind, p.default) for p in wanted.parameters.values()
    ]
    assert found.return_annotation == wanted.return_annotation


@pytest.mark.parametrize(
    "name",
    sorted(n for n in vars(ReportsStore) if not n.startswith("_") and callable(vars(ReportsStore)[n])),
)
def test_the_reports_table_offers_its_interface_with_the_same_signatures(name: str) -> None:
    wanted = inspect.signature(getattr(ReportsStore, name))
    found = inspect.signature(getattr(ReportsTable, name))
    assert [(p.name, p.kind, p.default) for p in found.parameters.values()] == [
        (p.name, p.kind, p.default) for p in wanted.parameters.values()
    ]
    assert found.return_annotation == wanted.return_annotation
    # The table adds only what the API routes and the report function ask besides
    assert _public(ReportsTable) - {n for n in vars(ReportsStore) if not n.startswith("_")} == {
        "recent_reports",
        "mark_failed",
        "confirm_subscription",
        "cancel_subscription",
    }
