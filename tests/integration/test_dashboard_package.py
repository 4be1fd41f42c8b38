"""The dashboard's Lambda package: ``make package-dashboard`` (Zappa, stage ``dev``), then the packaged
handler invoked as API Gateway would invoke it, under the ``/dev/`` stage prefix.

The zip is unpacked and run by a bare interpreter (``-I -S``: no site-packages) that sees only
the zip and what the Lambda Python runtime itself provides (boto3 and its dependencies), so a
module the dashboard needs but the zip lacks fails here as it would in AWS.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any

from tests.locks import exclusive

ROOT = Path(__file__).resolve().parents[2]
ZIP = ROOT / "build" / "dashboard.zip"
# The test run that built the zip last (pytest-xdist's workers share the run's id).
BUILT_IN = ROOT / "build" / "dashboard.zip.run"
RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
VENV = ROOT / ".venv-dashboard"
MAX_ZIPPED = 50 * 1024 * 1024
LAMBDA_RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py")
HOST = "abc123defg.execute-api.us-east-1.amazonaws.com"

# Runs inside the bare interpreter: one cold start, then the events in order, carrying the
# session cookie it is given (stdin: {"cookie", "events"}) and the ones it is sent, as a browser
# would. Prints one JSON line per response, then {"cookie", "cold_start_seconds"}. The deploy
# rehearsal (tests/deploy/test_dashboard_rehearsal.py) runs the same script.
INVOKE = r"""
import base64, json, sys, time
started, cpu = time.perf_counter(), time.process_time()
request = json.loads(sys.stdin.read())
import handler

class Context:
    aws_request_id = "test-request"
    function_name = "storepulse-dashboard-dev"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:storepulse-dashboard-dev"
    memory_limit_in_mb = 1024
    log_group_name = log_stream_name = "test"
    def get_remaining_time_in_millis(self):
        return 30000

