"""``POST /v1/events``: the ingest route."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from backend.adapters.clients import client
from backend.adapters.ingest_table import IngestTable
from backend.api.auth import check_key, header
from backend.api.errors import ApiError, json_response
from backend.processing import ingest
from backend.settings import get_settings

router = APIGatewayRouter()


@router.post(
    "/v1/events",
    summary="Send store events",
    description=(
        "1 to 500 events, body at most 1 MiB, ingest key. Valid events are accepted even when "
        "others are rejected; an event_id seen before is a duplicate. 202 means durably queued."
    ),
    responses={
        202: {"description": "Accepted: {accepted, duplicates, rejected: [{index, event_id, errors}]}"},
        400: {"description": "No valid event, or not JSON of the right shape"},
        401: {"description": "Missing or unknown key"},
        413: {"description": "Body over 1 MiB or over 500 events"},
        503: {"description": "Could not queue every event; send the same batch again"},
    },
    tags=["ingest"],
)
def post_events() -> Response[Any]:
    settings = get_settings()
    event = router.current_event
    check_key(
        header(event.headers, "x-api-key"), settings.ingest_key_sha256, settings.read_key_sha256, "ingest"
    )
    events, rejected = ingest.read_request(
        event.decoded_body, currency=settings.store_currency, pii_key=settings.require("pii_hash_key")
    )
    if not events:
        raise ApiError(
            400, "no_valid_event", "no event in the batch is valid", [r.to_json() for r in rejected]
        )
    outcome = ingest.accept(
        IngestTable(client("dynamodb"), settings.require("ingest_table")),
        client("sns"),
        topic_arn=settings.require("events_topic_arn"),
        events=events,
        rejected=rejected,
    )
    return json_response(202, outcome.to_json())
