"""boto3 clients, made once per process (and endpoint) with sane timeouts and retries.

Nothing here knows whether it runs in AWS or locally: boto3 honours ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import os
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


def client(service: str) -> Any:
    """The shared client for ``service`` (``"dynamodb"``, ``"sns"``, ``"s3"``, ``"events"``)."""
    return _client(service, os.environ.get("AWS_ENDPOINT_URL"))


@cache
def _client(service: str, endpoint: str | None) -> Any:
    # Keyed by endpoint so that a process pointed at another endpoint (tests) never reuses a
    # client bound to the old one.
    return boto3.session.Session().client(service, config=_CONFIG)
