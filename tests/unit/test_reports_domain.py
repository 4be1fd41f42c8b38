"""Pure parts of reports and digests: signed links, digest periods, addresses, and the local
check of presigned URLs against URLs botocore signs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from backend.domain.reports import (
    SubscriptionRequest,
    TokenExpired,
    TokenInvalid,
    digest_period,
    normalize_email,
    sign_token,
    verify_token,
)
from devstack.downloads import Refused, check_presigned
from reports.model import Kpi, ReportData, SalesPoint, TopProduct
from reports.pdf import render_pdf

NOW = datetime(2025, 3, 20, 7, tzinfo=UTC)


def test_tokens_name_their_subject_until_they_expire() -> None:
    token = sign_token("key", "unsubscribe", "sub-1", NOW + timedelta(days=1))
    assert verify_token("key", "unsubscribe", token, now=NOW) == "sub-1"
    with pytest.raises(TokenExpired):
        verify_token("key", "unsubscribe", token, now=NOW + timedelta(days=2))
    for other in ("other-key",):
        with pytest.raises(TokenInvalid):
            verify_token(other, "unsubscribe", token, now=NOW)
    # An unsubscribe token is no download token, and no byte can change
    with pytest.raises(TokenInvalid):
        verify_token("key", "download", token, now=NOW)
    payload, signature = token.split(".")
    forged = sign_token("key", "unsubscribe", "sub-2", NOW + timedelta(days=1)).split(".")[0]
    for bad in (f"{forged}.{signature}", f"{payload}.{signature[:-2]}", "", "garbage", "a.b.c"):
        with pytest.raises(TokenInvalid):
            verify_token("key", "unsubscribe", bad, now=NOW)


def test_digest_periods() -> None:
    thursday, monday = date(2025, 3, 20), date(2025, 3, 17)
    assert digest_period("daily", thursday) == (date(2025, 3, 19), date(2025, 3, 19))
    assert digest_period("daily", date(2025, 3, 1)) == (date(2025, 2, 28), date(2025, 2, 28))
    assert digest_period("weekly", thursday) is None
    assert digest_period("weekly", monday) == (date(2025, 3, 10), date(2025, 3, 16))


def test_addresses() -> None:
    assert normalize_email(" Ada@Example.COM") == "Ada@example.com"
    for bad in (
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "a b@example.com",
        "ada@exa mple.com",
        "ada@x.c0m",
    ):
        with pytest.raises(ValueError):
            normalize_email(bad)
    with pytest.raises(ValueError):
        SubscriptionRequest.model_validate({"email": "ada@example.com", "frequency": "daily", "x": 1})


def _presigned(expires: int = 900) -> str:
    s3 = boto3.session.Session(
        aws_access_key_id="AK", aws_secret_access_key="SK", region_name="eu-west-1"
    ).client(
        "s3",
        endpoint_url="http://127.0.0.1:9/_s3",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    return str(
        s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": "b",
                "Key": "reports/k/a b.pdf",
                "ResponseContentDisposition": 'attachment; filename="a.pdf"',
            },
            ExpiresIn=expires,
        )
    )


def test_the_local_s3_front_checks_presigned_urls_as_s3_does() -> None:
    url = urlsplit(_presigned())
    signed_at = datetime.now(UTC)
    params = check_presigned("GET", url.netloc, url.path, url.query, secret_key="SK")
    assert params["X-Amz-Expires"] == "900"
    with pytest.raises(Refused) as wrong_secret:
        check_presigned("GET", url.netloc, url.path, url.query, secret_key="other")
    assert wrong_secret.value.code == "SignatureDoesNotMatch"
    with pytest.raises(Refused) as other_host:
        check_presigned("GET", "127.0.0.1:10", url.path, url.query, secret_key="SK")
    assert other_host.value.code == "SignatureDoesNotMatch"
    with pytest.raises(Refused) as late:
        check_presigned(
            "GET", url.netloc, url.path, url.query, secret_key="SK", now=signed_at + timedelta(seconds=960)
        )
    assert (late.value.status, late.value.code, late.value.message) == (
        403,
        "AccessDenied",
        "Request has expired",
    )


def test_the_pdf_renders_without_data() -> None:
    data = ReportData(
        store="Shop",
        report_type="customers",
        start=date(2025, 3, 1),
        end=date(2025, 3, 1),
        previous_start=date(2025, 2, 28),
        previous_end=date(2025, 2, 28),
        generated_at=NOW,
        currency="USD",
        kpis=(Kpi("net_sales", "Net sales", "money", Decimal("0.00"), Decimal("0.00"), None),),
        granularity="day",
        sales=(SalesPoint(date(2025, 3, 1), Decimal("0.00"), 0),),
        top_products=(TopProduct(1, "MUG", None, 1, Decimal("1.00")),),
    )
    assert render_pdf(data).startswith(b"%PDF-")
