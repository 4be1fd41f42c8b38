"""Soak: the local stack (what ``make run`` runs) under a steady stream of events for a long time,
with the read API and the dashboard polled, watching memory, errors and latencies.

Run: ``.venv/bin/python bench/soak.py [--minutes 30] [--rate 5] [--interval-minutes 5]``.

It starts ``storepulse stack`` (``make run``'s command) as a subprocess on free ports with a
fresh data directory and ``SEED=0``, then for ``--minutes``:

- a sender posts ``--rate`` events a second (a simulated store's history, in batches of one
  second's worth) through ``POST /v1/events``;
- a reader polls the read API (summary with comparison, daily sales, inventory, alerts) and a
  second one the dashboard (signed in: the shell, and the Overview, Sales and Inventory pages
  rendered through Dash's own page callback) in turns, each request timed;
- a sampler reads the RSS of every process of the stack (the stack's process and its children:
  the moto server) every ``--sample-seconds``.

It prints, per interval, the p50/p95 latency and the errors of each kind of request, then the
memory slope of each process (MB per hour, least squares over the samples after the first
``--warmup-minutes``) and the totals. It exits 1 if any request failed.
``--json`` writes the figures to a file as well. Figures are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.meter import percentile  # noqa: E402
from devstack import memtrace  # noqa: E402
from devstack.aws import free_port  # noqa: E402
from devstack.simulator import generate  # noqa: E402

READS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("summary", "/v1/metrics/summary", {"compare": "previous_period"}),
    ("sales", "/v1/metrics/sales", {"granularity": "day"}),
    ("inventory", "/v1/inventory", {}),
    ("alerts", "/v1/alerts", {}),
)
PAGES = ("/", "/sales", "/inventory")
# The simulated store (about 1.5 events per order with its registrations, refunds and stock).
ORDERS_PER_DAY = 100


@dataclass
class Sample:
    """One timed request."""

    at: float
    kind: str
    seconds: float
    ok: bool


@dataclass
class Recorder:
    """Every request and memory sample of the run (appended from several threads)."""

    started: float
    samples: list[Sample] = field(default_factory=list)
    memory: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    accepted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, kind: str, call: Any) -> Any:
        began = time.monotonic()
        ok, answer = False, None
        try:
            answer = call()
            ok = answer.status_code < 400
            if not ok:
                self._error(kind, f"HTTP {answer.status_code}: {answer.text[:200]}")
        except Exception as exc:
            self._error(kind, f"{type(exc).__name__}: {exc}")
        with self.lock:
            self.samples.append(Sample(began - self.started, kind, time.monotonic() - began, ok))
        return answer if ok else None

    def _error(self, kind: str, text: str) -> None:
        with self.lock:
            self.errors[kind].append(text)


def start_stack(
    data_dir: Path, keys: dict[str, str], trace: Path | None = None
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """``storepulse stack`` on free ports; returns the process and its URLs once it is up."""
    ports = {"api": free_port(), "dash": free_port(), "aws": free_port()}
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "STOREPULSE_", "POWERTOOLS_", "STORE_"))
    }
    env.update(
        STOREPULSE_DATA_DIR=str(data_dir),
        STOREPULSE_API_PORT=str(ports["api"]),
        STOREPULSE_DASH_PORT=str(ports["dash"]),
        STOREPULSE_AWS_PORT=str(ports["aws"]),
        SEED="0",
        PYTHONUNBUFFERED="1",
        **keys,
    )
    if trace is not None:
        trace.mkdir(parents=True, exist_ok=True)
        env[memtrace.VARIABLE] = str(trace)
    log = open(data_dir.parent / "stack.log", "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the stack
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "storepulse"), "stack"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    urls = {"api": f"http://127.0.0.1:{ports['api']}", "dash": f"http://127.0.0.1:{ports['dash']}"}
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the stack stopped at start; see {data_dir.parent / 'stack.log'}")
        try:
            if (
                requests.get(f"{urls['api']}/v1/health", timeout=2).ok
                and requests.get(f"{urls['dash']}/login", timeout=2).ok
            ):
                return process, urls
        except requests.RequestException:
            pass
        time.sleep(1)
    process.kill()
    raise SystemExit("the stack did not come up within 3 minutes")


def stack_processes(root: psutil.Process) -> dict[str, psutil.Process]:
    """The stack's process and its children, by a readable name."""
    found = {"stack": root}
    for child in root.children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue
        name = "moto" if "moto" in command else f"child-{child.pid}"
        found[name] = child
    return found


