"""Read routes: health, the summary metrics and the OpenAPI description."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import AfterValidator

from backend.adapters.clients import client
from backend.api.auth import check_key, header
from backend.api.errors import ApiError, json_response
from backend.domain import metrics
from backend.domain.calendar import previous_period, within_calendar
from backend.processing.context import Context
from backend.processing.figures import summary_for
from backend.settings import get_settings

MAX_RANGE_DAYS = 731

router = APIGatewayRouter()

CalendarDay = Annotated[date, AfterValidator(within_calendar)]
StartDate = Annotated[
    CalendarDay,
    Query(description="First day of the range, YYYY-MM-DD (store time zone)", examples=["2025-03-01"]),
]
EndDate = Annotated[
    CalendarDay, Query(description="Last day of the range, inclusive", examples=["2025-03-31"])
]


def require_read_key() -> None:
    settings = get_settings()
    check_key(
        header(router.current_event.headers, "x-api-key"),
        settings.read_key_sha256,
        settings.ingest_key_sha256,
        "read",
    )


def check_range(start: date, end: date) -> None:
    """400 naming the parameter when the range is backwards or too long."""
    if end < start:
        raise ApiError(400, "invalid_range", "end: must be on or after start", [{"parameter": "end"}])
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ApiError(
            400,
            "range_too_long",
            f"end: the range is longer than {MAX_RANGE_DAYS} days",
            [{"parameter": "end"}],
        )


@router.get("/v1/health", summary="Liveness (no key)", tags=["meta"])
def health() -> Response[Any]:
    return json_response(200, {"status": "ok"})


@router.get(
    "/v1/metrics/summary",
    summary="Every metric of a date range",
    description=(
        "gross_sales, discounts, returns, net_sales, orders, units, average_order_value, customers, "
        "new_customers, returning_customers, returning_customer_rate over start..end (store days). "
        "With compare=previous_period, the same over the range of equal length just before, and the "
        "change in percent (null when the previous value is 0)."
    ),
    responses={200: {"description": "Money as strings with two decimals, counts as integers, shares 0..1"}},
    tags=["metrics"],
)
def metrics_summary(
    start: StartDate,
    end: EndDate,
    compare: Annotated[Literal["previous_period"] | None, Query(description="previous_period")] = None,
) -> Response[Any]:
    require_read_key()
    check_range(start, end)
    # One view of the lone items for both ranges and the months read day by day.
    context = Context.of(get_settings(), client).for_request()
    current = summary_for(context, start, end)
    body: dict[str, Any] = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "current": metrics.to_json(current),
    }
    if compare:
        before_start, before_end = previous_period(start, end)
        previous = summary_for(context, before_start, before_end)
        body["previous_start"] = before_start.isoformat()
        body["previous_end"] = before_end.isoformat()
        body["previous"] = metrics.to_json(previous)
        body["change_pct"] = metrics.change_to_json(metrics.change_pct(current, previous))
    return json_response(200, body)
