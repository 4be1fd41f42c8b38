"""Build one Lambda package per function: ``build/lambda/<function>.zip`` (``make package-backend``).

Each function carries only what its handler imports:

- the first-party modules (``backend``, ``reports``) its handler reaches, found by following the
  ``import`` statements from the handler module named in ``infra/stack.json`` (imports inside
  functions included: a lazy import still has to be in the package), with the data files of those
  packages (templates, price lists);
- the distributions of ``requirements.txt`` those modules import, with their own dependencies.

``requirements.txt`` is installed once per platform from binary wheels only into a cache keyed by
its hash (``build/deps/<platform>-<hash>``), then each zip takes the files of the distributions it
needs from there. ``--platform lambda`` (the default) is Lambda's arm64 Linux (pyarrow 26 ships its
aarch64 wheels as ``manylinux_2_28``, which Amazon Linux 2023 satisfies); ``--platform local`` is
this machine's, which the deploy rehearsal (tests/deploy) installs and runs; its zips are deflated
at level 1 (the same files, built about three times faster: the build was most of the rehearsal's
set-up on a fresh clone), Lambda's at 6. A handler that imports a package ``requirements.txt``
does not provide fails the build, naming both.

The zips are reproducible (sorted entries, a fixed timestamp): an unchanged tree gives an unchanged
``source_code_hash``. ``build/lambda/sizes.json`` records each package's size, zipped and unzipped,
against Lambda's 250 MB unzipped limit.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("backend", "reports")
# The laptop's tools (the local stack, the simulator, the CLI) live in devstack/, outside these
# packages: backend/ deploys as it stands, nothing is cut out by path.
FIXED_TIME = (2020, 1, 1, 0, 0, 0)
LAMBDA_UNZIPPED_LIMIT = 250 * 1000 * 1000
# pip takes these as the set of acceptable platform tags: manylinux_2_28 for pyarrow's aarch64
# wheels, manylinux2014 (= manylinux_2_17) for the packages that ship nothing newer.
PLATFORMS: dict[str, tuple[str, ...]] = {
    "lambda": ("manylinux_2_28_aarch64", "manylinux2014_aarch64"),
    "local": (),
}
# The zips' deflate level per platform: the local ones are unzipped at once by the rehearsal.
COMPRESS_LEVELS = {"lambda": 6, "local": 1}


class MissingDependency(RuntimeError):
    """A handler imports a package that requirements.txt does not provide."""


# --- first-party import graph -------------------------------------------------------------------


def _type_checking_only(tree: ast.AST) -> set[int]:
    """The nodes under ``if TYPE_CHECKING:``: imports for the type checker, never run."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    return skipped


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    skipped = _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                parts = parts[: len(parts) - node.level + (1 if is_package else 0)]
                base = ".".join([*parts, base]) if base else ".".join(parts)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def module_file(module: str, root: Path = ROOT) -> Path | None:
    """The source file of a first-party module (``None`` for a name that is not one)."""
    base = root.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _is_first_party(name: str) -> bool:
    return name.split(".", 1)[0] in FIRST_PARTY


@dataclass(frozen=True)
class Closure:
    """What a handler module reaches: first-party source files and third-party top-level names."""

    files: frozenset[Path]
    third_party: frozenset[str]


