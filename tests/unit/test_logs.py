"""backend.logs: JSON lines from the handlers' and the modules' loggers, the context keys, where
the lines go."""

from __future__ import annotations

import doctest
import json
import logging
from pathlib import Path

import pytest

import backend.logs
from backend.logs import LOG_FILE_ENV, close_files, function_logger, keys, message_correlation_id


def test_docstring_examples() -> None:
    result = doctest.testmod(backend.logs)
    assert result.attempted > 0 and result.failed == 0


def test_handler_and_module_lines_are_json_with_the_context_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the log file of a local stack, a function's logger and a module logger it runs
    path = tmp_path / "logs" / "functions.jsonl"
    monkeypatch.setenv(LOG_FILE_ENV, str(path))
    handler_logger = function_logger("storepulse-test")
    module_logger = logging.getLogger("backend.processing.test_logs")
    try:
        # When both write inside an invocation's keys, and once after it
        with keys(service="storepulse-test", correlation_id="c-1"):
            handler_logger.info("from the handler", extra={"event_ids": ["e1"]})
            module_logger.warning("from a module", extra={"event_id": "e2"})
        module_logger.info("outside")
    finally:
        close_files()

    # Then each is one JSON line with the keys of its moment; only the warning is on stderr
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["message"] for line in lines] == ["from the handler", "from a module", "outside"]
    assert [line.get("correlation_id") for line in lines] == ["c-1", "c-1", None]
    assert [line["service"] for line in lines[:2]] == ["storepulse-test", "storepulse-test"]
    assert lines[0]["event_ids"] == ["e1"] and lines[1]["event_id"] == "e2"
    assert lines[1]["level"] == "WARNING"
    err = capsys.readouterr().err
    assert "from a module" in err and "from the handler" not in err


def test_a_sink_beside_a_console_handler_leaves_the_terminal_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a logger that prints words on the terminal and also feeds the log file, as the
    # local stack's own logger does (a poller's warning was printed twice: as JSON and as words)
    path = tmp_path / "functions.jsonl"
    monkeypatch.setenv(LOG_FILE_ENV, str(path))
    stack_logger = logging.getLogger("devstack.test_logs")
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    sink = backend.logs.Sink(terminal=False)
    sink.setFormatter(logging.Formatter('{"message": "%(message)s"}'))
    stack_logger.handlers = [console, sink]
    stack_logger.propagate = False
    try:
        # When it warns
        stack_logger.warning("orders ran 41.5 s, over its 30 s timeout")
    finally:
        stack_logger.handlers = []
        close_files()

    # Then the terminal has the words once, and the file the JSON line
    err = capsys.readouterr().err
    assert err.splitlines() == ["WARNING orders ran 41.5 s, over its 30 s timeout"]
    assert [json.loads(line)["message"] for line in path.read_text().splitlines()] == [
        "orders ran 41.5 s, over its 30 s timeout"
    ]


def test_keys_restore_the_outer_ones() -> None:
    with keys(correlation_id="outer"):
        with keys(correlation_id="inner", packet_id=None):
            assert backend.logs.current_keys() == {"correlation_id": "inner"}
        assert backend.logs.current_correlation_id() == "outer"
    assert backend.logs.current_correlation_id() is None


def test_a_message_attribute_is_a_correlation_id_only_when_valid() -> None:
    assert message_correlation_id({"correlation_id": {"stringValue": "r-1", "dataType": "String"}}) == "r-1"
    assert message_correlation_id({"correlation_id": {"stringValue": "two words"}}) is None
    assert message_correlation_id(None) is None
