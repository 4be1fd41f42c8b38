"""``storepulse`` against the session's stack: run-job, the choice of target, errors in words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from devstack.aws import free_port
from devstack.cli import CliError, main, resolve_target

if TYPE_CHECKING:
    from tests.conftest import StackFixture


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


def test_dlq_replay_touches_only_this_deployments_queues(stack: StackFixture) -> None:
    from devstack.dlq import dead_letter_queues, replay_dead_letters

    # Given another application's queue and its DLQ in the same account, a message in the DLQ
    sqs = stack.client("sqs")
    theirs = sqs.create_queue(QueueName="billing-invoices")["QueueUrl"]
    their_dlq = sqs.create_queue(QueueName="billing-invoices-dlq")["QueueUrl"]
    also = sqs.create_queue(QueueName="storepulse-orders-copy-dlq")["QueueUrl"]
    try:
        sqs.send_message(QueueUrl=their_dlq, MessageBody='{"invoice": 7}')
        # When storepulse replays every DLQ (no --queue)
        replayed = replay_dead_letters(stack.aws, progress=False)
        # Then it took only the DLQs of infra/stack.json's queues: theirs are untouched
        assert "billing-invoices" not in replayed and "storepulse-orders-copy" not in replayed
        assert set(dead_letter_queues(stack.aws)) <= {q.name for q in stack.local.spec.queues} | {
            b.queue_name for b in stack.local.spec.bridges()
        }
        assert "storepulse-orders" in dead_letter_queues(stack.aws)
        left = sqs.get_queue_attributes(QueueUrl=their_dlq, AttributeNames=["ApproximateNumberOfMessages"])
        assert left["Attributes"]["ApproximateNumberOfMessages"] == "1"
        assert sqs.receive_message(QueueUrl=theirs, WaitTimeSeconds=0).get("Messages") is None
        # And naming their queue is refused in words
        with pytest.raises(LookupError, match="billing-invoices has no dead-letter queue"):
            dead_letter_queues(stack.aws, queue="billing-invoices")
    finally:
        for url in (theirs, their_dlq, also):
            sqs.delete_queue(QueueUrl=url)
