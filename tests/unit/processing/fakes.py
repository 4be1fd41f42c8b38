"""An in-memory fake of the analytics table (:class:`backend.adapters.analytics.AnalyticsStore`),
for unit tests of the processing code without moto. It keeps what each call means, not the
items: counters by day and SKU, links by order, alerts by their feed key. What it cannot know
from the interface (the links the orders processor's claims write, the sales per SKU its parts
write) the test gives it with the ``given_*`` methods."""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from backend.adapters import customer_days
from backend.adapters.analytics import (
    FACTS_PREFIX,
    PROFILE_VERSION,
    AnalyticsStore,
    AnomalyRecord,
    BusinessClaim,
    Claim,
    Counted,
    DayPairs,
    DaySales,
    DaySets,
    ForecastState,
    Found,
    OrderLink,
    SkuStock,
    StockIn,
    Unmapped,
    adjustment_key,
    alert_feed_key,
    anomaly_key,
    fact_items,
    facts_of,
    late_stock_in,
    order_refunds_key,
    rollup_head_key,
)
from backend.adapters.baskets import BASKET_PREFIX, BASKETS
from backend.adapters.claims import outcome
from backend.adapters.dynamo import (
    DAY_PART,
    DAY_SKU_PART,
    PART_BASKETS,
    add_counters,
    members_of,
    part_members,
    part_sales,
    sku_lines,
    unpack,
)
from backend.adapters.forecasts import stored_units
from backend.adapters.leases import Clock, Lease, Taken
from backend.adapters.stock_in import (
    DAY_CONTENT,
    DELTAS,
    PART,
    DayContent,
    DayView,
    day_part_items_of,
    stock_in_key,
)
from backend.adapters.stock_in import partition as stock_in_partition
from backend.domain import cohorts, rollups
from backend.domain.alerts import Alert
from backend.domain.calendar import days as days_between
from backend.domain.customers import SETS
from backend.domain.forecast import Forecast
from backend.domain.inventory import CatalogueEntry
from backend.domain.products import SkuSales
from backend.domain.rollups import month_of
from backend.domain.together import Basket, PairCounts

#: The default writer's clock of :class:`FakeAnalytics`: every month of the tests has closed.
ALL_CLOSED = datetime(2100, 1, 1, tzinfo=UTC)


