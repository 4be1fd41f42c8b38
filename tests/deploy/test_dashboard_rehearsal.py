"""The deploy rehearsal of the dashboard: the zip ``zappa package`` builds (``make
package-dashboard``), run through Zappa's handler by a bare interpreter with the environment the
deploy gives it (``infra/scripts/zappa_settings.py`` applied to the Terraform outputs that
``infra/outputs.tf`` declares), its secrets in SSM on the moto server.

A person signs in on one Lambda container and keeps using the cookie on another, started cold from
the same settings: the session key is shared (an SSM parameter), not drawn per container, and the
environment holds the password only as a hash, never in clear.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from devstack.aws import AwsClients, MotoServer, fake_aws_environment, free_port
from infra.scripts.zappa_settings import merge
from tests.infra import terraform
from tests.integration.test_dashboard_package import (
    INVOKE,
    ROOT,
    ZIP,
    _runtime_dir,
    build_dashboard_zip,
    event,
)

PASSWORD = "rehearsal-pa55word-0123456789"
SALT = "00112233445566778899aabbccddeeff"
# Each SSM parameter that Terraform makes, by the resource address an output names it with.
PARAMETERS = {
    'aws_ssm_parameter.dashboard["password-hash"]': (
        "/storepulse/dashboard/password-hash",
        f"sha256${SALT}${hashlib.sha256((SALT + PASSWORD).encode()).hexdigest()}",
    ),
    'aws_ssm_parameter.dashboard["session-secret"]': ("/storepulse/dashboard/session-secret", "s" * 64),
    'aws_ssm_parameter.api_key["read"]': ("/storepulse/api-keys/read", "rehearsal-read-key"),
}

SESSIONS_TABLE = "storepulse-dashboard-sessions-dev"


def deployed_environment() -> dict[str, str]:
    """The dev stage's Lambda environment after ``zappa_settings.py`` merged the outputs."""
    declared = terraform.load().block("output", "zappa_environment").body["value"]
    values = {}
    for name, expression in declared.items():
        text = str(expression).strip('"')
        reference = re.fullmatch(r"ssm:\$\{(.+)\.name\}", text)
        if reference:
            values[name] = f"ssm:{PARAMETERS[reference.group(1)][0]}"
        else:
            values[name] = text if "${" not in text else "UTC" if name == "STORE_TIMEZONE" else "USD"
    values["DASH_SESSIONS_TABLE"] = SESSIONS_TABLE  # the table Terraform names, made on moto below
    values["STOREPULSE_API_URL"] = "http://127.0.0.1:9"  # no API: pages say so in words
    values["STOREPULSE_ASSETS_URL"] = ""
    outputs = {
        "zappa_s3_bucket": {"value": "bucket"},
        "zappa_role_name": {"value": "role"},
        "zappa_role_arn": {"value": "arn:aws:iam::123456789012:role/role"},
        "zappa_aws_region": {"value": "us-east-1"},
        "zappa_environment": {"value": values},
    }
    settings = json.loads((ROOT / "zappa_settings.json").read_text())
    stage = merge(settings, outputs, "dev")["dev"]
    assert stage["manage_roles"] is False
    return {name: str(value) for name, value in stage["aws_environment_variables"].items()}


def container(
    unpacked: Path, runtime: Path, environment: dict[str, str], cookie: str | None, events: list[Any]
) -> tuple[list[dict[str, Any]], str | None]:
    """One cold Lambda container of the dashboard serving ``events``."""
    script = f"import sys; sys.path[:0] = [{str(unpacked)!r}, {str(runtime)!r}]\n" + INVOKE
    run = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        cwd=unpacked,
        input=json.dumps({"cookie": cookie, "events": events}),
        capture_output=True,
        text=True,
        timeout=180,
        env=environment,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    *responses, last = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    return responses, last["cookie"]


# Building the packages takes minutes the first time (then build/ caches them).
@pytest.mark.timeout(1200)
def test_a_session_survives_another_container_with_secrets_from_ssm(tmp_path: Path) -> None:
    # Given the zip `make package-dashboard` builds
    build_dashboard_zip()
    unpacked = tmp_path / "lambda"
    with zipfile.ZipFile(ZIP) as archive:
        archive.extractall(unpacked)
    runtime = _runtime_dir(tmp_path)
    # and the environment the deploy gives it: secrets only as SSM parameter names
    deployed = deployed_environment()
    assert "STOREPULSE_DASH_PASSWORD" not in deployed
    for name in ("STOREPULSE_DASH_PASSWORD_HASH", "STOREPULSE_DASH_SECRET", "STOREPULSE_READ_KEY"):
        assert deployed[name].startswith("ssm:/"), name
    with MotoServer(free_port(), log_path=tmp_path / "moto.log") as moto:
        ssm = AwsClients(moto.endpoint_url).client("ssm")
        for name, value in PARAMETERS.values():
            ssm.put_parameter(Name=name, Value=value, Type="SecureString")
        # the sign-in table (session generations, wrong passwords) both containers share
        AwsClients(moto.endpoint_url).client("dynamodb").create_table(
            TableName=SESSIONS_TABLE,
            KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        environment = {
            **deployed,
            **fake_aws_environment(moto.endpoint_url),
            "PATH": "/usr/bin:/bin",
            "AWS_LAMBDA_FUNCTION_NAME": "storepulse-dashboard-dev",
        }
        # When a person signs in on one container
        form = f"username=storepulse&password={PASSWORD}&next=%2Fdev%2F"
        (signed_in,), cookie = container(
            unpacked,
            runtime,
            environment,
            None,
            [event("POST", "/login", form, "application/x-www-form-urlencoded")],
        )
        assert signed_in["status"] == 302, signed_in
        assert cookie
        # Then another container, started cold from the same settings, knows them
        (index, layout), _ = container(
            unpacked, runtime, environment, cookie, [event("GET", "/"), event("GET", "/_dash-layout")]
        )
        assert index["status"] == 200, index
        assert layout["status"] == 200, layout
        # and a wrong password is still refused there
        (refused,), _ = container(
            unpacked,
            runtime,
            environment,
            None,
            [
                event(
                    "POST",
                    "/login",
                    "username=storepulse&password=wrong",
                    "application/x-www-form-urlencoded",
                )
            ],
        )
        assert refused["status"] == 401
