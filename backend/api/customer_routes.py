"""Read routes over customers: the cohort retention matrix and the RFM segments."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from backend.api.errors import ApiError, json_response
from backend.api.read_routes import MAX_RANGE_DAYS, require_read_key
from backend.api.stock_routes import store_today
from backend.domain import cohorts
from backend.wiring import analytics_adapter

router = APIGatewayRouter()

# Months of the years 1900 to 2999 (backend.domain.calendar.FIRST_DAY .. LAST_DAY).
MONTH_PATTERN = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$"
StartMonth = Annotated[
    str,
    Query(
        pattern=MONTH_PATTERN,
        description="First cohort month, YYYY-MM (store time zone)",
        examples=["2025-01"],
    ),
]
EndMonth = Annotated[
    str,
    Query(pattern=MONTH_PATTERN, description="Last cohort month, YYYY-MM, inclusive", examples=["2025-06"]),
]


def check_months(start_month: str, end_month: str) -> None:
    """400 naming ``end_month`` when it is before ``start_month`` or the months span more than
    731 days (24 months always fit)."""
    if end_month < start_month:
        raise ApiError(
            400, "invalid_range", "end_month: must be on or after start_month", [{"parameter": "end_month"}]
        )
    for name, value in (("start_month", start_month), ("end_month", end_month)):
        # The calendar has no year 0 (YYYY-MM allows 0000), and a month's cohort needs the month before.
        if value < "0001-02":
            raise ApiError(
                400, "invalid_parameter", f"{name}: months start at 0001-02", [{"parameter": name}]
            )
    first = date.fromisoformat(f"{start_month}-01")
    year, month = int(end_month[:4]), int(end_month[5:])
    last = date(year, month, calendar.monthrange(year, month)[1])
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ApiError(
            400,
            "range_too_long",
            f"end_month: the months span more than {MAX_RANGE_DAYS} days (at most 24 months)",
            [{"parameter": "end_month"}],
        )


@router.get(
    "/v1/customers/cohorts",
    summary="Retention by first-order month",
    description=(
        "One row per cohort month from start_month to end_month: the customers whose first order "
        "ever was in that month (`size`), how many of them ordered in month cohort + k (`active`) "
        "and that as a share of the cohort (`retention`, k = 0 is 1.0; fractions rounded half-up "
        "to 4 decimals). k runs up to the current month in the store's time zone (`as_of`): "
        "months that have not happened are left out, so a cohort of this month has one entry and "
        "a future cohort none. An empty cohort has size 0 and zeros. Exact under late events: an "
        "earlier order that arrives late moves its customer to the earlier cohort."
    ),
    responses={
        200: {
            "description": "{as_of, cohorts: [{cohort, size, active: [..], retention: [..]}]}",
            "content": {
                "application/json": {
                    "schema": {"type": "object"},
                    "examples": {
                        "three months": {
                            "value": {
                                "as_of": "2025-03",
                                "cohorts": [
                                    {
                                        "cohort": "2025-01",
                                        "size": 40,
                                        "active": [40, 9, 6],
                                        "retention": [1.0, 0.225, 0.15],
                                    },
                                    {
                                        "cohort": "2025-02",
                                        "size": 35,
                                        "active": [35, 7],
                                        "retention": [1.0, 0.2],
                                    },
                                ],
                            }
                        }
                    },
                }
            },
        }
    },
    tags=["customers"],
)
def customers_cohorts(start_month: StartMonth, end_month: EndMonth) -> Response[Any]:
    require_read_key()
    check_months(start_month, end_month)
    months = [
        cohorts.add_months(start_month, k) for k in range(cohorts.months_between(start_month, end_month) + 1)
    ]
    today = store_today()
    current = cohorts.month_of(today)
    new, active = analytics_adapter().cohort_months(start_month, today)
    rows = [
        {**row, "retention": [float(s) for s in row["retention"]]}
        for row in cohorts.cohort_rows(new, active, months, current)
    ]
    return json_response(
        200, {"start_month": start_month, "end_month": end_month, "as_of": current, "cohorts": rows}
    )


@router.get(
    "/v1/customers/segments",
    summary="Customers by RFM segment",
    description=(
        "The last snapshot of the `segments` job (daily at 02:30 store time; "
        "`storepulse run-job segments` runs it now): every customer with an order, scored 1-5 on "
        "recency, frequency and monetary value by quintile and named by the rules of "
        "docs/metrics.md. Per segment (all nine listed, in a fixed order): `customers` and "
        "`share_of_revenue` (the segment's monetary value over all customers', 0..1, 4 decimals). "
        "`as_of` is the store day the scores are computed for; before the job's first run "
        "`as_of` is null and `segments` empty."
    ),
    responses={
        200: {
            "description": (
                "{as_of, computed_at, customers, segments: [{segment, label, customers, share_of_revenue}]}"
            ),
            "content": {
                "application/json": {
                    "schema": {"type": "object"},
                    "examples": {
                        "a snapshot": {
                            "value": {
                                "as_of": "2025-03-31",
                                "computed_at": "2025-03-31T06:30:02+00:00",
                                "customers": 120,
                                "segments": [
                                    {
                                        "segment": "champions",
                                        "label": "Champions",
                                        "customers": 14,
                                        "share_of_revenue": 0.3121,
                                    },
                                    {
                                        "segment": "lost",
                                        "label": "Lost",
                                        "customers": 30,
                                        "share_of_revenue": 0.0655,
                                    },
                                ],
                            }
                        },
                        "before the first run": {
                            "value": {"as_of": None, "computed_at": None, "customers": 0, "segments": []}
                        },
                    },
                }
            },
        }
    },
    tags=["customers"],
)
def customers_segments() -> Response[Any]:
    require_read_key()
    snapshot = analytics_adapter().segments_snapshot()
    if snapshot is None:
        return json_response(200, {"as_of": None, "computed_at": None, "customers": 0, "segments": []})
    rows = [
        {
            "segment": row["segment"],
            "label": row["label"],
            "customers": int(row["customers"]),
            "share_of_revenue": float(row["share_of_revenue"]),
        }
        for row in snapshot["segments"]
    ]
    body = {
        "as_of": snapshot["as_of"],
        "computed_at": snapshot["computed_at"],
        "customers": int(snapshot["customers"]),
        "segments": rows,
    }
    return json_response(200, body)
