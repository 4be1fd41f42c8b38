"""Running a command as a developer would in a terminal, and reading what it prints."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without the stack's variables, plus ``settings``."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "STOREPULSE_", "POWERTOOLS_", "STORE_"))
        and name not in {"INGEST_KEY_SHA256", "READ_KEY_SHA256", "PII_HASH_KEY", "SEED"}
    }
    environment.update(settings)
    return environment


def _pump(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


class Running:
    """A command in its own process group, its output collected line by line."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str], cwd: Path | None = None):
        self.process = subprocess.Popen(
            list(command),
            env=dict(env),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.process.stdout is not None
        threading.Thread(target=_pump, args=(self.process.stdout, self.lines), daemon=True).start()

    @property
    def output(self) -> str:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "".join(self.seen)

    def wait_for(self, words: str, timeout: float) -> None:
        """Wait until a line holds ``words``; fail with the output so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.seen.append(self.lines.get(timeout=0.2))
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if words in self.seen[-1]:
                return
        raise AssertionError(f"{words!r} did not appear; output:\n{self.output}")

    def interrupt(self, timeout: float = 90) -> int:
        """Ctrl-C, as a terminal sends it to the whole foreground group."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
