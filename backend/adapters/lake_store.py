"""Writing the lake bucket's objects: raw NDJSON by arrival hour, Parquet by table and day, the
compaction watermark. The lake processor and the ``lake-compaction`` job
(:mod:`backend.processing.lake`, :mod:`backend.processing.compaction`) decide what goes where;
this module and :mod:`backend.adapters.lake_reads` are their only code that calls S3 (two modules,
so that the lake function, which only writes, reaches no read or list call: its grants are
checked against the calls of the code it imports).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any


def put(
    s3: S3Client, bucket: str, key: str, body: bytes, content_type: str, *, gzipped: bool = False
) -> None:
    """Write one object (``gzipped``: its body is gzip, said by ``Content-Encoding``)."""
    if gzipped:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, ContentEncoding="gzip")
    else:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
