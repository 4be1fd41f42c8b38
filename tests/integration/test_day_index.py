"""A day's index of its member items: the days of a range read by key, older days still right.

The writers of a day's customer-set items (``CB#``, the fold's ``DP#``) name them after putting
them in the day's index (``DAY#<d>``/``~ITEMS``, :mod:`backend.adapters.day_index`); readers get
the days' ``SALES`` and indexes in one ``BatchGetItem`` and the named items in another. A day
left as older releases wrote it (no index) is read by its Query; the first writer of such a day
names the items already there; a day with more items than an index holds is read by its Query.

Indexes are trusted only from ``day_index.MARGIN`` after the store's first index write (the
marker ``INDEX``/``SINCE``): an older release's writer still running during the deploy may put
items no index names. Most tests here are of a store whose deploy is long over (the marker at
the epoch, the writers' clock fixed at ``NOW``); the deploy's own tests move the clock.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from backend.adapters import customer_days, day_index
from backend.adapters.analytics import AnalyticsTable
from backend.adapters.clients import client
from backend.adapters.dynamo import batch_get, batch_put, day_part_items
from backend.settings import get_settings
from tests import oracle, pipeline
from tests.figures import assert_same_figures

DAY = date(2025, 3, 4)
#: The writers' clock (seconds since the epoch) in the tests of a store long past the deploy.
NOW = 1_741_000_000.0
MARGIN = day_index.MARGIN.total_seconds()


@pytest.fixture
def bare_table(stack: Any) -> str:
    """The analytics table, empty: no index written yet."""
    pipeline.allow_read_key()
    pipeline.clear_analytics()
    return get_settings().require("analytics_table")


@pytest.fixture
def table(bare_table: str) -> str:
    """The analytics table of a store whose first index write is long past (at the epoch)."""
    put_since(bare_table, 0)
    return bare_table


def put_since(table: str, at: float) -> None:
    pk, sk = day_index.SINCE_KEY
    batch_put(client("dynamodb"), table, [{"pk": pk, "sk": sk, day_index.SINCE_AT: Decimal(int(at))}])


class Calls:
    """The DynamoDB calls made through the shared client: operation and a Query's partition."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        partition = params.get("ExpressionAttributeValues", {}).get(":pk", {}).get("S", "")
        self.calls.append((model.name, partition if model.name == "Query" else ""))

    def __enter__(self) -> Calls:
        client("dynamodb").meta.events.register("provide-client-params.dynamodb", self._record)
        return self

    def __exit__(self, *_: object) -> None:
        client("dynamodb").meta.events.unregister("provide-client-params.dynamodb", self._record)


def analytics(table: str, now: float = NOW) -> AnalyticsTable:
    return AnalyticsTable(client("dynamodb"), table, clock=lambda: now)


def older_day(table: str) -> None:
    """``DAY`` as releases before the index left it: its sales, a ``CUSTOMERS`` set item, a
    ``CB#`` item with a string set, a packed one and a fold's ``DP#`` item, and no index."""
    pk = f"DAY#{DAY.isoformat()}"
    batch_put(
        client("dynamodb"),
        table,
        [
            {"pk": pk, "sk": "SALES", "orders": Decimal(4), "gross": Decimal("40.00")},
            {"pk": pk, "sk": "CUSTOMERS", "C": {"old"}},
            {"pk": pk, "sk": "CB#legacy", "m": {"C:a", "P:a"}},
            *customer_days.membership_items({DAY: {"C": {"b"}, "M": {"b"}}}),
            *day_part_items(DAY, "2025-03-04", {"orders": Decimal(1)}, [], [], ["C:lone"]),
        ],
    )


def read(table: str, days: list[date]) -> tuple[list[dict[str, Any]], list[dict[str, set[str]]], list[Any]]:
    with Calls() as recorded:
        sales, sets = customer_days.read_days(client("dynamodb"), table, days)
    return sales, sets, recorded.calls


EXPECTED = {"C": {"old", "a", "b", "lone"}, "P": {"a"}, "M": {"b"}}


def test_a_day_older_releases_wrote_reads_by_its_query(table: str) -> None:
    # Given a day written before indexes existed
    older_day(table)
    # When it is read
    sales, sets, calls = read(table, [DAY])
    # Then every member item counts, found by the day's Query
    assert sets == [EXPECTED]
    assert sales == [{"orders": Decimal(5), "gross": Decimal("40.00")}]
    assert ("Query", f"DAY#{DAY.isoformat()}") in calls


