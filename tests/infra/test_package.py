"""make package-backend's zip: what goes in, and the same bytes for the same tree."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path
from types import ModuleType

from tests.infra import terraform


def load_script() -> ModuleType:
    path = terraform.INFRA / "scripts" / "package_backend.py"
    spec = importlib.util.spec_from_file_location("package_backend", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_backend_goes_in_without_the_local_stack_and_caches() -> None:
    package = load_script()
    names = {name for _, name in package.files(terraform.ROOT / "backend", terraform.ROOT)}
    assert "backend/handlers/ingest.py" in names
    assert "backend/settings.py" in names
    assert not [n for n in names if n.startswith("backend/local/") or "__pycache__" in n]
    assert "backend/cli.py" not in names


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