def closure(handler_module: str, root: Path = ROOT) -> Closure:
    """Follow the imports from ``handler_module`` through first-party code.

    Examples
    --------
    >>> "pyarrow" in closure("backend.handlers.jobs").third_party
    True
    >>> "pyarrow" in closure("backend.handlers.ingest").third_party
    False
    """
    stdlib = sys.stdlib_module_names
    files: set[Path] = set()
    third_party: set[str] = set()
    seen: set[str] = set()
    todo = [handler_module]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        # A package's __init__ runs before any of its modules.
        parent = module.rpartition(".")[0]
        if parent:
            todo.append(parent)
        path = module_file(module, root)
        if path is None:
            continue
        files.add(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in _imported_names(tree, module, path.name == "__init__.py"):
            top = name.split(".", 1)[0]
            if not top or top == "__future__" or top in stdlib:
                continue
            if _is_first_party(name):
                todo.append(name)
            else:
                third_party.add(top)
    return Closure(frozenset(files), frozenset(third_party))


def first_party_entries(found: Closure, root: Path = ROOT) -> list[tuple[Path, str]]:
    """The reached modules and the data files (non-Python) of the packages holding them."""
    entries = {path: path.relative_to(root).as_posix() for path in found.files}
    for package in {path.parent for path in found.files}:
        for path in package.rglob("*"):
            name = path.relative_to(root).as_posix()
            data = path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in name
            # A package's own data, and that of its plain (non-package) folders such as templates/
            if data and (package == path.parent or not (path.parent / "__init__.py").exists()):
                entries[path] = name
    return sorted(entries.items(), key=lambda entry: entry[1])


# --- third-party distributions --------------------------------------------------------------------


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Distribution:
    name: str
    files: tuple[str, ...]
    requires: tuple[str, ...]

    @property
    def top_level(self) -> frozenset[str]:
        tops = set()
        for name in self.files:
            first = name.split("/", 1)[0]
            if first.endswith((".dist-info", ".data")) or first in ("..", "bin", "__pycache__"):
                continue
            tops.add(first.removesuffix(".py") if "/" not in name else first)
            # Extension modules at the top: _cffi_backend.cpython-311-x86_64-linux-gnu.so
            tops.add(first.split(".", 1)[0])
        return frozenset(tops)


def installed(site: Path) -> dict[str, Distribution]:
    """The distributions pip installed into ``site``, by normalised name."""
    found = {}
    for info in sorted(site.glob("*.dist-info")):
        metadata = (info / "METADATA").read_text(encoding="utf-8", errors="replace")
        name = re.search(r"^Name: (.+)$", metadata, re.MULTILINE)
        assert name is not None, info
        requires = []
        for line in re.findall(r"^Requires-Dist: (.+)$", metadata, re.MULTILINE):
            requirement, _, marker = line.partition(";")
            if "extra" in marker:
                continue  # an optional extra: pip installed it only if asked for
            requires.append(_normalise(re.split(r"[\s\[<>=!~(]", requirement.strip(), maxsplit=1)[0]))
        record = (info / "RECORD").read_text(encoding="utf-8").splitlines()
        files = tuple(line.rsplit(",", 2)[0] for line in record if line)
        found[_normalise(name.group(1))] = Distribution(_normalise(name.group(1)), files, tuple(requires))
    return found


def distributions_for(
    third_party: Iterable[str], available: Mapping[str, Distribution]
) -> list[Distribution]:
    """The distributions providing ``third_party`` top-level names, with their dependencies."""
    by_top = {top: dist for dist in available.values() for top in dist.top_level}
    missing = sorted(name for name in third_party if name not in by_top)
    if missing:
        raise MissingDependency(", ".join(missing))
    chosen: dict[str, Distribution] = {}
    todo = [by_top[name].name for name in third_party]
    while todo:
        name = todo.pop()
        # A requirement pip did not install is for another platform or Python (its marker was false).
        if name in chosen or name not in available:
            continue
        chosen[name] = available[name]
        todo.extend(chosen[name].requires)
    return [chosen[name] for name in sorted(chosen)]


# What no import of ours reads: C/C++ headers, Cython sources, JavaScript source maps (Swagger UI's
# 7 MB; /v1/docs serves only its bundle) and the packages' own test suites, and
# pyarrow's Arrow Flight RPC (35 MB; no other pyarrow library links it, see readelf -d).
UNUSED_AT_RUN_TIME = re.compile(
    r"(^|/)(tests?|include|src)/|\.(h|hpp|pxd|pxi|pyx|pyi|cmake|map)$"
    r"|^pyarrow/(_flight\.|flight\.py|libarrow_flight\.|libarrow_python_flight\.)"
)


def distribution_entries(site: Path, dists: Iterable[Distribution]) -> list[tuple[Path, str]]:
    entries = []
    for dist in dists:
        for name in dist.files:
            if name.startswith(("../", "bin/")) or "__pycache__/" in name or name.endswith(".pyc"):
                continue
            if UNUSED_AT_RUN_TIME.search(name) and not name.split("/", 1)[0].endswith(".dist-info"):
                continue
            path = site / name
            if path.is_file():
                entries.append((path, name))
    return entries


def requirements_hash(requirements: Path, platform: str) -> str:
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(f"{platform} {PLATFORMS[platform]} {sys.version_info[:2]}".encode())
    return digest.hexdigest()[:16]


def install_dependencies(requirements: Path, platform: str, cache: Path) -> Path:
    """``requirements`` installed for ``platform`` into ``cache``, or the copy already there."""
    site = cache / f"{platform}-{requirements_hash(requirements, platform)}"
    stamp = site / ".complete"
    if stamp.exists():
        return site
    shutil.rmtree(site, ignore_errors=True)
    target = [f"--platform={tag}" for tag in PLATFORMS[platform]]
    if target:
        target += ["--implementation=cp", "--python-version=3.11"]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-compile",
            "-q",
            *target,
            "--only-binary=:all:",
            "--target",
            str(site),
            "-r",
            str(requirements),
        ],
        check=True,
    )
    stamp.touch()
    return site


