"""Reports, digest subscriptions and the one-click unsubscribe (CONTRACT sections 4 and 5).

``/reports`` and ``/subscriptions`` take the read key; ``/confirm``, ``/unsubscribe`` and the
digest's download link take no key: a signed token in the link is the credential. Opening a
confirmation or unsubscribe link (``GET``) shows a page and changes nothing; its button
``POST``s the same link, which acts (mail scanners follow links, RFC 8058).
"""

from __future__ import annotations

import html
import json
import logging
import re
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from backend.adapters import reports_store as store
from backend.adapters.clients import client, presigner
from backend.api.errors import ApiError, error_response, json_response
from backend.api.read_routes import check_range, require_read_key
from backend.domain.reports import (
    MAX_SUBSCRIPTIONS,
    ReportRequest,
    SubscriptionRequest,
    TokenExpired,
    TokenInvalid,
    file_name,
    verify_token,
)
from backend.processing import subscriptions
from backend.processing.context import Context
from backend.settings import get_settings
from backend.wiring import reports_adapter

logger = logging.getLogger(__name__)
router = APIGatewayRouter()

_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
UNSUBSCRIBE = "unsubscribe"
DOWNLOAD = "download"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def download_url(report: dict[str, Any], now: datetime) -> tuple[str, str]:
    """A fresh presigned GET of a ready report and when it expires (never log the URL)."""
    settings = get_settings()
    ttl = settings.report_url_ttl
    name = file_name(report["type"], date.fromisoformat(report["start"]), date.fromisoformat(report["end"]))
    url = store.presigned_download(
        presigner(), settings.require("reports_bucket"), report["object_key"], name, ttl
    )
    return url, _iso(now + timedelta(seconds=ttl))