def sample_memory(root: psutil.Process, recorder: Recorder, every: float, stop: threading.Event) -> None:
    while not stop.is_set():
        at = time.monotonic() - recorder.started
        for name, process in stack_processes(root).items():
            try:
                rss = process.memory_info().rss / 1e6
            except psutil.Error:
                continue
            with recorder.lock:
                recorder.memory[name].append((at, rss))
        stop.wait(every)


def send_events(
    url: str, key: str, rate: int, recorder: Recorder, stop: threading.Event, days: int, distinct: int = 0
) -> None:
    """``rate`` events each second from a simulated store, as a client would send them; with
    ``distinct``, the first ``distinct`` events over and over (duplicates after the first pass:
    the stored data stays the same, so what still grows is not data)."""
    pool = generate(days, orders_per_day=ORDERS_PER_DAY, seed=11)
    if distinct:
        pool = pool[:distinct]
    print(f"  {len(pool)} simulated events to send ({days} days of a store)", flush=True)
    position = 0
    tick = time.monotonic()
    with requests.Session() as session:
        while not stop.is_set() and (distinct or position < len(pool)):
            start = position % len(pool)
            batch = pool[start : start + rate]
            position += len(batch)
            answer = recorder.timed(
                "ingest",
                lambda b=batch: session.post(
                    f"{url}/v1/events", json={"events": b}, headers={"x-api-key": key}, timeout=30
                ),
            )
            if answer is not None:
                with recorder.lock:
                    recorder.accepted += answer.json()["accepted"]
            tick += 1.0
            stop.wait(max(0.0, tick - time.monotonic()))
    if not distinct and position >= len(pool):
        recorder._error("ingest", "the simulated history ran out before the end: use a longer --days")


def poll_api(
    url: str, key: str, window: tuple[date, date], recorder: Recorder, stop: threading.Event
) -> None:
    start, end = (d.isoformat() for d in window)
    with requests.Session() as session:
        while not stop.is_set():
            for kind, path, extra in READS:
                params = {"start": start, "end": end, **extra} if kind in ("summary", "sales") else extra
                recorder.timed(
                    f"api {kind}",
                    lambda p=path, q=params: session.get(
                        f"{url}{p}", params=q, headers={"x-api-key": key}, timeout=30
                    ),
                )
            stop.wait(1.0)


def _page_callback(session: requests.Session, url: str) -> dict[str, Any]:
    """Dash's page-routing callback (the one whose outputs hold ``_pages_content``)."""
    for callback in session.get(f"{url}/_dash-dependencies", timeout=30).json():
        if "_pages_content.children" in callback["output"]:
            return dict(callback)
    raise SystemExit("the dashboard has no page callback (_pages_content)")


def _render(session: requests.Session, url: str, callback: dict[str, Any], path: str, search: str) -> Any:
    values = {"pathname": path, "search": search, "hash": "", "href": f"{url}{path}{search}"}
    inputs = [
        {"id": i["id"], "property": i["property"], "value": values.get(i["property"])}
        for i in callback["inputs"]
    ]
    state = [
        {"id": s["id"], "property": s["property"], "value": values.get(s["property"])}
        for s in callback["state"]
    ]
    outputs = [
        {"id": part.split(".")[0], "property": part.split(".")[1]}
        for part in callback["output"].strip(".").split("...")
        if part
    ]
    body = {
        "output": callback["output"],
        "outputs": outputs,
        "inputs": inputs,
        "state": state,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
    }
    return session.post(f"{url}/_dash-update-component", json=body, timeout=60)


