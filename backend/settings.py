"""Configuration, read once from the environment, in one place.

In AWS, Terraform sets these variables on each function; locally the stack sets them from
``infra/stack.json``. A handler asks for the settings it needs; a missing one is a clear error.
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

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.store_timezone)

    def require(self, name: str) -> str:
        """The value of a resource setting, or a clear error naming the variable."""
        value = getattr(self, name)
        if not value:
            raise SettingMissing(f"{name.upper()} is not set for this function")
        return str(value)


def _hashes(name: str) -> frozenset[str]:
    # Comma separated, so a key can be rotated: add the new digest, deploy, drop the old one.
    return frozenset(h.strip().lower() for h in os.environ.get(name, "").split(",") if h.strip())


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
        pii_hash_key=env("PII_HASH_KEY", ""),
    )
    settings.zone  # noqa: B018 - an unknown time zone fails at start, not on the first event
    return settings
