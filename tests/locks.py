"""A lock across processes for the artifacts several test files build into the working tree.

``make test`` runs pytest with two workers (pytest-xdist). The dashboard zip, the Lambda packages
and the tools' virtualenv are each built in one place and cached there, so two workers that need
the same artifact take turns: the second finds the first one's build cached.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Hold the lock ``build/.<name>.lock`` (made if missing) while the body runs."""
    path = ROOT / "build" / f".{name}.lock"
    path.parent.mkdir(exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
