"""Read routes over stock: the inventory table and the alert feed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import AwareDatetime, ValidationError, ValidatorFunctionWrapHandler, WrapValidator

from backend.adapters import reads
from backend.adapters.clients import client
from backend.api.errors import json_response
from backend.api.read_routes import require_read_key
from backend.domain.calendar import within_calendar
from backend.domain.stock import Status
from backend.processing.figures import inventory_report
from backend.settings import get_settings

MAX_ALERTS = 1000

router = APIGatewayRouter()


def store_today(now: datetime | None = None) -> date:
    """Today in the store's time zone: the one clock of the read API ("the last 28 days" end
    today). ``now`` fixes the instant, for tests."""
    return (now or datetime.now(UTC)).astimezone(get_settings().zone).date()


@router.get(
    "/v1/inventory",
    summary="Stock of every product, with cover, sell-through and ABC class",
    description=(
        "One item per SKU of the catalogue or with stock movements, by sku: on_hand, reorder_point, "
        "units_sold_28d, days_of_cover (one decimal; null when nothing sold in 28 days), "
        "sell_through_28d (0..1, four decimals; null when nothing sold and nothing on hand), status "
        "(ok, low, out) and abc_class (A, B, C over the line revenue of the last 90 days). The 28 "
        "and 90 days are store days ending today (`as_of`), today included."
    ),
    responses={200: {"description": "{as_of, items: [{sku, name, category, on_hand, ...}]}"}},
    tags=["inventory"],
)
def inventory_list(
    status: Annotated[
        Status | None, Query(description="Only the items with this status: ok, low or out", examples=["low"])
    ] = None,
) -> Response[Any]:
    require_read_key()
    today = store_today()
    rows = inventory_report(today)
    items = [row.to_json() for row in rows if status is None or row.status == status]
    return json_response(200, {"as_of": today.isoformat(), "items": items})


def _one_problem(value: Any, handler: ValidatorFunctionWrapHandler) -> datetime | date:
    # Either form failing is one mistake: say what is expected once, not once per form.
    try:
        moment: datetime | date = handler(value)
    except ValidationError:
        raise ValueError(
            "must be a store day (2025-03-01) or an instant with its offset (2025-03-01T09:30:00Z)"
        ) from None
    return within_calendar(moment)


Since = Annotated[AwareDatetime | date, WrapValidator(_one_problem)]


def _instant(since: datetime | date | None) -> datetime | None:
    """``since`` as an instant: a store day stands for its midnight in the store's time zone."""
    if since is None or isinstance(since, datetime):
        return since
    return datetime(since.year, since.month, since.day, tzinfo=get_settings().zone)


@router.get(
    "/v1/alerts",
    summary="Low-stock and out-of-stock alerts, newest first",
    description=(
        "One alert per crossing into low or out (CONTRACT section 6). `since` keeps the alerts raised "
        "at or after that instant (an ISO-8601 time with its offset, `Z` for UTC; `+` must be sent as "
        "`%2B`) or that store day (YYYY-MM-DD, from its midnight in the store's time zone). At most "
        "`limit` are returned, the newest; `more` says whether older ones were left out."
    ),
    responses={200: {"description": "{alerts: [{alert_id, sku, type, on_hand, ...}], more}"}},
    tags=["inventory"],
)
def alerts_list(
    since: Annotated[
        Since | None,
        Query(
            description="An instant with its offset, or a store day",
            examples=["2025-03-01", "2025-03-01T09:30:00Z"],
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_ALERTS, description=f"How many at most, 1 to {MAX_ALERTS}", examples=[100])
    ] = 100,
) -> Response[Any]:
    require_read_key()
    table = get_settings().require("analytics_table")
    found, more = reads.alert_feed(client("dynamodb"), table, _instant(since), limit)
    alerts = [
        {
            "alert_id": item["alert_id"],
            "sku": item["sku"],
            "type": item["type"],
            "on_hand": int(item["on_hand"]),
            "reorder_point": int(item["reorder_point"]),
            "raised_at": item["raised_at"],
        }
        for item in found
    ]
    return json_response(200, {"alerts": alerts, "more": more})
