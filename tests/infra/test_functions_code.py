"""Each function in the Terraform runs code that exists, gets the settings it reads, and may
make exactly the AWS calls its code makes, on the resources it is configured with."""

from __future__ import annotations

import ast
import importlib
import json
import re
from typing import Any

import botocore.session
import pytest
from botocore.model import StructureShape

from devstack.spec import load_stack_spec
from tests.infra import terraform
from tests.infra.aws_calls import TRANSACTION_ITEM_ACTION, _walk_code, aws_calls, import_closure, module_path
from tests.infra.aws_calls import _imports as imports
from tests.infra.code_settings import settings_variables, variables_read

TF = terraform.load()
LOCALS = TF.locals
FUNCTIONS = LOCALS["functions"]
# Granted on top of the code's calls by modules/function, not by the function's own policy.
INFRASTRUCTURE_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}
# Secrets the settings read from SSM (backend/settings.py _secret): a function given one of these
# variables may read exactly its parameter, whatever else its code calls.
SECRET_PARAMETERS = {
    "PII_HASH_KEY": 'aws_ssm_parameter.secret["pii_hash_key"]',
    "UNSUBSCRIBE_SIGNING_KEY": 'aws_ssm_parameter.secret["unsubscribe_signing_key"]',
    "STOREPULSE_SHOPIFY_SECRET": 'aws_ssm_parameter.webhook_secret["shopify"]',
    "STOREPULSE_WOOCOMMERCE_SECRET": 'aws_ssm_parameter.webhook_secret["woocommerce"]',
}
# Data services: no wildcard action, no "*" resource on them.
DATA_SERVICES = ("dynamodb", "s3", "sqs", "sns", "events", "ses", "ssm", "kms", "glue", "athena")


def handler_module(name: str) -> str:
    return FUNCTIONS[name]["handler"].rsplit(".", 1)[0]


def statements(name: str) -> list[dict[str, Any]]:
    body = TF.block("data", "aws_iam_policy_document", f"function_{name}").body
    return [s for s in terraform.as_list(body.get("statement")) if s.get("effect", "Allow") == "Allow"]


def granted(name: str) -> set[str]:
    return {action for statement in statements(name) for action in statement["actions"]}


def test_every_function_has_its_own_policy() -> None:
    policies = LOCALS["function_policies"]
    assert sorted(policies) == sorted(FUNCTIONS)
    for name, expression in policies.items():
        assert expression == f"${{data.aws_iam_policy_document.function_{name}.json}}"
    module = terraform.modules()["function"]
    assert module.block("resource", "aws_iam_role", "this")
    assert "var.policy_json" in json.dumps(module.block("data", "aws_iam_policy_document", "runtime").body)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_handler_exists_and_imports(name: str) -> None:
    module_name, attribute = FUNCTIONS[name]["handler"].rsplit(".", 1)
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute)), FUNCTIONS[name]["handler"]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_is_given_every_variable_its_code_reads(name: str) -> None:
    # Given the variables the handler's reachable code reads through backend/settings.py
    needed = variables_read(handler_module(name))
    # When Terraform sets the function's own and the common variables
    given = {*FUNCTIONS[name]["env"], *LOCALS["common_env"]}
    # Then none is missing
    assert sorted(needed - given) == [], f"{name} reads variables Terraform does not set"


