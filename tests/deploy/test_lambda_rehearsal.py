"""The deploy rehearsal of the Lambda functions: each package that ``make package-backend`` builds,
installed alone into a clean interpreter, runs its handler against the moto server.

The packages are built by the very script ``make package-backend`` runs, for this machine's
platform (``--platform local``: the same pins as x86_64 wheels; Lambda's are arm64). Each function
runs in its own ``python -I -S`` process whose ``sys.path`` holds only its unpacked zip and the
standard library, with exactly the environment Terraform gives it (its own variables and the
common ones): a module its package lacks, a variable it is not given, fails here as in AWS.

The events are real: API Gateway proxy events for the two HTTP functions, and for the queue
consumers the very messages SNS and EventBridge delivered to their queues after the ingest
function accepted a batch; the jobs function gets each schedule's input.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devstack.aws import AwsClients, MotoServer, fake_aws_environment, free_port
from devstack.downloads import local_reports_environment
from devstack.http_api import build_proxy_event
from devstack.keys import DevKeys
from devstack.pollers import lambda_sqs_record
from devstack.provision import Resources, provision
from devstack.spec import StackSpec, load_stack_spec
from tests.locks import exclusive

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ROOT / "build" / "lambda-local"
LAMBDA_UNZIPPED_LIMIT = 250 * 1000 * 1000
KEYS = DevKeys(
    ingest_key="rehearsal-ingest-key",
    read_key="rehearsal-read-key",
    pii_hash_key="rehearsal-pii-key",
    unsubscribe_signing_key="rehearsal-unsubscribe-key",
)
DAY = "2026-01-15"
# The secrets as Terraform gives them: the names of SecureString parameters (infra/secrets.tf).
SECRETS = {
    "PII_HASH_KEY": ("/storepulse/pii_hash_key", KEYS.pii_hash_key),
    "UNSUBSCRIBE_SIGNING_KEY": ("/storepulse/unsubscribe_signing_key", KEYS.unsubscribe_signing_key),
    "STOREPULSE_SHOPIFY_SECRET": ("/storepulse/webhooks/shopify", "rehearsal-shopify-secret"),
    "STOREPULSE_WOOCOMMERCE_SECRET": ("/storepulse/webhooks/woocommerce", "rehearsal-woocommerce-secret"),
}
SHOPIFY_ORDER = ROOT / "tests" / "fixtures" / "connectors" / "shopify_orders_create.json"

# Runs in the bare interpreter: import the handler (the cold start), invoke it with each event,
# print one JSON line per result.
INVOKE = r"""
import importlib, json, sys, uuid
request = json.loads(sys.stdin.read())
module_name, attribute = request["handler"].rsplit(".", 1)
handler = getattr(importlib.import_module(module_name), attribute)

class Context:
    function_name = request["function"]
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + request["function"]
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/" + request["function"]
    log_stream_name = "rehearsal"
    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())
    def get_remaining_time_in_millis(self):
        return 30000

allowed = (request["root"], sys.base_prefix)
outside = sorted(m.__file__ for m in list(sys.modules.values())
                 if getattr(m, "__file__", None) and not m.__file__.startswith(allowed))
for event in request["events"]:
    print(json.dumps({"result": handler(event, Context())}, default=str))
