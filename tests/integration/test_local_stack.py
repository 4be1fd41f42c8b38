"""The local stack as a whole: resources from ``infra/stack.json``, the real handlers behind
the HTTP API, and ``storepulse stack`` started and stopped like a developer does."""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest
import requests

from devstack.aws import free_port, port_in_use
from devstack.provision import provision
from devstack.spec import load_stack_spec

if TYPE_CHECKING:
    from tests.conftest import StackFixture

SPEC = load_stack_spec()


def test_health_through_the_real_handlers(stack: StackFixture) -> None:
    response = requests.get(f"{stack.api_url}/v1/health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_tables_and_buckets_are_as_described(stack: StackFixture) -> None:
    dynamodb, s3 = stack.client("dynamodb"), stack.client("s3")
    for table in SPEC.tables:
        description = dynamodb.describe_table(TableName=table.name)["Table"]
        keys = {k["AttributeName"]: k["KeyType"] for k in description["KeySchema"]}
        expected = {table.hash_key: "HASH", **({table.range_key: "RANGE"} if table.range_key else {})}
        assert keys == expected
        assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    for bucket in SPEC.buckets:
        rules = s3.get_bucket_encryption(Bucket=bucket.name)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        block = s3.get_public_access_block(Bucket=bucket.name)["PublicAccessBlockConfiguration"]
        assert all(block.values())


def test_queues_subscriptions_and_rules_are_as_described(stack: StackFixture) -> None:
    sqs, sns, events = stack.client("sqs"), stack.client("sns"), stack.client("events")
    resources = stack.local.resources
    assert resources is not None
    for spec in SPEC.queues:
        attributes = sqs.get_queue_attributes(
            QueueUrl=resources.queue_urls[spec.name], AttributeNames=["All"]
        )["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == resources.queue_arns[spec.dlq_name]
        assert int(redrive["maxReceiveCount"]) == spec.max_receive_count
        # The session's stack shortens it; by default it is the function's timeout x the factor,
        # plus the batching window
        assert attributes["VisibilityTimeout"] == "2"
        function = SPEC.function(spec.function)
        window = function.source.batching_window_seconds if function.source else 0
        assert SPEC.visibility_timeout(spec) == function.timeout * 6 + window
        if spec.subscription is None and spec.rule_target is None:
            # Fed by a function's own SendMessage (IAM), not by a service: no resource policy
            assert "Policy" not in attributes
            continue
        statements = json.loads(attributes["Policy"])["Statement"]
        if spec.subscription is not None:
            topic_arn = resources.topic_arns[spec.subscription.topic]
            assert {s["Condition"]["ArnEquals"]["aws:SourceArn"] for s in statements} >= {topic_arn}
            (subscription,) = [
                s
                for s in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
                if s["Endpoint"] == resources.queue_arns[spec.name]
            ]
            settings = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])[
                "Attributes"
            ]
            assert settings["RawMessageDelivery"] == "true"
            if spec.subscription.filter_policy:
                assert json.loads(settings["FilterPolicy"]) == spec.subscription.filter_policy
    for rule in SPEC.rules:
        described = events.describe_rule(Name=rule.name, EventBusName=rule.bus)
        assert json.loads(described["EventPattern"]) == rule.pattern
        targets = {
            t["Arn"] for t in events.list_targets_by_rule(Rule=rule.name, EventBusName=rule.bus)["Targets"]
        }
        expected = {
            resources.queue_arns[t.name if t.kind == "sqs" else f"{rule.name}-to-{t.name}"]
            for t in rule.targets
        }
        assert targets == expected


def test_provisioning_again_changes_nothing(stack: StackFixture) -> None:
    resources = stack.local.resources
    assert resources is not None
    again = provision(SPEC, stack.aws, visibility_timeout=2)
    assert again.environment == resources.environment
    assert again.queue_urls == resources.queue_urls
    sns = stack.client("sns")
    for topic_arn in resources.topic_arns.values():
        endpoints = [
            s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
        ]
        assert len(endpoints) == len(set(endpoints))


def test_the_handlers_environment_names_every_resource(stack: StackFixture) -> None:
    environment = stack.local.environment
    assert environment["INGEST_TABLE"] == "storepulse-ingest"
    assert environment["ANALYTICS_TABLE"] == "storepulse-analytics"
    assert environment["LAKE_BUCKET"] == "storepulse-lake"
    assert environment["EVENT_BUS_NAME"] == "storepulse"
    assert environment["EVENTS_TOPIC_ARN"].endswith(":storepulse-events")
    assert environment["ALERTS_TOPIC_ARN"].endswith(":storepulse-alerts")
    assert environment["POWERTOOLS_SERVICE_NAME"] == "storepulse"
    assert environment["AWS_ENDPOINT_URL"] == stack.endpoint_url
    assert len(environment["INGEST_KEY_SHA256"]) == 64 and stack.ingest_key not in environment.values()
    for name in ("INGEST_TABLE", "EVENTS_TOPIC_ARN", "AWS_ENDPOINT_URL"):
        assert os.environ[name] == environment[name]


