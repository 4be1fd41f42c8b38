"""Keep the local stack's state across restarts: moto holds everything in memory only.

A snapshot is one gzipped JSON-lines file in the data directory, written to a temporary file
and renamed into place, so a crash while saving leaves the previous snapshot intact. It holds
every DynamoDB item (DynamoDB JSON, as Scan returns it), every S3 object (bytes, content type,
metadata) and the messages waiting in the given queues (body and message attributes).
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from devstack.aws import AwsClients

logger = logging.getLogger(__name__)

SNAPSHOT_FILE = "snapshot.jsonl.gz"
FORMAT_VERSION = 1
_OBJECT_FIELDS = ("ContentType", "ContentEncoding", "ContentDisposition", "CacheControl")


@dataclass
class SnapshotCounts:
    """How much a snapshot held."""

    items: int = 0
    objects: int = 0
    messages: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return f"{self.items} items, {self.objects} objects, {self.messages} queued messages"


@dataclass
class ObjectCache:
    """S3 objects already read, by (bucket, key) and ETag, so periodic snapshots only fetch
    what changed (lake files never change once written)."""

    entries: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)


def _scan(aws: AwsClients, table: str) -> Iterator[dict[str, Any]]:
    for page in aws.dynamodb.get_paginator("scan").paginate(TableName=table):
        yield from page.get("Items", [])


def _objects(aws: AwsClients, bucket: str, cache: ObjectCache) -> Iterator[dict[str, Any]]:
    seen = set()
    for page in aws.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for summary in page.get("Contents", []):
            key, etag = summary["Key"], summary.get("ETag", "")
            seen.add((bucket, key))
            cached = cache.entries.get((bucket, key))
            if cached is not None and cached[0] == etag:
                yield cached[1]
                continue
            response = aws.s3.get_object(Bucket=bucket, Key=key)
            record = {
                "kind": "object",
                "bucket": bucket,
                "key": key,
                "body": base64.b64encode(response["Body"].read()).decode("ascii"),
                "metadata": response.get("Metadata", {}),
                **{name: response[name] for name in _OBJECT_FIELDS if response.get(name)},
            }
            cache.entries[(bucket, key)] = (etag, record)
            yield record
    for gone in [k for k in cache.entries if k[0] == bucket and k not in seen]:
        del cache.entries[gone]


def peek_messages(aws: AwsClients, queue_url: str, hold_seconds: int = 30) -> list[dict[str, Any]]:
    """Every visible message of a queue, left in the queue.

    Messages are received (hidden for ``hold_seconds`` so each is seen once) until the queue
    has none left, then made visible again. Each peek counts as a receive in
    ``ApproximateReceiveCount``.
    """
    messages: list[dict[str, Any]] = []
    try:
        while True:
            response = aws.sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=hold_seconds,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            batch = response.get("Messages", [])
            if not batch:
                return messages
            messages += batch
    finally:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            aws.sqs.change_message_visibility_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )


def _message_record(queue: str, message: Mapping[str, Any]) -> dict[str, Any]:
    attributes = {}
    for name, value in message.get("MessageAttributes", {}).items():
        attribute = {"DataType": value["DataType"]}
        if "StringValue" in value:
            attribute["StringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            attribute["BinaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
        attributes[name] = attribute
    return {"kind": "message", "queue": queue, "body": message["Body"], "attributes": attributes}


def save_snapshot(
    aws: AwsClients,
    path: Path,
    *,
    tables: Iterable[str],
    buckets: Iterable[str],
    queues: Mapping[str, str],
    cache: ObjectCache | None = None,
) -> SnapshotCounts:
    """Write the state of ``tables``, ``buckets`` and ``queues`` (name -> URL) to ``path``.

    Parameters
    ----------
    aws
        Clients bound to the stack's endpoint.
    path
        The snapshot file; replaced atomically.
    tables, buckets
        Names of what to save.
    queues
        Queues whose waiting messages are saved (DLQs while running; every queue at the
        final snapshot, once the pollers have stopped).
    cache
        Objects read by an earlier snapshot, reused when their ETag is unchanged.
    """
    cache = cache if cache is not None else ObjectCache()

    def records() -> Iterator[dict[str, Any]]:
        for table in tables:
            for item in _scan(aws, table):
                yield {"kind": "item", "table": table, "item": _binary_out(item)}
        for bucket in buckets:
            yield from _objects(aws, bucket, cache)
        for queue, url in queues.items():
            for message in peek_messages(aws, url):
                yield _message_record(queue, message)

    return write_snapshot(path, records())


def write_snapshot(path: Path, records: Iterable[Mapping[str, Any]]) -> SnapshotCounts:
    """Write ``records`` (items, objects, messages) to ``path`` as a snapshot, atomically.

    The file is written beside ``path``, flushed to disk and renamed into place (then the
    directory is flushed too), so a crash at any moment leaves either the previous snapshot or
    this one, whole.
    """
    started = time.monotonic()
    counts = SnapshotCounts()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as raw:
            with gzip.open(raw, "wt", encoding="utf-8", compresslevel=1) as out:
                out.write(json.dumps({"kind": "header", "version": FORMAT_VERSION}) + "\n")
                for record in records:
                    out.write(json.dumps(record) + "\n")
                    kind = record["kind"]
                    counts.items += kind == "item"
                    counts.objects += kind == "object"
                    counts.messages += kind == "message"
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, path)
        sync_directory(path.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    counts.seconds = time.monotonic() - started
    logger.debug("saved %s to %s in %.1f s", counts, path, counts.seconds)
    return counts


def sync_directory(directory: Path) -> None:
    """Flush a directory's entries (a rename into it) to disk."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _binary_out(value: Any) -> Any:
    """A DynamoDB JSON item for ``json.dumps``: binary values (bytes, as botocore gives them)
    become ``{"B64": ...}`` (``{"BS64": [...]}`` for binary sets), everything else as it is."""
    if isinstance(value, dict):
        if set(value) == {"B"} and isinstance(value["B"], bytes | bytearray):
            return {"B64": base64.b64encode(value["B"]).decode("ascii")}
        if set(value) == {"BS"}:
            return {"BS64": [base64.b64encode(member).decode("ascii") for member in value["BS"]]}
        return {name: _binary_out(member) for name, member in value.items()}
    if isinstance(value, list):
        return [_binary_out(member) for member in value]
    return value


