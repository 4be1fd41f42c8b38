"""Which environment variables a handler's code reads, from ``backend/settings.py``.

``get_settings()`` reads each variable into a field (``ingest_table=env("INGEST_TABLE", "")``);
a handler's code uses a field by name (``settings.require("analytics_table")``,
``get_settings().store_currency``, ``settings.zone`` for the time zone). The variables a
function needs are those of the fields its reachable code names (``aws_calls.reachable_code``).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from tests.infra.aws_calls import ROOT, reachable_code

SETTINGS = ROOT / "backend" / "settings.py"
# Properties of Settings and the field each is computed from.
DERIVED = {"zone": "store_timezone"}
_VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]*$")


@cache
def settings_variables(path: Path = SETTINGS) -> dict[str, str]:
    """Field of :class:`backend.settings.Settings` -> the environment variable it is read from."""
    fields: dict[str, str] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Settings":
            for keyword in node.keywords:
                # env("NAME", ...) possibly inside a method chain: env("NAME", "").rstrip("/")
                names = [
                    inner.args[0].value
                    for inner in ast.walk(keyword.value)
                    if isinstance(inner, ast.Call)
                    and inner.args
                    and isinstance(inner.args[0], ast.Constant)
                    and isinstance(inner.args[0].value, str)
                    and _VARIABLE.match(inner.args[0].value)
                ]
                if names and keyword.arg is not None:
                    fields[keyword.arg] = names[0]
    if not fields:
        raise AssertionError(f"found no Settings(...) fields read from the environment in {path}")
    return fields


@cache
def variables_read(handler_module: str) -> frozenset[str]:
    """The environment variables the code of ``handler_module`` reads through its settings."""
    fields = settings_variables()
    used: set[str] = set()
    for statement in reachable_code(handler_module):
        for node in ast.walk(statement):
            if isinstance(node, ast.Attribute):
                name = DERIVED.get(node.attr, node.attr)
                if name in fields:
                    used.add(name)
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "require"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in fields
            ):
                used.add(node.args[0].value)
    return frozenset(fields[name] for name in used)
