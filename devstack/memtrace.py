"""Where a local process's memory goes, for the soak bench (``bench/soak.py --trace-memory``).

With ``STOREPULSE_TRACEMALLOC=DIR`` in its environment, the stack's process and its moto server
each append to ``DIR/<name>.txt``, on every SIGUSR1: their RSS, a census of the live objects by
type with how many each type gained since the previous signal, and what the process says it
holds (moto: items, objects, messages and what it remembers of them). A census costs a few
seconds of one core and nothing between signals. ``STOREPULSE_TRACEMALLOC_FRAMES=N`` also starts
:mod:`tracemalloc` with N frames and adds the allocation sites that grew most; that doubles the
process's CPU for the whole run, which a loaded 2-core machine cannot carry: a stack traced that
way answered requests in 60-85 s and took minutes to dump a snapshot.

The work runs in a thread of its own, not in the signal handler: a handler runs in the main
thread, which in moto serves every connection and in the stack handles SIGTERM, so a dump
there stopped moto answering and the stack stopping for as long as it took.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

VARIABLE = "STOREPULSE_TRACEMALLOC"
FRAMES_VARIABLE = "STOREPULSE_TRACEMALLOC_FRAMES"
TOP = 25

Holdings = Callable[[], dict[str, int]]


def census() -> Counter[str]:
    """Live objects by type: those the garbage collector tracks (instances, lists, sets; not
    strings, bytes, numbers, nor dicts and tuples holding only those), so counts, not bytes.

    Collects garbage first, so what is counted is what the process still holds.

    >>> census()["builtins.dict"] > 0
    True
    """
    gc.collect()
    return Counter(f"{type(obj).__module__}.{type(obj).__qualname__}" for obj in gc.get_objects())


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def install(name: str, holdings: Holdings | None = None) -> bool:
    """Report on this process as ``name`` if the variable asks for it; returns whether it does."""
    folder = os.environ.get(VARIABLE)
    if not folder:
        return False
    path = Path(folder) / f"{name}.txt"
    frames = int(os.environ.get(FRAMES_VARIABLE) or 0)
    if frames:
        tracemalloc.start(frames)
    previous: dict[str, Any] = {}
    wanted = threading.Event()

    def dump() -> None:
        began = time.monotonic()
        counts = census()
        lines = [f"\n=== {time.strftime('%H:%M:%S')} {name}: RSS {_rss_mb():.1f} MB"]
        if holdings is not None:
            lines.append("holds: " + ", ".join(f"{k} {v}" for k, v in holdings().items()))
        before: Counter[str] = previous.get("census", Counter())
        grown = Counter({kind: counts[kind] - before[kind] for kind in counts})
        label = "objects gained since the previous signal" if before else "objects"
        lines.append(f"{label}, by type:")
        lines += [f"  {gain:+10d}  {counts[kind]:10d}  {kind}" for kind, gain in grown.most_common(TOP)]
        if frames:
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)]
            )
            stats = (
                snapshot.compare_to(previous["snapshot"], "traceback")
                if "snapshot" in previous
                else snapshot.statistics("traceback")
            )
            for stat in stats[:TOP]:
                lines.append(str(stat))
                lines += [f"    {line}" for line in stat.traceback.format()[-2 * frames :]]
            previous["snapshot"] = snapshot
        previous["census"] = counts
        lines.append(f"(written in {time.monotonic() - began:.1f} s)")
        with path.open("a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")

    def dump_when_asked() -> None:
        while True:
            wanted.wait()
            wanted.clear()
            dump()

    threading.Thread(target=dump_when_asked, name=f"memtrace-{name}", daemon=True).start()
    signal.signal(signal.SIGUSR1, lambda *_: wanted.set())
    return True