def _lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def _wait_for(lines: queue.Queue[str], words: str, seen: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=0.2))
        except queue.Empty:
            continue
        if words in seen[-1]:
            return
    raise AssertionError(f"{words!r} did not appear; output: {''.join(seen)}")


def test_storepulse_stack_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    # Given `storepulse stack` running in a terminal of its own, without demo data
    api_port, aws_port = free_port(), free_port()
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "STOREPULSE_", "POWERTOOLS_"))
        and name not in {"INGEST_KEY_SHA256", "READ_KEY_SHA256", "PII_HASH_KEY"}
    }
    environment.update(
        STOREPULSE_DATA_DIR=str(tmp_path / "data"),
        STOREPULSE_API_PORT=str(api_port),
        STOREPULSE_AWS_PORT=str(aws_port),
        STOREPULSE_DASH_PORT=str(free_port()),
        SEED="0",
        PYTHONUNBUFFERED="1",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.cli", "stack"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: queue.Queue[str] = queue.Queue()
    err: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None and process.stderr is not None
    threading.Thread(target=_lines, args=(process.stdout, out), daemon=True).start()
    threading.Thread(target=_lines, args=(process.stderr, err), daemon=True).start()
    stdout: list[str] = []
    try:
        _wait_for(out, "Ctrl-C stops it", stdout, timeout=60)
        text = "".join(stdout)
        assert f"http://127.0.0.1:{api_port}" in text
        assert "Ingest key" in text and "Read key" in text
        assert f"http://127.0.0.1:{api_port}/v1/connectors/shopify" in text and "WooCommerce secret" in text
        assert requests.get(f"http://127.0.0.1:{api_port}/v1/health", timeout=10).status_code == 200
        # When Ctrl-C reaches it
        process.send_signal(signal.SIGINT)
        code = process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
    time.sleep(0.2)
    stdout += list(out.queue)
    stderr = "".join(err.queue)
    # Then it says what it does, saves the state, stops moto and exits 0 without a traceback
    assert code == 0, stderr
    assert "Stopping" in stderr
    assert "Stopped." in "".join(stdout)
    assert "Traceback" not in stderr
    assert (tmp_path / "data" / "snapshot.jsonl.gz").exists()
    assert not port_in_use(aws_port) and not port_in_use(api_port)


def test_the_aws_endpoint_refuses_web_pages_and_serves_sdks(stack: StackFixture) -> None:
    endpoint = stack.endpoint_url
    # Given a page on another origin asking the browser for a preflight
    preflight = requests.options(
        f"{endpoint}/",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-amz-target,content-type",
        },
        timeout=10,
    )
    # Then the endpoint refuses it, and grants no CORS access
    assert preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers
    # And a request carrying that origin (a form post, a no-cors fetch) does nothing
    queue_name = "storepulse-cors-probe"
    attack = requests.post(
        f"{endpoint}/",
        data={"Action": "CreateQueue", "QueueName": queue_name},
        headers={"Origin": "http://evil.example"},
        timeout=10,
    )
    assert attack.status_code == 403
    # And so does a page that rebinds its own DNS name to this machine
    rebound = requests.post(
        f"{endpoint}/",
        data={"Action": "CreateQueue", "QueueName": queue_name},
        headers={"Host": "evil.example"},
        timeout=10,
    )
    assert rebound.status_code == 403
    # While boto3, which sends no Origin, works as before
    sqs = stack.client("sqs")
    names = [url.rsplit("/", 1)[-1] for url in sqs.list_queues().get("QueueUrls", [])]
    assert "storepulse-orders" in names and queue_name not in names


def test_the_shared_clients_keep_a_connection_per_concurrent_caller(
    stack: StackFixture, caplog: pytest.LogCaptureFixture
) -> None:
    # The stack runs every function in this process, several at once: 4 senders' requests each
    # claim with 16 threads, so 64 callers share one DynamoDB client. A Lambda-sized pool (32)
    # drops the connections it cannot keep and says so on the terminal, once per request.
    from backend.adapters.clients import client

    dynamodb = client("dynamodb")
    table = stack.local.environment["INGEST_TABLE"]
    start = threading.Barrier(64)

    def call(_: int) -> None:
        start.wait()
        dynamodb.get_item(TableName=table, Key={"event_id": {"S": "pool-check"}})

    with caplog.at_level(logging.WARNING, logger="urllib3"):
        for _ in range(3):
            with ThreadPoolExecutor(64) as pool:
                list(pool.map(call, range(64)))
    assert not [r for r in caplog.records if "Connection pool is full" in r.getMessage()]
    # botocore-stubs does not declare Config's options: Config sets them with setattr
    assert dynamodb.meta.config.max_pool_connections >= 64  # type: ignore[attr-defined]
