"""The Terraform in infra/ declares what the local stack provisions from infra/stack.json.

Every comparison runs both ways over the data in ``stack.json``, so a resource added on one
side only fails here with its name.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.spec import StackSpec, load_stack_spec
from tests.infra import terraform

TF = terraform.load()
LOCALS = TF.locals
SPEC = load_stack_spec()
RAW = json.loads(SPEC.path.read_text()) if SPEC.path else {}


def by_name(entries: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in entries.values()}


def test_tables_match_stack_json() -> None:
    # Given the tables of both descriptions
    tf = by_name(LOCALS["tables"])
    local = {t.name: t for t in SPEC.tables}
    # Then they have the same names, variables and keys
    assert sorted(tf) == sorted(local)
    for name, table in local.items():
        assert tf[name]["env"] == table.env, name
        assert tf[name]["hash_key"] == table.hash_key, name
        assert tf[name]["range_key"] == table.range_key, name


def test_tables_are_on_demand_recoverable_encrypted_and_expire_where_they_should() -> None:
    body = TF.block("resource", "aws_dynamodb_table", "this").body
    # On demand unless dynamodb_capacity asks for provisioned capacity (the pipeline's two
    # tables only, each dimension under a target-tracking auto scaling policy)
    assert body["billing_mode"] == (
        '${contains(local.provisioned_tables, each.key) ? "PROVISIONED" : "PAY_PER_REQUEST"}'
    )
    assert TF.block("variable", "dynamodb_capacity").body["default"]["mode"] == "on_demand"
    assert "local.provisioned_tables" in json.dumps(LOCALS["capacity_dimensions"])
    policy = TF.block("resource", "aws_appautoscaling_policy", "table").body
    assert policy["policy_type"] == "TargetTrackingScaling"
    assert body["point_in_time_recovery"][0]["enabled"] is True
    assert body["server_side_encryption"][0]["enabled"] is True
    assert "each.value.ttl" in json.dumps(body["dynamic"])
    # The reports table's records expire on expires_at (the agreed TTL attribute).
    assert by_name(LOCALS["tables"])["storepulse-reports"]["ttl"] == "expires_at"


def test_buckets_match_stack_json() -> None:
    tf = by_name(LOCALS["buckets"])
    assert sorted(tf) == sorted(b.name for b in SPEC.buckets)
    for bucket in SPEC.buckets:
        assert tf[bucket.name]["env"] == bucket.env


def test_topics_and_bus_match_stack_json() -> None:
    tf = by_name(LOCALS["topics"])
    assert sorted(tf) == sorted(t.name for t in SPEC.topics)
    for topic in SPEC.topics:
        assert tf[topic.name]["env"] == topic.env
    assert SPEC.event_bus is not None
    assert LOCALS["event_bus"] == {"name": SPEC.event_bus.name, "env": SPEC.event_bus.env}


def test_queues_subscriptions_and_filter_policies_match_stack_json() -> None:
    tf = by_name(LOCALS["queues"])
    topics = {key: topic["name"] for key, topic in LOCALS["topics"].items()}
    assert sorted(tf) == sorted(q.name for q in SPEC.queues)
    for queue in SPEC.queues:
        mine = tf[queue.name]
        assert mine["function"] == queue.function, queue.name
        assert mine["max_receive_count"] == queue.max_receive_count, queue.name
        assert mine["rule_target"] == queue.rule_target, queue.name
        if queue.subscription is None:
            assert mine["topic"] is None, queue.name
        else:
            assert topics[mine["topic"]] == queue.subscription.topic, queue.name
            assert mine["filter_policy"] == (dict(queue.subscription.filter_policy or {}) or None), queue.name


def test_subscriptions_deliver_raw_and_filter_on_message_attributes() -> None:
    # The local stack subscribes with RawMessageDelivery and FilterPolicyScope=MessageAttributes
    # (devstack/provision.py); the processors parse the raw body.
    body = TF.block("resource", "aws_sns_topic_subscription", "queue").body
    assert body["protocol"] == "sqs"
    assert body["raw_message_delivery"] is True
    assert "MessageAttributes" in body["filter_policy_scope"]


def test_stock_alert_rule_matches_stack_json() -> None:
    (rule,) = SPEC.rules
    mine = LOCALS["stock_alerts_rule"]
    assert mine["name"] == rule.name
    assert mine["pattern"] == dict(rule.pattern)
    assert rule.bus == LOCALS["event_bus"]["name"]
    # one target per stack.json target: the alerts topic and the alert-feed queue
    targets = {
        b.labels[1]: b.body for b in TF.blocks("resource") if b.labels[0] == "aws_cloudwatch_event_target"
    }
    kinds = {t.kind: t.name for t in rule.targets}
    assert kinds == {"sns": "storepulse-alerts", "sqs": "storepulse-alert-feed"}
    assert 'aws_sns_topic.this["alerts"]' in targets["stock_alerts_sns"]["arn"]
    assert 'module.queue["alert_feed"]' in targets["stock_alerts_sqs"]["arn"]
    # and the rule may deliver to both
    assert "events.amazonaws.com" in json.dumps(
        TF.block("data", "aws_iam_policy_document", "alerts_topic").body
    )
    assert "events.amazonaws.com" in json.dumps(TF.block("data", "aws_iam_policy_document", "queue").body)


def test_schedules_match_stack_json_and_run_in_the_store_zone() -> None:
    tf = by_name(LOCALS["schedules"])
    assert sorted(tf) == sorted(s.name for s in SPEC.schedules)
    for schedule in SPEC.schedules:
        assert tf[schedule.name]["job"] == schedule.job
        assert tf[schedule.name]["expression"] == schedule.expression
    body = TF.block("resource", "aws_scheduler_schedule", "job").body
    assert body["schedule_expression_timezone"] == "${var.store_timezone}"
    assert 'module.function["jobs"]' in body["target"][0]["arn"]


def test_functions_match_stack_json() -> None:
    tf = LOCALS["functions"]
    queue_names = {key: queue["name"] for key, queue in LOCALS["queues"].items()}
    assert sorted(tf) == sorted(f.name for f in SPEC.functions)
    for function in SPEC.functions:
        mine = tf[function.name]
        assert mine["handler"] == function.handler, function.name
        assert (mine["timeout"], mine["memory"]) == (function.timeout, function.memory), function.name
        assert sorted(mine["env"]) == sorted(function.env), function.name
        if function.source is None:
            assert mine["source"] is None, function.name
        else:
            source = mine["source"]
            assert queue_names[source["queue"]] == function.source.queue, function.name
            assert source["batch_size"] == function.source.batch_size, function.name
            assert source["batching_window_seconds"] == function.source.batching_window_seconds, function.name
            assert source["maximum_concurrency"] == function.source.maximum_concurrency, function.name


def test_common_environment_and_visibility_timeouts_match_stack_json() -> None:
    assert sorted(LOCALS["common_env"]) == sorted(SPEC.common_env)
    assert LOCALS["visibility_timeout_factor"] == SPEC.visibility_timeout_factor
    # The queue module gets timeout x factor + batching window, as StackSpec.visibility_timeout.
    expression = TF.block("module", "queue").body["visibility_timeout_seconds"]
    for term in ("timeout", "local.visibility_timeout_factor", "batching_window_seconds"):
        assert term in expression


def visibility_timeouts(spec: StackSpec) -> dict[str, int]:
    return {queue.name: spec.visibility_timeout(queue) for queue in spec.queues}


def test_visibility_timeout_is_at_least_six_times_the_function_timeout() -> None:
    functions = LOCALS["functions"]
    for queue in LOCALS["queues"].values():
        function = functions[queue["function"]]
        window = function["source"]["batching_window_seconds"]
        computed = function["timeout"] * LOCALS["visibility_timeout_factor"] + window
        assert computed >= 6 * function["timeout"] + window, queue["name"]
        if queue["name"] in visibility_timeouts(SPEC):
            assert computed == visibility_timeouts(SPEC)[queue["name"]], queue["name"]


def test_every_queue_consumer_reports_partial_batch_failures() -> None:
    module = terraform.modules()["function"]
    mapping = module.block("resource", "aws_lambda_event_source_mapping", "this").body
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert "var.batch_size" in mapping["batch_size"]
    assert "var.batching_window_seconds" in mapping["maximum_batching_window_in_seconds"]
    assert "var.maximum_concurrency" in mapping["scaling_config"][0]["maximum_concurrency"]
    assert "source.maximum_concurrency" in TF.block("module", "function").body["maximum_concurrency"]
    function = module.block("resource", "aws_lambda_function", "this").body
    assert function["architectures"] == ["arm64"]
    assert function["runtime"] == "python3.11"


@pytest.mark.parametrize("name", sorted(LOCALS["functions"]))
def test_function_environment_has_a_value_for_every_variable(name: str) -> None:
    values = LOCALS["env_values"]
    wanted = [*LOCALS["functions"][name]["env"], *LOCALS["common_env"]]
    missing = [v for v in wanted if v not in values and v != "POWERTOOLS_SERVICE_NAME"]
    assert missing == [], f"{name}: no value in local.env_values for {missing}"
