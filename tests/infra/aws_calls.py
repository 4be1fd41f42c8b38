"""Which AWS API calls each Lambda handler's code can make, found by reading the code.

A handler's *import closure* is every ``backend`` module it imports, directly or not; its
*reachable code* is the closure's module-level statements plus, transitively, the body of every
function or class whose name that code mentions, and of every decorated function (a route
registers itself; not one merely memoised with ``@cache``); of a class reached, its special and
decorator-registered methods, its other methods by their own names as functions are (by name,
not by binding: an over-approximation that is still tight enough to tell the orders handler,
which raises stock alerts, from the customers handler, which shares its module but not that
function, and a function using one method of the analytics table from one using another). In
that code, the services are the literal names passed to ``client("...")``
(``backend.adapters.clients``) and the calls are the attribute calls whose name is an operation
of one of those services in botocore's models (``client.update_item(...)``), plus the operations
named to ``get_paginator`` and ``generate_presigned_url``; a transaction needs the action of
each kind of item (``{"Put": ...}``) in that code. Adapters take their clients as arguments, so
a call is attributed to every service used that has an operation of that name.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import botocore.session
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]

# IAM service prefix of each boto3 client name the code may use.
IAM_PREFIX = {
    "dynamodb": "dynamodb",
    "sns": "sns",
    "sqs": "sqs",
    "s3": "s3",
    "events": "events",
    "ses": "ses",
    "sesv2": "ses",
    "ssm": "ssm",
    "scheduler": "scheduler",
}

# Operations whose IAM action is not named after them (AWS's service authorization reference).
ACTION_OF = {
    ("sns", "PublishBatch"): ("sns:Publish",),
    ("sqs", "SendMessageBatch"): ("sqs:SendMessage",),
    ("sqs", "DeleteMessageBatch"): ("sqs:DeleteMessage",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("sesv2", "SendEmail"): ("ses:SendEmail",),
    ("ses", "SendRawEmail"): ("ses:SendRawEmail",),
}

# Modules a handler imports for something other than running their AWS calls. The read API
# imports the ingest and connector routes only to describe them in /v1/openapi.json; it never
# serves them.
DESCRIBED_ONLY: Mapping[str, frozenset[str]] = {
    "backend.handlers.api": frozenset({"backend.api.ingest_routes", "backend.api.connector_routes"}),
}


# A transaction is authorised per item: TransactWriteItems needs the action of each kind of
# item the code builds ({"Put": ...}, {"Update": ...}, ... in its reachable code).
TRANSACTION_ITEM_ACTION = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


@dataclass(frozen=True)
class Calls:
    services: frozenset[str]
    operations: frozenset[tuple[str, str]]  # (client name, OperationName)
    modules: frozenset[str]
    transaction_items: frozenset[str] = frozenset()  # kinds of TransactItems the code builds

    def actions(self) -> frozenset[str]:
        """The IAM actions these operations need."""
        found: set[str] = set()
        for service, operation in self.operations:
            if (service, operation) == ("dynamodb", "TransactWriteItems"):
                if not self.transaction_items:
                    raise AssertionError("TransactWriteItems called, but no transaction item found")
                found.update(TRANSACTION_ITEM_ACTION[kind] for kind in self.transaction_items)
                continue
            found.update(ACTION_OF.get((service, operation), (f"{IAM_PREFIX[service]}:{operation}",)))
        return frozenset(found)


@cache
def _operations(service: str) -> Mapping[str, str]:
    """snake_case method name -> OperationName of a boto3 client."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