cookie = request["cookie"]
for event in request["events"]:
    if cookie:
        event["headers"]["Cookie"] = cookie
        event["multiValueHeaders"]["Cookie"] = [cookie]
    response = handler.lambda_handler(event, Context())
    headers = dict(response.get("headers") or {})
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(name, values[-1])
    for name, value in headers.items():
        if name.lower() == "set-cookie":
            cookie = value.split(";", 1)[0]
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    print(json.dumps({"status": response["statusCode"], "headers": headers, "body": body}))
print(json.dumps({
    "cookie": cookie,
    "cold_start_seconds": time.perf_counter() - started,
    "cold_start_cpu_seconds": time.process_time() - cpu,
}))
"""


def event(method: str, path: str, body: str = "", content_type: str = "") -> dict[str, Any]:
    """An API Gateway REST API proxy event for ``path`` on stage ``dev`` (path without the stage)."""
    headers = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443", "Accept": "*/*"}
    if content_type:
        headers["Content-Type"] = content_type
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": "test",
            "identity": {"sourceIp": "203.0.113.9", "userAgent": "pytest"},
        },
        "body": body or None,
        "isBase64Encoded": False,
    }


def _runtime_dir(tmp_path: Path) -> Path:
    """What the Lambda Python runtime provides beside the zip: boto3 and its dependencies."""
    (site_packages,) = (VENV / "lib").glob("python3.*/site-packages")
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for name in LAMBDA_RUNTIME_PACKAGES:
        (runtime / name).symlink_to(site_packages / name)
    return runtime


def _built_in_this_run() -> bool:
    """Whether the zip is the one this run built (not built again by hand since, nor removed)."""
    if not (BUILT_IN.exists() and ZIP.exists()):
        return False
    return BUILT_IN.read_text() == RUN and ZIP.stat().st_mtime <= BUILT_IN.stat().st_mtime


def build_dashboard_zip() -> None:
    """``make package-dashboard``: build/dashboard.zip (its venv cached by the requirements' hash),
    once per test run: this file and the deploy rehearsal run the one zip built from this tree
    in this run, not a zip each (zipping the venv again cost 13 s of CPU, 37 s at load 9)."""
    with exclusive("dashboard-zip"):
        if _built_in_this_run():
            return
        BUILT_IN.unlink(missing_ok=True)
        build = subprocess.run(
            ["make", "--no-print-directory", "package-dashboard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
        BUILT_IN.write_text(RUN)


def test_the_zappa_package_serves_the_dashboard_under_the_dev_prefix(tmp_path: Path) -> None:
    # Given the zip that `make package-dashboard` builds
    build_dashboard_zip()
    assert ZIP.stat().st_size <= MAX_ZIPPED
    unpacked = tmp_path / "lambda"
    with zipfile.ZipFile(ZIP) as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    # It ships the dashboard and its assets, and nothing of the backend
    assert "dashboard/app.py" in names and "assets/style.css" in names
    assert not [n for n in names if n.startswith(("backend/", "tests/", "reports/"))]
    # When the handler gets the requests of a person signing in and opening the dashboard
    prefix = "/dev/"
    events = [
        event("GET", "/login"),
        event("GET", "/"),
        event(
            "POST",
            "/login",
            "username=ana&password=pa55word&next=%2Fdev%2F",
            "application/x-www-form-urlencoded",
        ),
        event("GET", "/"),
        event("GET", "/assets/style.css"),
        event("GET", "/_dash-layout"),
        event("GET", "/_dash-dependencies"),
    ]
    environment = {
        "PATH": "/usr/bin:/bin",
        "STOREPULSE_DASH_USER": "ana",
        "STOREPULSE_DASH_PASSWORD": "pa55word",
        "STOREPULSE_DASH_SECRET": "package-test-secret",
        "PYTHONPATH": "",
    }
    script = f"import sys; sys.path[:0] = [{str(unpacked)!r}, {str(_runtime_dir(tmp_path))!r}]\n" + INVOKE
    run = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        cwd=unpacked,
        input=json.dumps({"cookie": None, "events": events}),
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    *responses, timing = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    sign_in_page, anonymous, signed_in, index, asset, layout, dependencies = responses
    # Then the sign-in page links its assets under the stage prefix
    assert sign_in_page["status"] == 200 and f'href="{prefix}assets/style.css"' in sign_in_page["body"]
    # and the dashboard sends a person who is not signed in there, keeping the prefix
    assert anonymous["status"] == 302 and anonymous["headers"]["Location"].startswith(f"{prefix}login")
    assert signed_in["status"] == 302 and signed_in["headers"]["Location"] in (
        prefix,
        f"https://{HOST}{prefix}",
    )
    # and, signed in, the Dash index asks for everything under /dev/
    assert index["status"] == 200, index["body"][:500]
    (config,) = re.findall(r'id="_dash-config" type="application/json">(.*?)</script>', index["body"], re.S)
    assert json.loads(config)["requests_pathname_prefix"] == prefix
    scripts = re.findall(r'src="([^"]+)"', index["body"])
    assert scripts and all(src.startswith(prefix) for src in scripts), scripts
    assert f'href="{prefix}assets/style.css?m=' in index["body"]
    assert f'href="{prefix}assets/favicon.ico?m=' in index["body"]
    assert asset["status"] == 200 and ".sp-kpi" in asset["body"]
    assert asset["headers"]["Content-Type"].startswith("text/css")
    # and the layout's links and logo carry the prefix too
    assert layout["status"] == 200 and dependencies["status"] == 200
    shell = json.dumps(json.loads(layout["body"]))  # Dash escapes "/" as \\u002f; this undoes it
    assert f'"href": "{prefix}sales"' in shell and f'"src": "{prefix}assets/logo.svg' in shell
    assert f'"href": "{prefix}logout"' in shell
    # CPU time: the wall clock of a cold start on a busy machine says nothing of the package
    assert timing["cold_start_cpu_seconds"] < 30, timing
