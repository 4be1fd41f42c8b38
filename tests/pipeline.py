"""Driving the real handlers directly, as Lambda would, against the moto server.

The stack's pollers are the normal way in; these helpers let a test choose the batches, the
redeliveries and the failures exactly. They need the environment the stack fixture sets
(``AWS_ENDPOINT_URL``, resource names, key digests).
"""

from __future__ import annotations

import json
import os
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import import_module
from pathlib import Path
from typing import Any

import boto3

from backend.adapters import stock_in as stock_in_items
from backend.adapters.analytics import AnalyticsTable
from backend.adapters.packets import pack_json
from backend.adapters.stock import INBOX_KEYS
from backend.api.auth import key_digest
from backend.domain.events import parse_event
from backend.processing.ingest import hash_pii
from backend.processing.stock_in import fold as stock_fold
from backend.settings import get_settings
from devstack.runtime import new_context

ROOT = Path(__file__).resolve().parents[1]
SPEC = json.loads((ROOT / "infra" / "stack.json").read_text())
READ_KEY = "test-read-key"
# Every partition holding on-hand counters: the inbox items' (one each), older releases' and
# the SKUs' own items.
STOCK_COUNTER_PARTITIONS = ("STOCK", "CATALOG", *(pk for pk, _ in INBOX_KEYS))


def _routes() -> dict[str, list[tuple[str, str]]]:
    """event type -> [(function name, queue name)] from the subscriptions' filter policies."""
    routes: dict[str, list[tuple[str, str]]] = defaultdict(list)
    types = [
        "order.placed",
        "order.refunded",
        "customer.registered",
        "product.upserted",
        "inventory.adjusted",
    ]
    for queue in SPEC["queues"]:
        subscription = queue.get("subscription")
        if not subscription:
            continue
        accepted = (subscription.get("filter_policy") or {}).get("event_type", types)
        for event_type in accepted:
            routes[event_type].append((queue["function"], queue["name"]))
    return routes


ROUTES = _routes()
HANDLERS = {f["name"]: f["handler"] for f in SPEC["functions"]}


def handler(function: str) -> Callable[[dict[str, Any], Any], Any]:
    module, _, name = HANDLERS[function].rpartition(".")
    return getattr(import_module(module), name)


def context(function: str) -> Any:
    return new_context(function, memory=512, timeout=30, region="us-east-1", account_id="123456789012")