print(json.dumps({"outside": outside}))
"""


@dataclass
class Rehearsal:
    spec: StackSpec
    aws: AwsClients
    resources: Resources
    endpoint_url: str
    unpacked: dict[str, Path]

    def environment(self, function: str) -> dict[str, str]:
        """What Terraform sets on ``function`` (its variables and the common ones, secrets as SSM
        parameter names), with the values the local stack uses, plus the AWS endpoint."""
        values = {
            **self.resources.environment,
            **KEYS.handler_environment(),
            **{variable: f"ssm:{parameter}" for variable, (parameter, _) in SECRETS.items()},
            **local_reports_environment("http://127.0.0.1:9"),
            "STORE_TIMEZONE": "UTC",
            "STORE_CURRENCY": "USD",
            "POWERTOOLS_SERVICE_NAME": f"storepulse-{function}",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
        spec = self.spec.function(function)
        given = {name: values[name] for name in [*spec.env, *self.spec.common_env] if name in values}
        return {
            **given,
            **fake_aws_environment(self.endpoint_url),
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
        }

    def invoke(self, function: str, events: list[Any], data_dir: Path | None = None) -> list[Any]:
        """A cold start of ``function``'s package, then ``events`` in order; the results."""
        root = self.unpacked[function]
        environment = self.environment(function)
        if data_dir is not None and "STOREPULSE_DATA_DIR" in environment:
            environment["STOREPULSE_DATA_DIR"] = str(data_dir)
        script = f"import sys; sys.path[:] = [{str(root)!r}, *[p for p in sys.path if p]]\n" + INVOKE
        request = {
            "handler": self.spec.function(function).handler,
            "function": function,
            "events": events,
            "root": str(root),
        }
        run = subprocess.run(
            [sys.executable, "-I", "-S", "-c", script],
            cwd=root,
            input=json.dumps(request),
            env=environment,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert run.returncode == 0, f"{function}: {run.stderr[-4000:]}"
        lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
        # Nothing was imported from outside the package and the standard library.
        assert lines[-1] == {"outside": []}, lines[-1]
        return [line["result"] for line in lines[:-1]]

    def api_event(
        self, method: str, path: str, key: str, body: Any = None, query: str = ""
    ) -> dict[str, Any]:
        headers = [("Host", "api.example.com"), ("x-api-key", key), ("Content-Type", "application/json")]
        return build_proxy_event(
            method=method,
            path=path,
            query_string=query,
            headers=headers,
            body=b"" if body is None else json.dumps(body).encode(),
            source_ip="203.0.113.7",
            account_id="123456789012",
        )

    def webhook_event(self, body: bytes, signature: str) -> dict[str, Any]:
        """A Shopify orders/create through API Gateway, signed with ``signature``."""
        headers = [
            ("Host", "api.example.com"),
            ("Content-Type", "application/json"),
            ("X-Shopify-Topic", "orders/create"),
            ("X-Shopify-Webhook-Id", "rehearsal-delivery"),
            ("X-Shopify-Hmac-Sha256", signature),
        ]
        return build_proxy_event(
            method="POST",
            path="/v1/connectors/shopify",
            query_string="",
            headers=headers,
            body=body,
            source_ip="203.0.113.7",
            account_id="123456789012",
        )

    def delivered(self, queue: str, expected: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The SQS event Lambda would get from ``queue``: the messages delivered to it."""
        url = self.resources.queue_urls[queue]
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(messages) < expected and time.monotonic() < deadline:
            response = self.aws.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages.extend(response.get("Messages", []))
        assert messages, f"nothing was delivered to {queue}"
        arn = self.resources.queue_arn(queue)
        return [{"Records": [lambda_sqs_record(m, arn, self.aws.region) for m in messages]}]


def build_packages() -> dict[str, Any]:
    """``make package-backend``'s script for this platform (cached under build/ by the
    requirements' hash and by each zip's contents)."""
    with exclusive("lambda-local"):
        build = subprocess.run(
            [
                sys.executable,
                "infra/scripts/package_backend.py",
                "--platform",
                "local",
                "--out",
                str(PACKAGES),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1200,
        )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return dict(json.loads((PACKAGES / "sizes.json").read_text())["functions"])


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    sizes = build_packages()
    spec = load_stack_spec()
    unpacked = {}
    for function in spec.functions:
        assert sizes[function.name]["unzipped_bytes"] < LAMBDA_UNZIPPED_LIMIT
        target = tmp_path_factory.mktemp(f"lambda-{function.name}")
        with zipfile.ZipFile(PACKAGES / f"{function.name}.zip") as archive:
            archive.extractall(target)
        unpacked[function.name] = target
    data = tmp_path_factory.mktemp("moto")
    with MotoServer(free_port(), log_path=data / "moto.log") as moto:
        aws = AwsClients(moto.endpoint_url)
        resources = provision(spec, aws)
        for parameter, value in SECRETS.values():
            aws.client("ssm").put_parameter(Name=parameter, Value=value, Type="SecureString")
        yield Rehearsal(spec, aws, resources, moto.endpoint_url, unpacked)


def events() -> list[dict[str, Any]]:
    at = f"{DAY}T10:00:00Z"
    return [
        {
            "event_id": "r-product",
            "type": "product.upserted",
            "occurred_at": at,
            "data": {
                "sku": "MUG-1",
                "name": "Mug",
                "category": "kitchen",
                "price": "12.00",
                "reorder_point": 5,
            },
        },
        {
            "event_id": "r-stock",
            "type": "inventory.adjusted",
            "occurred_at": at,
            "data": {"sku": "MUG-1", "delta": 3, "reason": "restock"},
        },
        {
            "event_id": "r-customer",
            "type": "customer.registered",
            "occurred_at": at,
            "data": {"customer_id": "c-1", "country": "DE", "email": "ana@example.com"},
        },
        {
            "event_id": "r-order",
            "type": "order.placed",
            "occurred_at": f"{DAY}T11:00:00Z",
            "data": {
                "order_id": "o-1",
                "customer_id": "c-1",
                "currency": "USD",
                "lines": [{"sku": "MUG-1", "quantity": 2, "unit_price": "12.00"}],
            },
        },
    ]


# Building the packages takes minutes the first time (then build/ caches them).
@pytest.mark.timeout(1200)
def test_every_function_runs_from_its_package_alone(rehearsal: Rehearsal, tmp_path: Path) -> None:
    # Given the ingest function's package: a batch through API Gateway is accepted
    (accepted,) = rehearsal.invoke(
        "ingest", [rehearsal.api_event("POST", "/v1/events", KEYS.ingest_key, {"events": events()})]
    )
    assert accepted["statusCode"] == 202, accepted
    assert json.loads(accepted["body"])["accepted"] == 4

    # When each processor's package gets what SNS delivered to its queue, none fails a record
    for function, queue in [
        ("inventory", "storepulse-inventory"),
        ("customers", "storepulse-customers"),
        ("orders", "storepulse-orders"),
        ("lake", "storepulse-lake"),
    ]:
        (result,) = rehearsal.invoke(function, rehearsal.delivered(queue))
        assert result == {"batchItemFailures": []}, (function, result)
    # The stock fell to the reorder point: EventBridge routed the LowStock alert to the feed
    (fed,) = rehearsal.invoke("alert_feed", rehearsal.delivered("storepulse-alert-feed"))
    assert fed == {"batchItemFailures": []}

    # Then the read API's package reads what the processors' packages wrote
    summary, alerts, requested = rehearsal.invoke(
        "api",
        [
            rehearsal.api_event("GET", "/v1/metrics/summary", KEYS.read_key, query=f"start={DAY}&end={DAY}"),
            rehearsal.api_event("GET", "/v1/alerts", KEYS.read_key, query=f"since={DAY}"),
            rehearsal.api_event(
                "POST", "/v1/reports", KEYS.read_key, {"type": "sales_summary", "start": DAY, "end": DAY}
            ),
        ],
    )
    assert summary["statusCode"] == 200, summary
    current = json.loads(summary["body"])["current"]
    assert (current["gross_sales"], current["orders"], current["units"]) == ("24.00", 1, 2)
    assert [a["sku"] for a in json.loads(alerts["body"])["alerts"]] == ["MUG-1"]
    assert requested["statusCode"] == 202, requested
    report_id = json.loads(requested["body"])["report_id"]

    # And the reports package renders the PDF the API queued
    (rendered,) = rehearsal.invoke("reports", rehearsal.delivered("storepulse-reports"))
    assert rendered == {"batchItemFailures": []}
    (report,) = rehearsal.invoke(
        "api", [rehearsal.api_event("GET", f"/v1/reports/{report_id}", KEYS.read_key)]
    )
    assert json.loads(report["body"])["status"] == "ready", report

    # And the jobs package runs every schedule's input (pyarrow, tqdm, the digest templates)
    inputs = [{"job": schedule.job} for schedule in rehearsal.spec.schedules]
    results = rehearsal.invoke("jobs", inputs, data_dir=tmp_path)
    assert [result["job"] for result in results] == [schedule.job for schedule in rehearsal.spec.schedules]
    compacted = next(result for result in results if result["job"] == "lake-compaction")
    assert json.dumps(compacted).count(DAY) >= 1, compacted

    # And the connectors package checks a webhook's signature with its secret from SSM and hands
    # the order to the ingest path
    body = SHOPIFY_ORDER.read_bytes()
    secret = SECRETS["STOREPULSE_SHOPIFY_SECRET"][1].encode()
    signature = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
    forged, taken = rehearsal.invoke(
        "connectors",
        [rehearsal.webhook_event(body, "Zm9yZ2Vk"), rehearsal.webhook_event(body, signature)],
    )
    assert forged["statusCode"] == 401, forged
    assert (taken["statusCode"], json.loads(taken["body"])["accepted"]) == (200, 1), taken
