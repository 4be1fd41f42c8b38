"""The analytics table, ``storepulse-analytics``: its keys, its item shapes, and the calls that
read and write them, behind one small interface (:class:`AnalyticsStore`).

The table's layout is drawn in docs/architecture.md, "The analytics table". Processing code
holds an :class:`AnalyticsTable` (built by the handler from a DynamoDB client and the table's
name) and asks it for what it needs in the store's words (the sales of these days, the links of
these orders, record this anomaly); it never spells a key or calls boto3. Tests of the
processing code pass an in-memory fake of the same interface (tests/unit/processing/fakes.py).

:class:`AnalyticsTable` is a facade: each concept's keys, item shapes and calls live in a module
of its own, which it delegates to and whose keys it imports rather than spells twice: the
orders processor's counting path (:mod:`backend.adapters.dynamo`, :mod:`~backend.adapters.claims`,
:mod:`~backend.adapters.customer_days`), a SKU's stock and its alerts
(:mod:`~backend.adapters.stock`), day and month reads (:mod:`~backend.adapters.rollups`), products
bought together (:mod:`~backend.adapters.baskets`), forecasts (:mod:`~backend.adapters.forecasts`)
and a job's lease (:mod:`~backend.adapters.leases`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
from typing import TYPE_CHECKING, Any, Protocol

from backend.adapters import baskets, customer_days, day_index, forecasts, leases, rollups, stock_in
from backend.adapters import stock as stock_items
from backend.adapters.baskets import DayPairs
from backend.adapters.claims import CONFLICT_PK, BusinessClaim, Found, claim_all, order_claim_key
from backend.adapters.connector_state import (
    UNMAPPED_PK,
    Unmapped,
    counted_adjustments,
    keep_unmapped,
    partition_items,
)
from backend.adapters.dynamo import (
    MONTHS_PK,
    PACKED,
    PACKED_MAX_BYTES,
    REVENUE_PREFIX,
    UNITS_PREFIX,
    Claim,
    Counted,
    Key,
    Note,
    add_to_sets,
    batch_get,
    batch_put,
    content_keyed_items,
    count_once,
    from_ddb,
    key,
    members_of,
    profile_key,
    query_partition,
    remove_from_sets,
    set_attributes,
    set_if_newer,
    set_if_version,
    to_ddb,
    touch_months,
)
from backend.adapters.forecasts import ForecastState
from backend.adapters.leases import Clock, Lease
from backend.adapters.rollups import ROLLUP_SK, DaySales, DaySets, month_pk
from backend.adapters.stock import INBOX_KEYS, SKU_PK, SkuStock, clear_pending, read_stock, record_transition
from backend.adapters.stock_in import (
    DAY_CONTENT,
    DAY_CONTENT_MAX_BYTES,
    DELTAS,
    PART,
    TTL_ATTRIBUTE,
    UNDATED,
    DayContent,
    StockIn,
    closed_through,
    encode_day_content,
    stock_in_key,
    takes_items,
)
from backend.domain.alerts import Alert
from backend.domain.forecast import Forecast
from backend.domain.inventory import CatalogueEntry
from backend.domain.products import SkuSales
from backend.domain.sales import Contributions
from backend.domain.stock import on_hand_key
from backend.domain.together import PairCounts

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

# What a count is made of (:func:`backend.adapters.dynamo.count_once`), part of the interface.
__all__ = [
    "DAY_CONTENT",
    "DAY_CONTENT_MAX_BYTES",
    "DELTAS",
    "REVENUE_PREFIX",
    "UNDATED",
    "UNITS_PREFIX",
    "AnalyticsStore",
    "AnalyticsTable",
    "BusinessClaim",
    "Claim",
    "Counted",
    "DayContent",
    "DayPairs",
    "DaySales",
    "DaySets",
    "ForecastState",
    "Found",
    "Note",
    "SkuStock",
    "StockIn",
    "Unmapped",
    "closed_through",
    "encode_day_content",
    "takes_items",
]

# -- the key layout (docs/architecture.md, "The analytics table") ----------------------------

#: The day's sales counters: ``DAY#<date>``/``SALES``.
SALES_SK = "SALES"
#: The alert feed, one partition sorted by ``<raised_at>#<alert_id>``.
ALERTS_PK = "ALERTS"
#: The segments job's snapshot.
SEGMENTS_SNAPSHOT: Key = ("SEGMENTS", "LATEST")
#: The customers' facts for the segments: ``FACTS#<shard>``/``B#<digest>``, packed (``z``; the
#: member set ``facts`` in items written before December 2026).
FACTS_PREFIX = "FACTS#"
FACT_SHARDS = 8
FACTS = "facts"
#: The orders refunded before their order was known: one item, its set ``orders``.
ORPHANS: Key = ("REFUNDS", "ORPHANS")
ORPHAN_ORDERS = "orders"
#: A customer's profile (``CUST#<id>``/``PROFILE``, :mod:`backend.processing.profiles`): the
#: store day of their first order, its (at most two) smallest order ids, and the version that
#: conditions the next write.
PROFILE_FIRST, PROFILE_FIRST_IDS, PROFILE_VERSION = "first", "first_ids", "version"
#: Why a message failed, for ``storepulse dlq list``: ``FAILURE``/``<queue>#<message id>``
#: (written by :class:`backend.adapters.batch.FailureLog`).
FAILURE_PK = "FAILURE"


def rollup_head_key(month: str) -> Key:
    """A month rollup's first item (:mod:`backend.adapters.rollups` writes it)."""
    return (month_pk(month), ROLLUP_SK)


