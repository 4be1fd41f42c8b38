"""The CI/CD roles and workflows: a pull request can only plan, the apply role answers only to the
protected ``production`` environment, every role the stack creates carries the permissions
boundary, and every action is pinned by commit SHA."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.infra import terraform

BOOTSTRAP = terraform.load(terraform.INFRA / "bootstrap")
WORKFLOWS = terraform.ROOT / ".github" / "workflows"
READ_VERBS = ("Get", "List", "Describe")


def _trusted_subjects() -> dict[str, str]:
    """Role -> the one OIDC subject its trust policy accepts."""
    body = BOOTSTRAP.block("data", "aws_iam_policy_document", "trust").body
    (statement,) = terraform.as_list(body["statement"])
    (subject,) = [c for c in terraform.as_list(statement["condition"]) if c["variable"].endswith(":sub")]
    assert subject["test"] == "StringEquals" and subject["values"] == ["${each.value}"]
    return {role: value.strip('"') for role, value in body["for_each"].items()}


def _statements(document: str) -> list[dict[str, Any]]:
    body = BOOTSTRAP.block("data", "aws_iam_policy_document", document).body
    return terraform.as_list(body["statement"])


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["actions"]
    if isinstance(actions, str):  # a local: ${local.read_actions}
        name = re.fullmatch(r"\$\{local\.(\w+)\}", actions)
        assert name is not None, actions
        return list(BOOTSTRAP.locals[name.group(1)])
    return list(actions)


def test_pull_requests_can_assume_only_the_plan_role() -> None:
    assert _trusted_subjects() == {
        "deploy": "repo:${var.github_repository}:environment:production",
        "plan": "repo:${var.github_repository}:pull_request",
    }
    for role in ("deploy", "plan"):
        policy = BOOTSTRAP.block("resource", "aws_iam_role", role).body["assume_role_policy"]
        assert policy == f'${{data.aws_iam_policy_document.trust["{role}"].json}}', policy


def test_the_plan_role_only_reads() -> None:
    for statement in _statements("plan"):
        assert statement.get("effect", "Allow") == "Allow"
        for action in _actions(statement):
            verb = action.split(":", 1)[1]
            assert verb.startswith(READ_VERBS) or action == "apigateway:GET", action


def test_the_apply_role_makes_roles_only_with_the_boundary() -> None:
    statements = _statements("deploy")
    creating = [s for s in statements if "iam:CreateRole" in _actions(s)]
    assert len(creating) == 1
    (condition,) = terraform.as_list(creating[0]["condition"])
    assert condition["variable"] == "iam:PermissionsBoundary"
    assert condition["values"] == ["${aws_iam_policy.boundary.arn}"]
    for action in ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"):
        assert all(action not in _actions(s) for s in statements if s is not creating[0]), action
    denied = [s for s in statements if s.get("effect") == "Deny"]
    assert any("iam:DeleteRolePermissionsBoundary" in _actions(s) for s in denied)
    for role in ("deploy", "plan"):
        body = BOOTSTRAP.block("resource", "aws_iam_role", role).body
        assert body["permissions_boundary"] == "${aws_iam_policy.boundary.arn}"


def test_every_role_of_the_stack_carries_the_boundary() -> None:
    configs = [terraform.load(), *terraform.modules().values()]
    roles = [
        block
        for config in configs
        for block in config.blocks("resource")
        if block.labels[0] == "aws_iam_role"
    ]
    assert len(roles) >= 4
    for role in roles:
        assert role.body.get("permissions_boundary") in ("${var.permissions_boundary_arn}",), (
            f"{role.address} has no permissions boundary"
        )


def _workflow(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((WORKFLOWS / name).read_text()))


def _steps() -> list[tuple[Path, dict[str, Any]]]:
    found: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            found.extend((path, step) for step in job.get("steps", []))
    return found


def test_every_action_is_pinned_by_commit_sha() -> None:
    uses = [(path.name, step["uses"]) for path, step in _steps() if "uses" in step]
    assert uses
    for name, action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"{name}: {action}"


def test_the_apply_runs_only_in_the_production_environment() -> None:
    jobs = _workflow("deploy.yml")["jobs"]
    for name, job in jobs.items():
        text = yaml.safe_dump(job)
        if "AWS_DEPLOY_ROLE_ARN" in text:
            assert job.get("environment") == "production", name
            assert "pull_request" not in str(job.get("if")) or "!=" in str(job.get("if")), name
        if "AWS_PLAN_ROLE_ARN" in text:
            assert "terraform apply" not in text, name
    assert "AWS_PLAN_ROLE_ARN" in yaml.safe_dump(jobs["plan"])


def test_zappa_runs_from_the_dashboard_venv() -> None:
    for path in [WORKFLOWS / "deploy.yml", terraform.ROOT / "docs" / "deploy.md"]:
        text = path.read_text()
        assert ".venv-dashboard/bin/zappa" in text
        assert ".venv/bin/zappa" not in text, path


def test_ci_audits_every_requirements_file() -> None:
    jobs = _workflow("ci.yml")["jobs"]
    audit = yaml.safe_dump(jobs["audit"])
    assert "pip_audit" in audit and "requirements*.txt" in audit
    assert sorted(p.name for p in terraform.ROOT.glob("requirements*.txt"))  # what the glob covers
