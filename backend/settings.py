"""Configuration, read once from the environment, in one place.

In AWS, Terraform sets these variables on each function; locally the stack sets them from
``infra/stack.json``. A handler asks for the settings it needs; a missing one is a clear error.

Secrets (``PII_HASH_KEY``, ``UNSUBSCRIBE_SIGNING_KEY``, the webhook secrets
``STOREPULSE_SHOPIFY_SECRET`` and ``STOREPULSE_WOOCOMMERCE_SECRET``) hold their value locally; in AWS they
hold ``ssm:<parameter name>`` and the value is read from that SecureString parameter through
Powertools Parameters, once per container (docs/deploy.md).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class SettingMissing(RuntimeError):
    """A function was started without a variable its code needs."""


# The prefix of a secret's variable that names its SSM parameter instead of holding its value.
SSM_REFERENCE = "ssm:"
# Powertools caches a parameter this long; settings are read once per container anyway.
SECRET_MAX_AGE_SECONDS = 300
# S3 refuses presigned URLs valid for more than 7 days.
MAX_URL_TTL = 604800


class Settings(BaseSettings):
    """Every setting a function reads: each field from the variable of its name in capitals
    (``ingest_table`` from ``INGEST_TABLE``), ``data_dir`` from ``STOREPULSE_DATA_DIR``.

    Examples
    --------
    >>> s = Settings(ingest_key_sha256="AB, cd", public_api_url="https://x/", report_url_ttl="")
    >>> sorted(s.ingest_key_sha256), s.public_api_url, s.report_url_ttl
    (['ab', 'cd'], 'https://x', 900)
    """

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    store_timezone: str = "UTC"
    store_currency: str = "USD"
    ingest_table: str = ""
    analytics_table: str = ""
    events_topic_arn: str = ""
    alerts_topic_arn: str = ""
    lake_bucket: str = ""
    event_bus_name: str = ""
    # Comma separated, so a key can be rotated: add the new digest, deploy, drop the old one.
    ingest_key_sha256: Annotated[frozenset[str], NoDecode] = frozenset()
    read_key_sha256: Annotated[frozenset[str], NoDecode] = frozenset()
    pii_hash_key: str = ""
    reports_table: str = ""
    reports_bucket: str = ""
    reports_queue_url: str = ""
    report_url_ttl: int = 900
    unsubscribe_signing_key: str = ""
    public_api_url: str = ""
    digest_sender: str = ""
    digest_transport: str = "ses"
    data_dir: str = Field(default=".data", validation_alias="STOREPULSE_DATA_DIR")
    s3_presign_endpoint: str = ""
    store_name: str = "storepulse"
    shopify_secret: str = Field(default="", validation_alias="STOREPULSE_SHOPIFY_SECRET")
    woocommerce_secret: str = Field(default="", validation_alias="STOREPULSE_WOOCOMMERCE_SECRET")
    # The lead time of a SKU that does not say its own (product.upserted's lead_time_days).
    default_lead_time_days: int = Field(default=7, validation_alias="LEAD_TIME_DAYS")

    @field_validator("ingest_key_sha256", "read_key_sha256", mode="before")
    @classmethod
    def _digests(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(h.strip().lower() for h in value.split(",") if h.strip())
        return value

    @field_validator("report_url_ttl", mode="before")
    @classmethod
    def _seconds(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return 900
        if not text.isdigit() or not 1 <= int(text) <= MAX_URL_TTL:
            # Raised as it is (not a ValueError): pydantic passes it through, the words unchanged.
            name = (info.field_name or "").upper()
            raise SettingMissing(f"{name} must be a number of seconds from 1 to {MAX_URL_TTL}, not {text!r}")
        return int(text)

    @field_validator("default_lead_time_days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return 7
        if not text.isdigit() or int(text) > 365:
            raise SettingMissing(f"LEAD_TIME_DAYS must be a number of days from 0 to 365, not {text!r}")
        return int(text)

    @field_validator(
        "pii_hash_key", "unsubscribe_signing_key", "shopify_secret", "woocommerce_secret", mode="before"
    )
    @classmethod
    def _secret(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and value.startswith(SSM_REFERENCE):
            return _ssm_secret((info.field_name or "").upper(), value[len(SSM_REFERENCE) :])
        return value

    @field_validator("public_api_url", mode="after")
    @classmethod
    def _without_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.store_timezone)

    def require(self, name: str) -> str:
        """The value of a resource setting, or a clear error naming the variable."""
        value = getattr(self, name)
        if not value:
            raise SettingMissing(f"{name.upper()} is not set for this function")
        return str(value)


def _ssm_secret(variable: str, parameter: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    from backend.adapters.clients import client

    provider = parameters.SSMProvider(boto3_client=client("ssm"))
    secret = provider.get(parameter, decrypt=True, max_age=SECRET_MAX_AGE_SECONDS)
    if not secret:
        raise SettingMissing(f"{variable}: the SSM parameter {parameter} is empty")
    return str(secret)


@cache
def get_settings() -> Settings:
    """Read the environment once per process."""
    settings = Settings()
    settings.zone  # noqa: B018 - an unknown time zone fails at start, not on the first event
    return settings
