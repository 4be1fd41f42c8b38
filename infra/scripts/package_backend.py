"""Build the backend's Lambda package: ``build/backend.zip`` (``make package-backend``).

The runtime dependencies of ``requirements.txt`` are installed for Lambda's platform (Linux,
arm64, CPython 3.11) from binary wheels only, whatever machine builds it, next to the
``backend`` package without its local-stack code. The zip is reproducible: sorted entries and a
fixed timestamp, so an unchanged tree gives an unchanged ``source_code_hash``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# backend/local is the laptop stack (moto, pollers); simulate.py is the CLI's connector.
LEFT_OUT = ("backend/local/", "backend/simulate.py", "backend/cli.py")
FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def install_dependencies(target: Path, requirements: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "--platform",
            "manylinux2014_aarch64",
            "--implementation",
            "cp",
            "--python-version",
            "3.11",
            "--only-binary=:all:",
            "--target",
            str(target),
            "-r",
            str(requirements),
        ],
        check=True,
    )


def files(root: Path, base: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(root.rglob("*")):
        name = path.relative_to(base).as_posix()
        if path.is_dir() or "__pycache__" in name or name.endswith(".pyc"):
            continue
        if any(name == out or name.startswith(out) for out in LEFT_OUT):
            continue
        yield path, name


def write_zip(out: Path, entries: Sequence[tuple[Path, str]]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path, name in sorted(entries, key=lambda entry: entry[1]):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build build/backend.zip for Lambda (arm64, Python 3.11).")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "backend.zip")
    parser.add_argument("--requirements", type=Path, default=ROOT / "requirements.txt")
    args = parser.parse_args(argv)
    staging = args.out.parent / "backend-deps"
    shutil.rmtree(staging, ignore_errors=True)
    install_dependencies(staging, args.requirements)
    entries = [*files(staging, staging), *files(ROOT / "backend", ROOT)]
    write_zip(args.out, entries)
    size = args.out.stat().st_size / 1e6
    shown = args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out
    print(f"{shown}: {len(entries)} files, {size:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
