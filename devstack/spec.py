"""``infra/stack.json`` read into typed records: the one description of the resources.

The local stack provisions from these records and the Terraform is checked against the same
file, so no resource name is written anywhere else in the code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.gateway import ApiRoute

# A link to infra/stack.json in a checkout; the file itself in an installed package.
DEFAULT_STACK_FILE = Path(__file__).with_name("stack.json")
DLQ_SUFFIX = "-dlq"


class StackSpecError(ValueError):
    """``stack.json`` is missing, is not JSON, or lacks a field the stack needs."""


@dataclass(frozen=True)
class TableSpec:
    name: str
    env: str
    hash_key: str
    range_key: str | None = None
    ttl_attribute: str | None = None


@dataclass(frozen=True)
class BucketSpec:
    name: str
    env: str
    expire_prefix: str | None = None
    expire_days: int | None = None


@dataclass(frozen=True)
class TopicSpec:
    name: str
    env: str


@dataclass(frozen=True)
class EventBusSpec:
    name: str
    env: str


@dataclass(frozen=True)
class SubscriptionSpec:
    topic: str
    filter_policy: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class QueueSpec:
    name: str
    function: str
    max_receive_count: int
    subscription: SubscriptionSpec | None = None
    rule_target: str | None = None
    env: str | None = None

    @property
    def dlq_name(self) -> str:
        return dlq_name(self.name)


@dataclass(frozen=True)
class TargetSpec:
    kind: str
    name: str


@dataclass(frozen=True)
class RuleSpec:
    name: str
    bus: str
    pattern: Mapping[str, Any]
    targets: tuple[TargetSpec, ...]


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    job: str
    expression: str


@dataclass(frozen=True)
class SourceSpec:
    queue: str
    batch_size: int
    batching_window_seconds: float
    # Lambda's ScalingConfig.MaximumConcurrency: batches of the queue running at once.
    maximum_concurrency: int = 2


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    handler: str
    timeout: int
    memory: int
    env: tuple[str, ...] = ()
    source: SourceSpec | None = None


@dataclass(frozen=True)
class StackSpec:
    """Everything in ``stack.json`` that the local stack acts on."""

    tables: tuple[TableSpec, ...]
    buckets: tuple[BucketSpec, ...]
    topics: tuple[TopicSpec, ...]
    event_bus: EventBusSpec | None
    queues: tuple[QueueSpec, ...]
    rules: tuple[RuleSpec, ...]
    schedules: tuple[ScheduleSpec, ...]
    functions: tuple[FunctionSpec, ...]
    common_env: tuple[str, ...] = ()
    visibility_timeout_factor: int = 6
    path: Path | None = field(default=None, compare=False)
    routes: tuple[ApiRoute, ...] = ()

    def function(self, name: str) -> FunctionSpec:
        """The function called ``name``; :class:`StackSpecError` when there is none."""
        for function in self.functions:
            if function.name == name:
                return function
        raise StackSpecError(f"stack.json has no function named {name!r}")

    def queue(self, name: str) -> QueueSpec:
        """The queue called ``name``; :class:`StackSpecError` when there is none."""
        for queue in self.queues:
            if queue.name == name:
                return queue
        raise StackSpecError(f"stack.json has no queue named {name!r}")

    def visibility_timeout(self, queue: QueueSpec) -> int:
        """SQS visibility timeout of ``queue``: its function's timeout times the factor, plus
        the batching window.

        AWS advises at least six times the function timeout, plus the maximum batching window,
        so that a batch being gathered or retried by Lambda is not redelivered meanwhile.
        """
        function = self.function(queue.function)
        window = function.source.batching_window_seconds if function.source else 0
        return int(function.timeout * self.visibility_timeout_factor + window)

    def bridges(self) -> tuple[Bridge, ...]:
        """The SNS targets of rules, each emulated locally by an SQS queue and a forwarder."""
        return tuple(
            Bridge(rule=rule.name, topic=target.name)
            for rule in self.rules
            for target in rule.targets
            if target.kind == "sns"
        )


@dataclass(frozen=True)
class Bridge:
    """An EventBridge rule's SNS target, delivered locally through ``<rule>-to-<topic>``."""

    rule: str
    topic: str

    @property
    def queue_name(self) -> str:
        return f"{self.rule}-to-{self.topic}"


