"""What a handler gives the processing code: the settings in force, the tables' adapters and the
AWS clients that are not tables'.

The processing code never builds a client or reads the environment itself (issue 16): the
handler, or the API route, makes one :class:`Context` and passes it down, so a test can hand it
other adapters (the in-memory fakes) or settings without patching a module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from backend.adapters.analytics import AnalyticsStore, AnalyticsTable
from backend.adapters.reports_store import ReportsStore, ReportsTable
from backend.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
else:
    EventBridgeClient = S3Client = SESClient = Any


@dataclass(frozen=True)
class Context:
    settings: Settings
    #: The analytics table (:mod:`backend.adapters.analytics`).
    analytics: AnalyticsStore
    #: The reports table: reports, subscriptions, digest sends (:mod:`backend.adapters.reports_store`).
    reports: ReportsStore
    s3: S3Client
    #: Makes the clients few callers need (``events``, ``ses``), when first asked for: a read
    #: route's cold start does not pay for them.
    client: Callable[..., Any] | None = None

    @classmethod
    def of(cls, settings: Settings, client: Callable[..., Any]) -> Context:
        """The context of ``settings`` with the clients ``client`` makes (the handler passes
        :func:`backend.adapters.clients.client`)."""
        dynamodb = client("dynamodb")
        return cls(
            settings,
            AnalyticsTable(dynamodb, settings.require("analytics_table"), zone=settings.zone),
            ReportsTable(dynamodb, settings.require("reports_table")),
            client("s3"),
            client,
        )

    def for_request(self) -> Context:
        """This context for one request's reads: its analytics table reads the lone items once
        (:meth:`~backend.adapters.analytics.AnalyticsStore.for_request`)."""
        return replace(self, analytics=self.analytics.for_request())

    # Each client is asked for by its literal name: tests/infra/aws_calls.py reads the services
    # a function uses from the code.

    @property
    def events(self) -> EventBridgeClient:
        if self.client is None:
            raise RuntimeError("this context was given no client maker for the events client")
        return self.client("events")

    @property
    def ses(self) -> SESClient:
        if self.client is None:
            raise RuntimeError("this context was given no client maker for the SES client")
        return self.client("ses")
