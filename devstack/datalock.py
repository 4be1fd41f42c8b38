"""One stack per data directory: two stacks on one directory would overwrite each other's
snapshots and journal.

The lock is ``stack.lock`` in the data directory, holding the pid of the stack that has it, and
locked with ``flock``: the kernel lets go of it when that process ends, however it ends
(kill -9 included), so a lock left behind by a dead stack is recognised as stale and taken over.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_FILE = "stack.lock"


class DataDirInUse(RuntimeError):
    """Another running stack holds the data directory."""


class DataDirLock:
    """The data directory's lock.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> lock = DataDirLock(folder)
    >>> lock.acquire()
    >>> DataDirLock(folder).acquire()  # a second stack on the same directory
    Traceback (most recent call last):
    ...
    devstack.datalock.DataDirInUse: ...
    >>> lock.release()
    """

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.path = data_dir / LOCK_FILE
        self._file: IO[str] | None = None

    def holder(self) -> int | None:
        """The pid written by the stack that holds (or last held) the lock."""
        with contextlib.suppress(OSError, ValueError):
            return int(self.path.read_text().strip())
        return None

    def acquire(self) -> None:
        """Take the lock and write this process's pid into it.

        Raises
        ------
        DataDirInUse
            Naming the pid of the running stack that holds it.
        """
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        lock_file = os.fdopen(descriptor, "r+")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            holder = self.holder()
            who = f"the stack with pid {holder}" if holder else "another stack"
            raise DataDirInUse(
                f"the data directory {self.data_dir} is in use by {who}; stop it first (Ctrl-C in "
                "its terminal), or give this one another directory with STOREPULSE_DATA_DIR"
            ) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(f"{os.getpid()}\n")
        lock_file.flush()
        self._file = lock_file

    def release(self) -> None:
        """Let go of the lock (the file stays, with no one holding it)."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
