"""The shape of infra/: split by concern, typed and described, tagged, nothing hard-coded,
and big enough to be the whole system (75+ resources)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.infra import terraform

TF = terraform.load()
MODULES = terraform.modules()


def test_root_is_split_by_concern() -> None:
    assert {"versions.tf", "providers.tf", "variables.tf", "outputs.tf", "main.tf", "iam.tf"} <= set(TF.files)
    assert {"queue", "function", "bucket"} <= set(MODULES)


def test_providers_are_pinned_and_tag_everything() -> None:
    terraform_block = TF.files["versions.tf"]["terraform"][0]
    assert re.match(r">= ?1\.\d+", terraform.plain(terraform_block["required_version"]))
    providers = terraform.plain(terraform_block["required_providers"])[0]
    assert re.match(r"~> ?[56]\.\d+", providers["aws"]["version"])
    for block in TF.blocks("provider"):
        tags = json.dumps(block.body["default_tags"])
        for tag in ("Project", "Environment", "ManagedBy"):
            assert tag in tags, block.address


@pytest.mark.parametrize("config", [TF, *MODULES.values()], ids=lambda c: c.path.name)
def test_every_variable_is_typed_and_described_and_every_output_described(config: terraform.Config) -> None:
    for variable in config.blocks("variable"):
        assert variable.body.get("type"), f"{variable.address} has no type"
        assert len(variable.body.get("description", "")) > 15, f"{variable.address} has no description"
    for output in config.blocks("output"):
        assert len(output.body.get("description", "")) > 10, f"{output.address} has no description"


def test_required_variables_are_the_documented_ones() -> None:
    names = {v.address for v in TF.blocks("variable")}
    assert {
        "name_prefix",
        "environment",
        "store_timezone",
        "store_currency",
        "alert_email",
        "digest_sender",
        "report_url_ttl",
        "dashboard_domain",
        "dashboard_certificate_arn",
        "log_retention_days",
        "lambda_package_dir",
    } <= names


def _instances(for_each: Any, locals_: dict[str, Any]) -> int:
    """How many instances a for_each over a local map makes (1 when it cannot tell)."""
    if isinstance(for_each, str):
        match = re.fullmatch(r"\$\{local\.(\w+)\}", for_each)
        if match and isinstance(locals_.get(match.group(1)), dict):
            return len(locals_[match.group(1)])
    return 1


def resource_count() -> int:
    locals_ = TF.locals
    total = sum(_instances(r.body.get("for_each"), locals_) for r in TF.blocks("resource"))
    for module in TF.blocks("module"):
        source = module.body["source"].removeprefix("./modules/")
        inner = sum(1 for _ in MODULES[source].blocks("resource"))
        total += inner * _instances(module.body.get("for_each"), locals_)
    return total


def test_declares_at_least_75_resources() -> None:
    assert resource_count() >= 75, resource_count()


def test_nothing_is_hard_coded() -> None:
    for config in [TF, *MODULES.values()]:
        text = config.text()
        # no account id, no ARN written out (arn:${partition}... is built from data sources)
        assert not re.search(r"\b\d{12}\b", text), config.path
        assert not re.search(r"arn:aws[a-z-]*:", text), config.path
        # no region but CloudFront's certificate provider, which must be us-east-1
        regions = re.findall(r'"((?:us|eu|ap|sa|ca|me|af|il)-[a-z]+-\d)"', text)
        assert regions in ([], ["us-east-1"]), (config.path, regions)
    assert 'alias  = "us_east_1"' in TF.text()


def test_buckets_are_private_encrypted_tls_only_and_expire() -> None:
    bucket = MODULES["bucket"]
    access = bucket.block("resource", "aws_s3_bucket_public_access_block", "this").body
    assert all(
        access[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    ownership = bucket.block("resource", "aws_s3_bucket_ownership_controls", "this").body
    assert ownership["rule"][0]["object_ownership"] == "BucketOwnerEnforced"
    assert "aws:SecureTransport" in json.dumps(bucket.block("data", "aws_iam_policy_document", "this").body)
    storage = TF.text()
    assert 'prefix = "reports/", expiration_days = 30' in storage


def test_the_dashboard_assets_use_origin_access_control() -> None:
    distribution = TF.block("resource", "aws_cloudfront_distribution", "dashboard_assets").body
    assert "aws_cloudfront_origin_access_control" in distribution["origin"][0]["origin_access_control_id"]
    assert distribution["default_cache_behavior"][0]["viewer_protocol_policy"] == "redirect-to-https"


def test_lake_tables_follow_the_agreed_parquet_layout() -> None:
    tables = TF.locals["lake_tables"]
    assert sorted(tables) == ["customers", "inventory_adjustments", "orders", "products", "refunds"]
    glue = TF.block("resource", "aws_glue_catalog_table", "lake").body
    assert glue["partition_keys"][0] == {"name": "dt", "type": "string"}
    assert "/parquet/${each.key}/" in glue["storage_descriptor"][0]["location"]
    assert "storepulse_lake" in TF.block("resource", "aws_glue_catalog_database", "lake").body["name"]
    workgroup = TF.block("resource", "aws_athena_workgroup", "lake").body["configuration"][0]
    assert workgroup["enforce_workgroup_configuration"] is True


def test_api_routes_reach_the_two_functions() -> None:
    routes = TF.locals["routes"]
    assert routes["events"] == {"path": "events", "methods": ["POST"], "function": "ingest", "key": True}
    assert routes["read"]["path"] == "{proxy+}" and routes["read"]["function"] == "api"
    assert not routes["health"]["key"] and not routes["unsubscribe"]["key"]


def test_api_routes_are_the_route_table_the_local_front_follows() -> None:
    # Given the route table of infra/stack.json (devstack/gateway.py applies it locally)
    from devstack.spec import load_stack_spec

    table = {
        (route.path, tuple(route.methods), route.function, route.api_key)
        for route in load_stack_spec().routes
    }
    # Then API Gateway gets exactly those resources, methods and key requirements
    terraform_routes = {
        (f"/v1/{route['path']}", tuple(route["methods"]), route["function"], route["key"])
        for route in TF.locals["routes"].values()
    }
    assert terraform_routes == table
    # and the links a digest e-mail carries need no key, in AWS as locally
    public = {path for path, _, _, key in table if not key}
    assert {"/v1/unsubscribe", "/v1/reports/{report_id}/download", "/v1/health"} <= public
    unsubscribe = next(methods for path, methods, _, _ in table if path == "/v1/unsubscribe")
    assert set(unsubscribe) == {"GET", "POST"}


def test_cost_model_counts_the_alarms_terraform_declares() -> None:
    from backend.cost.model import ALARMS_PER_FUNCTION, OTHER_ALARMS

    def alarms(config: terraform.Config) -> int:
        return sum(1 for r in config.blocks("resource") if r.labels[0] == "aws_cloudwatch_metric_alarm")

    assert alarms(MODULES["function"]) == ALARMS_PER_FUNCTION
    assert alarms(MODULES["queue"]) == 1
    assert alarms(TF) == OTHER_ALARMS


def test_functions_log_json_at_info() -> None:
    # Given the function module: Lambda keeps the functions' JSON lines as objects and Logs
    # Insights reads event_id and correlation_id as fields only in the JSON log format.
    function = MODULES["function"].block("resource", "aws_lambda_function", "this")
    (logging_config,) = terraform.plain(function.body["logging_config"])
    assert logging_config["log_format"] == "JSON"
    # at the level Powertools is given (POWERTOOLS_LOG_LEVEL, var.lambda_log_level)
    assert "var.log_level" in logging_config["application_log_level"]
    (functions,) = [b for b in TF.blocks("module") if b.labels == ("function",)]
    assert terraform.plain(functions.body["log_level"]) == "${var.lambda_log_level}"
