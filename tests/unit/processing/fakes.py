"""An in-memory fake of the analytics table (:class:`backend.adapters.analytics.AnalyticsStore`),
for unit tests of the processing code without moto. It keeps what each call means, not the
items: counters by day and SKU, links by order, alerts by their feed key. What it cannot know
from the interface (the links the orders processor's claims write, the sales per SKU its parts
write) the test gives it with the ``given_*`` methods."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from backend.adapters.analytics import (
    FACTS_PREFIX,
    PROFILE_VERSION,
    AnomalyRecord,
    BusinessClaim,
    Counted,
    Found,
    OrderLink,
    adjustment_key,
    alert_feed_key,
    anomaly_key,
    fact_items,
    facts_of,
    order_refunds_key,
    rollup_head_key,
)
from backend.adapters.claims import outcome
from backend.domain.alerts import Alert
from backend.domain.customers import SETS
from backend.domain.inventory import CatalogueEntry
from backend.domain.products import SkuSales


class FakeAnalytics:
    """The analytics table in memory; ``calls`` counts the calls of each method."""

    def __init__(self) -> None:
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
        for claim in claims:
            stored = self.attributes[claim.item]
            if not stored:
                stored.update(event_id=claim.event_id, owner=claim.owner, **claim.attributes)
                if claim.kind == "order_id":
                    self.links[claim.business_id] = OrderLink(
                        str(claim.attributes["channel"]), str(claim.attributes["customer_id"])
                    )
        return [Found(outcome(c, self.attributes[c.item]), dict(self.attributes[c.item])) for c in claims]

    def count_parts(self, parts: Sequence[Counted]) -> None:
        self.calls["count_parts"] += 1
        self._count(parts)

    def put_immutable(self, items: Iterable[Mapping[str, Any]]) -> None:
        self.calls["put_immutable"] += 1
        for item in items:
            self.immutable[(item["pk"], item["sk"])] = dict(item)

    def stamp_months(self, months: Iterable[str]) -> None:
        self.calls["stamp_months"] += 1
        self.month_stamps.update(set(months))

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
        return [dict(self.day_counters.get(d, {})) for d in days], sets

    def put_rollup_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        self.calls["put_rollup_items"] += 1
        for item in items:
            self.immutable[(item["pk"], item["sk"])] = dict(item)

    def month_change_stamps(self, months: Sequence[str], *, consistent: bool = False) -> dict[str, int]:
        self.calls["month_change_stamps"] += 1
        return {m: self.month_stamps[m] for m in months}

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
        return {sku: int(self.on_hand[sku]) for sku in skus}

    def daily_sales(self, days: Sequence[date]) -> dict[date, dict[str, Any]]:
        self.calls["daily_sales"] += 1
        return {d: dict(self.day_counters[d]) for d in days if self.day_counters.get(d)}

    def day_sku_sales(
        self, days: Sequence[date], *, consistent: bool = False
    ) -> dict[date, dict[str, SkuSales]]:
        self.calls["day_sku_sales"] += 1
        return {d: dict(self.sku_sales[d]) for d in days if self.sku_sales.get(d)}

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