def catalogue_key(sku: str) -> Key:
    """A SKU's own item: its catalogue fields, settled on hand and alert state."""
    return (SKU_PK, sku)


def order_link_key(order_id: str) -> Key:
    """An order's link (its channel and customer), beside its store-wide claim."""
    return order_claim_key(order_id)


def order_refunds_key(order_id: str) -> Key:
    """An order's refund notes (``r:<refund_id>``) and attributions (``a:<refund_id>``)."""
    return (f"ORDER#{order_id}", "REFUNDS")


def adjustment_key(event_id: str) -> Key:
    """The marker that counts an ``inventory.adjusted`` event once."""
    return (f"ADJ#{event_id}", "MARKER")


def anomaly_key(day: date, metric: str) -> Key:
    """The record of one anomaly alert: a store day's metric."""
    return (f"ANOMALY#{day.isoformat()}", metric)


def alert_feed_key(alert: Alert) -> Key:
    """An alert's place in the feed, made of its own fields (so one sent twice is kept once)."""
    return (ALERTS_PK, f"{alert.raised_at.isoformat()}#{alert.alert_id}")


# -- item shapes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderLink:
    """What the refunds of an order need of it."""

    channel: str
    customer_id: str


@dataclass(frozen=True)
class AnomalyRecord:
    """The stored record of a day's and metric's anomaly alert."""

    alert: dict[str, Any]
    sent: bool


def fact_items(facts: Iterable[str]) -> list[dict[str, Any]]:
    """The shared immutable items that hold these facts, packed (a few KB each)."""
    return content_keyed_items(
        facts,
        prefix=FACTS_PREFIX,
        shards=FACT_SHARDS,
        attribute=FACTS,
        max_bytes=PACKED_MAX_BYTES,
        packed=True,
    )


def facts_of(item: Mapping[str, Any]) -> list[str]:
    """The facts a facts item holds (packed, or as the set of older items)."""
    return members_of(item, FACTS)


def stock_in_clock() -> datetime:
    """The clock of the stock-in items' claim days and open days
    (:func:`backend.adapters.stock_in.utc_now`, read at each call: tests replace it)."""
    return stock_in.utc_now()


def late_stock_in(part: StockIn) -> Counted:
    """A part's stock counted by a transaction: its claim is its stock-in item's ``part``
    attribute (a tombstone with no deltas), so an item put for the part, before or after,
    and this count exclude each other."""
    contributions = Contributions()
    contributions.stock.update({sku: delta for sku, delta in part.stock.items() if delta})
    return counted_by_item(Counted(part.ref, None, contributions), part)


def counted_by_item(counted: Counted, part: StockIn) -> Counted:
    """What ``counted`` adds, claimed by the part's stock-in item (its tombstone: see
    :func:`late_stock_in`) instead of a marker: a lone part too late for its item is counted so,
    and its item, put before or after, and this count exclude each other."""
    item = stock_in_key(part.day, part.ref)
    note = Note(item, TTL_ATTRIBUTE, part.expires_at)
    return replace(counted, claim=Claim(item, PART, part.ref), notes=(*counted.notes, note))


def item_holds(part: StockIn, attribute: str) -> Claim:
    """A "claim" on an attribute of a part's stock-in item, to ask :meth:`AnalyticsStore.
    stock_in_state` whether the item holds it (:data:`DAY_CONTENT`, :data:`DELTAS`)."""
    return Claim(stock_in_key(part.day, part.ref), attribute, None)


# -- the interface ----------------------------------------------------------------------------