def test_the_first_write_after_the_upgrade_names_the_older_items_too(table: str) -> None:
    # Given a day written before indexes existed
    older_day(table)
    # When this release writes a membership of it (a late order)
    analytics(table).put_customer_sets({DAY: {"C": {"c"}}})
    # Then the day reads by key, the older items and the new one all counted, with no Query
    sales, sets, calls = read(table, [DAY])
    assert sets == [{**EXPECTED, "C": EXPECTED["C"] | {"c"}}]
    assert sales == [{"orders": Decimal(5), "gross": Decimal("40.00")}]
    assert calls == [("BatchGetItem", ""), ("BatchGetItem", "")]
    # And writing the same membership again (a redelivery) names nothing new
    index = batch_get(client("dynamodb"), table, [day_index.index_key(DAY)], consistent=True)
    analytics(table).put_customer_sets({DAY: {"C": {"c"}}})
    assert batch_get(client("dynamodb"), table, [day_index.index_key(DAY)], consistent=True) == index


def test_a_range_of_written_days_reads_by_key(table: str) -> None:
    # Given 40 days each written by this release: customers in batches, and a fold's DP# item
    days = [DAY + timedelta(days=n) for n in range(40)]
    store = analytics(table)
    for n, day in enumerate(days):
        store.put_immutable(
            [
                *customer_days.membership_items({day: {"C": {f"c{n}", f"d{n}"}, "P": {f"d{n}"}}}),
                *day_part_items(day, day.isoformat(), {"orders": Decimal(1)}, [], [], [f"C:e{n}"]),
            ]
        )
        store.put_customer_sets({day: {"C": {f"f{n}"}}})
    # When the range is read
    _, sets, calls = read(table, days)
    # Then each day's sets are whole, by key: one call for the 80 keys of the SALES and indexes,
    # two for the 120 items they name (100 keys a call), no Query
    assert sets == [
        {"C": {f"c{n}", f"d{n}", f"e{n}", f"f{n}"}, "P": {f"d{n}"}, "M": set()} for n in range(40)
    ]
    assert calls == [("BatchGetItem", "")] * 3


def test_a_day_with_more_items_than_an_index_holds_reads_by_its_query(table: str) -> None:
    # Given a day with more member items than an index lists, written batch by batch
    store = analytics(table)
    for n in range(day_index.MAX_KEYS + 3):
        store.put_customer_sets({DAY: {"C": {f"c{n}"}}})
    index = batch_get(client("dynamodb"), table, [day_index.index_key(DAY)], consistent=True)
    assert day_index.FULL in index[day_index.index_key(DAY)]
    # When it is read
    _, sets, calls = read(table, [DAY])
    # Then by its Query, every member counted
    assert sets == [{"C": {f"c{n}" for n in range(day_index.MAX_KEYS + 3)}, "P": set(), "M": set()}]
    assert ("Query", f"DAY#{DAY.isoformat()}") in calls


def _order(number: int, day: date) -> dict[str, Any]:
    return {
        "event_id": f"e{number}",
        "type": "order.placed",
        "occurred_at": f"{day.isoformat()}T15:00:00Z",
        "data": {
            "order_id": f"o{number}",
            "customer_id": f"c{number % 5}",
            "lines": [{"sku": "MUG", "quantity": 1 + number % 3, "unit_price": "9.99"}],
            "currency": "USD",
        },
    }


def test_a_summary_request_reads_no_day_by_a_query(table: str) -> None:
    # Given orders on each of 20 days, counted in batches (customers coming back: P and M)
    first = date(2025, 2, 3)
    delivered = [_order(n, first + timedelta(days=n % 20)) for n in range(60)]
    pipeline.deliver(pipeline.pipeline_form(delivered))
    start, end = first, first + timedelta(days=19)
    # When the summary of the 20 days is asked through the API function
    with Calls() as recorded:
        status, body = pipeline.api_get("/v1/metrics/summary", {"start": str(start), "end": str(end)})
    # Then its figures are the oracle's, and no day was read by a Query: the days' SALES and
    # indexes, then the items they name, by key
    assert status == 200, body
    expected = oracle.summary(delivered, start, end, tz=get_settings().store_timezone)
    assert_same_figures(body["current"], expected)
    assert recorded.calls == [("BatchGetItem", ""), ("BatchGetItem", "")]


# -- the deploy that brings the index -------------------------------------------------------------

#: The new release's first index write.
DEPLOY = NOW


def older_release_member(table: str, customer: str) -> None:
    """A membership of ``DAY`` put by an older release's writer: the item, and no index."""
    batch_put(client("dynamodb"), table, customer_days.membership_items({DAY: {"C": {customer}}}))