def report_view(report: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The wire form of a report: ``download_url``/``expires_at`` are null until it is ready."""
    url = expires = None
    if report["status"] == "ready":
        url, expires = download_url(report, now)
    view = {
        "report_id": report["report_id"],
        "type": report["type"],
        "start": report["start"],
        "end": report["end"],
        "status": report["status"],
        "download_url": url,
        "expires_at": expires,
        "created_at": report["created_at"],
        "generated_at": report.get("generated_at"),
        "size_bytes": int(report["size_bytes"]) if report.get("size_bytes") is not None else None,
    }
    if report["status"] == "failed":
        view["reason"] = report.get("reason")
    return view


def _find_report(report_id: str) -> dict[str, Any]:
    report = reports_adapter().get_report(report_id) if _ID.match(report_id) else None
    if report is None:
        raise ApiError(404, "not_found", "report_id: no report with this id", [{"parameter": "report_id"}])
    return report


@router.post(
    "/v1/reports",
    summary="Generate a PDF report (asynchronously)",
    description=(
        "Queues a report of `type` (sales_summary, inventory, customers) over start..end (store "
        "days, at most 731). Answers 202 at once with the report_id; GET /v1/reports/{report_id} "
        "says when it is ready and then hands out a presigned download URL. Read key."
    ),
    responses={202: {"description": "{report_id, status: pending, type, start, end, ...}"}},
    tags=["reports"],
)
def post_report(request: Annotated[ReportRequest, Body(embed=False)]) -> Response[Any]:
    require_read_key()
    check_range(request.start, request.end)
    settings = get_settings()
    now = _now()
    report_id = secrets.token_urlsafe(24)
    report = reports_adapter().create_report(report_id, request.type, request.start, request.end, now)
    try:
        client("sqs").send_message(
            QueueUrl=settings.require("reports_queue_url"), MessageBody=json.dumps({"report_id": report_id})
        )
    except Exception:
        logger.exception("could not queue a report")
        reports_adapter().mark_failed(report_id, "could not be queued; ask again")
        raise ApiError(503, "unavailable", "the report could not be queued; send the request again") from None
    return json_response(202, report_view(report, now))


@router.get(
    "/v1/reports",
    summary="The recent reports, newest first",
    description="The 50 newest reports with their status; ready ones carry a fresh download URL. Read key.",
    responses={200: {"description": "{reports: [{report_id, type, start, end, status, download_url, ...}]}"}},
    tags=["reports"],
)
def list_reports() -> Response[Any]:
    require_read_key()
    now = _now()
    found = reports_adapter().recent_reports()
    return json_response(200, {"reports": [report_view(r, now) for r in found]})


@router.get(
    "/v1/reports/<report_id>",
    summary="One report: its status and, once ready, a presigned download URL",
    description=(
        "status is pending, ready or failed (with a reason). When ready, download_url is a new "
        "presigned S3 GET valid REPORT_URL_TTL seconds (expires_at) that downloads as "
        "storepulse-<type>-<start>-<end>.pdf. Unknown ids get 404. Read key."
    ),
    responses={200: {"description": "{report_id, type, start, end, status, download_url, expires_at}"}},
    tags=["reports"],
)
def get_report(report_id: str) -> Response[Any]:
    require_read_key()
    return json_response(200, report_view(_find_report(report_id), _now()))


def html_page(status: int, title: str, message: str, button: str = "") -> Response[Any]:
    """A small page for people who followed a link from an e-mail; with ``button``, a form that
    POSTs back to the same URL (token included): opening the link alone changes nothing."""
    form = (
        f'<form method="post"><button type="submit" style="font-size: 1.1em; padding: .5em 1.2em">'
        f"{html.escape(button)}</button></form>"
        if button
        else ""
    )
    body = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>"
        '<body style="font-family: Helvetica, Arial, sans-serif; max-width: 36em; margin: 3em auto;">'
        f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>{form}</body></html>"
    )
    return Response(
        status_code=status,
        content_type="text/html; charset=utf-8",
        body=body,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


@router.get(
    "/v1/reports/<report_id>/download",
    summary="The download link of a digest e-mail (no key: a signed token)",
    description=(
        "Redirects (302) to a fresh presigned URL of the report when `token` is the signed link "
        "of a digest for this report; a page says so otherwise."
    ),
    responses={302: {"description": "Location: the presigned URL"}},
    tags=["reports"],
)
def download_link(
    report_id: str, token: Annotated[str | None, Query(description="The signed token of the link")] = None
) -> Response[Any]:
    settings = get_settings()
    now = _now()
    try:
        subject = verify_token(settings.require("unsubscribe_signing_key"), DOWNLOAD, token or "", now=now)
    except TokenExpired:
        return html_page(
            400, "Link expired", "This report link has expired. Newer digests carry newer links."
        )
    except TokenInvalid:
        return html_page(
            400, "Link not valid", "This report link is not valid. Copy the whole link from the e-mail."
        )
    report = reports_adapter().get_report(subject) if subject == report_id else None
    if report is None or report["status"] != "ready":
        return html_page(404, "Report not found", "This report is no longer kept (reports are kept 30 days).")
    url, _ = download_url(report, now)
    return Response(status_code=302, content_type=content_types.TEXT_HTML, body="", headers={"Location": url})


def subscription_view(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "subscription_id": item["subscription_id"],
        "email": item["email"],
        "frequency": item["frequency"],
        "report_type": item["report_type"],
        "status": item["status"],
        "created_at": item["created_at"],
    }


@router.post(
    "/v1/subscriptions",
    summary="Subscribe an e-mail address to the daily or weekly digest (double opt-in)",
    description=(
        "Daily digests go out at 07:00 store time for the previous store day; weekly ones on "
        "Mondays for the previous Monday-to-Sunday week. Each links to a PDF of `report_type` "
        "and carries a one-click unsubscribe link. Read key. The subscription is `pending`: the "
        "address gets one e-mail, a confirmation link, and no digest until its owner confirms "
        f"(GET /v1/confirm shows a page, POST confirms). At most {MAX_SUBSCRIPTIONS} subscriptions "
        "per store, pending ones included (409 beyond); one confirmation e-mail per address a "
        "day (429 with Retry-After otherwise)."
    ),
    responses={
        201: {"description": "{subscription_id, email, frequency, report_type, status: pending, created_at}"},
        409: {"description": "the store holds the most subscriptions it may"},
        429: {"description": "a confirmation went to this address less than a day ago"},
        503: {
            "description": "the confirmation could not be sent, or many were being created at once; try again"
        },
    },
    tags=["digests"],
)
def post_subscription(request: Annotated[SubscriptionRequest, Body(embed=False)]) -> Response[Any]:
    require_read_key()
    try:
        item = subscriptions.subscribe(Context.of(get_settings(), client), request, _now())
    except subscriptions.TooManySubscriptions as exc:
        raise ApiError(409, "too_many_subscriptions", str(exc), [{"parameter": "subscriptions"}]) from None
    except subscriptions.ConfirmationSentRecently as exc:
        answer = error_response(429, "confirmation_sent_recently", str(exc), [{"parameter": "email"}])
        answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    except subscriptions.ConfirmationNotSent as exc:
        raise ApiError(503, "confirmation_not_sent", str(exc)) from None
    except subscriptions.SubscriptionsBusy as exc:
        raise ApiError(503, "subscriptions_busy", str(exc), [{"parameter": "subscriptions"}]) from None
    return json_response(201, subscription_view(item))


@router.get(
    "/v1/subscriptions",
    summary="The digest subscriptions: pending (not yet confirmed by their address) and confirmed",
    responses={200: {"description": "{subscriptions: [...]}"}},
    tags=["digests"],
)
def list_subscriptions() -> Response[Any]:
    require_read_key()
    found = reports_adapter().listed_subscriptions(_now())
    return json_response(200, {"subscriptions": [subscription_view(s) for s in found]})


@router.delete(
    "/v1/subscriptions/<subscription_id>",
    summary="Cancel a digest subscription (its address is deleted)",
    description="Cancelling twice is fine (the answer says it was already cancelled). Unknown ids get 404.",
    responses={200: {"description": "{subscription_id, status: cancelled, already_cancelled}"}},
    tags=["digests"],
)
def delete_subscription(subscription_id: str) -> Response[Any]:
    require_read_key()
    outcome = "missing"
    if _ID.match(subscription_id):
        outcome = reports_adapter().cancel_subscription(subscription_id, _now())
    if outcome == "missing":
        raise ApiError(
            404,
            "not_found",
            "subscription_id: no subscription with this id",
            [{"parameter": "subscription_id"}],
        )
    body = {
        "subscription_id": subscription_id,
        "status": "cancelled",
        "already_cancelled": outcome == "already_cancelled",
    }
    return json_response(200, body)


Page = tuple[int, str, str]


def _follow_link(
    purpose: str,
    token: str | None,
    *,
    act: bool,
    ask: tuple[str, str, str],
    action: Callable[[str], str],
    pages: dict[str, Page],
) -> Response[Any]:
    """A link from an e-mail: ``GET`` (``act`` false) shows ``ask`` (title, message, button) and
    changes nothing; ``POST`` runs ``action`` on the token's subscription id and shows the page
    of its outcome."""
    what = "unsubscribe" if purpose == UNSUBSCRIBE else "confirmation"
    try:
        subscription_id = verify_token(
            get_settings().require("unsubscribe_signing_key"), purpose, token or "", now=_now()
        )
    except TokenExpired:
        return html_page(400, "Link expired", f"This {what} link has expired. Nothing was changed.")
    except TokenInvalid:
        return html_page(
            400,
            "Link not valid",
            f"This {what} link is not valid (it may have been cut when copied). Nothing was changed.",
        )
    if not act:
        title, message, button = ask
        return html_page(200, title, message, button=button)
    return html_page(*pages[action(subscription_id)])


UNSUBSCRIBE_PAGES: dict[str, Page] = {
    "cancelled": (200, "Unsubscribed", "You are unsubscribed: this address gets no more of these digests."),
    "already_cancelled": (
        200,
        "Already unsubscribed",
        "This subscription was already cancelled: nothing more will be sent.",
    ),
    "missing": (
        404,
        "Subscription not found",
        "This subscription no longer exists: nothing more will be sent.",
    ),
}
CONFIRM_PAGES: dict[str, Page] = {
    "confirmed": (200, "Subscription confirmed", "Subscription confirmed: the digests will come."),
    "already_confirmed": (200, "Already confirmed", "This subscription was already confirmed."),
    "missing": (
        404,
        "Subscription not found",
        "This subscription was cancelled or not confirmed in time; ask for it again.",
    ),
}


def _unsubscribe(token: str | None, *, act: bool) -> Response[Any]:
    return _follow_link(
        UNSUBSCRIBE,
        token,
        act=act,
        ask=(
            "Unsubscribe?",
            "Press the button to stop receiving this digest. Nothing changes until you do.",
            "Unsubscribe",
        ),
        action=lambda subscription_id: reports_adapter().cancel_subscription(subscription_id, _now()),
        pages=UNSUBSCRIBE_PAGES,
    )


def _confirm(token: str | None, *, act: bool) -> Response[Any]:
    return _follow_link(
        subscriptions.CONFIRM,
        token,
        act=act,
        ask=(
            "Confirm the subscription?",
            "Press the button to start receiving this digest at this address. Nothing is sent until you do.",
            "Confirm",
        ),
        action=lambda subscription_id: reports_adapter().confirm_subscription(subscription_id, _now()),
        pages=CONFIRM_PAGES,
    )


_TOKEN = Annotated[str | None, Query(description="The signed token of the e-mail's link")]


@router.get(
    "/v1/unsubscribe",
    summary="The unsubscribe link of a digest (no key): a page that asks, changing nothing",
    description=(
        "The link of every digest e-mail. Mail scanners open links, so a GET only shows a page "
        "whose button POSTs the same URL."
    ),
    responses={
        200: {"description": "HTML: a page with an Unsubscribe button"},
        400: {"description": "HTML: bad link"},
    },
    tags=["digests"],
)
def unsubscribe(token: _TOKEN = None) -> Response[Any]:
    return _unsubscribe(token, act=False)


@router.post(
    "/v1/unsubscribe",
    summary="One-click unsubscribe (RFC 8058 List-Unsubscribe-Post; no key)",
    description="Unsubscribes at once and deletes the address.",
    responses={200: {"description": "HTML: unsubscribed, or already"}},
    tags=["digests"],
)
def unsubscribe_post(token: _TOKEN = None) -> Response[Any]:
    return _unsubscribe(token, act=True)


@router.get(
    "/v1/confirm",
    summary="The confirmation link of a subscription (no key): a page that asks, changing nothing",
    responses={
        200: {"description": "HTML: a page with a Confirm button"},
        400: {"description": "HTML: bad link"},
    },
    tags=["digests"],
)
def confirm(token: _TOKEN = None) -> Response[Any]:
    return _confirm(token, act=False)


@router.post(
    "/v1/confirm",
    summary="Confirm a subscription (no key): digests start",
    responses={200: {"description": "HTML: confirmed, or already"}, 404: {"description": "HTML: expired"}},
    tags=["digests"],
)
def confirm_post(token: _TOKEN = None) -> Response[Any]:
    return _confirm(token, act=True)
