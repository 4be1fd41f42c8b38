"""boto3 clients, made once per process (and endpoint) with sane timeouts and retries.

Nothing here knows whether it runs in AWS or locally: boto3 honours ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient

# Connections each client keeps open. In Lambda one invocation runs at a time per process and its
# widest thread pool is 16 (the ingest's claimers), so 32 is plenty. The local stack runs every
# function in one process, several invocations at once, and raises it (``MAX_POOL_ENV``):
# otherwise urllib3 drops the connections it cannot keep ("Connection pool is full") and opens
# new ones.
MAX_POOL_ENV = "STOREPULSE_MAX_POOL_CONNECTIONS"
DEFAULT_MAX_POOL = 32

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=3,
    read_timeout=15,
    max_pool_connections=DEFAULT_MAX_POOL,
)


def _config(pool: str | None) -> Config:
    """The shared config, with ``pool`` connections (the value of :data:`MAX_POOL_ENV`) if set."""
    return _CONFIG.merge(Config(max_pool_connections=int(pool))) if pool else _CONFIG


# Each service the functions call is typed by boto3-stubs (requirements-dev.txt); at run time the
# stubs are not installed and these names are never imported.
@overload
def client(service: Literal["dynamodb"]) -> DynamoDBClient: ...
@overload
def client(service: Literal["events"]) -> EventBridgeClient: ...
@overload
def client(service: Literal["s3"]) -> S3Client: ...
@overload
def client(service: Literal["ses"]) -> SESClient: ...
@overload
def client(service: Literal["sns"]) -> SNSClient: ...
@overload
def client(service: Literal["sqs"]) -> SQSClient: ...
@overload
def client(service: Literal["ssm"]) -> SSMClient: ...
def client(service: str) -> Any:
    """The shared client for ``service`` (``"dynamodb"``, ``"sns"``, ``"s3"``, ``"events"``)."""
    return _client(service, os.environ.get("AWS_ENDPOINT_URL"), os.environ.get(MAX_POOL_ENV))


@cache
def _client(service: str, endpoint: str | None, pool: str | None) -> Any:
    # Keyed by endpoint (and pool size) so that a process pointed at another endpoint (tests)
    # never reuses a client bound to the old one.
    # boto3-stubs types each service by its literal name; this one is chosen by the caller.
    return cast(Any, boto3.session.Session()).client(service, config=_config(pool))


def presigner() -> Any:
    """The S3 client that signs download URLs (SigV4).

    ``S3_PRESIGN_ENDPOINT`` (set only by the local stack) makes the URLs point at the local
    front that checks them as S3 does; in AWS it is unset and the URLs are plain S3 ones.
    """
    return _presigner(os.environ.get("S3_PRESIGN_ENDPOINT") or None, os.environ.get("AWS_ENDPOINT_URL"))


@cache
def _presigner(endpoint: str | None, _aws_endpoint: str | None) -> Any:
    style: Literal["path", "auto"] = "path" if endpoint else "auto"
    # Signing opens no connection: the pool size does not matter here.
    config = _CONFIG.merge(Config(signature_version="s3v4", s3={"addressing_style": style}))
    return boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)


def forget_clients() -> None:
    """Drop every cached client, so the next :func:`client` reads the environment again (the
    local stack calls this when it sets or restores the functions' environment)."""
    _client.cache_clear()
    _presigner.cache_clear()