def test_a_member_an_older_writer_puts_after_the_index_counts_inside_the_margin(bare_table: str) -> None:
    # Given the new release's first index write for DAY (the marker put at its clock)
    analytics(bare_table, DEPLOY).put_customer_sets({DAY: {"C": {"new"}}})
    since = batch_get(client("dynamodb"), bare_table, [day_index.SINCE_KEY], consistent=True)
    assert since[day_index.SINCE_KEY][day_index.SINCE_AT] == DEPLOY
    # And an older release's function, still running, putting a member of DAY without naming it
    older_release_member(bare_table, "old")
    # And the new release writing again inside the margin
    analytics(bare_table, DEPLOY + MARGIN - 1).put_customer_sets({DAY: {"C": {"newer"}}})
    # When the day is read
    _, sets, calls = read(bare_table, [DAY])
    # Then the index is not trusted: the day is read by its Query, the older writer's member counted
    assert sets == [{"C": {"new", "old", "newer"}, "P": set(), "M": set()}]
    assert ("Query", f"DAY#{DAY.isoformat()}") in calls


def test_past_the_margin_the_next_writer_lists_the_day_again(bare_table: str) -> None:
    # Given the index created at the deploy, and an older writer's member it does not name
    analytics(bare_table, DEPLOY).put_customer_sets({DAY: {"C": {"new"}}})
    older_release_member(bare_table, "old")
    # When a writer past the margin writes a member of the day
    analytics(bare_table, DEPLOY + MARGIN).put_customer_sets({DAY: {"C": {"later"}}})
    # Then the index names the older writer's item too, listed at that writer's clock
    index = batch_get(client("dynamodb"), bare_table, [day_index.index_key(DAY)], consistent=True)
    assert index[day_index.index_key(DAY)][day_index.LISTED_AT] == DEPLOY + MARGIN
    # And the day reads by key, with the older writer's member
    _, sets, calls = read(bare_table, [DAY])
    assert sets == [{"C": {"new", "old", "later"}, "P": set(), "M": set()}]
    assert calls == [("BatchGetItem", ""), ("BatchGetItem", "")]


def test_a_redelivery_past_the_margin_lists_the_day_again_too(bare_table: str) -> None:
    # Given the index created at the deploy, and an older writer's member it does not name
    analytics(bare_table, DEPLOY).put_customer_sets({DAY: {"C": {"new"}}})
    older_release_member(bare_table, "old")
    # When the deploy's batch is delivered again past the margin (its keys already named)
    analytics(bare_table, DEPLOY + MARGIN + 5).put_customer_sets({DAY: {"C": {"new"}}})
    # Then the day reads by key with every member
    _, sets, calls = read(bare_table, [DAY])
    assert sets == [{"C": {"new", "old"}, "P": set(), "M": set()}]
    assert calls == [("BatchGetItem", ""), ("BatchGetItem", "")]
    # And the next redelivery writes nothing
    index = batch_get(client("dynamodb"), bare_table, [day_index.index_key(DAY)], consistent=True)
    analytics(bare_table, DEPLOY + MARGIN + 9).put_customer_sets({DAY: {"C": {"new"}}})
    assert batch_get(client("dynamodb"), bare_table, [day_index.index_key(DAY)], consistent=True) == index


def test_an_index_created_after_the_margin_is_trusted(bare_table: str) -> None:
    # Given the store's first index write on another day, then DAY's first index past the margin
    analytics(bare_table, DEPLOY).put_customer_sets({DAY - timedelta(days=1): {"C": {"first"}}})
    older_release_member(bare_table, "old")
    analytics(bare_table, DEPLOY + MARGIN).put_customer_sets({DAY: {"C": {"new"}}})
    # When both days are read
    _, sets, calls = read(bare_table, [DAY - timedelta(days=1), DAY])
    # Then DAY is read by key (no Query of it), every member counted; the first day, indexed
    # inside the margin and written no more, by its Query
    assert sets == [
        {"C": {"first"}, "P": set(), "M": set()},
        {"C": {"old", "new"}, "P": set(), "M": set()},
    ]
    assert ("Query", f"DAY#{DAY.isoformat()}") not in calls
    assert ("Query", f"DAY#{(DAY - timedelta(days=1)).isoformat()}") in calls


def test_writers_racing_for_the_first_index_write_keep_one_marker(bare_table: str) -> None:
    # Given one writer's first index write
    analytics(bare_table, DEPLOY).put_customer_sets({DAY: {"C": {"a"}}})
    # When another writer, its clock behind, writes another day's first index
    analytics(bare_table, DEPLOY - 60).put_customer_sets({DAY + timedelta(days=1): {"C": {"b"}}})
    # Then the marker is the first one's
    since = batch_get(client("dynamodb"), bare_table, [day_index.SINCE_KEY], consistent=True)
    assert since[day_index.SINCE_KEY][day_index.SINCE_AT] == DEPLOY


def test_a_writer_that_finds_the_marker_puts_none(table: str) -> None:
    # Given the store's marker (at the epoch: a falsy time is still a time)
    # When a writer names a day's items
    with Calls() as recorded:
        analytics(table).put_customer_sets({DAY: {"C": {"c"}}})
    # Then it reads the marker with the index and puts no marker of its own
    assert [operation for operation, _ in recorded.calls].count("PutItem") == 0
    assert ("UpdateItem", "") in recorded.calls
