"""The project installs as a package: its dependencies declared, its version shown."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
DECLARED_FILES = ("requirements.txt", "requirements-dashboard.txt", "requirements-local.txt")


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            pins[requirement.name.lower()] = str(requirement.specifier)
    return pins


def test_the_package_declares_every_pin_the_cli_runs_with() -> None:
    # Given the pins of the three files pyproject.toml names as its dependencies
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["dynamic"]["dependencies"]["file"] == list(DECLARED_FILES)
    wanted: dict[str, str] = {}
    for name in DECLARED_FILES:
        wanted.update(_pins(ROOT / name))
    assert {"boto3", "moto", "dash", "duckdb", "tqdm", "cronsim"} <= set(wanted)
    # When the installed distribution's metadata is read (make venv installs it with -e .)
    declared = {
        Requirement(r).name.lower(): str(Requirement(r).specifier)
        for r in metadata.requires("storepulse") or []
        if "extra ==" not in r
    }
    # Then `pip install .` would bring each of them, at the same pin
    assert declared == wanted


def test_dev_requirements_include_the_declared_files() -> None:
    includes = re.findall(r"^-r (\S+)$", (ROOT / "requirements-dev.txt").read_text(), re.M)
    assert sorted(includes) == sorted(DECLARED_FILES)


def test_storepulse_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    shown = subprocess.run(
        [sys.executable, "-m", "devstack.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert shown.stdout.strip() == f"storepulse {version}"


def test_the_wheel_carries_what_the_cli_reads_outside_the_packages(tmp_path: Path) -> None:
    # Given the links that make infra/stack.json, the committed bench results and the assets
    # package data
    linked = {
        "devstack/stack.json": ROOT / "infra" / "stack.json",
        "backend/cost/pipeline.json": ROOT / "bench" / "results" / "pipeline.json",
        "dashboard/assets/style.css": ROOT / "assets" / "style.css",
        "backend/cost/prices.json": ROOT / "backend" / "cost" / "prices.json",
    }
    # When the wheel that `pip install .` installs is built
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            tmp_path,
            ROOT,
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("storepulse-*.whl")
    # Then it holds each as a file with the content of the one it links to
    with zipfile.ZipFile(wheel) as archive:
        for name, source in linked.items():
            assert archive.read(name) == source.read_bytes(), name


def test_zappa_is_pinned_in_a_requirements_file_not_the_makefile() -> None:
    # Given the file the dashboard's packaging venv is made from
    pins = _pins(ROOT / "requirements-zappa.txt")
    assert re.fullmatch(r"==\d+\.\d+\.\d+", pins["zappa"])
    # Then the Makefile installs it from there and names no version of its own
    makefile = (ROOT / "Makefile").read_text()
    assert "requirements-zappa.txt" in makefile
    assert not re.search(r"zappa\s*==|ZAPPA_VERSION", makefile, re.I)
    # and neither the Lambdas nor the dashboard's zip carry it as a dependency
    assert all("zappa" not in _pins(ROOT / name) for name in DECLARED_FILES)


def test_boto3_stubs_cover_every_service_the_code_calls() -> None:
    # Given the services the code makes clients of
    code = "\n".join(p.read_text() for p in (ROOT / "backend").rglob("*.py"))
    code += "\n".join(p.read_text() for p in (ROOT / "dashboard").rglob("*.py"))
    services = set(re.findall(r"""\bclient\(\s*["']([a-z0-9-]+)["']""", code))
    assert {"dynamodb", "sns", "s3"} <= services
    # Then requirements-dev.txt brings boto3-stubs with each of them, and no file the Lambdas or
    # the dashboard install from carries stubs
    (stubs,) = [
        Requirement(line)
        for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
        if line.startswith("boto3-stubs")
    ]
    assert services <= stubs.extras
    for name in (*DECLARED_FILES, "requirements-zappa.txt"):
        assert not [pin for pin in _pins(ROOT / name) if "stubs" in pin or pin.startswith("mypy-boto3")]
