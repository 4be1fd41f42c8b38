"""Accepted means durable under kill -9: the whole local stack is killed with SIGKILL ten times
while a store's events stream in, and every event the client could not confirm is sent again.

The run itself is :func:`bench.chaos.run_chaos` (``python -m bench.chaos`` does a bigger one and
prints its figures); here with a smaller store and shorter waits, to stay within CI's budget.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos import run_chaos


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_ten_kill_9_while_events_stream_lose_and_double_nothing(tmp_path: Path) -> None:
    # Given a stream of shuffled events with duplicates, and the stack killed at seeded random
    # moments and restarted on the same data directory, ten times
    figures = run_chaos(
        tmp_path / "data",
        kills=10,
        days=2,
        orders_per_day=15,
        seed=18,
        kill_after=(0.3, 2.0),
        settle_timeout=120,
    )
    print(figures.report())
    # Then every kill happened, the figures equal the oracle's, and no DLQ holds anything
    assert figures.kills == 10
    assert figures.mismatches == []
    assert figures.dead_letters == 0
    # And Ctrl-C at the end stopped the stack within seconds
    assert figures.ctrl_c_seconds < 20
