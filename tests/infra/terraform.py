"""``infra/*.tf`` read with python-hcl2 into plain Python values, for the consistency tests.

python-hcl2 keeps the quotes of string literals and block labels (``'"storepulse-orders"'``)
and leaves expressions as their source text (``'aws_sns_topic.ops.arn'``); :func:`plain`
removes the quotes of literals and the ``__is_block__`` markers, so a literal compares equal to
the same value in ``infra/stack.json``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
_LITERAL = re.compile(r'^"((?:[^"\\$]|\\.|\$(?!\{))*)"$')


def plain(value: Any) -> Any:
    """``value`` with string literals unquoted, recursively."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        match = _LITERAL.match(value)
        return match.group(1) if match else value
    return value


@dataclass(frozen=True)
class Block:
    """One ``resource``/``data``/``module``/... block: its labels, body and file."""

    kind: str
    labels: tuple[str, ...]
    body: dict[str, Any]
    path: Path

    @property
    def address(self) -> str:
        return ".".join(self.labels)


@dataclass(frozen=True)
class Config:
    """One Terraform module (the root or one of ``infra/modules``)."""

    path: Path
    files: dict[str, dict[str, Any]]

    def blocks(self, kind: str) -> Iterator[Block]:
        depth = {"resource": 2, "data": 2, "module": 1, "variable": 1, "output": 1, "provider": 1}[kind]
        for name, parsed in self.files.items():
            for entry in parsed.get(kind, []):
                yield from _unwrap(kind, entry, depth, (), self.path / name)

    def block(self, kind: str, *labels: str) -> Block:
        for block in self.blocks(kind):
            if block.labels == labels:
                return block
        raise KeyError(f"no {kind} {'.'.join(labels)} in {self.path}")

    @property
    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for parsed in self.files.values():
            for entry in parsed.get("locals", []):
                merged.update(plain(entry))
        return merged

    def text(self) -> str:
        return "\n".join(p.read_text(encoding="utf-8") for p in sorted(self.path.glob("*.tf")))


def _unwrap(
    kind: str, entry: dict[str, Any], depth: int, labels: tuple[str, ...], path: Path
) -> Iterator[Block]:
    for label, body in entry.items():
        if label == "__is_block__":
            continue
        here = (*labels, plain(label))
        if depth == 1:
            yield Block(kind, here, plain(body), path)
        else:
            yield from _unwrap(kind, body, depth - 1, here, path)


@cache
def load(path: Path = INFRA) -> Config:
    files = {}
    for tf in sorted(path.glob("*.tf")):
        with tf.open(encoding="utf-8") as handle:
            files[tf.name] = hcl2.load(handle)
    if not files:
        raise FileNotFoundError(f"no .tf files in {path}")
    return Config(path, files)


def modules() -> dict[str, Config]:
    """Each module under ``infra/modules`` by name."""
    return {p.name: load(p) for p in sorted((INFRA / "modules").iterdir()) if p.is_dir()}


def as_list(value: Any) -> list[Any]:
    """A block that may appear once (a dict) or several times (a list) as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
