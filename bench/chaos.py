"""The chaos benchmark: a stream of events while the whole local stack is killed with SIGKILL at
random moments; at the end the figures must equal the oracle's and no DLQ may hold anything.

``python bench/chaos.py [--kills 10] [--days 4] [--orders-per-day 40] [--seed 18] [--journal-only]``

1. Generates a simulated store (fixed dates and seed), shuffled, with some events sent twice.
2. Runs ``storepulse stack`` (``make run`` without the demo data) as a process of its own, on a
   data directory of its own, with a snapshot every 2 s (``STOREPULSE_SNAPSHOT_SECONDS``).
3. A client sends the events in batches; a batch that is not answered ``202`` (connection
   refused or cut, 5xx) is sent again once the stack is back, as a store's connector would.
4. Meanwhile the stack is killed with SIGKILL (its moto server dies with it) after a seeded
   random delay, restarted on the same data directory, and killed again: ``--kills`` times,
   during the sending and then during the processing.
5. Once everything is confirmed and the last restart is up, waits until the summary of the
   whole range and of each day equals :mod:`tests.oracle`'s, then counts the messages in the
   DLQs, and stops the stack with Ctrl-C (SIGINT), timing that stop.
6. Times what the journal adds to each ``202`` (reading the events again, ``fsync``) by batch size.

Prints the figures; writes them as JSON to ``.data/bench/chaos.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3
import requests

from devstack.aws import fake_aws_environment, free_port, port_in_use
from devstack.simulator import generate
from tests import oracle
from tests.figures import assert_same_figures
from tests.processes import Running, clean_environment

ROOT = Path(__file__).resolve().parents[1]
INGEST_KEY = "chaos-ingest-key-0123456789abcdefghij"
READ_KEY = "chaos-read-key-0123456789abcdefghijklm"
END = date(2025, 6, 30)
NOW = datetime(2025, 7, 1, 12, tzinfo=UTC)
READY = "Ctrl-C stops it"


@dataclass
class ChaosFigures:
    """What a chaos run measured."""

    events: int = 0
    batches: int = 0
    kills: int = 0
    resent_batches: int = 0
    restart_seconds: list[float] = field(default_factory=list)
    send_seconds: float = 0.0
    settle_seconds: float = 0.0
    ctrl_c_seconds: float = 0.0
    dead_letters: int = 0
    mismatches: list[str] = field(default_factory=list)

    def report(self) -> str:
        restarts = self.restart_seconds or [0.0]
        return "\n".join(
            [
                f"events sent: {self.events} in {self.batches} batches, "
                f"{self.resent_batches} batches re-sent after a kill",
                f"kills (SIGKILL of the whole stack): {self.kills}",
                f"restart until ready: mean {statistics.mean(restarts):.1f} s, max {max(restarts):.1f} s",
                f"sending under chaos: {self.send_seconds:.1f} s; "
                f"from the last restart to figures equal to the oracle's: {self.settle_seconds:.1f} s",
                f"Ctrl-C to exit: {self.ctrl_c_seconds:.1f} s",
                f"messages in DLQs: {self.dead_letters}",
                "figures equal the oracle's: "
                + ("yes" if not self.mismatches else "NO: " + "; ".join(self.mismatches)),
            ]
        )


def chaos_events(days: int, orders_per_day: int, seed: int) -> list[dict[str, Any]]:
    """A store's events as a connector would deliver them: shuffled, one in ten sent twice."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = generate(days, orders_per_day=orders_per_day, seed=seed, end=END, now=NOW)
    delivered = events + rng.sample(events, len(events) // 10)
    rng.shuffle(delivered)
    return delivered


class ChaosStack:
    """``storepulse stack`` on fixed ports and one data directory, started and killed at will."""

    def __init__(self, data_dir: Path):
        self.api_port, self.aws_port = free_port(), free_port()
        self.environment = clean_environment(
            STOREPULSE_DATA_DIR=str(data_dir),
            STOREPULSE_API_PORT=str(self.api_port),
            STOREPULSE_AWS_PORT=str(self.aws_port),
            STOREPULSE_DASH_PORT=str(free_port()),
            STOREPULSE_INGEST_KEY=INGEST_KEY,
            STOREPULSE_READ_KEY=READ_KEY,
            STOREPULSE_SNAPSHOT_SECONDS="2",
            STORE_TIMEZONE="UTC",
            SEED="0",
            PYTHONUNBUFFERED="1",
        )
        self.process: Running | None = None
        self.ready = threading.Event()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> float:
        """Start and wait until it serves; the seconds that took."""
        started = time.monotonic()
        deadline = started + 30
        # The killed stack's moto dies with it, a moment later: wait for its ports.
        while (port_in_use(self.aws_port) or port_in_use(self.api_port)) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.process = Running([sys.executable, "-m", "devstack.cli", "stack"], self.environment, cwd=ROOT)
        self.process.wait_for(READY, timeout=120)
        self.ready.set()
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL, as a power cut or ``kill -9`` would."""
        self.ready.clear()
        assert self.process is not None
        self.process.kill()

    def interrupt(self) -> float:
        """Ctrl-C; the seconds until the stack exited."""
        assert self.process is not None
        started = time.monotonic()
        self.process.process.send_signal(signal.SIGINT)
        self.process.process.wait(120)
        return time.monotonic() - started

    def dead_letters(self) -> int:
        environment = fake_aws_environment(f"http://127.0.0.1:{self.aws_port}")
        sqs = boto3.client(
            "sqs",
            endpoint_url=environment["AWS_ENDPOINT_URL"],
            region_name=environment["AWS_DEFAULT_REGION"],
            aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
        )
        total = 0
        for url in sqs.list_queues().get("QueueUrls", []):
            if url.endswith("-dlq"):
                attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                total += int(attributes["ApproximateNumberOfMessages"])
                total += int(attributes["ApproximateNumberOfMessagesNotVisible"])
        return total


def _send_until_confirmed(
    stack: ChaosStack, batches: list[list[dict[str, Any]]], figures: ChaosFigures
) -> None:
    session = requests.Session()
    for batch in batches:
        while True:
            stack.ready.wait()
            try:
                response = session.post(
                    f"{stack.api_url}/v1/events",
                    json={"events": batch},
                    headers={"x-api-key": INGEST_KEY},
                    timeout=30,
                )
            except requests.RequestException:
                response = None
            if response is not None and response.status_code == 202:
                break
            if response is not None and response.status_code < 500:
                raise RuntimeError(f"the API refused a batch: {response.status_code} {response.text}")
            figures.resent_batches += 1
            time.sleep(0.2)


def _summaries(api_url: str, days: list[date]) -> dict[str, dict[str, Any]]:
    ranges = {"all": (days[0], days[-1]), **{day.isoformat(): (day, day) for day in days}}
    out = {}
    for name, (start, end) in ranges.items():
        response = requests.get(
            f"{api_url}/v1/metrics/summary",
            params={"start": start.isoformat(), "end": end.isoformat()},
            headers={"x-api-key": READ_KEY},
            timeout=30,
        )
        response.raise_for_status()
        out[name] = response.json()["current"]
    return out


def _mismatches(
    events: list[dict[str, Any]], actual: dict[str, dict[str, Any]], days: list[date]
) -> list[str]:
    problems = []
    for name, figures in actual.items():
        start, end = (days[0], days[-1]) if name == "all" else (date.fromisoformat(name),) * 2
        try:
            assert_same_figures(figures, oracle.summary(events, start, end), where=name)
        except AssertionError as exc:
            problems.append(str(exc))
    return problems


def run_chaos(
    data_dir: Path,
    *,
    kills: int = 10,
    days: int = 4,
    orders_per_day: int = 40,
    seed: int = 18,
    batch_size: int = 25,
    kill_after: tuple[float, float] = (0.5, 3.0),
    settle_timeout: float = 180.0,
) -> ChaosFigures:
    """One chaos run (see the module's description); the figures it measured.

    Parameters
    ----------
    data_dir
        The stack's data directory (kept across the kills).
    kills
        How many times the stack is killed with SIGKILL.
    days, orders_per_day, seed
        The simulated store (:func:`devstack.simulator.generate`), fixed dates.
    batch_size
        Events per ``POST /v1/events``.
    kill_after
        Each kill comes after a delay drawn uniformly in this range (seconds), once the stack is up.
    settle_timeout
        How long the last stack may take to reach the oracle's figures.
    """
    rng = random.Random(seed)
    events = chaos_events(days, orders_per_day, seed)
    batches = [events[i : i + batch_size] for i in range(0, len(events), batch_size)]
    figures = ChaosFigures(events=len(events), batches=len(batches))
    stack = ChaosStack(data_dir)
    stack.start()
    try:
        started = time.monotonic()
        sender = threading.Thread(target=_send_until_confirmed, args=(stack, batches, figures), daemon=True)
        sender.start()
        for _ in range(kills):
            time.sleep(rng.uniform(*kill_after))
            stack.kill()
            figures.kills += 1
            figures.restart_seconds.append(stack.start())
        sender.join()
        figures.send_seconds = time.monotonic() - started
        settled = time.monotonic()
        window = [END - timedelta(days=n) for n in range(days - 1, -1, -1)]
        deadline = settled + settle_timeout
        while True:
            figures.mismatches = _mismatches(events, _summaries(stack.api_url, window), window)
            if not figures.mismatches or time.monotonic() > deadline:
                break
            time.sleep(1)
        figures.settle_seconds = time.monotonic() - settled
        figures.dead_letters = stack.dead_letters()
        figures.ctrl_c_seconds = stack.interrupt()
    finally:
        if stack.process is not None:
            stack.process.kill()
    return figures


def journal_cost(sizes: tuple[int, ...] = (1, 100, 500), samples: int = 15) -> dict[str, dict[str, float]]:
    """What the journal adds to a ``202`` of ``POST /v1/events``, by batch size: reading the
    events again (validation, e-mail hashing) and the appended line's ``fsync``, in ms."""
    from bench.meter import percentile
    from devstack.journal import Journal

    events = generate(7, orders_per_day=100, seed=3, end=END, now=NOW)
    costs = {}
    with tempfile.TemporaryDirectory(prefix="storepulse-journal-") as scratch:
        journal = Journal(Path(scratch) / "journal.jsonl", currency="USD", pii_key="bench")
        for size in sizes:
            request = {"body": json.dumps({"events": events[:size]})}
            answer = {
                "statusCode": 202,
                "body": json.dumps({"accepted": size, "duplicates": 0, "rejected": []}),
            }
            times = []
            for _ in range(samples):
                started = time.perf_counter()
                journal.record("ingest", request, answer, NOW)
                times.append((time.perf_counter() - started) * 1000)
            costs[str(size)] = {"p50_ms": percentile(times, 0.5), "p95_ms": percentile(times, 0.95)}
        journal.close()
    return costs


def _print_journal_cost(costs: dict[str, dict[str, float]]) -> None:
    for size, cost in costs.items():
        print(f"journal per 202 of {size} events: p50 {cost['p50_ms']:.1f} ms, p95 {cost['p95_ms']:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--orders-per-day", type=int, default=40)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--journal-only", action="store_true", help="only step 6, the journal's cost")
    args = parser.parse_args()
    if args.journal_only:
        _print_journal_cost(journal_cost())
        return 0
    with tempfile.TemporaryDirectory(prefix="storepulse-chaos-") as scratch:
        figures = run_chaos(
            Path(scratch) / "data",
            kills=args.kills,
            days=args.days,
            orders_per_day=args.orders_per_day,
            seed=args.seed,
        )
    print(figures.report())
    journal = journal_cost()
    _print_journal_cost(journal)
    out = ROOT / ".data" / "bench" / "chaos.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"arguments": vars(args), **asdict(figures), "journal": journal}, indent=2))
    print(f"figures written to {out}")
    return 0 if not figures.mismatches and not figures.dead_letters else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
