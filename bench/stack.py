"""A throwaway local stack for a benchmark: free ports, its own data directory, no snapshots,
no restore, no schedules (a benchmark runs its jobs itself)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devstack.aws import free_port
from devstack.stack import StackOptions


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