def pipeline_form(raw_events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the ingest function publishes for each event (validated, e-mail hashed)."""
    settings = get_settings()
    now = datetime.now(UTC)
    return [
        hash_pii(parse_event(e, currency=settings.store_currency, now=now), "test-pepper").to_json()
        for e in raw_events
    ]


def sqs_record(event: dict[str, Any], queue: str, receive_count: int = 1) -> dict[str, Any]:
    """A Lambda SQS record for one event, with a fresh message id (as a redelivery through a
    new SNS message would have)."""
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": uuid.uuid4().hex,
        "body": json.dumps(event),
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "0",
            "SenderId": "test",
            "ApproximateFirstReceiveTimestamp": "0",
        },
        "messageAttributes": {"event_type": {"stringValue": event["type"], "dataType": "String"}},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
        "awsRegion": "us-east-1",
    }


def packet_record(events: Sequence[dict[str, Any]], queue: str, receive_count: int = 1) -> dict[str, Any]:
    """A Lambda SQS record for a packet of events, as the ingest function publishes it."""
    record = sqs_record(events[0], queue, receive_count)
    record["body"] = pack_json(events)
    types = sorted({e["type"] for e in events})
    record["messageAttributes"] = {
        "event_type": {"stringValue": json.dumps(types), "dataType": "String.Array"}
    }
    return record


def deliver_packets(
    events: Sequence[dict[str, Any]],
    packet_size: int = 5,
    batch_size: int = 3,
    skip: Iterable[str] = ("lake",),
) -> None:
    """Deliver pipeline events in packets of ``packet_size`` (mixed types, as requests make
    them) to every processor whose filter matches one of a packet's types, ``batch_size``
    packets per invocation, redelivering failed packets."""
    packets = [list(events[i : i + packet_size]) for i in range(0, len(events), packet_size)]
    routes: dict[tuple[str, str], list[list[dict[str, Any]]]] = defaultdict(list)
    for packet in packets:
        for route in sorted({r for e in packet for r in ROUTES[e["type"]]}):
            routes[route].append(packet)
    for (function, queue), routed in routes.items():
        if function in set(skip):
            continue
        for start in range(0, len(routed), batch_size):
            batch = routed[start : start + batch_size]
            for _ in range(5):
                records = [packet_record(p, queue) for p in batch]
                result = handler(function)({"Records": records}, context(function))
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
                batch = [p for p, r in zip(batch, records, strict=True) if r["messageId"] in failed]
                if not batch:
                    break
            else:
                raise AssertionError(f"{function} kept failing on {len(batch)} packets")


def by_function(events: Sequence[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Split pipeline events the way the SNS filter policies do (the lake gets everything)."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        for route in ROUTES[event["type"]]:
            out[route].append(event)
    return out


def invoke_batch(
    function: str,
    queue: str,
    events: Sequence[dict[str, Any]],
    records: Sequence[dict[str, Any]] | None = None,
) -> list[str]:
    """Invoke a processor with one batch; returns the event ids it reported as failed.

    ``records`` are the SQS records to deliver (to deliver the same messages again, as SQS does
    after a failure); by default each event gets a record with a fresh message id."""
    if records is None:
        records = [sqs_record(e, queue) for e in events]
    result = handler(function)({"Records": list(records)}, context(function))
    failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
    return [json.loads(r["body"])["event_id"] for r in records if r["messageId"] in failed]


def deliver(events: Sequence[dict[str, Any]], batch_size: int = 10, skip: Iterable[str] = ("lake",)) -> None:
    """Deliver pipeline events to every processor in batches, redelivering failures."""
    skipped = set(skip)
    for (function, queue), routed in by_function(events).items():
        if function in skipped:
            continue
        for start in range(0, len(routed), batch_size):
            batch = routed[start : start + batch_size]
            for _ in range(5):
                failed = set(invoke_batch(function, queue, batch))
                if not failed:
                    break
                batch = [e for e in batch if e["event_id"] in failed]
            else:
                raise AssertionError(f"{function} kept failing on {sorted(failed)}")


def api_get(path: str, params: dict[str, str] | None = None, key: str | None = READ_KEY) -> tuple[int, Any]:
    """Call the read API function with an API Gateway proxy event."""
    event = {
        "resource": path,
        "path": path,
        "httpMethod": "GET",
        "headers": {"x-api-key": key} if key else {},
        "multiValueHeaders": {"x-api-key": [key]} if key else {},
        "queryStringParameters": params,
        "multiValueQueryStringParameters": {k: [v] for k, v in (params or {}).items()} or None,
        "pathParameters": None,
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {"stage": "v1", "requestId": uuid.uuid4().hex, "httpMethod": "GET", "path": path},
    }
    result = handler("api")(event, context("api"))
    return result["statusCode"], json.loads(result["body"])


def summary(start: date, end: date) -> dict[str, Any]:
    status, body = api_get("/v1/metrics/summary", {"start": start.isoformat(), "end": end.isoformat()})
    assert status == 200, body
    return body["current"]


def allow_read_key() -> None:
    """Make ``READ_KEY`` a valid read key for the handlers of this process."""
    digests = {d for d in os.environ.get("READ_KEY_SHA256", "").split(",") if d}
    digests.add(key_digest(READ_KEY))
    os.environ["READ_KEY_SHA256"] = ",".join(sorted(digests))
    os.environ.setdefault("PII_HASH_KEY", "test-pepper")
    get_settings.cache_clear()


def dynamodb() -> Any:
    return boto3.client("dynamodb")


def clear_analytics(*, stock_in: bool = True) -> None:
    """Empty the analytics table (tests only: a scan is fine here), then set the stock-in
    fold's first watermark, as a new store's first fold does (``stock_in=False``: none, so
    the orders' stock is counted in transactions, as before the first fold)."""
    table = get_settings().require("analytics_table")
    client = dynamodb()
    paginator = client.get_paginator("scan")
    keys = [
        {"pk": item["pk"], "sk": item["sk"]}
        for page in paginator.paginate(TableName=table, ProjectionExpression="pk, sk")
        for item in page["Items"]
    ]
    for start in range(0, len(keys), 25):
        client.batch_write_item(
            RequestItems={table: [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]}
        )
    if stock_in:
        stock_fold(AnalyticsTable(client, table), stock_in_items.utc_now(), progress=False)


def analytics_items() -> list[dict[str, Any]]:
    """Every item of the analytics table, as stored (a consistent scan: tests only), for
    :func:`restore_analytics`."""
    table = get_settings().require("analytics_table")
    return [
        item
        for page in dynamodb().get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        for item in page["Items"]
    ]


def restore_analytics(items: Sequence[dict[str, Any]]) -> None:
    """The analytics table holding exactly ``items`` again (:func:`analytics_items`): emptied,
    then the items put back as they were, and read back to check it."""
    table = get_settings().require("analytics_table")
    client = dynamodb()
    clear_analytics(stock_in=False)
    for start in range(0, len(items), 25):
        answer = client.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        )
        assert not answer.get("UnprocessedItems"), answer["UnprocessedItems"]

    def by_key(listed: Iterable[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(item["pk"]["S"], item["sk"]["S"]): item for item in listed}

    assert by_key(analytics_items()) == by_key(items), "the table does not hold the items put back"


def day_counters(first: date, last: date) -> dict[date, dict[str, Decimal]]:
    """Each day's sales counters as the processors keep them, from ``first`` to ``last``, read
    item by item (strongly consistent), days without any left out: ``DAY#<d>``/``SALES``, plus
    the lone stock-in items' day content (zlib-compressed JSON, decoded here without the
    production reader): folded into the day's ``DP#<X>#<i>`` items (attribute ``s``, lines
    ``[name, amount]``) for the claim days ``X`` the fold's watermark has reached, else still in
    the items of ``STOCKIN#<X>`` (attribute ``dc``: ``{day: {"s": {name: amount}}}``)."""
    table = get_settings().require("analytics_table")
    client = dynamodb()
    paginator = client.get_paginator("query")

    def query(pk: str, low: str, high: str) -> Iterable[dict[str, Any]]:
        for page in paginator.paginate(
            TableName=table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={":pk": {"S": pk}, ":low": {"S": low}, ":high": {"S": high}},
            ConsistentRead=True,
        ):
            yield from page["Items"]

    mark = client.get_item(
        TableName=table, Key={"pk": {"S": "STOCKIN"}, "sk": {"S": "FOLDED"}}, ConsistentRead=True
    ).get("Item", {})
    through = date.fromisoformat(mark["through"]["S"]) if "through" in mark else None
    unfolded: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    if through is not None:
        # A claim day's items hold store days at most a day either side of it.
        for n in range(1, (last - through).days + 3):
            claim_day = through + timedelta(days=n)
            for item in query(f"STOCKIN#{claim_day.isoformat()}", " ", "~"):
                if "dc" in item:
                    for day, content in json.loads(zlib.decompress(item["dc"]["B"])).items():
                        for name, amount in content.get("s", {}).items():
                            unfolded[date.fromisoformat(day)][name] += Decimal(amount)
    out: dict[date, dict[str, Decimal]] = {}
    day = first
    while day <= last:
        counters: dict[str, Decimal] = defaultdict(Decimal, unfolded.get(day, {}))
        for item in query(f"DAY#{day.isoformat()}", "DP#", "SALES"):
            sort_key = item["sk"]["S"]
            if sort_key == "SALES":
                for name, value in item.items():
                    if "N" in value:
                        counters[name] += Decimal(value["N"])
            elif "s" in item and through is not None and date.fromisoformat(sort_key[3:13]) <= through:
                for line in json.loads(zlib.decompress(item["s"]["B"])):
                    name, amount = json.loads(line)
                    counters[name] += Decimal(amount)
        if counters:
            out[day] = dict(counters)
        day += timedelta(days=1)
    return out


def on_hand() -> dict[str, int]:
    """Stock on hand per SKU as the processors keep it: the ``oh:<sku>`` counters of the inbox
    items (and of an older release's ``STOCK`` items) plus the settled ``oh`` of each SKU's own
    item (read here by query, not by the production reader)."""
    table = get_settings().require("analytics_table")
    paginator = dynamodb().get_paginator("query")
    totals: dict[str, int] = {}
    for pk in STOCK_COUNTER_PARTITIONS:
        for page in paginator.paginate(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ConsistentRead=True,
        ):
            for item in page["Items"]:
                for name, value in item.items():
                    if name.startswith("oh:"):
                        totals[name[3:]] = totals.get(name[3:], 0) + int(value["N"])
                    elif name == "oh":
                        totals[item["sk"]["S"]] = totals.get(item["sk"]["S"], 0) + int(value["N"])
    for sku, delta in unfolded_stock_in().items():
        totals[sku] = totals.get(sku, 0) + delta
    return totals


def unfolded_stock_in() -> dict[str, int]:
    """The on-hand deltas of the stock-in items (``STOCKIN#<day>``) of the days after the
    fold's watermark that a writer may put items for (the 4 after it), less the SKUs their
    fold markers list: read by query and decoded here, not by the production reader (tests
    only)."""
    table = get_settings().require("analytics_table")
    client = dynamodb()
    mark = client.get_item(
        TableName=table, Key={"pk": {"S": "STOCKIN"}, "sk": {"S": "FOLDED"}}, ConsistentRead=True
    ).get("Item")
    if not mark or "through" not in mark:
        return {}
    through = date.fromisoformat(mark["through"]["S"])
    totals: dict[str, int] = defaultdict(int)
    for n in range(1, stock_in_items.WINDOW + 1):
        items = [
            item
            for page in client.get_paginator("query").paginate(
                TableName=table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={
                    ":pk": {"S": f"STOCKIN#{(through + timedelta(days=n)).isoformat()}"}
                },
                ConsistentRead=True,
            )
            for item in page["Items"]
        ]
        folded = {
            sku
            for item in items
            if item["sk"]["S"].startswith("~FOLD#")
            for sku in json.loads(zlib.decompress(item["skus"]["B"]))
        }
        for item in items:
            if "d" in item:
                for sku, delta in json.loads(zlib.decompress(item["d"]["B"]))["s"].items():
                    if sku not in folded:
                        totals[sku] += int(delta)
    return {sku: d for sku, d in totals.items() if d}


def subscribe_alert_topic(stack: Any, queue_name: str = "test-alert-mail") -> str:
    """An SQS queue subscribed to the alerts topic (what e-mail gets in AWS); its URL."""
    sqs, sns = stack.client("sqs"), stack.client("sns")
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = next(
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":storepulse-alerts")
    )
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return url


def drain_queue(stack: Any, url: str) -> list[dict[str, Any]]:
    """Every message waiting in the queue, as JSON, deleted once read."""
    sqs = stack.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        if not messages:
            return out
        for message in messages:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
