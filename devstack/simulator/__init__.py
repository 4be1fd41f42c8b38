"""The simulated store: the AppFlow-style connector of CONTRACT section 1b.

A plausible shop generated deterministically from a seed (:mod:`.store`), sent through the public
ingest API exactly as an outside integration would (:mod:`.sender`), once or live
(:mod:`.cli`, ``storepulse simulate``).
"""

from __future__ import annotations

from devstack.simulator.cli import api_target, backfill, live, run_cli
from devstack.simulator.sender import ApiUnreachable, IngestRefused, SimulatorError, send
from devstack.simulator.store import generate, planted_bundles

__all__ = [
    "ApiUnreachable",
    "IngestRefused",
    "SimulatorError",
    "api_target",
    "backfill",
    "generate",
    "live",
    "planted_bundles",
    "run_cli",
    "send",
]
