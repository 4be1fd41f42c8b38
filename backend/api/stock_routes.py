"""Read routes over stock: the inventory table and the alert feed."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import AwareDatetime, ValidationError, ValidatorFunctionWrapHandler, WrapValidator

from backend.adapters.clients import client
from backend.api.errors import ApiError, json_response
from backend.api.read_routes import require_read_key
from backend.domain.alerts import ANOMALY_TYPES, AlertType
from backend.domain.calendar import within_calendar
from backend.domain.money import format_money
from backend.domain.stock import Status
from backend.processing.context import Context
from backend.processing.figures import MAX_EXAMINED, inventory_page
from backend.settings import get_settings
from backend.wiring import analytics_adapter

MAX_ALERTS = 1000
MAX_INVENTORY_PAGE = 1000
DEFAULT_INVENTORY_PAGE = 500
_CURSOR_PREFIX = "c1."

router = APIGatewayRouter()


def store_today(now: datetime | None = None) -> date:
    """Today in the store's time zone: the one clock of the read API ("the last 28 days" end
    today). ``now`` fixes the instant, for tests."""
    return (now or datetime.now(UTC)).astimezone(get_settings().zone).date()


@router.get(
    "/v1/inventory",
    summary="Stock of every product, with cover, sell-through and ABC class, a page at a time",
    description=(
        "One item per SKU of the catalogue or with stock movements, sorted by sku: on_hand, "
        "reorder_point, units_sold_28d, days_of_cover (one decimal; null when nothing sold in 28 days), "
        "sell_through_28d (0..1, four decimals; null when nothing sold and nothing on hand), status "
        "(ok, low, out) and abc_class (A, B, C over the line revenue of the last 90 days, ranked over "
        "every SKU). The 28 and 90 days are store days ending today (`as_of`), today included. "
        "The demand forecast (the nightly `forecast` job's, null before its first run): "
        "forecast_daily_units (expected units a day, two decimals), stockout_date (the day on hand "
        "runs out at that rate from today, weekly seasonality included; null when nothing is "
        "forecast to sell or it lasts over a year), reorder_by (stockout_date minus lead_time_days, "
        "the SKU's own lead time from product.upserted, else the store's LEAD_TIME_DAYS, 7). "
        f"Paged: at most `limit` items (1 to {MAX_INVENTORY_PAGE}, default {DEFAULT_INVENTORY_PAGE}); "
        "pass `next_cursor` back as `cursor` for the next page; it is null on the last page. With "
        f"`status`, a page examines at most {MAX_EXAMINED} SKUs, so it may hold fewer than `limit` items "
        "and still have a `next_cursor`."
    ),
    responses={
        200: {
            "description": "{as_of, items: [{sku, name, category, on_hand, ..., forecast_daily_units, "
            "stockout_date, reorder_by, lead_time_days}], next_cursor}"
        },
        422: {"description": "a malformed `limit`, `cursor` or `status`, named in the error"},
    },
    tags=["inventory"],
)
def inventory_list(
    status: Annotated[
        Status | None, Query(description="Only the items with this status: ok, low or out", examples=["low"])
    ] = None,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_INVENTORY_PAGE,
            description=f"Items per page, 1 to {MAX_INVENTORY_PAGE}",
            examples=[DEFAULT_INVENTORY_PAGE],
        ),
    ] = DEFAULT_INVENTORY_PAGE,
    cursor: Annotated[
        str | None, Query(description="The `next_cursor` of the previous page", examples=["c1.U0tVLTAwMQ"])
    ] = None,
) -> Response[Any]:
    require_read_key()
    after = None if cursor is None else cursor_position(cursor)
    today = store_today()
    page = inventory_page(
        Context.of(get_settings(), client).for_request(), today, after=after, limit=limit, status=status
    )
    return json_response(
        200,
        {
            "as_of": today.isoformat(),
            "items": [row.to_json() for row in page.rows],
            "next_cursor": None if page.next_after is None else page_cursor(page.next_after),
        },
    )


def page_cursor(after: str) -> str:
    """The opaque cursor of the page that starts after the SKU ``after``.

    >>> page_cursor("SKU-001")
    'c1.U0tVLTAwMQ'
    """
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(after.encode()).decode().rstrip("=")


def cursor_position(cursor: str) -> str:
    """The SKU a cursor made by :func:`page_cursor` starts after; 422 naming ``cursor`` if it is
    not such a cursor.

    >>> cursor_position(page_cursor("SKU-001"))
    'SKU-001'
    """
    body = cursor.removeprefix(_CURSOR_PREFIX)
    try:
        if body == cursor or not body:
            raise ValueError(cursor)
        after = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        if page_cursor(after) != cursor:
            raise ValueError(cursor)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            422,
            "invalid_cursor",
            "cursor: not a cursor of this API; pass the next_cursor of the previous page as it is",
            [{"parameter": "cursor"}],
        ) from None
    return after


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
    summary="Stock alerts, stock-out risks and anomalies, newest first",
    description=(
        "One alert per crossing into low or out (`low_stock`, `out_of_stock`, with `sku`, `on_hand`, "
        "`reorder_point`); one per stock-out risk (`stockout_risk`: also `forecast_daily_units`, "
        "`stockout_date`, `reorder_by`, `lead_time_days`); one per unusual day and metric "
        "(`sales_drop`, `sales_spike`, `refund_spike`, with `metric`, `day`, `value`, `expected` and "
        "`score`; money as decimal strings, orders as numbers) (CONTRACT section 6). `since` keeps the "
        "alerts raised at or after that instant (an ISO-8601 time with its offset, `Z` for UTC; `+` "
        "must be sent as `%2B`) or that store day (YYYY-MM-DD, from its midnight in the store's time "
        "zone); `type` keeps one type. At most `limit` are returned, the newest; `more` says whether "
        "older ones were left out."
    ),
    responses={200: {"description": "{alerts: [{alert_id, type, raised_at, sku, on_hand, ...}], more}"}},
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
    type: Annotated[  # the contract names it `type`
        AlertType | None, Query(description="Only the alerts of this type", examples=["stockout_risk"])
    ] = None,
) -> Response[Any]:
    require_read_key()
    found, more = analytics_adapter().alert_feed(_instant(since), limit, alert_type=type)
    return json_response(200, {"alerts": [alert_json(item) for item in found], "more": more})


_COUNTS = ("on_hand", "reorder_point", "lead_time_days")
_OPTIONAL = ("forecast_daily_units", "stockout_date", "reorder_by", *_COUNTS)


def alert_json(item: dict[str, Any]) -> dict[str, Any]:
    """An alert of the feed as ``/v1/alerts`` shows it: the fields of its type.

    >>> alert_json({"alert_id": "an_1", "type": "sales_drop", "raised_at": "2025-03-11T00:30:00+00:00",
    ...             "metric": "orders", "day": "2025-03-10", "value": "6", "expected": "20.5", "score": -4.2})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'alert_id': 'an_1', 'type': 'sales_drop', 'raised_at': '2025-03-11T00:30:00+00:00', 'metric': 'orders',
     'day': '2025-03-10', 'value': 6, 'expected': 20.5, 'score': -4.2}
    """
    out: dict[str, Any] = {name: item[name] for name in ("alert_id", "type", "raised_at")}
    if item["type"] in ANOMALY_TYPES:
        money = item["metric"] != "orders"
        out["metric"], out["day"] = item["metric"], item["day"]
        for name in ("value", "expected"):
            amount = Decimal(str(item[name]))
            out[name] = (
                format_money(amount)
                if money
                else (int(amount) if amount == amount.to_integral() else float(amount))
            )
        out["score"] = float(item["score"])
        return out
    out["sku"] = item["sku"]
    for name in _OPTIONAL:
        if name in item:
            out[name] = int(item[name]) if name in _COUNTS else item[name]
    if "forecast_daily_units" in out:
        out["forecast_daily_units"] = float(out["forecast_daily_units"])
    return out