class FakeAnalytics:
    """The analytics table in memory; ``calls`` counts the calls of each method."""

    def __init__(self, *, clock: Clock | None = None, zone: tzinfo | None = None) -> None:
        # The writer's clock for the months' change stamps (only closed months' are bumped), and
        # the store's zone; by default a clock long after every month of the tests: all bumped.
        self.clock: Clock = clock or (lambda: ALL_CLOSED.timestamp())
        self.zone = zone
        self.swept: dict[str, str] = {}
        self.calls: Counter[str] = Counter()
        self.day_counters: dict[date, Counter[str]] = defaultdict(Counter)
        self.on_hand: Counter[str] = Counter()
        self.attributes: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)  # claims, notes
        self.catalogue: dict[str, dict[str, Any]] = {}
        self.sku_sales: dict[date, dict[str, SkuSales]] = {}
        self.feed: dict[tuple[str, str], dict[str, Any]] = {}
        self.fact_shards: dict[int, list[str]] = defaultdict(list)
        self.snapshot: dict[str, Any] | None = None
        self.anomalies: dict[tuple[str, str], AnomalyRecord] = {}
        self.links: dict[str, OrderLink] = {}
        self.orphans: set[str] = set()
        self.immutable: dict[tuple[str, str], dict[str, Any]] = {}
        self.month_stamps: Counter[str] = Counter()
        self.profiles: dict[str, dict[str, Any]] = {}
        self.customer_sets: dict[date, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        # Each SKU's last stock status and crossing count; its pending stock alert.
        self.stock_states: dict[str, tuple[str, int]] = {}
        self.pending_stock: dict[str, str] = {}
        # The pairs job's folds: by day (its stamp, counts and the basket items folded), by month.
        # (A day of a month still open: no stamp, None.)
        self.day_folds: dict[date, tuple[int | None, PairCounts, frozenset[str]]] = {}
        self.month_folds: dict[str, tuple[int, PairCounts]] = {}
        # The forecast job's record of each SKU.
        self.forecast_records: dict[str, ForecastState] = {}
        self.leases: set[str] = set()
        self.unmapped: dict[tuple[str, str], tuple[Unmapped, Any]] = {}
        # Stock-in items by key, those folded, and the watermark.
        self.stock_in: dict[tuple[str, str], StockIn] = {}
        self.stock_in_folded: set[tuple[str, str]] = set()
        self.stock_in_through: date | None = None

    # what the orders processor's own adapters write

    def given_order_link(self, order_id: str, channel: str, customer_id: str) -> None:
        self.links[order_id] = OrderLink(channel, customer_id)

    def given_day_sales(self, day: date, counters: Mapping[str, Any]) -> None:
        self.day_counters[day].update({name: Decimal(str(v)) for name, v in counters.items()})

    # AnalyticsStore

    def count_once(self, counted: Sequence[Counted]) -> None:
        self.calls["count_once"] += 1
        self._count(counted)

    def _count(self, counted: Sequence[Counted]) -> None:
        for event in counted:
            if event.claim is None:
                raise ValueError(f"{event.ref} has no claim")
            if event.contributions.day_units or event.contributions.day_revenue:
                raise ValueError(f"{event.ref}: sales per SKU are put as part items, not counted")
            claimed = self.attributes[event.claim.item]
            if event.claim.attribute in claimed:
                continue
            claimed[event.claim.attribute] = event.claim.value
            for note in event.notes:
                self.attributes[note.item].setdefault(note.attribute, note.value)
            for day, counters in event.contributions.day_sales.items():
                self.day_counters[day].update(counters)
            self.on_hand.update(event.contributions.stock)

    def claim_business_ids(self, claims: Sequence[BusinessClaim]) -> list[Found]:
        self.calls["claim_business_ids"] += 1
        made = set()
        for claim in claims:
            stored = self.attributes[claim.item]
            if not stored:
                made.add(claim.item)
                stored.update(event_id=claim.event_id, owner=claim.owner, **claim.attributes)
                if claim.kind == "order_id":
                    self.links[claim.business_id] = OrderLink(
                        str(claim.attributes["channel"]), str(claim.attributes["customer_id"])
                    )
        return [
            Found(outcome(c, self.attributes[c.item]), dict(self.attributes[c.item]), c.item in made)
            for c in claims
        ]

    def count_parts(self, parts: Sequence[Counted]) -> None:
        self.calls["count_parts"] += 1
        self._count(parts)

    def put_immutable(self, items: Iterable[Mapping[str, Any]]) -> None:
        self.calls["put_immutable"] += 1
        for item in items:
            self.immutable[(item["pk"], item["sk"])] = dict(item)

    def name_day_items(self, items: Iterable[Mapping[str, Any]]) -> None:
        # This table's readers see every item of a day: the index is the items themselves.
        self.calls["name_day_items"] += 1

    def stamp_months(self, months: Iterable[str]) -> None:
        self.calls["stamp_months"] += 1
        now = datetime.fromtimestamp(self.clock(), UTC)
        self.month_stamps.update({m for m in months if rollups.stamp_due(m, now, self.zone)})

    def stamped_months(self) -> dict[str, int]:
        self.calls["stamped_months"] += 1
        return dict(self.month_stamps)

    def rollup_coverage(self, months: Sequence[str]) -> dict[str, int]:
        self.calls["rollup_coverage"] += 1
        return {
            m: int(self.immutable[head]["covered"])
            for m in months
            if (head := rollup_head_key(m)) in self.immutable
        }

    def day_sales_and_sets(
        self, days: Sequence[date], *, consistent: bool = False
    ) -> tuple[list[dict[str, Any]], list[dict[str, set[str]]]]:
        self.calls["day_sales_and_sets"] += 1
        sets = [{name: set(self.customer_sets.get(d, {}).get(name, ())) for name in SETS} for d in days]
        view = self._day_view()
        for day, day_sets in zip(days, sets, strict=True):
            members = [m for item in self._day_parts(day, view) for m in part_members(item)]
            members += [
                m
                for (pk, sk), item in self.immutable.items()
                if pk == f"DAY#{day.isoformat()}" and sk.startswith(customer_days.SORT_PREFIX)
                for m in members_of(item, customer_days.MEMBERS)
            ]
            for member in [*members, *view.of(day).members]:
                name, _, customer = member.partition(":")
                day_sets[name].add(customer)
        return [self._day_sales(d, view) for d in days], sets

    def for_request(self) -> AnalyticsStore:
        # The fake's views are made from memory on every read: nothing to share.
        self.calls["for_request"] += 1
        return self

    # The lone stock-in items' day content, read as the table's readers read it: the folded
    # claim days' ``DP#`` items in the day (written by the fold), the others' items' content.

    def _day_view(self) -> DayView:
        through = self.stock_in_through
        content: dict[date, dict[date, DayContent]] = defaultdict(dict)
        for part in self.stock_in.values():
            if through is not None and part.day > through:
                for day, found in (part.day_content or {}).items():
                    before = content[day].get(part.day)
                    content[day][part.day] = found if before is None else before.merge(found)
        return DayView(through, content)

    def _day_parts(self, day: date, view: DayView) -> list[dict[str, Any]]:
        return [
            item
            for (pk, sk), item in self.immutable.items()
            if pk == f"DAY#{day.isoformat()}" and sk.startswith(DAY_PART) and view.counts(sk)
        ]

    def _day_sales(self, day: date, view: DayView) -> dict[str, Any]:
        sales: dict[str, Any] = dict(self.day_counters.get(day, {}))
        for item in self._day_parts(day, view):
            add_counters(sales, part_sales(item))
        return add_counters(sales, view.of(day).sales)

    def put_rollup_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        self.calls["put_rollup_items"] += 1
        for item in items:
            self.immutable[(item["pk"], item["sk"])] = dict(item)

    def month_change_stamps(self, months: Sequence[str], *, consistent: bool = False) -> dict[str, int]:
        self.calls["month_change_stamps"] += 1
        return {m: self.month_stamps[m] for m in months}

    def swept_through(self, job: str) -> str | None:
        self.calls["swept_through"] += 1
        return self.swept.get(job)

    def set_swept_through(self, job: str, month: str) -> None:
        self.calls["set_swept_through"] += 1
        self.swept[job] = month

    def customer_profiles(self, customer_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        self.calls["customer_profiles"] += 1
        return {c: dict(self.profiles[c]) for c in customer_ids if c in self.profiles}

    def set_profile_if_version(self, customer_id: str, values: Mapping[str, Any], version: Any) -> bool:
        self.calls["set_profile_if_version"] += 1
        if self.profiles.get(customer_id, {}).get(PROFILE_VERSION) != version:
            return False
        self.profiles.setdefault(customer_id, {}).update(values)
        return True

    def put_customer_sets(self, per_day: Mapping[date, Mapping[str, set[str]]]) -> None:
        self.calls["put_customer_sets"] += 1
        for day, sets in per_day.items():
            for name, customers in sets.items():
                self.customer_sets[day][name] |= customers

    def upsert_product(self, sku: str, fields: Mapping[str, Any], version: str) -> bool:
        self.calls["upsert_product"] += 1
        stored = self.catalogue.get(sku)
        if stored is not None and stored["version"] > version:
            return False
        self.catalogue[sku] = {**(stored or {}), **fields, "version": version}
        return True

    def catalogue_entries(self, skus: Sequence[str]) -> dict[str, CatalogueEntry]:
        self.calls["catalogue_entries"] += 1
        return {
            sku: CatalogueEntry(item.get("name"), item.get("category"), item.get("reorder_point"))
            for sku in skus
            if (item := self.catalogue.get(sku)) is not None
        }

    def counted_adjustments(self, event_ids: Iterable[str]) -> set[str]:
        self.calls["counted_adjustments"] += 1
        return {e for e in event_ids if self.attributes.get(adjustment_key(e))}

    def on_hand_of(self, skus: Iterable[str]) -> dict[str, int]:
        self.calls["on_hand_of"] += 1
        unfolded = self._unfolded_stock()
        return {sku: int(self.on_hand[sku] + unfolded[sku]) for sku in skus}

    def sku_stock(self, skus: Iterable[str]) -> dict[str, SkuStock]:
        self.calls["sku_stock"] += 1
        found = {}
        unfolded = self._unfolded_stock()
        for sku in skus:
            item = self.catalogue.get(sku, {})
            status, crossings = self.stock_states.get(sku, ("ok", 0))
            point, lead, price = item.get("reorder_point"), item.get("lead_time_days"), item.get("price")
            found[sku] = SkuStock(
                sku=sku,
                on_hand=int(self.on_hand[sku] + unfolded[sku]),
                reorder_point=None if point is None else int(point),
                status=status,  # type: ignore[arg-type]
                crossings=crossings,
                name=item.get("name"),
                category=item.get("category"),
                has_status=sku in self.stock_states,
                lead_time_days=None if lead is None else int(lead),
                price=None if price is None else Decimal(str(price)),
                known=bool(item) or sku in self.on_hand or sku in unfolded,
            )
        return found

    def pending_stock_alerts(self, skus: Iterable[str]) -> dict[str, str]:
        self.calls["pending_stock_alerts"] += 1
        return {sku: self.pending_stock[sku] for sku in skus if sku in self.pending_stock}

    def every_pending_stock_alert(self) -> dict[str, str]:
        self.calls["every_pending_stock_alert"] += 1
        return dict(sorted(self.pending_stock.items()))

    def record_stock_crossing(
        self, stock: SkuStock, status: str, crossings: int, alert: Mapping[str, Any] | None
    ) -> bool:
        self.calls["record_stock_crossing"] += 1
        stored = self.stock_states.get(stock.sku)
        if (stored[0] if stored else None) != (stock.status if stock.has_status else None):
            return False
        if alert is not None and stock.sku in self.pending_stock:
            return False
        self.stock_states[stock.sku] = (status, crossings)
        if alert is not None:
            self.pending_stock[stock.sku] = json.dumps(alert)
        return True

    def clear_pending_stock_alert(self, sku: str, alert: str) -> bool:
        self.calls["clear_pending_stock_alert"] += 1
        if self.pending_stock.get(sku) != alert:
            return False
        del self.pending_stock[sku]
        return True

    def settle_stock_inbox(self, skus: Iterable[str] | None) -> int:
        # The fake keeps one counter per SKU: nothing to move, and on hand never changes.
        self.calls["settle_stock_inbox"] += 1
        return 0

    def migrate_stock_buckets(self) -> int:
        # A table of this release's layout only: no bucket to empty.
        self.calls["migrate_stock_buckets"] += 1
        return 0

    def stock_page(self, after: str | None, limit: int) -> tuple[list[SkuStock], bool]:
        self.calls["stock_page"] += 1
        known = set(self.catalogue) | set(self.on_hand) | set(self._unfolded_stock())
        skus = sorted(sku for sku in known if after is None or sku > after)
        return list(self.sku_stock(skus[:limit]).values()), len(skus) > limit

    # stock-in items: by key, as the table keeps them; on hand adds those of the open days

    def stock_in_state(self, markers: Iterable[Claim]) -> tuple[set[Claim], date | None]:
        self.calls["stock_in_state"] += 1
        counted = {c for c in markers if c.attribute in self.attributes.get(c.item, {})}
        return counted, self.stock_in_watermark()

    def stock_in_watermark(self) -> date | None:
        self.calls["stock_in_watermark"] += 1
        return self.stock_in_through

    def put_stock_in(self, parts: Sequence[StockIn]) -> set[str]:
        self.calls["put_stock_in"] += 1
        new: set[str] = set()
        for part in parts:
            item = stock_in_key(part.day, part.ref)
            if item in self.stock_in or PART in self.attributes.get(item, {}):
                continue  # a redelivery's put, or the part's tombstone: the condition fails
            self.stock_in[item] = part
            new.add(part.ref)
            # (the attributes the table's item has: a redelivery asks which it holds)
            self.attributes[item].update({PART: part.ref, DELTAS: True})
            if part.day_content is not None:
                self.attributes[item][DAY_CONTENT] = True
        return new

    def count_late_stock_in(self, parts: Sequence[StockIn]) -> None:
        self.calls["count_late_stock_in"] += 1
        self._count([late_stock_in(part) for part in parts])

    def fold_stock_in(self, day: date) -> int:
        self.calls["fold_stock_in"] += 1
        content: dict[date, DayContent] = {}
        for item, part in self.stock_in.items():
            if item[0] == stock_in_partition(day):
                for store_day, found in (part.day_content or {}).items():
                    content[store_day] = content[store_day].merge(found) if store_day in content else found
        for put in day_part_items_of(day, content):
            self.immutable[(put["pk"], put["sk"])] = put
        moved = 0
        for item, part in self.stock_in.items():
            if item[0] == stock_in_partition(day) and item not in self.stock_in_folded:
                self.record_facts(part.order_facts)
                self.on_hand.update(part.stock)
                self.stock_in_folded.add(item)
                moved += len(part.stock)
        return moved

    def set_stock_in_watermark(self, day: date) -> None:
        self.calls["set_stock_in_watermark"] += 1
        if self.stock_in_through is None or day > self.stock_in_through:
            self.stock_in_through = day

    def unfolded_facts(self) -> list[str]:
        self.calls["unfolded_facts"] += 1
        return [fact for part in self._open_stock_in() for fact in part.order_facts]

    def _open_stock_in(self) -> list[StockIn]:
        # (the fake reads every day after the watermark: no clock decides which may hold items)
        through = self.stock_in_through
        return [
            p
            for k, p in self.stock_in.items()
            if through is not None and p.day > through and k not in self.stock_in_folded
        ]

    def _unfolded_stock(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for part in self._open_stock_in():
            total.update(part.stock)
        return total

    def daily_sales(self, days: Sequence[date]) -> dict[date, dict[str, Any]]:
        self.calls["daily_sales"] += 1
        view = self._day_view()
        return {d: sales for d in days if (sales := self._day_sales(d, view))}

    def day_sku_sales(
        self, days: Sequence[date], *, consistent: bool = False
    ) -> dict[date, dict[str, SkuSales]]:
        self.calls["day_sku_sales"] += 1
        view = self._day_view()
        found: dict[date, dict[str, SkuSales]] = {}
        for day in days:
            sold = dict(self.sku_sales.get(day, {}))
            parts = [
                item
                for (pk, sk), item in self.immutable.items()
                if pk == f"DAY#{day.isoformat()}" and sk.startswith(DAY_SKU_PART)
            ]
            lines = [line for item in [*parts, *self._day_parts(day, view)] for line in sku_lines(item)]
            for sku, units, revenue in [*lines, *view.of(day).lines]:
                before = sold.get(sku, SkuSales(0, Decimal(0)))
                sold[sku] = SkuSales(before.units + units, before.revenue + revenue)
            if sold:
                found[day] = sold
        return found

    # Long ranges come day by day: the figures a month rollup would give.

    def range_sales_and_sets(self, start: date, end: date) -> tuple[list[DaySales], list[DaySets]]:
        self.calls["range_sales_and_sets"] += 1
        return self.day_sales_and_sets(list(days_between(start, end)))

    def range_sku_sales(self, start: date, end: date) -> list[dict[str, SkuSales]]:
        self.calls["range_sku_sales"] += 1
        return list(self.day_sku_sales(list(days_between(start, end))).values())

    def cohort_months(self, first: str, today: date) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        self.calls["cohort_months"] += 1
        last = month_of(today)
        new: dict[str, set[str]] = {}
        active: dict[str, set[str]] = {}
        for k in range(cohorts.months_between(first, last) + 1 if first <= last else 0):
            month = cohorts.add_months(first, k)
            month_days = [d for d in days_between(*rollups.month_days(month)) if d <= today]
            folded = rollups.fold((), self.day_sales_and_sets(month_days)[1])
            if folded.new:
                new[month] = set(folded.new)
            if folded.customers:
                active[month] = set(folded.customers)
        return new, active

    # Products bought together: the baskets are in the orders processor's immutable items (its
    # parts' SKU items; basket items of their own before December 2026).

    def _baskets(self, day: date) -> tuple[frozenset[str], list[Basket]]:
        view = self._day_view()
        items = [
            item
            for (pk, sk), item in self.immutable.items()
            if pk == f"DAY#{day.isoformat()}"
            and (
                sk.startswith(BASKET_PREFIX)
                or (sk.startswith(DAY_SKU_PART) and PART_BASKETS in item)
                or (sk.startswith(DAY_PART) and PART_BASKETS in item and view.counts(sk))
            )
        ]
        listed = {
            item["sk"]: unpack(item[PART_BASKETS]) if PART_BASKETS in item else members_of(item, BASKETS)
            for item in items
        }
        listed.update(view.basket_keys(day))
        found = [Basket.from_member(member) for members in listed.values() for member in members]
        return frozenset(listed), found

    def range_pair_counts(self, start: date, end: date) -> PairCounts:
        self.calls["range_pair_counts"] += 1
        return PairCounts.of(b for day in days_between(start, end) for b in self._baskets(day)[1])

    def current_pair_months(self, months: Sequence[str]) -> tuple[dict[str, PairCounts], list[str]]:
        self.calls["current_pair_months"] += 1
        current = {
            m: fold[1]
            for m in months
            if (fold := self.month_folds.get(m)) is not None and fold[0] == self.month_stamps[m]
        }
        return current, [m for m in months if m not in current]

    def day_pair_counts(self, days: Sequence[date], stamps: Mapping[str, int]) -> dict[date, DayPairs]:
        self.calls["day_pair_counts"] += 1
        found = {}
        for day in days:
            fold = self.day_folds.get(day)
            keys, baskets = self._baskets(day)
            if fold is not None and fold[0] is not None and fold[0] == stamps[month_of(day)]:
                found[day] = DayPairs(fold[1], fold[2], True, True)
            elif fold is not None and fold[2] == keys:
                found[day] = DayPairs(fold[1], keys, False, True)
            else:
                found[day] = DayPairs(PairCounts.of(baskets), keys, False)
        return found

    def put_day_pair_fold(
        self, day: date, found: DayPairs, covered: int | None, computed_at: str, so_far: PairCounts
    ) -> bool:
        self.calls["put_day_pair_fold"] += 1
        self.day_folds[day] = (covered, found.counts, found.basket_keys)
        return True

    def put_month_pair_fold(self, month: str, counts: PairCounts, covered: int, computed_at: str) -> bool:
        self.calls["put_month_pair_fold"] += 1
        self.month_folds[month] = (covered, counts)
        return True

    # The forecasts

    def sku_forecasts(self, skus: Iterable[str]) -> dict[str, Forecast]:
        self.calls["sku_forecasts"] += 1
        return {
            sku: Forecast(date.fromisoformat(state.as_of), tuple(float(u) for u in state.units))
            for sku in skus
            if (state := self.forecast_records.get(sku)) is not None
            and state.units is not None
            and state.as_of is not None
        }

    def forecast_states(self, skus: Iterable[str]) -> dict[str, ForecastState]:
        self.calls["forecast_states"] += 1
        return {sku: self.forecast_records[sku] for sku in skus if sku in self.forecast_records}

    def _forecast_record(self, sku: str) -> ForecastState:
        return self.forecast_records.get(sku, ForecastState(None, None, False, 0, None))

    def put_forecast(self, sku: str, plan: Forecast) -> None:
        self.calls["put_forecast"] += 1
        self.forecast_records[sku] = replace(
            self._forecast_record(sku), units=stored_units(plan), as_of=plan.as_of.isoformat()
        )

    def start_stockout_risk(self, sku: str, crossings: int, alert: str) -> bool:
        self.calls["start_stockout_risk"] += 1
        record = self._forecast_record(sku)
        if record.risk_crossings != crossings:
            return False
        self.forecast_records[sku] = replace(
            record, at_risk=True, risk_crossings=crossings + 1, pending_alert=alert
        )
        return True

    def end_stockout_risk(self, sku: str) -> None:
        self.calls["end_stockout_risk"] += 1
        self.forecast_records[sku] = replace(self._forecast_record(sku), at_risk=False)

    def clear_pending_risk_alert(self, sku: str, alert: str) -> None:
        self.calls["clear_pending_risk_alert"] += 1
        record = self._forecast_record(sku)
        if record.pending_alert == alert:
            self.forecast_records[sku] = replace(record, pending_alert=None)

    def keep_unmapped_webhook(self, unmapped: Unmapped, payload: Any) -> None:
        self.calls["keep_unmapped_webhook"] += 1
        self.unmapped[(unmapped.platform, unmapped.delivery_id)] = (unmapped, payload)

    def hold_lease(
        self, name: str, *, seconds: float, clock: Clock = time.time
    ) -> AbstractContextManager[Lease]:
        self.calls["hold_lease"] += 1
        if name in self.leases:
            raise Taken(name, clock() + seconds)
        return self._held(name)

    @contextmanager
    def _held(self, name: str) -> Iterator[Any]:
        self.leases.add(name)
        try:
            yield SimpleNamespace(check=lambda: None)
        finally:
            self.leases.discard(name)

    def store_alerts(self, alerts: Iterable[Alert]) -> None:
        self.calls["store_alerts"] += 1
        for alert in alerts:
            self.feed[alert_feed_key(alert)] = alert.model_dump(mode="json", exclude_none=True)

    def alert_feed(
        self, since: datetime | None, limit: int, *, alert_type: str | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        self.calls["alert_feed"] += 1
        start = "" if since is None else since.astimezone(UTC).isoformat()
        found = [
            alert
            for (_, sk), alert in sorted(self.feed.items(), reverse=True)
            if sk >= start and (alert_type is None or alert["type"] == alert_type)
        ]
        return found[:limit], len(found) > limit

    def record_facts(self, facts: Iterable[str]) -> None:
        self.calls["record_facts"] += 1
        # Sharded as the table shards them (the adapter's own items).
        for item in fact_items(facts):
            self.fact_shards[int(item["pk"].removeprefix(FACTS_PREFIX))].extend(facts_of(item))

    def facts(self, shard: int) -> list[str]:
        self.calls["facts"] += 1
        return list(self.fact_shards.get(shard, ()))

    def put_segments_snapshot(self, snapshot: Mapping[str, Any]) -> None:
        self.calls["put_segments_snapshot"] += 1
        self.snapshot = dict(snapshot)

    def segments_snapshot(self) -> dict[str, Any] | None:
        self.calls["segments_snapshot"] += 1
        return self.snapshot

    def record_anomaly(self, day: date, metric: str, alert: Mapping[str, Any]) -> AnomalyRecord:
        self.calls["record_anomaly"] += 1
        return self.anomalies.setdefault(
            anomaly_key(day, metric), AnomalyRecord(json.loads(json.dumps(alert)), False)
        )

    def mark_anomaly_sent(self, day: date, metric: str) -> None:
        self.calls["mark_anomaly_sent"] += 1
        key = anomaly_key(day, metric)
        self.anomalies[key] = AnomalyRecord(self.anomalies[key].alert, True)

    def order_links(self, order_ids: Iterable[str]) -> dict[str, OrderLink]:
        self.calls["order_links"] += 1
        return {o: self.links[o] for o in order_ids if o in self.links}

    def refund_notes(self, order_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        self.calls["refund_notes"] += 1
        return {o: dict(notes) for o in order_ids if (notes := self.attributes.get(order_refunds_key(o)))}

    def note_orphans(self, order_ids: Iterable[str]) -> None:
        self.calls["note_orphans"] += 1
        self.orphans |= set(order_ids)

    def noted_orphans(self) -> set[str]:
        self.calls["noted_orphans"] += 1
        return set(self.orphans)

    def settle_orphans(self, order_ids: Iterable[str]) -> None:
        self.calls["settle_orphans"] += 1
        self.orphans -= set(order_ids)
