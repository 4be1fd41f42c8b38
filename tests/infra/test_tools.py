"""checkov, terraform fmt and actionlint over the repository, from their own virtualenv."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.infra import toolvenv

ROOT = toolvenv.ROOT
# The first run makes .venv-checkov (about 1 to 2.5 minutes on 2 shared cores), inside the
# first test's time.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def tools() -> Path:
    return toolvenv.ensure()


def run(command: list[str], cwd: Path = ROOT, timeout: int = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_checkov_finds_nothing_in_infra(tools: Path) -> None:
    # --skip-download: no network for the platform's guideline mappings.
    result = run([str(tools / "checkov"), "-d", "infra", "--quiet", "--compact", "--skip-download"])
    summary = re.findall(r"Passed checks: (\d+), Failed checks: (\d+), Skipped checks: (\d+)", result.stdout)
    assert summary, result.stdout[-2000:] + result.stderr[-2000:]
    failed = sum(int(f) for _, f, _ in summary)
    assert failed == 0 and result.returncode == 0, result.stdout[-6000:]
    assert sum(int(p) for p, _, _ in summary) > 500


def test_every_checkov_skip_says_why() -> None:
    skips = [
        (path, line)
        for path in sorted((ROOT / "infra").rglob("*.tf"))
        for line in path.read_text().splitlines()
        if "checkov:skip" in line
    ]
    assert skips
    for path, line in skips:
        assert re.search(r"#checkov:skip=CKV2?_AWS_\d+:\S.{20,}", line), f"{path.name}: {line.strip()}"


def test_terraform_is_formatted(tools: Path) -> None:
    result = run([str(tools / "terraform"), "fmt", "-check", "-recursive", "-diff", "infra"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_pass_actionlint(tools: Path) -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert {w.name for w in workflows} >= {"ci.yml", "deploy.yml"}
    # shellcheck and pyflakes are not installed: actionlint checks the workflows themselves.
    result = run([str(tools / "actionlint"), "-shellcheck=", "-pyflakes=", *map(str, workflows)])
    assert result.returncode == 0, result.stdout + result.stderr
