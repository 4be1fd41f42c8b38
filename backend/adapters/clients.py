"""boto3 clients, made once per process with sane timeouts and retries.

Nothing here knows whether it runs in AWS or locally: boto3 honours ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=3,
    read_timeout=15,
    max_pool_connections=32,
)


@cache
def client(service: str) -> Any:
    """The shared client for ``service`` (``"dynamodb"``, ``"sns"``, ``"s3"``, ``"events"``)."""
    return boto3.session.Session().client(service, config=_CONFIG)
