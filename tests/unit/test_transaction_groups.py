"""Counting cuts a batch's events into transactions as it did when it built each one to try.

:func:`backend.adapters.dynamo.count_once` writes each group of events as one TransactWriteItems
(DynamoDB's limits: 100 actions, and we keep each action under 150 attribute names). The groups
were found by building the whole group's transaction again for each event that might join it,
which cost the square of the group's size; they are now found by keeping the group's size up to
date. The reference below is that former way, over the very transactions that are written
(``_build_transaction``): the groups must be the same, cancelling amounts included (a day's
SALES action stays when its amounts cancel out, an inbox item's goes).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from backend.adapters import dynamo
from backend.adapters.dynamo import Claim, Counted, Note, _build_transaction, _groups
from backend.domain.sales import Contributions
from backend.domain.stock import on_hand_key

DAYS = [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)]
COUNTERS = ["orders", "gross_sales", "returns@web"]
SKUS = [f"SKU-{n}" for n in range(40)]


def _reference_groups(events: list[Counted]) -> list[list[Counted]]:
    """The former way: a group takes the next event if its whole transaction, built, fits."""

    def fits(group: list[Counted]) -> bool:
        actions = _build_transaction("analytics", group)
        if len(actions) > dynamo.MAX_TRANSACTION_ITEMS:
            return False
        return all(
            len(a["Update"]["ExpressionAttributeNames"]) <= dynamo.MAX_TERMS_PER_ACTION for a in actions
        )

    groups: list[list[Counted]] = []
    for counted in events:
        if groups and fits([*groups[-1], counted]):
            groups[-1].append(counted)
        else:
            groups.append([counted])
    return groups


NOTE_ITEMS = [("NOTES#a", "N"), ("NOTES#b", "N")]
# What an event adds: a day's counters (amounts that may cancel out) and SKUs' on-hand deltas;
# whether it has a claim; the items it leaves notes on.
_EVENT = st.tuples(
    st.dictionaries(
        st.sampled_from(DAYS),
        st.dictionaries(st.sampled_from(COUNTERS), st.integers(-2, 2), min_size=1),
        max_size=2,
    ),
    st.dictionaries(st.sampled_from(SKUS), st.integers(-2, 2), max_size=4),
    st.booleans(),
    st.lists(st.sampled_from(NOTE_ITEMS), max_size=2),
)


def _counted(ref: int, drawn: tuple[dict, dict, bool, list]) -> Counted:
    day_sales, stock, claimed, note_items = drawn
    contributions = Contributions()
    for day, counters in day_sales.items():
        for name, amount in counters.items():
            contributions.day_sales[day][name] += Decimal(amount)
    for sku, delta in stock.items():
        contributions.stock[sku] += delta
    claim = Claim((f"ADJ#{ref}", "MARKER"), "counted", 1) if claimed else None
    notes = tuple(Note(item, f"n{ref}", 1) for item in note_items)
    return Counted(f"e{ref}", claim, contributions, notes)


_BATCHES = st.lists(_EVENT, min_size=1, max_size=40).map(
    lambda drawn: [_counted(n, d) for n, d in enumerate(drawn)]
)


@given(events=_BATCHES, max_items=st.integers(2, 12), max_terms=st.integers(1, 6))
def test_groups_are_those_of_the_built_transactions_at_any_limits(
    events: list[Counted], max_items: int, max_terms: int
) -> None:
    # Given small limits, so that every kind of cut falls within a few events
    with (
        mock.patch.object(dynamo, "MAX_TRANSACTION_ITEMS", max_items),
        mock.patch.object(dynamo, "MAX_TERMS_PER_ACTION", max_terms),
    ):
        # When the events are grouped, then the groups are the former way's, in order
        assert _groups(events) == _reference_groups(events)


def test_a_batch_of_500_adjustments_is_cut_as_before_at_dynamodbs_limits() -> None:
    # Given the inventory processor's batch: 500 adjustments, each its own claim and one SKU
    events = []
    for n in range(500):
        contributions = Contributions()
        contributions.stock[f"BIGSTORE-{n:05d}-WAREHOUSE-AISLE"] += 20 + n % 7
        events.append(Counted(f"adj-{n}", Claim((f"ADJ#adj-{n}", "MARKER"), "counted", 1), contributions))
    # When grouped, then as the former way, several transactions each within the limits
    groups = _groups(events)
    assert groups == _reference_groups(events)
    assert len(groups) > 4
    assert sum(len(group) for group in groups) == 500
    for group in groups:
        assert len(_build_transaction("analytics", group)) <= dynamo.MAX_TRANSACTION_ITEMS
    # And the inbox items are shared: a group holds more adjustments than inbox items
    assert len({on_hand_key(e.ref) for e in groups[0]}) < len(groups[0])


def test_an_event_that_cancels_a_crowded_items_deltas_joins_its_group() -> None:
    # Given a first event too big alone (two SKUs of one inbox item, one name allowed an action)
    first, second = next((a, b) for a in SKUS for b in SKUS if a < b and on_hand_key(a) == on_hand_key(b))
    big, cancelling = Contributions(), Contributions()
    big.stock[first] += 1
    big.stock[second] += 1
    cancelling.stock[second] -= 1
    events = [Counted("big", None, big), Counted("cancelling", None, cancelling)]
    with mock.patch.object(dynamo, "MAX_TERMS_PER_ACTION", 1):
        # When grouped, then the second joins the first, whose transaction it brings within limits
        assert _groups(events) == _reference_groups(events) == [events]
