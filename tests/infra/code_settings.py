"""Which environment variables a handler's code reads, from ``backend/settings.py``.

``get_settings()`` reads each variable into a field (``ingest_table`` from ``INGEST_TABLE``);
a handler's code uses a field by name (``settings.require("analytics_table")``,
``get_settings().store_currency``, ``settings.zone`` for the time zone). The variables a
function needs are those of the fields its reachable code names (``aws_calls.reachable_code``).
"""

from __future__ import annotations

import ast
import re
from functools import cache

from tests.infra.aws_calls import ROOT, reachable_code

SETTINGS = ROOT / "backend" / "settings.py"
# Properties of Settings and the field each is computed from.
DERIVED = {"zone": "store_timezone"}
_VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]*$")


@cache
def settings_variables() -> dict[str, str]:
    """Field of :class:`backend.settings.Settings` -> the environment variable it is read from
    (pydantic-settings: the field's name in capitals, or its alias)."""
    from backend.settings import Settings

    return {
        name: str(field.validation_alias or name).upper() for name, field in Settings.model_fields.items()
    }


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