def test_every_variable_terraform_sets_is_one_the_code_reads() -> None:
    read = set(settings_variables().values()) | {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"}
    set_somewhere = {v for f in FUNCTIONS.values() for v in f["env"]} | set(LOCALS["common_env"])
    assert sorted(set_somewhere - read) == [], "Terraform sets variables backend/settings.py does not read"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_grants_cover_every_aws_call_of_the_code(name: str) -> None:
    calls = aws_calls(handler_module(name))
    missing = calls.actions() - granted(name)
    assert sorted(missing) == [], f"{name}'s code calls {sorted(missing)} without a grant"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_no_grant_beyond_the_calls_of_the_code(name: str) -> None:
    secrets = {"ssm:GetParameter"} if set(FUNCTIONS[name]["env"]) & set(SECRET_PARAMETERS) else set()
    extra = granted(name) - aws_calls(handler_module(name)).actions() - INFRASTRUCTURE_ACTIONS - secrets
    assert sorted(extra) == [], f"{name} is granted {sorted(extra)} that its code never calls"


# What each grantable resource of the policies is, by the variable that names it to the code.
def resource_variable(expression: str) -> str | None:
    patterns = [
        (r'local\.table_arn\["(\w+)"\]', lambda k: LOCALS["tables"][k]["env"]),
        (r'module\.bucket\["(\w+)"\]', lambda k: LOCALS["buckets"][k]["env"]),
        (r'aws_sns_topic\.this\["(\w+)"\]', lambda k: LOCALS["topics"][k]["env"]),
        (r"aws_cloudwatch_event_bus\.this", lambda _: LOCALS["event_bus"]["env"]),
        (r'module\.queue\["reports"\]', lambda _: "REPORTS_QUEUE_URL"),
        (r"aws_sesv2_email_identity\.digest_sender", lambda _: "DIGEST_SENDER"),
        (r'aws_ssm_parameter\.secret\["(\w+)"\]', lambda k: k.upper()),
        (r'aws_ssm_parameter\.webhook_secret\["(\w+)"\]', lambda k: f"STOREPULSE_{k.upper()}_SECRET"),
        # the sender identity's default configuration set: SES authorises sends on it too
        (r"aws_sesv2_configuration_set\.digests", lambda _: "DIGEST_SENDER"),
    ]
    for pattern, variable in patterns:
        match = re.search(pattern, expression)
        if match:
            return variable(match.group(1) if match.groups() else "")
    return None


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_grants_are_on_the_functions_own_resources_without_wildcards(name: str) -> None:
    configured = set(FUNCTIONS[name]["env"])
    for statement in statements(name):
        for action in statement["actions"]:
            verb = action.partition(":")[2]
            assert action != "*" and "*" not in verb, f"{name}: wildcard action {action}"
        for resource in statement["resources"]:
            assert resource != "*", f"{name}: statement {statement.get('sid')} on every resource"
            variable = resource_variable(resource)
            assert variable is not None, f"{name}: {resource} is not a storepulse data resource"
            assert variable in configured, f"{name}: granted on {variable}'s resource, which it is not given"


def test_no_allow_statement_anywhere_has_a_wildcard_action_or_star_on_data() -> None:
    configs = [TF, *terraform.modules().values()]
    for config in configs:
        for block in config.blocks("data"):
            if block.labels[0] != "aws_iam_policy_document":
                continue
            for statement in terraform.as_list(block.body.get("statement")):
                if statement.get("effect", "Allow") != "Allow":
                    continue
                actions = statement.get("actions", [])
                assert "*" not in actions, block.address
                for action in actions:
                    service = action.split(":", 1)[0]
                    assert not action.endswith(":*"), f"{block.address}: {action}"
                    if "*" in statement.get("resources", []):
                        assert service not in DATA_SERVICES, f"{block.address}: {action} on *"


def test_scan_follows_no_name_written_only_in_an_annotation() -> None:
    # An attribute typed with a reader's class (AnalyticsTable's ``views: DayViews | None``)
    # made the customers and alert feed functions look as if they read the lone items.
    code = "def f(a: Views) -> Other:\n    self.views: DayViews | None = None\n    return read(a)\n"
    tree = ast.parse(code)
    names = {node.id for node in _walk_code(tree) if isinstance(node, ast.Name)}
    assert names == {"self", "read", "a"}


def test_scan_knows_every_kind_of_transaction_item() -> None:
    item = botocore.session.get_session().get_service_model("dynamodb").shape_for("TransactWriteItem")
    assert isinstance(item, StructureShape)
    assert set(TRANSACTION_ITEM_ACTION) == set(item.members)


def test_stack_json_functions_are_all_in_terraform() -> None:
    assert {f.name for f in load_stack_spec().functions} <= set(FUNCTIONS)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_handler_code_needs_nothing_the_package_leaves_out(name: str) -> None:
    # make package-backend leaves out the laptop stack and the CLI (infra/scripts/package_backend.py)
    left_out = ("devstack",)
    for module in import_closure(handler_module(name)):
        path = module_path(module)
        assert path is not None
        imported = set(imports(ast.parse(path.read_text()), module))
        assert not [m for m in imported if m.startswith(left_out)], f"{module} imports {sorted(imported)}"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_function_reads_exactly_the_secrets_it_is_given_from_ssm(name: str) -> None:
    # Given the secret variables Terraform sets on the function
    given = sorted(set(FUNCTIONS[name]["env"]) & set(SECRET_PARAMETERS))
    # Then each holds its parameter's name, not its value
    for variable in given:
        assert LOCALS["env_values"][variable].strip('"') == f"ssm:${{{SECRET_PARAMETERS[variable]}.name}}"
    # and the function may read exactly those parameters, and nothing else of SSM
    readable = sorted(
        resource
        for statement in statements(name)
        if any(action.startswith("ssm:") for action in statement["actions"])
        for resource in statement["resources"]
    )
    assert readable == sorted(f"${{{SECRET_PARAMETERS[v]}.arn}}" for v in given)