def _binary_in(value: Any) -> Any:
    """The inverse of :func:`_binary_out`."""
    if isinstance(value, dict):
        if set(value) == {"B64"}:
            return {"B": base64.b64decode(value["B64"])}
        if set(value) == {"BS64"}:
            return {"BS": [base64.b64decode(member) for member in value["BS64"]]}
        return {name: _binary_in(member) for name, member in value.items()}
    if isinstance(value, list):
        return [_binary_in(member) for member in value]
    return value


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _write_items(aws: AwsClients, table: str, items: list[dict[str, Any]]) -> None:
    requests = [{"PutRequest": {"Item": item}} for item in items]
    delay = 0.05
    while requests:
        response = aws.dynamodb.batch_write_item(RequestItems={table: requests})
        requests = response.get("UnprocessedItems", {}).get(table, [])
        if requests:
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def restore_snapshot(
    aws: AwsClients,
    path: Path,
    *,
    tables: Iterable[str],
    buckets: Iterable[str],
    queue_urls: Mapping[str, str],
) -> SnapshotCounts:
    """Load ``path`` into the (empty) resources of the stack.

    Items go in with BatchWriteItem, 25 at a time; objects with PutObject; messages are sent
    again to their queue by name (they get new message ids). Records for resources that the
    stack no longer has are skipped with a warning.

    Parameters
    ----------
    aws
        Clients bound to the stack's endpoint.
    path
        A file written by :func:`save_snapshot`.
    tables, buckets
        The stack's tables and buckets.
    queue_urls
        The stack's queues, name -> URL.
    """
    started = time.monotonic()
    counts = SnapshotCounts()
    known_tables, known_buckets = set(tables), set(buckets)
    pending: dict[str, list[dict[str, Any]]] = {}
    skipped: set[str] = set()
    total = sum(1 for _ in _records(path)) - 1
    with tqdm(total=total, desc="restoring state", unit="rec", disable=None, leave=False) as bar:
        for record in _records(path):
            kind = record.get("kind")
            if kind == "header":
                if record.get("version") != FORMAT_VERSION:
                    raise ValueError(f"{path} has format {record.get('version')}, not {FORMAT_VERSION}")
                continue
            bar.update()
            if kind == "item":
                if record["table"] not in known_tables:
                    skipped.add(f"table {record['table']}")
                    continue
                batch = pending.setdefault(record["table"], [])
                batch.append(_binary_in(record["item"]))
                counts.items += 1
                if len(batch) == 25:
                    _write_items(aws, record["table"], batch)
                    batch.clear()
            elif kind == "object":
                if record["bucket"] not in known_buckets:
                    skipped.add(f"bucket {record['bucket']}")
                    continue
                extra = {name: record[name] for name in _OBJECT_FIELDS if name in record}
                aws.s3.put_object(
                    Bucket=record["bucket"],
                    Key=record["key"],
                    Body=base64.b64decode(record["body"]),
                    Metadata=record.get("metadata", {}),
                    **extra,
                )
                counts.objects += 1
            elif kind == "message":
                url = queue_urls.get(record["queue"])
                if url is None:
                    skipped.add(f"queue {record['queue']}")
                    continue
                aws.sqs.send_message(
                    QueueUrl=url,
                    MessageBody=record["body"],
                    MessageAttributes=_sqs_attributes(record.get("attributes", {})),
                )
                counts.messages += 1
        for table, batch in pending.items():
            if batch:
                _write_items(aws, table, batch)
    for what in sorted(skipped):
        logger.warning("the snapshot has data for %s, which the stack no longer has; skipped", what)
    counts.seconds = time.monotonic() - started
    logger.info("restored %s from %s in %.1f s", counts, path, counts.seconds)
    return counts


def _sqs_attributes(attributes: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, Any]]:
    converted: dict[str, dict[str, Any]] = {}
    for name, value in attributes.items():
        attribute: dict[str, Any] = {"DataType": value["DataType"]}
        if "StringValue" in value:
            attribute["StringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            attribute["BinaryValue"] = base64.b64decode(value["BinaryValue"])
        converted[name] = attribute
    return converted
