"""Configuration, read once from the environment, in one place.

In AWS, Terraform sets these variables on each function; locally the stack sets them from
``infra/stack.json``. A handler asks for the settings it needs; a missing one is a clear error.

Secrets (``PII_HASH_KEY``, ``UNSUBSCRIBE_SIGNING_KEY``) hold their value locally; in AWS they
hold ``ssm:<parameter name>`` and the value is read from that SecureString parameter through
Powertools Parameters, once per container (docs/deploy.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo


class SettingMissing(RuntimeError):
    """A function was started without a variable its code needs."""


@dataclass(frozen=True)
class Settings:
    store_timezone: str
    store_currency: str
    ingest_table: str
    analytics_table: str
    events_topic_arn: str
    alerts_topic_arn: str
    lake_bucket: str
    event_bus_name: str
    ingest_key_sha256: frozenset[str]
    read_key_sha256: frozenset[str]
    pii_hash_key: str
    reports_table: str = ""
    reports_bucket: str = ""
    reports_queue_url: str = ""
    report_url_ttl: int = 900
    unsubscribe_signing_key: str = ""
    public_api_url: str = ""
    digest_sender: str = ""
    digest_transport: str = "ses"
    data_dir: str = ".data"
    s3_presign_endpoint: str = ""
    store_name: str = "storepulse"
    default_lead_time_days: int = 7

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.store_timezone)

    def require(self, name: str) -> str:
        """The value of a resource setting, or a clear error naming the variable."""
        value = getattr(self, name)
        if not value:
            raise SettingMissing(f"{name.upper()} is not set for this function")
        return str(value)


# The prefix of a secret's variable that names its SSM parameter instead of holding its value.
SSM_REFERENCE = "ssm:"
# Powertools caches a parameter this long; settings are read once per container anyway.
SECRET_MAX_AGE_SECONDS = 300


def _secret(name: str) -> str:
    value = os.environ.get(name, "")
    if not value.startswith(SSM_REFERENCE):
        return value
    from aws_lambda_powertools.utilities import parameters

    from backend.adapters.clients import client

    provider = parameters.SSMProvider(boto3_client=client("ssm"))
    secret = provider.get(value[len(SSM_REFERENCE) :], decrypt=True, max_age=SECRET_MAX_AGE_SECONDS)
    if not secret:
        raise SettingMissing(f"{name}: the SSM parameter {value[len(SSM_REFERENCE) :]} is empty")
    return str(secret)


def _hashes(name: str) -> frozenset[str]:
    # Comma separated, so a key can be rotated: add the new digest, deploy, drop the old one.
    return frozenset(h.strip().lower() for h in os.environ.get(name, "").split(",") if h.strip())


def _seconds(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= 604800:
        # S3 refuses presigned URLs valid for more than 7 days.
        raise SettingMissing(f"{name} must be a number of seconds from 1 to 604800, not {text!r}")
    return int(text)


def _days(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) > 365:
        raise SettingMissing(f"{name} must be a number of days from 0 to 365, not {text!r}")
    return int(text)


@cache
def get_settings() -> Settings:
    """Read the environment once per process."""
    env = os.environ.get
    settings = Settings(
        store_timezone=env("STORE_TIMEZONE", "UTC"),
        store_currency=env("STORE_CURRENCY", "USD"),
        ingest_table=env("INGEST_TABLE", ""),
        analytics_table=env("ANALYTICS_TABLE", ""),
        events_topic_arn=env("EVENTS_TOPIC_ARN", ""),
        alerts_topic_arn=env("ALERTS_TOPIC_ARN", ""),
        lake_bucket=env("LAKE_BUCKET", ""),
        event_bus_name=env("EVENT_BUS_NAME", ""),
        ingest_key_sha256=_hashes("INGEST_KEY_SHA256"),
        read_key_sha256=_hashes("READ_KEY_SHA256"),
        pii_hash_key=_secret("PII_HASH_KEY"),
        reports_table=env("REPORTS_TABLE", ""),
        reports_bucket=env("REPORTS_BUCKET", ""),
        reports_queue_url=env("REPORTS_QUEUE_URL", ""),
        report_url_ttl=_seconds("REPORT_URL_TTL", 900),
        unsubscribe_signing_key=_secret("UNSUBSCRIBE_SIGNING_KEY"),
        public_api_url=env("PUBLIC_API_URL", "").rstrip("/"),
        digest_sender=env("DIGEST_SENDER", ""),
        digest_transport=env("DIGEST_TRANSPORT", "ses"),
        data_dir=env("STOREPULSE_DATA_DIR", ".data"),
        s3_presign_endpoint=env("S3_PRESIGN_ENDPOINT", ""),
        store_name=env("STORE_NAME", "storepulse"),
        default_lead_time_days=_days("LEAD_TIME_DAYS", 7),
    )
    settings.zone  # noqa: B018 - an unknown time zone fails at start, not on the first event
    return settings