class AnalyticsStore(Protocol):
    """What the processing code asks of the analytics table."""

    def for_request(self) -> AnalyticsStore:
        """This table as one request (an API call, a report) reads it: the lone items'
        watermark and unfolded claim days are read at most once for all the days it reads
        (:class:`~backend.adapters.stock_in.DayViews`). Made per request and dropped after it:
        kept longer, its reads would miss the lone items written since."""

    def count_once(self, counted: Sequence[Counted]) -> None:
        """Add each event's contributions to the counters exactly once (its claim guards it)."""

    def claim_business_ids(self, claims: Sequence[BusinessClaim]) -> list[Found]:
        """Claim each order or refund id store-wide for its event and packet (an id twice in
        the list is claimed once); what each claim found, in order."""

    def count_parts(self, parts: Sequence[Counted]) -> None:
        """:meth:`count_once` for the orders processor's packet parts, without bumping the
        months' change stamps (it stamps them after its other writes: :meth:`stamp_months`)."""

    def put_immutable(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Put items that never change once written (keyed by their content or their part):
        putting them again is harmless."""

    def name_day_items(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Name the day customer-set items among these, once put, in their days' indexes
        (:mod:`backend.adapters.day_index`), before the months' stamps move."""

    def stamp_months(self, months: Iterable[str]) -> None:
        """Bump the change stamp of each month (``YYYY-MM``) whose days were written, if it is
        closed or closes within the clocks' margin by the writer's clock, read now (after the
        writes: :func:`backend.domain.rollups.stamp_due`)."""

    def stamped_months(self) -> dict[str, int]:
        """Every month (``YYYY-MM``) that has a change stamp, with its stamp (one Query)."""

    def rollup_coverage(self, months: Sequence[str]) -> dict[str, int]:
        """The stamp each of these months' rollup was computed at, for those that have one."""

    def day_sales_and_sets(
        self, days: Sequence[date], *, consistent: bool = False
    ) -> tuple[list[dict[str, Any]], list[dict[str, set[str]]]]:
        """The sales counters and the ``C``/``P``/``M`` customer sets of each day (absent days
        are empty), in the order of ``days``."""

    def put_rollup_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        """Write a month rollup's items: its further parts first, then its first item (the
        head, which names the parts), so a reader never finds a head without its parts."""

    def month_change_stamps(self, months: Sequence[str], *, consistent: bool = False) -> dict[str, int]:
        """The change stamp of each month (0 for a month never stamped)."""

    def swept_through(self, job: str) -> str | None:
        """The last month a job (``rollups``, ``pairs``) folded with every month before it
        (strongly consistent; ``None`` before its first run)."""

    def set_swept_through(self, job: str, month: str) -> None:
        """Record that ``job`` folded every month up to ``month``."""

    def customer_profiles(self, customer_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The profiles of these customers that exist (strongly consistent), by customer id."""

    def set_profile_if_version(self, customer_id: str, values: Mapping[str, Any], version: Any) -> bool:
        """Set these profile attributes if the profile's version is still ``version`` (``None``:
        no profile yet); whether it was."""

    def put_customer_sets(self, per_day: Mapping[date, Mapping[str, set[str]]]) -> None:
        """Record customers' memberships of day sets (day -> ``C``/``P``/``M`` -> customer ids;
        idempotent)."""

    def upsert_product(self, sku: str, fields: Mapping[str, Any], version: str) -> bool:
        """The catalogue fields of a SKU, unless a newer version is stored."""

    def catalogue_entries(self, skus: Sequence[str]) -> dict[str, CatalogueEntry]:
        """The catalogue entries of these SKUs (absent when never described)."""

    def counted_adjustments(self, event_ids: Iterable[str]) -> set[str]:
        """Which of these ``inventory.adjusted`` events were counted (strongly consistent)."""

    def on_hand_of(self, skus: Iterable[str]) -> dict[str, int]:
        """The exact on-hand of each of these SKUs (strongly consistent; 0 if never moved)."""

    def sku_stock(self, skus: Iterable[str]) -> dict[str, SkuStock]:
        """The exact stock of each of these SKUs with its catalogue fields and alert state
        (strongly consistent), whether or not it has an item."""

    def pending_stock_alerts(self, skus: Iterable[str]) -> dict[str, str]:
        """The stock alerts (JSON) of these SKUs recorded and not yet known to be sent, by SKU."""

    def every_pending_stock_alert(self) -> dict[str, str]:
        """:meth:`pending_stock_alerts` of every SKU (for the ``alert-sweep`` job)."""

    def record_stock_crossing(
        self, stock: SkuStock, status: str, crossings: int, alert: Mapping[str, Any] | None
    ) -> bool:
        """Record a SKU's new status and crossing count, with its alert pending, if its status
        is still the one ``stock`` read (else another processor did: ``False``)."""

    def clear_pending_stock_alert(self, sku: str, alert: str) -> bool:
        """Forget a SKU's pending stock alert once sent, if it is still ``alert``; whether it was."""

    def settle_stock_inbox(self, skus: Iterable[str] | None) -> int:
        """Move the on-hand counters of the inbox items these SKUs (or all SKUs: ``None``) use
        into the SKUs' own items, where an item has grown past its threshold; how many moved.
        The on hand of every SKU stays the same."""

    def migrate_stock_buckets(self) -> int:
        """Move an older release's stock bookkeeping out of its 16 buckets (and its inbox)
        onto the SKUs' items; how many SKUs' entries moved (0 when none is left)."""

    def stock_page(self, after: str | None, limit: int) -> tuple[list[SkuStock], bool]:
        """Up to ``limit`` SKUs after the SKU ``after`` (from the first when ``None``), by SKU,
        with their exact stock, and whether more follow."""

    # stock-in items (backend.adapters.stock_in): a part's stock and facts without a transaction

    def stock_in_state(self, markers: Iterable[Claim]) -> tuple[set[Claim], date | None]:
        """Which of these parts' markers exist, and the last day whose stock-in items are
        folded (``None`` before the first fold): one strongly consistent read."""

    def stock_in_watermark(self) -> date | None:
        """The last day whose stock-in items are folded (``None`` before the first fold)."""

    def put_stock_in(self, parts: Sequence[StockIn]) -> set[str]:
        """Put each part's stock-in item unless one exists (a redelivery's put is ignored); the
        refs of the parts whose items this put."""

    def count_late_stock_in(self, parts: Sequence[StockIn]) -> None:
        """Count the stock of parts too late for an item in a transaction, each once: guarded
        by its item's key (a tombstone), whether it was counted this way or by an item."""

    def fold_stock_in(self, day: date) -> int:
        """Fold one day's items: facts into ``FACTS#`` items, deltas into the on-hand inbox
        once (per chunk, with its marker); how many SKUs' deltas moved."""

    def set_stock_in_watermark(self, day: date) -> None:
        """Every day up to ``day`` is folded (the watermark never moves back)."""

    def unfolded_facts(self) -> list[str]:
        """The facts of the stock-in items not folded yet (repeats possible)."""

    def daily_sales(self, days: Sequence[date]) -> dict[date, dict[str, Any]]:
        """The sales counters of each day that has any."""

    def day_sku_sales(
        self, days: Sequence[date], *, consistent: bool = False
    ) -> dict[date, dict[str, SkuSales]]:
        """Units and line revenue per SKU of each day that has any."""

    def range_sales_and_sets(self, start: date, end: date) -> tuple[list[DaySales], list[DaySets]]:
        """The sales counters and customer sets of ``start``..``end``: one entry per day, or per
        whole month with a current rollup in place of its days (the same figures)."""

    def range_sku_sales(self, start: date, end: date) -> list[dict[str, SkuSales]]:
        """Units and line revenue per SKU of ``start``..``end``, in entries (days, or whole months
        from their rollups) whose sum is the range's."""

    def cohort_months(self, first: str, today: date) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        """The new (``N``) and the ordering (``C``) customers of each month from ``first``
        (``YYYY-MM``) to the month of ``today``, for the months that have any."""

    def range_pair_counts(self, start: date, end: date) -> PairCounts:
        """How many orders of ``start``..``end`` held each pair of SKUs (and each SKU), exactly."""

    def current_pair_months(self, months: Sequence[str]) -> tuple[dict[str, PairCounts], list[str]]:
        """The months whose pair fold is at their change stamp (with its counts), and the others."""

    def day_pair_counts(self, days: Sequence[date], stamps: Mapping[str, int]) -> dict[date, DayPairs]:
        """Each day's pair counts, from its fold where current, else from its baskets;
        ``stamps``: the change stamps of the days' months."""

    def put_day_pair_fold(
        self, day: date, found: DayPairs, covered: int | None, computed_at: str, so_far: PairCounts
    ) -> bool:
        """Keep a day's pair counts, read at its closed month's stamp ``covered``, with ``so_far``,
        the month's counts up to that day (``None``: a month still open, checked by its basket
        keys); whether it was kept (not when too large for an item)."""

    def put_month_pair_fold(self, month: str, counts: PairCounts, covered: int, computed_at: str) -> bool:
        """Keep a closed month's pair counts, current at stamp ``covered``; whether it was kept."""

    def sku_forecasts(self, skus: Iterable[str]) -> dict[str, Forecast]:
        """The demand forecasts of these SKUs that have one."""

    def forecast_states(self, skus: Iterable[str]) -> dict[str, ForecastState]:
        """The forecast job's record of each of these SKUs that has one (strongly consistent)."""

    def put_forecast(self, sku: str, plan: Forecast) -> None:
        """Keep a SKU's forecast (its stock-out risk record unchanged)."""

    def start_stockout_risk(self, sku: str, crossings: int, alert: str) -> bool:
        """Record that a SKU became at risk, with its alert (JSON) pending, if it had become at
        risk ``crossings`` times so far (else another run did it: ``False``)."""

    def end_stockout_risk(self, sku: str) -> None:
        """Record that a SKU is no longer at risk: its next risk raises a new alert."""

    def clear_pending_risk_alert(self, sku: str, alert: str) -> None:
        """Forget a SKU's pending stock-out risk alert once sent (if it is still ``alert``)."""

    def keep_unmapped_webhook(self, unmapped: Unmapped, payload: Any) -> None:
        """Keep a store webhook the connectors could not map, its personal data removed, for
        ``storepulse dlq list`` (the same delivery kept again replaces itself)."""

    def hold_lease(
        self, name: str, *, seconds: float, clock: Clock = time.time
    ) -> AbstractContextManager[Lease]:
        """Hold the job's lease ``name`` for the block, renewing it meanwhile
        (:func:`backend.adapters.leases.hold_lease`): :class:`~backend.adapters.leases.Taken` when
        another holder has it; the block calls the lease's ``check()`` before each guarded write."""

    def store_alerts(self, alerts: Iterable[Alert]) -> None:
        """Keep these alerts in the feed (an alert stored twice is kept once)."""

    def alert_feed(
        self, since: datetime | None, limit: int, *, alert_type: str | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        """The newest alerts raised at or after ``since``, at most ``limit``; and whether more."""

    def record_facts(self, facts: Iterable[str]) -> None:
        """Keep the customers' facts (idempotent)."""

    def facts(self, shard: int) -> list[str]:
        """The facts kept in one of the :data:`FACT_SHARDS` shards (repeats included)."""

    def put_segments_snapshot(self, snapshot: Mapping[str, Any]) -> None:
        """Replace the segments job's snapshot."""

    def segments_snapshot(self) -> dict[str, Any] | None:
        """The segments job's last snapshot, if any."""

    def record_anomaly(self, day: date, metric: str, alert: Mapping[str, Any]) -> AnomalyRecord:
        """This anomaly's record: ``alert`` if it is the first of its day and metric, else
        the one stored first."""

    def mark_anomaly_sent(self, day: date, metric: str) -> None:
        """Note that the day's and metric's alert is on the bus."""

    def order_links(self, order_ids: Iterable[str]) -> dict[str, OrderLink]:
        """The links of these orders that exist (strongly consistent), by order id."""

    def refund_notes(self, order_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The refund notes of these orders that have any (strongly consistent), by order id."""

    def note_orphans(self, order_ids: Iterable[str]) -> None:
        """Note orders refunded before their link was known."""

    def noted_orphans(self) -> set[str]:
        """The orders noted as refunded before their link was known (strongly consistent)."""

    def settle_orphans(self, order_ids: Iterable[str]) -> None:
        """Take these orders off the orphans' note."""


# -- the adapter ------------------------------------------------------------------------------


class AnalyticsTable:
    """The analytics table in DynamoDB (:class:`AnalyticsStore`, plus the operator's reads).

    Parameters
    ----------
    client
        A DynamoDB client (the handler's).
    name
        The table's name (``ANALYTICS_TABLE``).
    clock
        The writer's clock (seconds since the epoch), read when the months' change stamps are
        bumped (:meth:`stamp_months`, :meth:`count_once`): only closed months' are.
    zone
        The store's zone, for when a month closes (``None``: the earliest zone's, which bumps
        a few hours' more stamps, never fewer).
    """

    def __init__(
        self, client: DynamoDBClient, name: str, *, clock: Clock = time.time, zone: tzinfo | None = None
    ):
        self.client = client
        self.name = name
        self.clock = clock
        self.zone = zone
        #: The lone items as one request reads them (:meth:`for_request`); ``None``: each read
        #: of days reads them for itself.
        self.views: stock_in.DayViews | None = None

    def for_request(self) -> AnalyticsStore:
        table = AnalyticsTable(self.client, self.name, clock=self.clock, zone=self.zone)
        table.views = stock_in.DayViews(self.client, self.name)
        return table

    # counting and the catalogue

    def count_once(self, counted: Sequence[Counted]) -> None:
        count_once(self.client, self.name, counted, clock=self.clock, zone=self.zone)

    def claim_business_ids(self, claims: Sequence[BusinessClaim]) -> list[Found]:
        return claim_all(self.client, self.name, claims)

    def count_parts(self, parts: Sequence[Counted]) -> None:
        count_once(self.client, self.name, parts, touch=False)

    def put_immutable(self, items: Iterable[Mapping[str, Any]]) -> None:
        batch_put(self.client, self.name, items)

    def name_day_items(self, items: Iterable[Mapping[str, Any]]) -> None:
        day_index.name_day_items(self.client, self.name, items, now=self.clock())

    def stamp_months(self, months: Iterable[str]) -> None:
        touch_months(self.client, self.name, months, datetime.fromtimestamp(self.clock(), UTC), self.zone)

    def stamped_months(self) -> dict[str, int]:
        return {
            str(item["sk"]): int(item.get("v", 0))
            for item in query_partition(self.client, self.name, MONTHS_PK)
        }

    # the month rollups (their keys: backend.adapters.rollups)

    def rollup_coverage(self, months: Sequence[str]) -> dict[str, int]:
        keys = {rollup_head_key(m): m for m in months}
        heads = batch_get(self.client, self.name, list(keys), projection=["covered"])
        return {keys[k]: int(item.get("covered", -1)) for k, item in heads.items() if k in keys}

    def day_sales_and_sets(
        self, days: Sequence[date], *, consistent: bool = False
    ) -> tuple[list[dict[str, Any]], list[dict[str, set[str]]]]:
        return customer_days.read_days(self.client, self.name, days, consistent=consistent, views=self.views)

    def put_rollup_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        # The further parts (if any) first, then the head, which names them: a reader never
        # finds a head whose parts are not written yet.
        batch_put(self.client, self.name, items[:-1])
        batch_put(self.client, self.name, items[-1:])

    def month_change_stamps(self, months: Sequence[str], *, consistent: bool = False) -> dict[str, int]:
        return rollups.month_stamps(self.client, self.name, months, consistent=consistent)

    def swept_through(self, job: str) -> str | None:
        return rollups.swept_through(self.client, self.name, job)

    def set_swept_through(self, job: str, month: str) -> None:
        rollups.set_swept_through(self.client, self.name, job, month)

    # the customers' profiles and day sets

    def customer_profiles(self, customer_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = {profile_key(c): c for c in customer_ids}
        found = batch_get(self.client, self.name, wanted, consistent=True)
        return {wanted[item_key]: item for item_key, item in found.items() if item_key in wanted}

    def set_profile_if_version(self, customer_id: str, values: Mapping[str, Any], version: Any) -> bool:
        return set_if_version(
            self.client,
            self.name,
            profile_key(customer_id),
            values,
            version_attribute=PROFILE_VERSION,
            version=version,
        )

    def put_customer_sets(self, per_day: Mapping[date, Mapping[str, set[str]]]) -> None:
        customer_days.write(self.client, self.name, per_day, now=self.clock())

    def upsert_product(self, sku: str, fields: Mapping[str, Any], version: str) -> bool:
        return set_if_newer(
            self.client, self.name, catalogue_key(sku), fields, version_attribute="version", version=version
        )

    def catalogue_entries(self, skus: Sequence[str]) -> dict[str, CatalogueEntry]:
        items = batch_get(self.client, self.name, [catalogue_key(sku) for sku in skus])
        return {sku: _entry(item) for (_, sku), item in items.items()}

    def counted_adjustments(self, event_ids: Iterable[str]) -> set[str]:
        return counted_adjustments(self.client, self.name, event_ids)

    def on_hand_of(self, skus: Iterable[str]) -> dict[str, int]:
        return {sku: found.on_hand for sku, found in read_stock(self.client, self.name, skus).items()}

    # stock and its alerts (the items: backend.adapters.stock)

    def sku_stock(self, skus: Iterable[str]) -> dict[str, SkuStock]:
        return read_stock(self.client, self.name, skus)

    def pending_stock_alerts(self, skus: Iterable[str]) -> dict[str, str]:
        return stock_items.pending_alerts(self.client, self.name, skus)

    def every_pending_stock_alert(self) -> dict[str, str]:
        return stock_items.every_pending_alert(self.client, self.name)

    def record_stock_crossing(
        self, stock: SkuStock, status: str, crossings: int, alert: Mapping[str, Any] | None
    ) -> bool:
        return record_transition(self.client, self.name, stock, status, crossings, alert)

    def clear_pending_stock_alert(self, sku: str, alert: str) -> bool:
        return clear_pending(self.client, self.name, sku, alert)

    def settle_stock_inbox(self, skus: Iterable[str] | None) -> int:
        inbox = INBOX_KEYS if skus is None else {on_hand_key(sku) for sku in skus}
        return stock_items.settle_inbox(self.client, self.name, inbox)

    def migrate_stock_buckets(self) -> int:
        return stock_items.migrate_buckets(self.client, self.name)

    def stock_page(self, after: str | None, limit: int) -> tuple[list[SkuStock], bool]:
        return stock_items.stock_page(self.client, self.name, after, limit)

    # stock-in items (backend.adapters.stock_in)

    def stock_in_state(self, markers: Iterable[Claim]) -> tuple[set[Claim], date | None]:
        return stock_in.markers_and_watermark(self.client, self.name, markers)

    def stock_in_watermark(self) -> date | None:
        return stock_in.watermark(self.client, self.name)

    def put_stock_in(self, parts: Sequence[StockIn]) -> set[str]:
        return stock_in.put_parts(self.client, self.name, parts)

    def count_late_stock_in(self, parts: Sequence[StockIn]) -> None:
        count_once(self.client, self.name, [late_stock_in(part) for part in parts], touch=False)

    def fold_stock_in(self, day: date) -> int:
        return stock_in.fold_day(
            self.client,
            self.name,
            day,
            self.record_facts,
            lambda inbox: stock_items.settle_inbox(self.client, self.name, [inbox]),
            now=self.clock(),
        )

    def set_stock_in_watermark(self, day: date) -> None:
        stock_in.set_watermark(self.client, self.name, day)

    def unfolded_facts(self) -> list[str]:
        return stock_in.unfolded_facts(self.client, self.name)

    # the day aggregates, by key: never a scan

    def daily_sales(self, days: Sequence[date]) -> dict[date, dict[str, Any]]:
        return customer_days.read_sales(self.client, self.name, days, views=self.views)

    def day_sku_sales(
        self, days: Sequence[date], *, consistent: bool = False
    ) -> dict[date, dict[str, SkuSales]]:
        return rollups.day_sku_sales(self.client, self.name, days, consistent=consistent, views=self.views)

    # long ranges: whole months from their rollups (backend.adapters.rollups)

    def range_sales_and_sets(self, start: date, end: date) -> tuple[list[DaySales], list[DaySets]]:
        return rollups.range_rollups(self.client, self.name, start, end, views=self.views)

    def range_sku_sales(self, start: date, end: date) -> list[dict[str, SkuSales]]:
        return rollups.range_sku_sales(self.client, self.name, start, end, views=self.views)

    def cohort_months(self, first: str, today: date) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        return rollups.month_customers(self.client, self.name, first, today, views=self.views)

    # products bought together: baskets and their folds (backend.adapters.baskets)

    def range_pair_counts(self, start: date, end: date) -> PairCounts:
        return baskets.range_counts(self.client, self.name, start, end, views=self.views)

    def current_pair_months(self, months: Sequence[str]) -> tuple[dict[str, PairCounts], list[str]]:
        return baskets.month_folds(self.client, self.name, months)

    def day_pair_counts(self, days: Sequence[date], stamps: Mapping[str, int]) -> dict[date, DayPairs]:
        return baskets.day_counts(self.client, self.name, days, stamps, views=self.views)

    def put_day_pair_fold(
        self, day: date, found: DayPairs, covered: int | None, computed_at: str, so_far: PairCounts
    ) -> bool:
        return baskets.put_day_fold(self.client, self.name, day, found, covered, computed_at, so_far)

    def put_month_pair_fold(self, month: str, counts: PairCounts, covered: int, computed_at: str) -> bool:
        return baskets.put_month_fold(self.client, self.name, month, counts, covered, computed_at)

    # the forecasts (backend.adapters.forecasts)

    def sku_forecasts(self, skus: Iterable[str]) -> dict[str, Forecast]:
        return forecasts.forecasts(self.client, self.name, skus)

    def forecast_states(self, skus: Iterable[str]) -> dict[str, ForecastState]:
        return forecasts.forecast_states(self.client, self.name, skus)

    def put_forecast(self, sku: str, plan: Forecast) -> None:
        forecasts.put_forecast(self.client, self.name, sku, plan)

    def start_stockout_risk(self, sku: str, crossings: int, alert: str) -> bool:
        return forecasts.start_risk(self.client, self.name, sku, crossings, alert)

    def end_stockout_risk(self, sku: str) -> None:
        forecasts.end_risk(self.client, self.name, sku)

    def clear_pending_risk_alert(self, sku: str, alert: str) -> None:
        forecasts.clear_pending(self.client, self.name, sku, alert)

    # a job's lock

    def hold_lease(
        self, name: str, *, seconds: float, clock: Clock = time.time
    ) -> AbstractContextManager[Lease]:
        return leases.hold_lease(self.client, self.name, name, seconds=seconds, clock=clock)

    # the alert feed

    def store_alerts(self, alerts: Iterable[Alert]) -> None:
        batch_put(
            self.client,
            self.name,
            [
                dict(zip(("pk", "sk"), alert_feed_key(alert), strict=True))
                | alert.model_dump(mode="json", exclude_none=True)
                for alert in alerts
            ],
        )

    def alert_feed(
        self, since: datetime | None, limit: int, *, alert_type: str | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        """Only alerts of ``alert_type`` if given: a filter on the same Query (the alerts of
        other types since ``since`` are read and skipped, so narrow it with ``since`` on a long
        feed).

        The sort key starts with ``raised_at`` as ``datetime.isoformat()`` in UTC (alerts are
        raised in UTC), and such strings sort as their instants do, so ``sk >= since`` is an
        exact key condition and the newest come first without sorting.
        """
        extra: dict[str, Any] = {"ScanIndexForward": False, "Limit": limit + 1}
        values: dict[str, Any] = {":pk": {"S": ALERTS_PK}}
        if since is not None:
            extra["KeyConditionExpression"] = "pk = :pk AND sk >= :since"
            values[":since"] = {"S": since.astimezone(UTC).isoformat()}
        if alert_type is not None:
            extra["FilterExpression"] = "#type = :type"
            extra["ExpressionAttributeNames"] = {"#type": "type"}
            values[":type"] = {"S": alert_type}
        if len(values) > 1:
            extra["ExpressionAttributeValues"] = values
        alerts = []
        for item in query_partition(self.client, self.name, ALERTS_PK, **extra):
            alerts.append(item)
            if len(alerts) > limit:
                return alerts[:limit], True
        return alerts, False

    # the segments

    def record_facts(self, facts: Iterable[str]) -> None:
        batch_put(self.client, self.name, fact_items(facts))

    def facts(self, shard: int) -> list[str]:
        return [
            str(fact)
            for item in query_partition(
                self.client, self.name, f"{FACTS_PREFIX}{shard}", projection=[FACTS, PACKED]
            )
            for fact in facts_of(item)
        ]

    def put_segments_snapshot(self, snapshot: Mapping[str, Any]) -> None:
        batch_put(
            self.client, self.name, [{"pk": SEGMENTS_SNAPSHOT[0], "sk": SEGMENTS_SNAPSHOT[1], **snapshot}]
        )

    def segments_snapshot(self) -> dict[str, Any] | None:
        return batch_get(self.client, self.name, [SEGMENTS_SNAPSHOT]).get(SEGMENTS_SNAPSHOT)

    # the anomalies

    def record_anomaly(self, day: date, metric: str, alert: Mapping[str, Any]) -> AnomalyRecord:
        pk, sk = anomaly_key(day, metric)
        try:
            self.client.put_item(
                TableName=self.name,
                Item={**key(pk, sk), "alert": to_ddb(json.dumps(alert)), "sent": to_ddb(False)},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            stored = from_ddb(
                self.client.get_item(TableName=self.name, Key=key(pk, sk), ConsistentRead=True)["Item"]
            )
            return AnomalyRecord(json.loads(stored["alert"]), bool(stored.get("sent")))
        return AnomalyRecord(dict(alert), False)

    def mark_anomaly_sent(self, day: date, metric: str) -> None:
        set_attributes(self.client, self.name, anomaly_key(day, metric), {"sent": True})

    # returns per channel

    def order_links(self, order_ids: Iterable[str]) -> dict[str, OrderLink]:
        found = batch_get(self.client, self.name, [order_link_key(o) for o in order_ids], consistent=True)
        return {
            pk.split("#", 1)[1]: OrderLink(str(item["channel"]), str(item.get("customer_id", "")))
            for (pk, _), item in found.items()
        }

    def refund_notes(self, order_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        found = batch_get(self.client, self.name, [order_refunds_key(o) for o in order_ids], consistent=True)
        return {pk.split("#", 1)[1]: item for (pk, _), item in found.items()}

    def note_orphans(self, order_ids: Iterable[str]) -> None:
        add_to_sets(self.client, self.name, ORPHANS, {ORPHAN_ORDERS: set(order_ids)})

    def noted_orphans(self) -> set[str]:
        item = batch_get(self.client, self.name, [ORPHANS], consistent=True).get(ORPHANS, {})
        return {str(o) for o in item.get(ORPHAN_ORDERS, ())}

    def settle_orphans(self, order_ids: Iterable[str]) -> None:
        remove_from_sets(self.client, self.name, ORPHANS, {ORPHAN_ORDERS: set(order_ids)})

    # what the operator reads (storepulse dlq list)

    def keep_unmapped_webhook(self, unmapped: Unmapped, payload: Any) -> None:
        keep_unmapped(self.client, self.name, unmapped, payload)

    def failure_reasons(self, queue: str) -> Iterator[dict[str, Any]]:
        """Why messages of ``queue`` failed, as the processors recorded it."""
        yield from query_partition(
            self.client,
            self.name,
            FAILURE_PK,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :queue)",
            ExpressionAttributeValues={":pk": {"S": FAILURE_PK}, ":queue": {"S": f"{queue}#"}},
        )

    def conflicting_events(self) -> Iterator[dict[str, Any]]:
        """The events not counted because their business id was counted from another event."""
        return partition_items(self.client, self.name, CONFLICT_PK)

    def unmapped_webhooks(self) -> Iterator[Unmapped]:
        """The store webhooks the connectors function answered but could not map."""
        for item in partition_items(self.client, self.name, UNMAPPED_PK):
            yield Unmapped(**{name: str(item.get(name, "")) for name in Unmapped.__dataclass_fields__})


def _entry(item: Mapping[str, Any]) -> CatalogueEntry:
    point = item.get("reorder_point")
    return CatalogueEntry(item.get("name"), item.get("category"), None if point is None else int(point))