# --- the zips -----------------------------------------------------------------------------------


def files(root: Path, base: Path) -> Iterator[tuple[Path, str]]:
    """Every file under ``root`` named relative to ``base``, caches left out."""
    for path in sorted(root.rglob("*")):
        name = path.relative_to(base).as_posix()
        if path.is_dir() or "__pycache__" in name or name.endswith(".pyc"):
            continue
        yield path, name


def write_zip(out: Path, entries: Sequence[tuple[Path, str]], level: int = 6) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for path, name in sorted(entries, key=lambda entry: entry[1]):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            # Extension modules and console scripts keep their execute bit.
            info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=level)


def entries_digest(entries: Sequence[tuple[Path, str]]) -> str:
    """A digest of the names and contents a zip is built from: kept beside the zip, so a rebuild
    of an unchanged tree skips the compression (minutes for pyarrow on a busy machine)."""
    digest = hashlib.sha256()
    for path, name in sorted(entries, key=lambda entry: entry[1]):
        digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def function_handlers(stack: Path) -> dict[str, str]:
    """Function name -> handler module, from infra/stack.json."""
    spec = json.loads(stack.read_text(encoding="utf-8"))
    return {f["name"]: f["handler"].rsplit(".", 1)[0] for f in spec["functions"]}


def package_function(
    name: str, handler: str, site: Path, available: Mapping[str, Distribution], out: Path, level: int = 6
) -> dict[str, object]:
    found = closure(handler)
    try:
        dists = distributions_for(found.third_party, available)
    except MissingDependency as missing:
        raise MissingDependency(
            f"function {name} ({handler}) imports {missing}, which requirements.txt does not provide"
        ) from None
    entries = [*distribution_entries(site, dists), *first_party_entries(found)]
    stamp, digest = out.with_suffix(".sha256"), f"{entries_digest(entries)} deflate {level}"
    if not (out.exists() and stamp.exists() and stamp.read_text() == digest):
        stamp.unlink(missing_ok=True)
        write_zip(out, entries, level)
        stamp.write_text(digest)
    unzipped = sum(path.stat().st_size for path, _ in entries)
    if unzipped > LAMBDA_UNZIPPED_LIMIT:
        raise RuntimeError(f"{out.name}: {unzipped / 1e6:.1f} MB unzipped, over Lambda's 250 MB")
    return {
        "handler": handler,
        "distributions": [dist.name for dist in dists],
        "files": len(entries),
        "zipped_bytes": out.stat().st_size,
        "unzipped_bytes": unzipped,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build build/lambda/<function>.zip for each function of infra/stack.json."
    )
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "lambda", help="directory of the zips")
    parser.add_argument("--platform", choices=sorted(PLATFORMS), default="lambda")
    parser.add_argument("--requirements", type=Path, default=ROOT / "requirements.txt")
    parser.add_argument("--stack", type=Path, default=ROOT / "infra" / "stack.json")
    parser.add_argument("--cache", type=Path, default=ROOT / "build" / "deps")
    args = parser.parse_args(argv)
    site = install_dependencies(args.requirements, args.platform, args.cache)
    available = installed(site)
    sizes = {}
    try:
        for name, handler in function_handlers(args.stack).items():
            sizes[name] = package_function(
                name, handler, site, available, args.out / f"{name}.zip", COMPRESS_LEVELS[args.platform]
            )
    except (MissingDependency, RuntimeError) as exc:
        print(f"package_backend: {exc}", file=sys.stderr)
        return 1
    (args.out / "sizes.json").write_text(
        json.dumps({"platform": args.platform, "functions": sizes}, indent=2) + "\n"
    )
    for name, size in sizes.items():
        zipped, unzipped = int(str(size["zipped_bytes"])) / 1e6, int(str(size["unzipped_bytes"])) / 1e6
        carried = ", ".join(map(str, size["distributions"]))  # type: ignore[call-overload]
        print(f"{name:>11}: {zipped:6.1f} MB zipped, {unzipped:6.1f} MB unzipped  ({carried})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
