"""Presigned S3 downloads, checked locally as S3 checks them.

moto serves any presigned URL without looking at its signature or its expiry, so a report link
would never expire locally. The local stack therefore hands out presigned URLs whose endpoint
is this front (``<api url>/_s3/<bucket>/<key>?X-Amz-...``): it recomputes the SigV4 query
signature with botocore's own signer and the local credentials, refuses an expired or tampered
URL with S3's status and XML error body, and only then streams the object from moto.

In AWS nothing of this runs: ``S3_PRESIGN_ENDPOINT`` is unset and the URLs are plain S3 ones.
"""

from __future__ import annotations

import hmac
import logging
import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from devstack.aws import AwsClients

logger = logging.getLogger(__name__)

PREFIX = "/_s3"
MAX_EXPIRES = 604800  # S3 refuses presigned URLs valid for more than 7 days
_TIMESTAMP = "%Y%m%dT%H%M%SZ"
LOCAL_SENDER = "digests@storepulse.local"


def local_reports_environment(api_url: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """What the report and digest code reads locally, beside the resources and keys.

    Links in e-mails point at the local API, e-mails go to the outbox, and presigned URLs go
    through this front. ``REPORT_URL_TTL`` is passed on from ``environ`` (``os.environ``).

    Examples
    --------
    >>> local_reports_environment("http://127.0.0.1:8000")["S3_PRESIGN_ENDPOINT"]
    'http://127.0.0.1:8000/_s3'
    """
    environ = os.environ if environ is None else environ
    return {
        "REPORT_URL_TTL": environ.get("REPORT_URL_TTL") or "900",
        "PUBLIC_API_URL": api_url,
        "DIGEST_SENDER": LOCAL_SENDER,
        "DIGEST_TRANSPORT": "outbox",
        "STORE_NAME": environ.get("STORE_NAME") or "storepulse",
        "S3_PRESIGN_ENDPOINT": api_url + PREFIX,
    }


class Refused(Exception):
    """A request S3 would refuse: its status, error code and message."""

    def __init__(self, status: int, code: str, message: str, **extra: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def error_xml(code: str, message: str, request_id: str, **extra: str) -> bytes:
    """S3's error body."""
    fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in extra.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{fields}"
        f"<RequestId>{request_id}</RequestId></Error>"
    ).encode()


def check_presigned(
    method: str,
    host: str,
    raw_path: str,
    query: str,
    *,
    secret_key: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """Verify a SigV4 presigned URL as S3 does; return its query parameters.

    Parameters
    ----------
    method, host, raw_path, query
        The request as received: ``raw_path`` still percent-encoded, ``query`` raw.
    secret_key
        The secret of the access key named in ``X-Amz-Credential``.
    now
        The clock, for tests.

    Raises
    ------
    Refused
        403 ``AccessDenied`` when expired or not presigned, 403 ``SignatureDoesNotMatch`` when
        anything signed was changed.
    """
    params = dict(parse_qsl(query, keep_blank_values=True))
    needed = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature")
    if any(name not in params for name in needed):
        raise Refused(403, "AccessDenied", "Access Denied")
    if params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
        raise Refused(
            400, "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports AWS4-HMAC-SHA256"
        )
    try:
        signed_at = datetime.strptime(params["X-Amz-Date"], _TIMESTAMP).replace(tzinfo=UTC)
        expires = int(params["X-Amz-Expires"])
        access_key, day, region, service, terminator = params["X-Amz-Credential"].split("/")
    except ValueError:
        raise Refused(
            400,
            "AuthorizationQueryParametersError",
            "malformed X-Amz-Date, X-Amz-Expires or X-Amz-Credential",
        ) from None
    if not 1 <= expires <= MAX_EXPIRES:
        raise Refused(
            400,
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        )
    now = now or datetime.now(UTC)
    if now > signed_at + timedelta(seconds=expires):
        raise Refused(
            403,
            "AccessDenied",
            "Request has expired",
            **{
                "X-Amz-Expires": str(expires),
                "Expires": (signed_at + timedelta(seconds=expires)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
    unsigned = "&".join(pair for pair in query.split("&") if not pair.startswith("X-Amz-Signature="))
    request = AWSRequest(method=method, url=f"http://{host}{raw_path}?{unsigned}", headers={"host": host})
    request.context["timestamp"] = params["X-Amz-Date"]
    credentials = Credentials(access_key, secret_key, params.get("X-Amz-Security-Token"))
    signer = S3SigV4QueryAuth(credentials, service, region, expires=expires)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    scope_ok = day == params["X-Amz-Date"][:8] and service == "s3" and terminator == "aws4_request"
    if not scope_ok or not hmac.compare_digest(expected, params["X-Amz-Signature"]):
        raise Refused(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
        )
    return params


class PresignedDownloads:
    """WSGI app serving ``GET /_s3/<bucket>/<key>?<presigned query>`` from the endpoint.

    Parameters
    ----------
    aws
        Clients bound to the moto endpoint, where the objects are.
    credentials
        Access key id to secret, the keys a local function may sign with.
    """

    def __init__(self, aws: AwsClients, credentials: dict[str, str]):
        self.aws = aws
        self.credentials = credentials

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        request_id = uuid.uuid4().hex[:16].upper()
        try:
            status, headers, body = self._serve(environ)
        except Refused as exc:
            status, body = exc.status, error_xml(exc.code, exc.message, request_id, **exc.extra)
            headers = [("Content-Type", "application/xml")]
        headers = [*headers, ("x-amz-request-id", request_id), ("Content-Length", str(len(body)))]
        start_response(f"{status} {'OK' if status == 200 else 'Error'}", headers)
        return [body]

    def _serve(self, environ: WSGIEnvironment) -> tuple[int, list[tuple[str, str]], bytes]:
        method = environ["REQUEST_METHOD"]
        if method != "GET":
            raise Refused(
                405, "MethodNotAllowed", "The specified method is not allowed against this resource."
            )
        raw_uri = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", ""))
        raw_path = raw_uri.split("?", 1)[0]
        query = str(environ.get("QUERY_STRING", ""))
        params = dict(parse_qsl(query, keep_blank_values=True))
        if "X-Amz-Signature" not in params or "X-Amz-Credential" not in params:
            raise Refused(403, "AccessDenied", "Access Denied")
        secret = self.credentials.get(params["X-Amz-Credential"].split("/", 1)[0])
        if secret is None:
            raise Refused(
                403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
            )
        host = str(environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}")
        check_presigned(method, host, raw_path, query, secret_key=secret)
        bucket, _, key = unquote(raw_path[len(PREFIX) :]).lstrip("/").partition("/")
        extra: dict[str, Any] = {}
        if "response-content-disposition" in params:
            extra["ResponseContentDisposition"] = params["response-content-disposition"]
        if "response-content-type" in params:
            extra["ResponseContentType"] = params["response-content-type"]
        try:
            found = self.aws.s3.get_object(Bucket=bucket, Key=key, **extra)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "NoSuchBucket", "404"):
                raise Refused(404, "NoSuchKey", "The specified key does not exist.") from None
            raise
        body = found["Body"].read()
        headers = [("Content-Type", found.get("ContentType") or "binary/octet-stream")]
        for header, field in (
            ("Content-Disposition", "ContentDisposition"),
            ("ETag", "ETag"),
            ("x-amz-server-side-encryption", "ServerSideEncryption"),
        ):
            if found.get(field):
                headers.append((header, str(found[field])))
        # The signed query holds a credential: like S3's access log, keep the path only.
        logger.debug("presigned GET %s", raw_path)
        return 200, headers, body


def with_downloads(api: WSGIApplication, downloads: WSGIApplication) -> WSGIApplication:
    """One WSGI app: ``/_s3/...`` to the download front, the rest to the API."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        path = str(environ.get("PATH_INFO", ""))
        if path == PREFIX or path.startswith(PREFIX + "/"):
            return downloads(environ, start_response)
        return api(environ, start_response)

    return app
