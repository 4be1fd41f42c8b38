"""``devstack.memtrace``: what the soak bench asks each process for, on SIGUSR1.

Given a process that installed it, when it gets SIGUSR1 while its main thread is busy, then its
report appears (RSS, what it holds, objects by type, growth since the previous signal) without
waiting for the main thread, and a process without the variable installs nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from devstack import memtrace

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = textwrap.dedent(
    """
    import os, signal, sys, time
    from devstack import memtrace

    class Kept:
        pass

    kept = []
    assert memtrace.install("probe", lambda: {"kept": len(kept)})
    report = os.path.join(os.environ[memtrace.VARIABLE], "probe.txt")

    def signal_and_wait(reports):
        os.kill(os.getpid(), signal.SIGUSR1)
        deadline = time.monotonic() + 60
        # the main thread stays busy (no sleep, no I/O): the report must not need it
        while time.monotonic() < deadline:
            if os.path.exists(report) and open(report).read().count("===") >= reports:
                return
            sum(range(1000))
        sys.exit("no report within 60 s")

    signal_and_wait(1)
    kept.extend(Kept() for _ in range(5000))
    signal_and_wait(2)
    """
)


def test_a_signalled_process_reports_its_memory_without_its_main_thread(tmp_path: Path) -> None:
    environment = {**os.environ, memtrace.VARIABLE: str(tmp_path), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", PROGRAM], env=environment, check=True, timeout=180)
    first, second = (tmp_path / "probe.txt").read_text(encoding="utf-8").split("===")[1:]
    assert "RSS" in first and "holds: kept 0" in first and "objects, by type:" in first
    # The second report says what grew since the first: the 5,000 objects kept
    assert "holds: kept 5000" in second and "gained since the previous signal" in second
    gains = {line.split()[2]: int(line.split()[0]) for line in second.splitlines() if line.startswith("  ")}
    assert gains["__main__.Kept"] == 5000


def test_nothing_is_installed_without_the_variable(monkeypatch: object) -> None:
    assert os.environ.get(memtrace.VARIABLE) is None
    assert memtrace.install("probe") is False
