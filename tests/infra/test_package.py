"""make package-backend's zips: what goes in each function's, and the same bytes for the same tree.

The packages themselves are installed and run in tests/deploy (the rehearsal)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import sys
import zipfile
from pathlib import Path
from types import ModuleType

from tests.infra import terraform


def load_script() -> ModuleType:
    path = terraform.INFRA / "scripts" / "package_backend.py"
    spec = importlib.util.spec_from_file_location("package_backend", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


def test_backend_goes_in_as_it_stands_without_caches() -> None:
    package = load_script()
    names = {name for _, name in package.files(terraform.ROOT / "backend", terraform.ROOT)}
    assert "backend/handlers/ingest.py" in names
    assert "backend/settings.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_a_handler_reaching_the_laptop_tools_is_not_packaged_from_source(tmp_path: Path) -> None:
    # devstack/ is not first-party for the packager: a handler importing it needs a distribution
    # of that name, which requirements.txt never provides, so the build fails naming it.
    package = load_script()
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "__init__.py").write_text("")
    (tmp_path / "backend" / "handler.py").write_text("from devstack.stack import LocalStack\n")
    found = package.closure("backend.handler", root=tmp_path)
    assert found.third_party == {"devstack"}
    assert {path.name for path in found.files} == {"__init__.py", "handler.py"}


def test_every_terraform_handler_is_in_the_package() -> None:
    package = load_script()
    names = {name for _, name in package.files(terraform.ROOT / "backend", terraform.ROOT)}
    for function in terraform.load().locals["functions"].values():
        module = function["handler"].rsplit(".", 1)[0]
        if (terraform.ROOT / (module.replace(".", "/") + ".py")).exists():
            assert module.replace(".", "/") + ".py" in names


def test_the_zip_is_reproducible(tmp_path: Path) -> None:
    package = load_script()
    source = tmp_path / "src"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "a.py").write_text("A = 1\n")
    (source / "pkg" / "b.py").write_text("B = 2\n")
    entries = list(package.files(source, source))
    first, second = tmp_path / "1.zip", tmp_path / "2.zip"
    package.write_zip(first, entries)
    package.write_zip(second, list(reversed(entries)))
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert archive.namelist() == ["pkg/a.py", "pkg/b.py"]
        assert archive.getinfo("pkg/a.py").date_time == package.FIXED_TIME


def _requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[<>=!~ ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def _provided_top_levels(requirements: set[str]) -> set[str]:
    """Top-level import names of ``requirements`` and of everything they depend on."""
    by_distribution: dict[str, set[str]] = {}
    for top, distributions in importlib.metadata.packages_distributions().items():
        for distribution in distributions:
            by_distribution.setdefault(distribution.lower().replace("_", "-"), set()).add(top)
    provided: set[str] = set()
    todo, seen = list(requirements), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in by_distribution:
            continue  # a dependency for another platform (colorama on Windows)
        provided |= by_distribution[name]
        for requirement in importlib.metadata.requires(name) or []:
            if "extra ==" not in requirement:
                todo.append(re.split(r"[\[<>=!~ ;(]", requirement, maxsplit=1)[0].lower().replace("_", "-"))
    return provided


def test_every_handler_imports_only_what_requirements_txt_provides() -> None:
    # Given the runtime requirements (what the Lambda packages are built from)
    package = load_script()
    provided = _provided_top_levels(_requirement_names(terraform.ROOT / "requirements.txt"))
    for name, handler in package.function_handlers(terraform.INFRA / "stack.json").items():
        # When the handler's imports are followed through backend/ and reports/
        reached = package.closure(handler)
        # Then every third-party package it imports is one requirements.txt installs
        assert sorted(reached.third_party - provided) == [], f"{name} imports what its package lacks"


def test_only_the_jobs_function_carries_pyarrow() -> None:
    package = load_script()
    handlers = package.function_handlers(terraform.INFRA / "stack.json")
    carrying = sorted(
        name for name, handler in handlers.items() if "pyarrow" in package.closure(handler).third_party
    )
    assert carrying == ["jobs"]


def test_lambda_platform_accepts_pyarrow_manylinux_2_28_wheels() -> None:
    # pyarrow 26's aarch64 wheels are manylinux_2_28 only; manylinux2014 alone finds none.
    package = load_script()
    assert "manylinux_2_28_aarch64" in package.PLATFORMS["lambda"]
