"""The orders processor: sales rollups, distinct customers and stock, exactly once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from backend.adapters.batch import Parsed
from backend.adapters.dynamo import Claim, Counted, add_to_sets, batch_get, count_once, day_pk
from backend.domain.calendar import store_day
from backend.domain.customers import memberships
from backend.domain.events import Event, OrderPlaced, OrderRefunded
from backend.domain.sales import Contributions
from backend.processing import stock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
else:
    DynamoDBClient = EventBridgeClient = Any

ORDER_PREFIX = "o:"


def profile_key(customer_id: str) -> tuple[str, str]:
    return (f"CUST#{customer_id}", "PROFILE")


def order_entry(event: Event, zone: ZoneInfo) -> str:
    """What a customer's profile keeps of an order: ``<utc time>|<store day>|<net of discounts>``."""
    order: OrderPlaced = event.data
    moment = event.occurred_at.astimezone(ZoneInfo("UTC")).isoformat()
    net = order.gross_sales - order.discount
    return f"{moment}|{store_day(event.occurred_at, zone).isoformat()}|{net}"


def order_days(profile: dict[str, Any]) -> list[date]:
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
        return Claim((f"REFUND#{data.refund_id}", "MARKER"), "counted", event.event_id)
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
    """Count a batch of orders and refunds once, then bring the customer sets and stock alerts
    up to date. Every step after the counting transaction is idempotent and repeated on
    redelivery, so a crash anywhere heals on the next delivery."""
    counted = []
    touched_skus: set[str] = set()
    first_new_day: dict[str, date] = {}
    for item in items:
        event: Event = item.value
        contributions = Contributions()
        contributions.add(event, zone)
        counted.append(Counted(item.message_id, _claim(event, zone), contributions))
        touched_skus.update(contributions.stock)
        if isinstance(event.data, OrderPlaced):
            day = store_day(event.occurred_at, zone)
            customer = event.data.customer_id
            first_new_day[customer] = min(day, first_new_day.get(customer, day))
    count_once(dynamodb, table, counted)
    update_customer_sets(dynamodb, table, first_new_day)
    stock.evaluate(dynamodb, events_client, table, bus, touched_skus)
    return {}


def update_customer_sets(dynamodb: DynamoDBClient, table: str, since: dict[str, date]) -> None:
    """Add these customers to the day sets their (now recorded) orders call for."""
    if not since:
        return
    profiles = batch_get(dynamodb, table, [profile_key(c) for c in since], consistent=True)
    per_day: dict[date, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for customer, first_day in since.items():
        profile = profiles.get(profile_key(customer), {})
        for day, names in memberships(order_days(profile), first_day).items():
            for name in names:
                per_day[day][name].add(customer)
    for day, members in sorted(per_day.items()):
        add_to_sets(dynamodb, table, (day_pk(day), "CUSTOMERS"), members)