def dlq_name(queue_name: str) -> str:
    """The dead-letter queue of ``queue_name``.

    Examples
    --------
    >>> dlq_name("storepulse-orders")
    'storepulse-orders-dlq'
    """
    return f"{queue_name}{DLQ_SUFFIX}"


def load_stack_spec(path: Path | str | None = None) -> StackSpec:
    """Read ``infra/stack.json`` (or ``path``).

    Parameters
    ----------
    path
        Another description to read, mostly for tests; the project's file by default.

    Raises
    ------
    StackSpecError
        Naming the file and the field at fault.

    Examples
    --------
    >>> spec = load_stack_spec()
    >>> spec.queue("storepulse-orders").dlq_name
    'storepulse-orders-dlq'
    """
    source = Path(path) if path is not None else DEFAULT_STACK_FILE
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StackSpecError(f"cannot read {source}: {exc.strerror}") from None
    except ValueError as exc:
        raise StackSpecError(f"{source} is not valid JSON: {exc}") from None
    try:
        return _parse(raw, source)
    except (KeyError, TypeError, ValueError) as exc:
        raise StackSpecError(f"{source}: missing or malformed field {exc}") from None


def _parse(raw: Mapping[str, Any], source: Path) -> StackSpec:
    bus = raw.get("event_bus")
    return StackSpec(
        tables=tuple(
            TableSpec(t["name"], t["env"], t["hash_key"], t.get("range_key"), t.get("ttl_attribute"))
            for t in raw.get("tables", [])
        ),
        buckets=tuple(
            BucketSpec(
                b["name"],
                b["env"],
                b.get("expire_prefix"),
                int(b["expire_days"]) if b.get("expire_days") is not None else None,
            )
            for b in raw.get("buckets", [])
        ),
        topics=tuple(TopicSpec(t["name"], t["env"]) for t in raw.get("topics", [])),
        event_bus=EventBusSpec(bus["name"], bus["env"]) if bus else None,
        queues=tuple(
            QueueSpec(
                name=q["name"],
                function=q["function"],
                max_receive_count=int(q["max_receive_count"]),
                subscription=(
                    SubscriptionSpec(q["subscription"]["topic"], q["subscription"].get("filter_policy"))
                    if q.get("subscription")
                    else None
                ),
                rule_target=q.get("rule_target"),
                env=q.get("env"),
            )
            for q in raw.get("queues", [])
        ),
        rules=tuple(
            RuleSpec(
                name=r["name"],
                bus=r["bus"],
                pattern=r["pattern"],
                targets=tuple(TargetSpec(t["kind"], t["name"]) for t in r.get("targets", [])),
            )
            for r in raw.get("rules", [])
        ),
        schedules=tuple(ScheduleSpec(s["name"], s["job"], s["expression"]) for s in raw.get("schedules", [])),
        routes=tuple(
            ApiRoute(r["path"], tuple(r["methods"]), r["function"], bool(r["api_key"]))
            for r in raw.get("routes", [])
        ),
        functions=tuple(
            FunctionSpec(
                name=f["name"],
                handler=f["handler"],
                timeout=int(f["timeout"]),
                memory=int(f["memory"]),
                env=tuple(f.get("env", [])),
                source=(
                    SourceSpec(
                        queue=f["source"]["queue"],
                        batch_size=int(f["source"]["batch_size"]),
                        batching_window_seconds=float(f["source"]["batching_window_seconds"]),
                        maximum_concurrency=int(f["source"].get("maximum_concurrency", 2)),
                    )
                    if f.get("source")
                    else None
                ),
            )
            for f in raw.get("functions", [])
        ),
        common_env=tuple(raw.get("common_env", [])),
        visibility_timeout_factor=int(raw.get("visibility_timeout_factor", 6)),
        path=source,
    )