def poll_dashboard(
    url: str, user: str, password: str, window: tuple[date, date], recorder: Recorder, stop: threading.Event
) -> None:
    search = f"?start={window[0].isoformat()}&end={window[1].isoformat()}"
    with requests.Session() as session:
        signed_in = session.post(f"{url}/login", data={"username": user, "password": password}, timeout=30)
        if not signed_in.ok or not session.cookies:
            recorder._error("dashboard sign-in", f"HTTP {signed_in.status_code}")
            return
        callback = _page_callback(session, url)
        while not stop.is_set():
            recorder.timed("dashboard shell", lambda: session.get(f"{url}/_dash-layout", timeout=30))
            for page in PAGES:
                recorder.timed(f"dashboard {page}", lambda p=page: _render(session, url, callback, p, search))
            stop.wait(2.0)


def slope_mb_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS (MB) over time (s), in MB per hour.

    >>> round(slope_mb_per_hour([(0, 100.0), (1800, 101.0), (3600, 102.0)]), 3)
    2.0
    """
    if len(points) < 2:
        return 0.0
    mean_t = statistics.fmean(t for t, _ in points)
    mean_m = statistics.fmean(m for _, m in points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (m - mean_m) for t, m in points) / spread * 3600


def report(recorder: Recorder, minutes: float, interval: float, warmup: float) -> dict[str, Any]:
    """Print and return the figures: latency per interval and kind, memory slopes, errors."""
    kinds = sorted({s.kind for s in recorder.samples})
    intervals = max(1, int(-(-minutes // interval)))
    figures: dict[str, Any] = {"minutes": minutes, "intervals": [], "memory": {}, "errors": {}}
    print(f"\nLatency per {interval:g}-minute interval: p50 / p95 in ms (requests, errors)")
    print(
        f"{'request':<22}"
        + "".join(f"{f'{i * interval:g}-{(i + 1) * interval:g} min':>24}" for i in range(intervals))
    )
    for kind in kinds:
        row = f"{kind:<22}"
        for i in range(intervals):
            low, high = i * interval * 60, (i + 1) * interval * 60
            chosen = [s for s in recorder.samples if s.kind == kind and low <= s.at < high]
            seconds = [s.seconds for s in chosen]
            failed = sum(not s.ok for s in chosen)
            if seconds:
                p50, p95 = percentile(seconds, 0.5) * 1000, percentile(seconds, 0.95) * 1000
                row += f"{f'{p50:.0f} / {p95:.0f} ({len(seconds)}, {failed})':>24}"
                figures["intervals"].append(
                    {
                        "kind": kind,
                        "interval": i,
                        "p50_ms": p50,
                        "p95_ms": p95,
                        "requests": len(seconds),
                        "errors": failed,
                    }
                )
            else:
                row += f"{'-':>24}"
        print(row)
    print(f"\nMemory (RSS) per process, slope after the first {warmup:g} minutes")
    for name, points in sorted(recorder.memory.items()):
        steady = [(t, m) for t, m in points if t >= warmup * 60] or points
        slope = slope_mb_per_hour(steady)
        # A process that grows only while it warms up (lazy imports, caches filling) has a
        # second-half slope near zero; a leak keeps its slope.
        second_half = [(t, m) for t, m in points if t >= minutes * 30] or points
        figures["memory"][name] = {
            "first_mb": points[0][1],
            "last_mb": points[-1][1],
            "max_mb": max(m for _, m in points),
            "slope_mb_per_hour": slope,
            "second_half_slope_mb_per_hour": slope_mb_per_hour(second_half),
            "samples": len(points),
            "series": [(round(t), round(m, 1)) for t, m in points],
        }
        print(
            f"  {name:<10} {points[0][1]:7.1f} MB at start, {points[-1][1]:7.1f} MB at the end, "
            f"max {figures['memory'][name]['max_mb']:7.1f} MB; slope {slope:+.1f} MB/hour "
            f"({len(steady)} samples), in the second half {slope_mb_per_hour(second_half):+.1f} MB/hour"
        )
    total = len(recorder.samples)
    failed = sum(not s.ok for s in recorder.samples)
    print(f"\nRequests: {total}, errors: {failed}")
    for kind, texts in sorted(recorder.errors.items()):
        figures["errors"][kind] = len(texts)
        print(f"  {kind}: {len(texts)} (first: {texts[0]})")
    figures["requests"], figures["failed"] = total, failed
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to run (default 30)")
    parser.add_argument("--rate", type=int, default=5, help="events per second (default 5)")
    parser.add_argument("--interval-minutes", type=float, default=5.0, help="latency interval (default 5)")
    parser.add_argument("--sample-seconds", type=float, default=10.0, help="memory sampling period")
    parser.add_argument("--warmup-minutes", type=float, default=1.0, help="left out of the memory slope")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--distinct-events",
        type=int,
        default=0,
        metavar="N",
        help="send the first N events over and over (all duplicates after the first pass: a flat "
        "data set, to tell a leak from data); default 0, every event new",
    )
    parser.add_argument(
        "--trace-memory",
        type=Path,
        metavar="DIR",
        help="at each interval, have the stack and moto write their RSS, what they hold and their "
        "objects by type with the growth since the last to DIR/stack.txt and DIR/moto.txt "
        "(devstack/memtrace.py; STOREPULSE_TRACEMALLOC_FRAMES=N adds tracemalloc, 2x their CPU)",
    )
    args = parser.parse_args(argv)

    keys = {
        "STOREPULSE_INGEST_KEY": secrets.token_urlsafe(32),
        "STOREPULSE_READ_KEY": secrets.token_urlsafe(32),
        "STOREPULSE_DASH_USER": "soak",
        "STOREPULSE_DASH_PASSWORD": secrets.token_urlsafe(16),
        "STOREPULSE_DASH_SECRET": secrets.token_urlsafe(32),
    }
    # Enough simulated history for the whole run at the rate, with room to spare.
    days = min(700, max(30, int(args.minutes * 60 * args.rate / ORDERS_PER_DAY) + 30))
    window = (datetime.now(UTC).date() - timedelta(days=days + 1), datetime.now(UTC).date())
    with tempfile.TemporaryDirectory(prefix="storepulse-soak-") as folder:
        data_dir = Path(folder) / "data"
        process, urls = start_stack(data_dir, keys, args.trace_memory)
        print(f"Stack up (pid {process.pid}): API {urls['api']}, dashboard {urls['dash']}")
        print(f"Soak: {args.rate} events/s for {args.minutes:g} minutes, read API and dashboard polled")
        recorder = Recorder(started=time.monotonic())
        stop = threading.Event()
        root = psutil.Process(process.pid)
        threads = [
            threading.Thread(target=sample_memory, args=(root, recorder, args.sample_seconds, stop)),
            threading.Thread(
                target=send_events,
                args=(
                    urls["api"],
                    keys["STOREPULSE_INGEST_KEY"],
                    args.rate,
                    recorder,
                    stop,
                    days,
                    args.distinct_events,
                ),
            ),
            threading.Thread(
                target=poll_api, args=(urls["api"], keys["STOREPULSE_READ_KEY"], window, recorder, stop)
            ),
            threading.Thread(
                target=poll_dashboard,
                args=(
                    urls["dash"],
                    keys["STOREPULSE_DASH_USER"],
                    keys["STOREPULSE_DASH_PASSWORD"],
                    window,
                    recorder,
                    stop,
                ),
            ),
        ]
        try:
            for thread in threads:
                thread.start()
            ends = time.monotonic() + args.minutes * 60
            next_trace = time.monotonic() + 60 * args.warmup_minutes
            while time.monotonic() < ends:
                if args.trace_memory is not None and time.monotonic() >= next_trace:
                    for traced in stack_processes(root).values():
                        traced.send_signal(signal.SIGUSR1)
                    next_trace += 60 * args.interval_minutes
                time.sleep(min(30.0, max(0.0, ends - time.monotonic())))
                done = (time.monotonic() - recorder.started) / 60
                print(
                    f"  {done:5.1f} min: {len(recorder.samples)} requests, "
                    f"{recorder.accepted} events accepted",
                    flush=True,
                )
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        figures = report(recorder, args.minutes, args.interval_minutes, args.warmup_minutes)
        figures.update(rate=args.rate, accepted=recorder.accepted, distinct_events=args.distinct_events)
        process.terminate()
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
        print(f"Events accepted: {recorder.accepted}")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 1 if figures["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
