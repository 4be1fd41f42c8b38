"""Reading and listing the lake bucket's objects (the ``lake-compaction`` job's side; writing is
:mod:`backend.adapters.lake_store`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any


def read(s3: S3Client, bucket: str, key: str) -> bytes | None:
    """An object's body as stored (``None`` when there is no such object)."""
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None


def keys(s3: S3Client, bucket: str, prefix: str, start_after: str = "") -> Iterator[str]:
    """The keys under ``prefix`` in key order, after ``start_after`` (a page at a time)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, StartAfter=start_after)
    for page in pages:
        for obj in page.get("Contents", []):
            yield obj["Key"]
