"""A throwaway local stack for a benchmark: free ports, its own data directory, no snapshots,
no restore, no schedules (a benchmark runs its jobs itself); and where its figures go."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devstack.aws import free_port
from devstack.stack import StackOptions

ROOT = Path(__file__).resolve().parents[1]


def throwaway_options(data_dir: Path, **overrides: Any) -> StackOptions:
    """Options for a benchmark's own stack in ``data_dir``; ``overrides`` as StackOptions takes."""
    settings: dict[str, Any] = {
        "data_dir": data_dir,
        "api_port": free_port(),
        "aws_port": free_port(),
        "snapshot_interval": None,
        "restore": False,
        "run_schedules": False,
    }
    return StackOptions(**{**settings, **overrides})


def measured_on() -> dict[str, Any]:
    """What a run's figures were measured on: when, which commit, the machine and its load."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit.stdout.strip(),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}",
        "load_average_before": os.getloadavg(),
    }


def write_figures(name: str, results: dict[str, Any]) -> Path:
    """Add the load average after the run and write ``results`` to ``.data/bench/<name>.json``."""
    results["load_average_after"] = os.getloadavg()
    out = ROOT / ".data" / "bench" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures written to {out}")
    return out
