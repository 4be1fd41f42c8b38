"""Where a local process's memory goes, for the soak bench (``bench/soak.py --trace-memory``).

With ``STOREPULSE_TRACEMALLOC=DIR`` in its environment, the stack's process and its moto server
each start :mod:`tracemalloc`; on every SIGUSR1 a process appends to ``DIR/<name>.txt`` the
allocation sites that grew most since its previous signal (the first signal lists the biggest).
Nothing happens without the variable: tracing costs the process about twice its CPU.
"""

from __future__ import annotations

import os
import signal
import time
import tracemalloc
from pathlib import Path
from typing import Any

VARIABLE = "STOREPULSE_TRACEMALLOC"
TOP = 25
FRAMES = 12


def install(name: str) -> bool:
    """Trace this process as ``name`` if the variable asks for it; returns whether it does."""
    folder = os.environ.get(VARIABLE)
    if not folder:
        return False
    path = Path(folder) / f"{name}.txt"
    tracemalloc.start(FRAMES)
    previous: list[tracemalloc.Snapshot] = []

    def dump(*_: Any) -> None:
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        total = sum(stat.size for stat in snapshot.statistics("filename"))
        stats = (
            snapshot.compare_to(previous[0], "traceback") if previous else snapshot.statistics("traceback")
        )
        with path.open("a", encoding="utf-8") as out:
            out.write(f"\n=== {time.strftime('%H:%M:%S')} {name}: {total / 1e6:.1f} MB traced\n")
            for stat in stats[:TOP]:
                out.write(f"{stat}\n")
                out.writelines(f"    {line}\n" for line in stat.traceback.format()[-2 * FRAMES :])
        previous[:] = [snapshot]

    signal.signal(signal.SIGUSR1, dump)
    return True
