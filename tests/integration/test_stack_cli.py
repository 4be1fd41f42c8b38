"""``storepulse`` against the session's stack: run-job, the choice of target, errors in words."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from backend.cli import CliError, main, resolve_target
from backend.local import free_port

if TYPE_CHECKING:
    from tests.conftest import StackFixture


@pytest.fixture
def kept_environment() -> Iterator[None]:
    """The command line sets the handlers' variables in this process; put them back after."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_run_job_calls_the_jobs_function_with_the_schedules_input(
    stack: StackFixture, kept_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run-job", "alert-sweep"]) == 0
    out = capsys.readouterr().out
    assert "job alert-sweep finished in" in out and stack.endpoint_url in out
    assert json.loads(out[out.index("{") :])["job"] == "alert-sweep"


def test_run_job_passes_months_to_the_rollups_job_and_refuses_a_bad_one_in_words(
    stack: StackFixture, kept_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # A month never rolled up is (an empty one here); asked again, it is current: nothing to do
    for expected in (["2025-01"], []):
        assert main(["run-job", "rollups", "--month", "2025-01"]) == 0
        out = capsys.readouterr().out
        assert json.loads(out[out.index("{") :]) == {"job": "rollups", "months": expected}
    assert main(["run-job", "rollups", "--month", "2025-13"]) == 1
    error = capsys.readouterr().err
    assert "not a month (YYYY-MM): '2025-13'" in error and "Traceback" not in error
    assert main(["run-job", "segments", "--month", "2025-01"]) == 1
    assert "--month goes with the rollups job only" in capsys.readouterr().err


def test_an_unknown_job_is_refused_with_the_known_ones(
    stack: StackFixture, kept_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run-job", "no-such-job"]) == 1
    error = capsys.readouterr().err
    assert "unknown job 'no-such-job'" in error and "alert-sweep" in error
    assert "Traceback" not in error


def test_a_stopped_local_stack_is_reported_in_words(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    assert main(["dlq", "list"]) == 1
    error = capsys.readouterr().err
    assert "the local stack is not running" in error and "make run" in error


def test_the_target_is_local_unless_aws_is_asked_for_or_nothing_local_exists(tmp_path: Path) -> None:
    missing = str(tmp_path / "nothing-here")
    present = str(tmp_path)
    endpoint = {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}
    assert (
        resolve_target({**endpoint, "STOREPULSE_DATA_DIR": missing}).endpoint_url == "http://127.0.0.1:5000"
    )
    local = resolve_target({"STOREPULSE_DATA_DIR": present, "STOREPULSE_AWS_PORT": "4999"})
    assert (local.kind, local.endpoint_url) == ("local", "http://127.0.0.1:4999")
    aws = resolve_target({"STOREPULSE_TARGET": "aws", "STOREPULSE_NAME_PREFIX": "prod-"})
    assert (aws.kind, aws.endpoint_url, aws.prefix) == ("aws", None, "prod-")
    assert resolve_target({"STOREPULSE_TARGET": "local", "STOREPULSE_DATA_DIR": missing}).is_local
    with pytest.raises(CliError, match="unset one of them"):
        resolve_target({"STOREPULSE_TARGET": "aws", **endpoint})
    with pytest.raises(CliError, match="'local' or 'aws'"):
        resolve_target({"STOREPULSE_TARGET": "staging"})


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("stack", "simulate", "run-job", "dlq"):
        assert command in out
