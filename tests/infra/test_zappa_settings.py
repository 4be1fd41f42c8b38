"""infra/scripts/zappa_settings.py fills a Zappa stage from the Terraform outputs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.infra import terraform

SCRIPT = terraform.INFRA / "scripts" / "zappa_settings.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("zappa_settings", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def outputs() -> dict[str, dict[str, object]]:
    values = {
        "zappa_s3_bucket": "storepulse-zappa-123",
        "zappa_role_name": "storepulse-dashboard",
        "zappa_role_arn": "arn:aws:iam::000000000000:role/storepulse-dashboard",
        "zappa_aws_region": "eu-west-1",
        "zappa_environment": {
            "STOREPULSE_API_URL": "https://example.invalid/api",
            "STOREPULSE_READ_KEY": "k",
        },
    }
    return {name: {"sensitive": False, "value": value} for name, value in values.items()}


def test_every_output_the_script_reads_is_declared_by_terraform() -> None:
    declared = {o.address for o in terraform.load().blocks("output")}
    assert set(load_script().OUTPUTS.values()) <= declared


def test_stage_is_completed_and_the_rest_kept(tmp_path: Path) -> None:
    # Given a zappa_settings.json with the dashboard's own settings
    settings = tmp_path / "zappa_settings.json"
    settings.write_text(json.dumps({"prod": {"app_function": "dashboard.app.server"}, "dev": {"x": 1}}))
    out = tmp_path / "outputs.json"
    out.write_text(json.dumps(outputs()))
    # When the script runs
    assert load_script().main([str(out), str(settings), "--stage", "prod"]) == 0
    # Then the stage has Terraform's bucket, role, region and environment, and keeps the rest
    merged = json.loads(settings.read_text())
    assert merged["dev"] == {"x": 1}
    prod = merged["prod"]
    assert prod["app_function"] == "dashboard.app.server"
    assert prod["s3_bucket"] == "storepulse-zappa-123"
    assert prod["role_name"] == "storepulse-dashboard"
    assert prod["manage_roles"] is False
    assert prod["aws_region"] == "eu-west-1"
    assert prod["aws_environment_variables"]["STOREPULSE_API_URL"] == "https://example.invalid/api"


def test_missing_outputs_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "outputs.json"
    out.write_text(json.dumps({"zappa_s3_bucket": {"value": "b"}}))
    assert load_script().main([str(out), str(tmp_path / "z.json")]) == 1
    assert "zappa_role_name" in capsys.readouterr().err
