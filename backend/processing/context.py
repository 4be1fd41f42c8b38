"""What a handler gives the processing code: the settings in force and the AWS clients.

The processing code never builds a client or reads the environment itself (issue 16): the
handler, or the API route, makes one :class:`Context` and passes it down, so a test can hand it
other clients or settings without patching a module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backend.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
else:
    DynamoDBClient = S3Client = Any


@dataclass(frozen=True)
class Context:
    settings: Settings
    dynamodb: DynamoDBClient
    s3: S3Client

    @classmethod
    def of(cls, settings: Settings, client: Callable[..., Any]) -> Context:
        """The context of ``settings`` with the clients ``client`` makes (the handler passes
        :func:`backend.adapters.clients.client`)."""
        return cls(settings, client("dynamodb"), client("s3"))

    @property
    def analytics_table(self) -> str:
        return self.settings.require("analytics_table")

    @property
    def reports_table(self) -> str:
        return self.settings.require("reports_table")
