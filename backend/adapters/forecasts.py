"""The forecast items: one small item per SKU, ``FORECAST#<sku>``/``LATEST``.

Each holds the SKU's expected units per weekday (``w``, Monday first, from the ``forecast`` job),
the day of the figures it was made from (``as_of``) and its stock-out risk bookkeeping: ``risk``
(whether it was at risk at the last run), ``rseq`` (how many times it became at risk) and
``pending`` (an alert recorded and not yet known to be sent). A few hundred bytes whatever the
store's size; a page of ``/inventory`` reads the items of its SKUs by key (BatchGetItem).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from backend.adapters.dynamo import Key, batch_get, key, to_ddb
from backend.domain.forecast import Forecast

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

FORECAST_PREFIX = "FORECAST#"
LATEST = "LATEST"
_STORED = Decimal("0.0001")


def forecast_key(sku: str) -> Key:
    """The key of a SKU's forecast item.

    >>> forecast_key("MUG-1")
    ('FORECAST#MUG-1', 'LATEST')
    """
    return (FORECAST_PREFIX + sku, LATEST)


def stored_units(plan: Forecast) -> list[Decimal]:
    """The weekday units as stored: exact decimals to four places."""
    return [Decimal(repr(u)).quantize(_STORED, ROUND_HALF_UP) for u in plan.weekday_units]


def as_forecast(item: Mapping[str, Any]) -> Forecast | None:
    """The forecast an item holds (``None`` for an item with risk bookkeeping only)."""
    if "w" not in item:
        return None
    return Forecast(date.fromisoformat(item["as_of"]), tuple(float(u) for u in item["w"]))


@dataclass(frozen=True)
class ForecastState:
    """What a SKU's forecast item records: its forecast as stored, and its stock-out risk."""

    #: The expected units per weekday as stored, and the day the figures ended (``None``: none yet).
    units: list[Decimal] | None
    as_of: str | None
    #: Whether it was at risk at the last run; how many times it became at risk.
    at_risk: bool
    risk_crossings: int
    #: The alert (JSON) recorded when it became at risk and not yet known to be sent.
    pending_alert: str | None

    def holds(self, plan: Forecast) -> bool:
        """Whether this record already holds ``plan`` (as stored: nothing to write)."""
        return self.units == stored_units(plan) and self.as_of == plan.as_of.isoformat()


def forecast_states(client: DynamoDBClient, table: str, skus: Iterable[str]) -> dict[str, ForecastState]:
    """The forecast records of these SKUs that have one (strongly consistent), by SKU."""
    return {
        sku: ForecastState(
            units=None if "w" not in item else list(item["w"]),
            as_of=item.get("as_of"),
            at_risk=bool(item.get("risk", False)),
            risk_crossings=int(item.get("rseq", 0)),
            pending_alert=item.get("pending"),
        )
        for sku, item in forecast_items(client, table, skus, consistent=True).items()
    }


def forecast_items(
    client: DynamoDBClient, table: str, skus: Iterable[str], *, consistent: bool = False
) -> dict[str, dict[str, Any]]:
    """The forecast items of these SKUs that exist, by SKU."""
    items = batch_get(client, table, [forecast_key(sku) for sku in skus], consistent=consistent)
    return {pk[len(FORECAST_PREFIX) :]: item for (pk, _), item in items.items()}


def forecasts(client: DynamoDBClient, table: str, skus: Iterable[str]) -> dict[str, Forecast]:
    """The forecasts of these SKUs that have one."""
    found = {}
    for sku, item in forecast_items(client, table, skus).items():
        plan = as_forecast(item)
        if plan is not None:
            found[sku] = plan
    return found


def put_forecast(client: DynamoDBClient, table: str, sku: str, plan: Forecast) -> None:
    """Set a SKU's forecast, keeping its risk bookkeeping."""
    client.update_item(
        TableName=table,
        Key=key(*forecast_key(sku)),
        UpdateExpression="SET #w = :w, #as_of = :as_of",
        ExpressionAttributeNames={"#w": "w", "#as_of": "as_of"},
        ExpressionAttributeValues={
            ":w": to_ddb(stored_units(plan)),
            ":as_of": to_ddb(plan.as_of.isoformat()),
        },
    )


def start_risk(client: DynamoDBClient, table: str, sku: str, crossings: int, alert: str) -> bool:
    """Record that a SKU became at risk, with its alert pending, if its bookkeeping is still
    ``crossings`` (else another run did it: ``False``)."""
    try:
        client.update_item(
            TableName=table,
            Key=key(*forecast_key(sku)),
            UpdateExpression="SET #risk = :yes, #rseq = :next, #pending = :alert",
            ConditionExpression="attribute_not_exists(#rseq) OR #rseq = :read",
            ExpressionAttributeNames={"#risk": "risk", "#rseq": "rseq", "#pending": "pending"},
            ExpressionAttributeValues={
                ":yes": to_ddb(True),
                ":next": to_ddb(crossings + 1),
                ":read": to_ddb(crossings),
                ":alert": to_ddb(alert),
            },
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def end_risk(client: DynamoDBClient, table: str, sku: str) -> None:
    """Record that a SKU is no longer at risk: its next risk raises a new alert."""
    client.update_item(
        TableName=table,
        Key=key(*forecast_key(sku)),
        UpdateExpression="SET #risk = :no",
        ExpressionAttributeNames={"#risk": "risk"},
        ExpressionAttributeValues={":no": to_ddb(False)},
    )


def clear_pending(client: DynamoDBClient, table: str, sku: str, alert: str) -> None:
    """Forget a pending alert once sent (only if it is still that one)."""
    with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
        client.update_item(
            TableName=table,
            Key=key(*forecast_key(sku)),
            UpdateExpression="REMOVE #pending",
            ConditionExpression="#pending = :alert",
            ExpressionAttributeNames={"#pending": "pending"},
            ExpressionAttributeValues={":alert": to_ddb(alert)},
        )