def module_path(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def _imports(tree: ast.AST, module: str) -> Iterable[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[: -node.level] if module else []
                base = ".".join([*parts, base]) if base else ".".join(parts)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_closure(handler_module: str) -> frozenset[str]:
    """Every ``backend`` module ``handler_module`` imports, itself included (described-only
    modules left out)."""
    skip = DESCRIBED_ONLY.get(handler_module, frozenset())
    seen: set[str] = set()
    todo = [handler_module]
    while todo:
        module = todo.pop()
        if module in seen or module in skip or not module.startswith("backend"):
            continue
        path = module_path(module)
        if path is None:
            continue
        seen.add(module)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        todo.extend(name for name in _imports(tree, module) if module_path_exists(name))
    return frozenset(seen)


def module_path_exists(name: str) -> bool:
    try:
        return module_path(name) is not None
    except (ImportError, ValueError):
        return False


Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


# Decorators that only memoise: the function still runs only where its name is called.
MEMOISING = {"cache", "lru_cache", "cached_property"}
# Decorators of a method that is still called by its name (a validator, a route is not).
NAMED_ACCESS = MEMOISING | {"property", "staticmethod", "classmethod"}


def _decorators(definition: Definition) -> list[str | None]:
    names = []
    for decorator in definition.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        names.append(target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None))
    return names


def _only_memoised(definition: Definition) -> bool:
    return all(name in MEMOISING for name in _decorators(definition))


def _called_unnamed(member: Definition) -> bool:
    """A method that runs without its name being written: a special method (``__init__``...), or
    one registered by a decorator (a pydantic validator)."""
    return member.name.startswith("__") or any(name not in NAMED_ACCESS for name in _decorators(member))


# An annotation names a type, it runs nothing (the code's modules postpone their evaluation).
ANNOTATION_FIELDS = ("annotation", "returns")


def _walk_code(node: ast.AST) -> Iterable[ast.AST]:
    """``ast.walk`` of ``node`` without its annotations: an attribute typed with an adapter class
    (``self.views: DayViews | None = None``) does not make the code call that class."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        for field, value in ast.iter_fields(current):
            if field in ANNOTATION_FIELDS:
                continue
            if isinstance(value, ast.AST):
                todo.append(value)
            elif isinstance(value, list):
                todo.extend(v for v in value if isinstance(v, ast.AST))


@cache
def reachable_code(handler_module: str) -> list[ast.AST]:
    """The statements of ``handler_module``'s closure that can run (see the module docstring)."""
    definitions: dict[str, list[Definition]] = {}
    todo: list[ast.AST] = []
    for module in import_closure(handler_module):
        path = module_path(module)
        assert path is not None
        for statement in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(statement, Definition):
                definitions.setdefault(statement.name, []).append(statement)
                if statement.decorator_list and not _only_memoised(statement):
                    # a decorated function is registered by its decorator (a route, a hook)
                    todo.extend([*statement.decorator_list, *statement.body])
            else:
                todo.append(statement)
    reached: list[ast.AST] = []
    done: set[str] = set()
    while todo:
        node = todo.pop()
        reached.append(node)
        for inner in _walk_code(node):
            name = (
                inner.id
                if isinstance(inner, ast.Name)
                else inner.attr
                if isinstance(inner, ast.Attribute)
                else None
            )
            if name is None or name in done:
                continue
            done.add(name)
            for definition in definitions.get(name, []):
                if not isinstance(definition, ast.ClassDef):
                    todo.extend(definition.body)
                    continue
                # A class reaches its statements, its bases' and decorators' names and the
                # methods that run without being named (:func:`_called_unnamed`); any other
                # method is reached by its own name, as a function is, so that code using one
                # method of an adapter is not taken to make the calls of all of them.
                todo.extend([*definition.bases, *definition.decorator_list])
                for member in definition.body:
                    if not isinstance(member, Definition) or _called_unnamed(member) or member.name in done:
                        todo.append(member)
                    else:
                        definitions.setdefault(member.name, []).append(member)
    return reached


@cache
def aws_calls(handler_module: str) -> Calls:
    """The services and operations the code of ``handler_module`` can call."""
    modules = import_closure(handler_module)
    services: set[str] = set()
    names: set[str] = set()
    kinds: set[str] = set()
    for statement in reachable_code(handler_module):
        for node in ast.walk(statement):
            if isinstance(node, ast.Dict):
                kinds.update(
                    key.value
                    for key in node.keys
                    if isinstance(key, ast.Constant) and key.value in TRANSACTION_ITEM_ACTION
                )
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            first = node.args[0] if node.args else None
            literal = (
                first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
            )
            if name == "client" and literal is not None:
                services.add(literal)
            elif name in ("get_paginator", "generate_presigned_url") and literal is not None:
                names.add(literal)
            elif isinstance(func, ast.Attribute):
                names.add(name)
    unknown = services - IAM_PREFIX.keys()
    if unknown:
        raise AssertionError(f"{handler_module} uses clients this scan does not know: {sorted(unknown)}")
    operations = {
        (service, _operations(service)[name])
        for service in services
        for name in names
        if name in _operations(service)
    }
    return Calls(frozenset(services), frozenset(operations), modules, frozenset(kinds))
