"""The orders processor: sales rollups, distinct customers and stock, exactly once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from backend.adapters.batch import Parsed
from backend.adapters.dynamo import (
    Claim,
    Counted,
    add_to_sets,
    batch_put,
    count_once,
    day_pk,
    days_of,
    profile_key,
    touch_months,
)
from backend.domain.calendar import store_day
from backend.domain.customers import memberships
from backend.domain.events import Event, OrderPlaced, OrderRefunded
from backend.domain.rollups import month_of
from backend.domain.sales import Contributions
from backend.processing import cohorts, returns, stock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
else:
    DynamoDBClient = EventBridgeClient = Any

ORDER_PREFIX = "o:"


def order_entry(event: Event, zone: ZoneInfo) -> str:
    """What a customer's profile keeps of an order: ``<utc time>|<store day>|<net of discounts>``."""
    order: OrderPlaced = event.data
    moment = event.occurred_at.astimezone(ZoneInfo("UTC")).isoformat()
    net = order.gross_sales - order.discount
    return f"{moment}|{store_day(event.occurred_at, zone).isoformat()}|{net}"


def order_days(profile: Mapping[str, Any]) -> list[date]:
    """The store day of each order in a customer profile."""
    return [
        date.fromisoformat(str(value).split("|")[1])
        for name, value in profile.items()
        if name.startswith(ORDER_PREFIX)
    ]


def _claim(event: Event, zone: ZoneInfo) -> Claim:
    data = event.data
    if isinstance(data, OrderPlaced):
        return Claim(profile_key(data.customer_id), ORDER_PREFIX + data.order_id, order_entry(event, zone))
    if isinstance(data, OrderRefunded):
        return returns.refund_claim(event, zone)
    raise TypeError(f"the orders processor does not take {event.type}")


def apply(
    dynamodb: DynamoDBClient,
    events_client: EventBridgeClient,
    *,
    table: str,
    bus: str,
    zone: ZoneInfo,
    items: Sequence[Parsed],
) -> dict[str, BaseException]:
    """Count a batch of orders and refunds once, then bring the returns per channel, the
    customer sets and stock alerts up to date.

    The customers' profiles are read first (strongly consistent): orders already on them were
    counted before and are not counted again, and each customer's cohort state change goes into
    the counting transaction (:class:`backend.processing.cohorts.Profiles`). The orders' link
    items and new customers' directory entries are immutable facts, put (plain, idempotent)
    before the transaction; every step after it is idempotent and repeated on redelivery, so a
    crash anywhere heals on the next delivery."""
    counted = []
    links: dict[str, dict[str, Any]] = {}
    refunds: list[tuple[str, Event]] = []
    touched_skus: set[str] = set()
    touched_days: set[date] = set()
    first_new_day: dict[str, date] = {}
    for item in items:
        event: Event = item.value
        contributions = Contributions()
        contributions.add(event, zone)
        touched_skus.update(contributions.stock)
        touched_days.update(days_of(contributions))
        if isinstance(event.data, OrderRefunded):
            refunds.append((item.message_id, event))
            continue
        counted.append(Counted(item.message_id, _claim(event, zone), contributions))
        if isinstance(event.data, OrderPlaced):
            day = store_day(event.occurred_at, zone)
            customer = event.data.customer_id
            first_new_day[customer] = min(day, first_new_day.get(customer, day))
            links[event.data.order_id] = returns.link_item(event.data)
    profiles = cohorts.Profiles(
        dynamodb,
        table,
        first_new_day,
        profile_key=profile_key,
        order_days=order_days,
        order_prefix=ORDER_PREFIX,
    )
    directory = cohorts.directory_items(profiles.new_customers())
    batch_put(dynamodb, table, [*links.values(), *directory])
    views = profiles.views
    unknown = {event.data.order_id for _, event in refunds} - set(links)
    known = {**returns.read_links(dynamodb, table, unknown), **links}
    counted += returns.counted_refund(dynamodb, table, zone, refunds, known)
    todo = [
        c
        for c in counted
        if not (c.claim.attribute.startswith(ORDER_PREFIX) and c.claim.attribute in views.get(_owner(c), {}))
    ]
    count_once(dynamodb, table, todo, guards=profiles, touch=False)
    returns.attribute(dynamodb, table, (item.value for item in items), known)
    customer_days = update_customer_sets(dynamodb, table, first_new_day, profiles.views)
    # After every write to the batch's days, whether this delivery counted its events or found
    # them counted before (a crash may have come between those writes and this bump).
    touch_months(dynamodb, table, (month_of(d) for d in customer_days | touched_days))
    stock.evaluate(dynamodb, events_client, table, bus, touched_skus)
    return {}


def _owner(counted: Counted) -> str:
    """The customer whose profile an order's claim is on."""
    return counted.claim.item[0].split("#", 1)[1]


def update_customer_sets(
    dynamodb: DynamoDBClient, table: str, since: Mapping[str, date], profiles: Mapping[str, Mapping[str, Any]]
) -> set[date]:
    """Add these customers to the day sets their orders call for; returns the days written.

    Parameters
    ----------
    since
        Customer id -> the earliest store day of their orders in the batch.
    profiles
        Customer id -> their profile as counted (read, plus the orders this batch wrote).
    """
    per_day: dict[date, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for customer, first_day in since.items():
        for day, names in memberships(order_days(profiles.get(customer, {})), first_day).items():
            for name in names:
                per_day[day][name].add(customer)
    for day, members in sorted(per_day.items()):
        add_to_sets(dynamodb, table, (day_pk(day), "CUSTOMERS"), members)
    return set(per_day)
