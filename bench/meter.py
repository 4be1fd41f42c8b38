"""An AWS request meter: what the handlers' calls would be billed in AWS.

Hooks on botocore's event system (``before-parameter-build`` and ``after-call``) count every
call a metered client makes, by function, service and operation, in the units AWS bills:

* SNS publishes, SQS requests and EventBridge events in 64 KB chunks of payload;
* S3 requests and bytes;
* DynamoDB write and read request units, computed from item sizes by AWS's rules, because
  moto 5.2.5 does not report ``ConsumedCapacity`` correctly (``UpdateItem`` says 0.5,
  ``TransactWriteItems`` nothing). The size that an update bills is the larger of the item
  before and after it, and only a read tells those, so sizing is done in *precise* mode only:
  the meter reads the items before and after each write through a DynamoDB client of its own
  that it does not count. In cheap mode DynamoDB calls are counted, not sized, and a call costs
  the handler no more than the hooks.

Which function made a call is known from the thread: :meth:`Meter.function` wraps a handler
and marks its thread for the time of an invocation, and the local stack's SQS pollers run in
threads named ``poller-<function>``, so their receives and deletes (billed in AWS, where
Lambda's event source mapping polls the queue) are counted for that function.

Examples
--------
>>> meter = Meter(precise=True)
>>> with meter.handler_clients():  # doctest: +SKIP
...     run_the_pipeline()
>>> meter.snapshot().usage(service="dynamodb").write_units  # doctest: +SKIP
5.0
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import math
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from typing import Any

import boto3

from backend.adapters.packets import NotAPacket, unpack

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
CHUNK_BYTES = 64 * 1024
BATCH_GET_KEYS = 100
POLLER_THREAD_PREFIX = "poller-"
UNATTRIBUTED = "unattributed"
_PENDING = "storepulse.meter"

Handler = Callable[[Any, Any], Any]
CallKey = tuple[str, str, str]  # function, service, operation
ItemKey = tuple[str, str]  # table, the key's attributes as canonical JSON

# -- DynamoDB sizes and units --------------------------------------------------------------


def number_size(text: str) -> int:
    """Bytes of a DynamoDB number: one per two significant digits, plus one.

    Leading and trailing zeroes are not significant.

    Examples
    --------
    >>> number_size("12345"), number_size("0.50"), number_size("-1200")
    (4, 2, 2)
    """
    digits = "".join(str(d) for d in Decimal(text).as_tuple().digits).strip("0")
    return 1 + math.ceil(max(len(digits), 1) / 2)


def _raw_bytes(value: Any) -> int:
    return len(value) if isinstance(value, bytes | bytearray) else len(str(value).encode())


def _collection_size(element_sizes: Iterable[int]) -> int:
    # Lists, maps and (as the benchmark counts them) sets: 3 bytes, and 1 byte per element.
    return 3 + sum(size + 1 for size in element_sizes)


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's wire format (``{"S": "abc"}``).

    Examples
    --------
    >>> value_size({"S": "héllo"}), value_size({"BOOL": True}), value_size({"SS": ["a", "bc"]})
    (6, 1, 8)
    """
    if len(value) != 1:
        raise ValueError(f"a DynamoDB value has exactly one type, not {sorted(value)}")
    kind, data = next(iter(value.items()))
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        return number_size(str(data))
    if kind == "B":
        return _raw_bytes(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return _collection_size(len(str(s).encode()) for s in data)
    if kind == "NS":
        return _collection_size(number_size(str(n)) for n in data)
    if kind == "BS":
        return _collection_size(_raw_bytes(b) for b in data)
    if kind == "L":
        return _collection_size(value_size(v) for v in data)
    if kind == "M":
        return _collection_size(len(name.encode()) + value_size(v) for name, v in data.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]] | None) -> int:
    """Bytes of an item: each attribute's UTF-8 name plus its value (0 for no item).

    Examples
    --------
    >>> item_size({"pk": {"S": "DAY#2025-03-01"}, "orders": {"N": "12"}})
    24
    """
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    """Write request units of writing an item of ``size`` bytes: per started KB, at least one.

    Examples
    --------
    >>> write_units(0), write_units(1024), write_units(1500)
    (1, 1, 2)
    """
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units(size: int, *, consistent: bool) -> float:
    """Read request units of reading an item of ``size`` bytes (0 for a missing item, which
    is billed as the smallest read): per started 4 KB, half for an eventually consistent read.

    Examples
    --------
    >>> read_units(5000, consistent=True), read_units(5000, consistent=False)
    (2, 1.0)
    """
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return units if consistent else units / 2


def transaction_write_units(sizes: Iterable[int]) -> int:
    """Write request units of a ``TransactWriteItems``: twice each item's units.

    Examples
    --------
    >>> transaction_write_units([1500, 200])
    6
    """
    return 2 * sum(write_units(size) for size in sizes)


def item_kind(table: str, key: Mapping[str, Any]) -> str:
    """A written item's kind, for the write units by kind: the table's role and the item's
    key with its ids left out (``DAY#*/SALES``, ``ORDER#*/LINK``, ``PACKET#*/PART#*``).

    >>> item_kind("storepulse-ingest", {"event_id": {"S": "e1"}})
    'ingest/claim'
    >>> item_kind("storepulse-analytics", {"pk": {"S": "DAY#2025-01-02"}, "sk": {"S": "SKUS#3"}})
    'DAY#*/SKUS#*'
    >>> item_kind("storepulse-analytics", {"pk": {"S": "CUST#c9"}, "sk": {"S": "PROFILE"}})
    'CUST#*/PROFILE'
    >>> item_kind("storepulse-analytics", {"pk": {"S": "CATALOG"}, "sk": {"S": "BEA-7008"}})
    'CATALOG/*'
    >>> item_kind("storepulse-analytics", {"pk": {"S": "ALERTS"}, "sk": {"S": "2026-12-07T07:26+00:00#a1"}})
    'ALERTS/*'
    """
    if "event_id" in key and "pk" not in key:
        value = str(next(iter(key["event_id"].values())))
        return "ingest/request marker" if value.startswith("request#") else "ingest/claim"
    if "pk" not in key:
        return f"{table}/?"

    def shape(text: str) -> str:
        head, sep, _ = text.partition("#")
        if not re.fullmatch(r"[A-Z_]+", head):
            return "*"
        return f"{head}#*" if sep else head

    pk = str(next(iter(key["pk"].values())))
    sk = str(next(iter(key.get("sk", {"S": ""}).values())))
    return f"{shape(pk)}/{shape(sk)}"


def percentile(values: Iterable[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie (nearest rank, no interpolation): with
    5 values the p95 is the largest, as every benchmark here reports it.

    >>> percentile([3.0, 1.0, 2.0, 5.0, 4.0], 0.95), percentile([3.0, 1.0, 2.0], 0.5)
    (5.0, 2.0)
    """
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _chunks(size: int) -> int:
    """Requests billed for a payload: one per started 64 KB, at least one."""
    return max(1, math.ceil(size / CHUNK_BYTES))


def _message_attributes_size(attributes: Mapping[str, Any] | None) -> int:
    size = 0
    for name, value in (attributes or {}).items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        if "StringValue" in value:
            size += len(str(value["StringValue"]).encode())
        if "BinaryValue" in value:
            size += _raw_bytes(value["BinaryValue"])
    return size


# -- tallies ----------------------------------------------------------------------------------


@dataclass
class Usage:
    """What a set of calls consumed.

    ``billed`` counts requests as AWS bills them (64 KB chunks for SNS, SQS and EventBridge
    payloads; one per call elsewhere). ``items`` counts messages, entries or DynamoDB items.
    ``failed_write_units`` are those of failed conditional writes and cancelled transactions,
    which AWS bills too. ``seconds`` is the time spent in the calls, seen from the client.
    """

    calls: int = 0
    errors: int = 0
    billed: int = 0
    empty: int = 0
    items: int = 0
    bytes: int = 0
    write_units: float = 0.0
    failed_write_units: float = 0.0
    read_units: float = 0.0
    seconds: float = 0.0

    def add(self, other: Usage) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def minus(self, other: Usage) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})

    @property
    def billed_write_units(self) -> float:
        return self.write_units + self.failed_write_units


@dataclass
class Invocations:
    """A function's invocations: count, duration, Lambda's billed milliseconds, SQS records."""

    count: int = 0
    seconds: float = 0.0
    billed_ms: int = 0
    records: int = 0
    failed_records: int = 0
    durations: list[float] = field(default_factory=list)
    profiles: list[CallProfile] = field(default_factory=list)

    def minus(self, other: Invocations) -> Invocations:
        return Invocations(
            self.count - other.count,
            self.seconds - other.seconds,
            self.billed_ms - other.billed_ms,
            self.records - other.records,
            self.failed_records - other.failed_records,
            self.durations[len(other.durations) :],
            self.profiles[len(other.profiles) :],
        )


@dataclass
class Tally:
    """A copy of the meter's counts at one moment; subtract two to get what happened between."""

    calls: dict[CallKey, Usage] = field(default_factory=dict)
    functions: dict[str, Invocations] = field(default_factory=dict)

    def __sub__(self, earlier: Tally) -> Tally:
        calls = {k: u.minus(earlier.calls.get(k, Usage())) for k, u in self.calls.items()}
        functions = {n: i.minus(earlier.functions.get(n, Invocations())) for n, i in self.functions.items()}
        return Tally(
            {k: u for k, u in calls.items() if u.calls},
            {n: i for n, i in functions.items() if i.count},
        )

    def usage(
        self,
        *,
        function: str | None = None,
        service: str | None = None,
        operation: str | None = None,
        exclude_functions: Collection[str] = (),
    ) -> Usage:
        """The sum of the calls that match every filter given."""
        total = Usage()
        for (fn, svc, op), used in self.calls.items():
            if fn in exclude_functions or (function is not None and fn != function):
                continue
            if (service is not None and svc != service) or (operation is not None and op != operation):
                continue
            total.add(used)
        return total

    def operations(self, exclude_functions: Collection[str] = ()) -> dict[tuple[str, str], Usage]:
        """Usage by (service, operation), over every function but the excluded ones."""
        out: dict[tuple[str, str], Usage] = defaultdict(Usage)
        for (fn, svc, op), used in self.calls.items():
            if fn not in exclude_functions:
                out[(svc, op)].add(used)
        return dict(sorted(out.items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": [
                {"function": fn, "service": svc, "operation": op, **asdict(u)}
                for (fn, svc, op), u in sorted(self.calls.items())
            ],
            "functions": {
                name: {k: v for k, v in asdict(i).items() if k not in ("durations", "profiles")}
                for name, i in sorted(self.functions.items())
            },
        }


@dataclass(frozen=True)
class CallProfile:
    """Where one invocation's time went: ``own_seconds`` with no AWS call in flight (the
    handler's code, and its wait for a core on a busy machine), ``waited_seconds`` with at
    least one in flight (locally: the wait for moto), and its AWS calls by (service, operation)
    with their mean overlap (``parallelism``: call time over the time any call was in flight)."""

    own_seconds: float
    waited_seconds: float
    calls: dict[tuple[str, str], int]
    parallelism: float
    # CPU time of the thread that ran the handler, the meter's sizing left out: its own time on
    # an idle machine, less the CPU of the worker threads it hands calls to.
    cpu_seconds: float = 0.0

    def seconds_at(
        self, latency: Callable[[str, str], float], cpu_share: float = 1.0, *, by_cpu: bool = False
    ) -> float:
        """The invocation's duration were each call to take ``latency(service, operation)``
        seconds, overlapping as it did here, and its own time (``cpu_seconds`` when ``by_cpu``)
        to run on ``cpu_share`` of the core it ran on here."""
        calls = sum(n * latency(*call) for call, n in self.calls.items()) / self.parallelism
        return (self.cpu_seconds if by_cpu else self.own_seconds) / cpu_share + calls


class _Invocation:
    """The AWS calls of one invocation, from every thread it hands work to, and the meter's own
    sizing time, both left out of the invocation's own time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[str, str, float, float]] = []
        self.overhead: list[tuple[float, float]] = []

    def call(self, service: str, operation: str, started: float, ended: float) -> None:
        with self._lock:
            self.calls.append((service, operation, started, ended))

    def sized(self, started: float, ended: float) -> None:
        with self._lock:
            self.overhead.append((started, ended))

    def profile(self, started: float, ended: float, cpu_seconds: float = 0.0) -> CallProfile:
        with self._lock:
            calls, overhead = list(self.calls), list(self.overhead)
        in_flight = _covered([(a, b) for _, _, a, b in calls])
        busy = _covered([*((a, b) for _, _, a, b in calls), *overhead])
        call_time = sum(b - a for _, _, a, b in calls)
        return CallProfile(
            own_seconds=max(0.0, ended - started - busy),
            waited_seconds=in_flight,
            calls=dict(Counter((svc, op) for svc, op, _, _ in calls)),
            parallelism=max(1.0, call_time / in_flight) if in_flight else 1.0,
            cpu_seconds=cpu_seconds,
        )


def _covered(intervals: Iterable[tuple[float, float]]) -> float:
    """Seconds covered by at least one of the intervals."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


@dataclass
class _Pending:
    """What the before-hook of a call hands to its after-hook (in botocore's request context)."""

    function: str
    started: float
    sizes_before: dict[ItemKey, int] = field(default_factory=dict)
    invocation: _Invocation | None = None


# -- the meter --------------------------------------------------------------------------------


class Meter:
    """Counts AWS calls by function, service and operation.

    Parameters
    ----------
    precise
        Size DynamoDB writes and reads (extra reads through an unmetered client). Can be
        switched at any time; a call is sized if it was precise when it started.
    """

    def __init__(self, precise: bool = False) -> None:
        self.precise = precise
        self._lock = threading.Lock()
        self._calls: dict[CallKey, Usage] = defaultdict(Usage)
        # Write units (sized calls only) by (function, operation, item kind): where they go.
        self._kinds: dict[tuple[str, str, str], float] = defaultdict(float)
        # Read units (sized calls only) by (function, operation, item kind, consistency).
        self._read_kinds: dict[tuple[str, str, str, str], float] = defaultdict(float)
        # Write units (sized calls only) by item key ``(table, pk, sk)``: the partition model.
        self._items: dict[tuple[str, str, str], float] = defaultdict(float)
        self._functions: dict[str, Invocations] = defaultdict(Invocations)
        # Events by type in the SQS messages each function's poller received ("received") and
        # its handler was handed ("handed"): a message is a packet of many events.
        self._events: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        self._local = threading.local()
        # Also a context variable: code that hands work to threads with a copy of its context
        # (``backend.adapters.dynamo.batch_get``) keeps its calls counted as the function's.
        self._function_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
            f"storepulse-meter-function-{id(self)}", default=None
        )
        # The invocation running, seen from the threads it hands work to as well.
        self._invocation_var: contextvars.ContextVar[_Invocation | None] = contextvars.ContextVar(
            f"storepulse-meter-invocation-{id(self)}", default=None
        )
        self._raw_clients: dict[tuple[str, str], Any] = {}
        self._key_names: dict[str, tuple[str, ...]] = {}
        self._registered: list[tuple[Any, str, str]] = []
        self._uid = f"storepulse-meter-{id(self)}"

    # -- reading ------------------------------------------------------------------------

    def snapshot(self) -> Tally:
        """A copy of everything counted so far."""
        with self._lock:
            return Tally(
                {k: Usage(**asdict(u)) for k, u in self._calls.items()},
                {
                    n: Invocations(
                        i.count,
                        i.seconds,
                        i.billed_ms,
                        i.records,
                        i.failed_records,
                        list(i.durations),
                        list(i.profiles),
                    )
                    for n, i in self._functions.items()
                },
            )

    def write_units_by_kind(self) -> dict[tuple[str, str, str], float]:
        """Write units of sized calls so far by (function, operation, item kind)."""
        with self._lock:
            return dict(self._kinds)

    def read_units_by_kind(self) -> dict[tuple[str, str, str, str], float]:
        """Read units of sized calls so far by (function, operation, item kind, ``"strong"``
        or ``"eventual"``); a Query's kind is its partition's (``DAY#*/(query)``)."""
        with self._lock:
            return dict(self._read_kinds)

    def write_units_by_item(self) -> dict[tuple[str, str, str], float]:
        """Write units of sized calls so far by item key ``(table, pk, sk)``."""
        with self._lock:
            return dict(self._items)

    def records_processed(self, function: str) -> int:
        """SQS records ``function`` has been handed so far (for progress bars)."""
        with self._lock:
            found = self._functions.get(function)
            return found.records if found else 0

    def events_in_messages(self, function: str, stage: str, types: Iterable[str] | None = None) -> int:
        """Events (of ``types``; all when None) in the SQS messages ``function``'s poller has
        ``"received"`` or its handler was ``"handed"`` so far (for progress)."""
        with self._lock:
            found = self._events.get((function, stage), Counter())
            return sum(n for t, n in found.items() if types is None or t in types)

    def _count_events(self, function: str, stage: str, bodies: Iterable[Any]) -> None:
        types: Counter[str] = Counter()
        for body in bodies:
            try:
                types.update(str(e.get("type")) for e in unpack(str(body)).events)
            except NotAPacket:
                continue
        with self._lock:
            self._events[(function, stage)].update(types)

    def messages_received(self, function: str) -> int:
        """SQS messages the poller of ``function`` has received so far (for progress)."""
        with self._lock:
            return sum(
                used.items
                for (fn, service, operation), used in self._calls.items()
                if fn == function and service == "sqs" and operation == "ReceiveMessage"
            )

    # -- functions ----------------------------------------------------------------------

    def current_function(self) -> str | None:
        """The function whose code runs in this thread, if any."""
        name: str | None = getattr(self._local, "function", None) or self._function_var.get()
        if name:
            return name
        thread = threading.current_thread().name
        if thread.startswith(POLLER_THREAD_PREFIX):
            return thread[len(POLLER_THREAD_PREFIX) :]
        return None

    def function(self, name: str, handler: Handler) -> Handler:
        """``handler`` timed and counted as function ``name``; its AWS calls are its own.

        The time the meter itself spends on precise sizing is left out of the duration.
        """

        def invoke(event: Any, context: Any) -> Any:
            local = self._local
            outer_function, outer_overhead = getattr(local, "function", None), getattr(local, "overhead", 0.0)
            outer_overhead_cpu = getattr(local, "overhead_cpu", 0.0)
            local.function, local.overhead, local.overhead_cpu = name, 0.0, 0.0
            token = self._function_var.set(name)
            invocation = _Invocation()
            invocation_token = self._invocation_var.set(invocation)
            records = len(event.get("Records") or []) if isinstance(event, Mapping) else 0
            if records:
                self._count_events(name, "handed", (r.get("body", "") for r in event["Records"]))
            failed = records
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                result = handler(event, context)
                failed = _failed_records(result) if records else 0
                return result
            finally:
                ended = time.perf_counter()
                own_cpu = max(0.0, time.thread_time() - cpu - local.overhead_cpu)
                elapsed = max(0.0, ended - started - local.overhead)
                local.function, local.overhead = outer_function, outer_overhead
                local.overhead_cpu = outer_overhead_cpu
                self._function_var.reset(token)
                self._invocation_var.reset(invocation_token)
                profile = invocation.profile(started, ended, own_cpu)
                with self._lock:
                    stats = self._functions[name]
                    stats.count += 1
                    stats.seconds += elapsed
                    stats.billed_ms += max(1, math.ceil(elapsed * 1000))
                    stats.records += records
                    stats.failed_records += failed
                    stats.durations.append(elapsed)
                    stats.profiles.append(profile)

        invoke.__name__ = f"metered_{name}"
        return invoke

    # -- clients ------------------------------------------------------------------------

    @contextlib.contextmanager
    def handler_clients(self) -> Iterator[None]:
        """Meter every client ``backend.adapters.clients`` makes while the block runs.

        Calls made outside a metered function are counted as ``unattributed``.
        """
        from backend.adapters import clients

        original = clients._client

        def metered_client(*key: str | None) -> Any:
            made = original(*key)
            self.instrument(made)
            return made

        # What the local stack calls when it sets the functions' environment
        # (clients.forget_clients) empties the real cache under the wrapper.
        metered_client.cache_clear = original.cache_clear  # type: ignore[attr-defined]
        clients._client = metered_client  # type: ignore[assignment]
        try:
            yield
        finally:
            clients._client = original
            self.uninstrument()

    def instrument(
        self,
        client: Any,
        *,
        operations: Collection[str] | None = None,
        attribute: Callable[[], str | None] | None = None,
    ) -> None:
        """Count the calls of ``client`` (idempotent).

        Parameters
        ----------
        client
            A boto3 client.
        operations
            Count only these operations (``"ReceiveMessage"``, ...); all by default.
        attribute
            Names the function a call belongs to, or ``None`` to leave the call uncounted;
            by default the current function, else ``unattributed``.
        """
        service = client.meta.service_model.service_id.hyphenize()
        who = attribute or (lambda: self.current_function() or UNATTRIBUTED)
        events = client.meta.events
        suffix = f"{id(client)}"
        endpoint = (str(client.meta.endpoint_url), str(client.meta.region_name))

        def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
            if operations is not None and model.name not in operations:
                return
            function = who()
            if function is None:
                return
            pending = _Pending(function, 0.0, invocation=self._invocation_var.get())
            if self.precise and service == "dynamodb":
                with self._overhead():
                    pending.sizes_before = self._sizes_before(endpoint, model.name, params)
            pending.started = time.perf_counter()
            context[_PENDING] = (pending, params, model.name)

        def after(
            http_response: Any, parsed: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any
        ) -> None:
            found = context.pop(_PENDING, None)
            if found is None:
                return
            pending, params, _ = found
            ended = time.perf_counter()
            elapsed = ended - pending.started
            if pending.invocation is not None:
                pending.invocation.call(service, model.name, pending.started, ended)
            status = int(getattr(http_response, "status_code", 500))
            used = _request_usage(service, model.name, params, parsed)
            used.calls, used.seconds = 1, elapsed
            if service == "sqs" and model.name == "ReceiveMessage":
                self._count_events(
                    pending.function, "received", (m.get("Body", "") for m in parsed.get("Messages") or [])
                )
            if status >= 300:
                used.errors = 1
            if self.precise and service == "dynamodb":
                with self._overhead():
                    self._size_dynamodb(endpoint, model.name, params, parsed, status, pending, used)
            self._add((pending.function, service, model.name), used)

        def failed(context: dict[str, Any], **_: Any) -> None:
            found = context.pop(_PENDING, None)
            if found is not None:
                pending, _, operation = found
                if pending.invocation is not None:
                    pending.invocation.call(service, operation, pending.started, time.perf_counter())
                self._add((pending.function, service, operation), Usage(calls=1, errors=1))

        for event, handler in (
            (f"before-parameter-build.{service}", before),
            (f"after-call.{service}", after),
            (f"after-call-error.{service}", failed),
        ):
            unique = f"{self._uid}-{event}-{suffix}"
            with self._lock:
                if any(u == unique for _, _, u in self._registered):
                    continue
                self._registered.append((events, event, unique))
            events.register(event, handler, unique_id=unique)

    def uninstrument(self) -> None:
        """Remove every hook this meter registered."""
        with self._lock:
            registered, self._registered = self._registered, []
        for events, event, unique in registered:
            events.unregister(event, unique_id=unique)

    # -- internals ----------------------------------------------------------------------

    def _add(self, key: CallKey, used: Usage) -> None:
        with self._lock:
            self._calls[key].add(used)

    @contextlib.contextmanager
    def _overhead(self) -> Iterator[None]:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            ended = time.perf_counter()
            self._local.overhead = getattr(self._local, "overhead", 0.0) + ended - started
            self._local.overhead_cpu = getattr(self._local, "overhead_cpu", 0.0) + time.thread_time() - cpu
            invocation = self._invocation_var.get()
            if invocation is not None:
                invocation.sized(started, ended)

    def _raw(self, endpoint: tuple[str, str]) -> Any:
        """An unmetered DynamoDB client for the meter's own reads (one per endpoint)."""
        with self._lock:
            if endpoint not in self._raw_clients:
                url, region = endpoint
                self._raw_clients[endpoint] = boto3.session.Session().client(
                    "dynamodb", endpoint_url=url, region_name=region
                )
            return self._raw_clients[endpoint]

    def _keys_of(self, endpoint: tuple[str, str], table: str) -> tuple[str, ...]:
        with self._lock:
            known = self._key_names.get(table)
        if known is None:
            schema = self._raw(endpoint).describe_table(TableName=table)["Table"]["KeySchema"]
            known = tuple(k["AttributeName"] for k in schema)
            with self._lock:
                self._key_names[table] = known
        return known

    def _item_key(self, endpoint: tuple[str, str], table: str, item: Mapping[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self._keys_of(endpoint, table)}

    def _read_sizes(
        self, endpoint: tuple[str, str], table: str, keys: Sequence[Mapping[str, Any]]
    ) -> dict[ItemKey, int]:
        """The size of each item now (0 when absent): consistent reads, not counted."""
        raw = self._raw(endpoint)
        sizes = {_item_id(table, key): 0 for key in keys}
        names = self._keys_of(endpoint, table)
        wanted = list({_item_id(table, key): key for key in keys}.values())
        for start in range(0, len(wanted), BATCH_GET_KEYS):
            pending: dict[str, Any] = {
                table: {"Keys": wanted[start : start + BATCH_GET_KEYS], "ConsistentRead": True}
            }
            while pending:
                response = raw.batch_get_item(RequestItems=pending)
                for item in response.get("Responses", {}).get(table, []):
                    sizes[_item_id(table, {n: item[n] for n in names})] = item_size(item)
                pending = response.get("UnprocessedKeys") or {}
        return sizes

    def _write_targets(
        self, endpoint: tuple[str, str], operation: str, params: Mapping[str, Any]
    ) -> list[tuple[str, str, dict[str, Any], Mapping[str, Any] | None]]:
        """(kind, table, key, new item for puts) of each item a write touches."""
        targets: list[tuple[str, str, dict[str, Any], Mapping[str, Any] | None]] = []
        if operation == "PutItem":
            table = params["TableName"]
            targets.append(("Put", table, self._item_key(endpoint, table, params["Item"]), params["Item"]))
        elif operation in ("UpdateItem", "DeleteItem"):
            targets.append((operation[:-4], params["TableName"], dict(params["Key"]), None))
        elif operation == "BatchWriteItem":
            for table, requests in params.get("RequestItems", {}).items():
                for request in requests:
                    if "PutRequest" in request:
                        item = request["PutRequest"]["Item"]
                        targets.append(("Put", table, self._item_key(endpoint, table, item), item))
                    else:
                        targets.append(("Delete", table, dict(request["DeleteRequest"]["Key"]), None))
        elif operation == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                kind, action = next(iter(entry.items()))
                table = action["TableName"]
                if kind == "Put":
                    targets.append(
                        ("Put", table, self._item_key(endpoint, table, action["Item"]), action["Item"])
                    )
                else:
                    targets.append((kind, table, dict(action["Key"]), None))
        return targets

    def _processed_writes(
        self,
        endpoint: tuple[str, str],
        targets: list[tuple[str, str, dict[str, Any], Mapping[str, Any] | None]],
        parsed: Mapping[str, Any],
    ) -> list[tuple[str, str, dict[str, Any], Mapping[str, Any] | None]]:
        """The writes of a ``BatchWriteItem`` that DynamoDB did (unprocessed ones are not billed)."""
        left: set[ItemKey] = set()
        for table, requests in (parsed.get("UnprocessedItems") or {}).items():
            for request in requests:
                if "PutRequest" in request:
                    left.add(_item_id(table, self._item_key(endpoint, table, request["PutRequest"]["Item"])))
                else:
                    left.add(_item_id(table, request["DeleteRequest"]["Key"]))
        return [t for t in targets if _item_id(t[1], t[2]) not in left]

    def _sizes_before(
        self, endpoint: tuple[str, str], operation: str, params: Mapping[str, Any]
    ) -> dict[ItemKey, int]:
        by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for _, table, key, _ in self._write_targets(endpoint, operation, params):
            by_table[table].append(key)
        sizes: dict[ItemKey, int] = {}
        for table, keys in by_table.items():
            sizes.update(self._read_sizes(endpoint, table, keys))
        return sizes

    def _size_dynamodb(
        self,
        endpoint: tuple[str, str],
        operation: str,
        params: Mapping[str, Any],
        parsed: Mapping[str, Any],
        status: int,
        pending: _Pending,
        used: Usage,
    ) -> None:
        """Write and read units of one DynamoDB call, by AWS's rules."""
        ok = status < 300
        if operation in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"):
            targets = self._write_targets(endpoint, operation, params)
            if operation == "BatchWriteItem":
                targets = self._processed_writes(endpoint, targets, parsed)
            after: dict[ItemKey, int] = {}
            if ok and operation != "DeleteItem":
                by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
                for kind, table, key, _ in targets:
                    if kind in ("Update", "Put"):
                        by_table[table].append(key)
                for table, keys in by_table.items():
                    after.update(self._read_sizes(endpoint, table, keys))
            sizes = []
            for kind, table, key, new_item in targets:
                ident = _item_id(table, key)
                before = pending.sizes_before.get(ident, 0)
                if kind == "Put":
                    sizes.append(max(before, item_size(new_item), after.get(ident, 0)))
                elif kind == "Update":
                    sizes.append(max(before, after.get(ident, 0)))
                else:  # Delete, ConditionCheck: the item as it was
                    sizes.append(before)
            units = (
                transaction_write_units(sizes)
                if operation == "TransactWriteItems"
                else sum(write_units(s) for s in sizes)
            )
            factor = 2 if operation == "TransactWriteItems" else 1
            with self._lock:
                for (_, table, key, _), size in zip(targets, sizes, strict=True):
                    item_units = factor * write_units(size)
                    self._kinds[(pending.function, operation, item_kind(table, key))] += item_units
                    ids = [str(next(iter(v.values()))) for _, v in sorted(key.items())]
                    self._items[(table, ids[0], ids[1] if len(ids) > 1 else "")] += item_units
            if ok:
                used.write_units += units
            else:
                used.failed_write_units += units
            return
        if not ok:
            return
        if operation == "GetItem":
            consistent = bool(params.get("ConsistentRead"))
            table = params["TableName"]
            size = item_size(parsed.get("Item"))
            if parsed.get("Item") and "ProjectionExpression" in params:
                # A projection does not make a read cheaper: the whole item is billed.
                size = self._read_sizes(endpoint, table, [params["Key"]])[_item_id(table, params["Key"])]
            self._read(pending.function, operation, item_kind(table, params["Key"]), consistent, size, used)
        elif operation == "BatchGetItem":
            unprocessed = parsed.get("UnprocessedKeys") or {}
            for table, request in params.get("RequestItems", {}).items():
                consistent = bool(request.get("ConsistentRead"))
                left = {_item_id(table, k) for k in unprocessed.get(table, {}).get("Keys", [])}
                keys = [k for k in request["Keys"] if _item_id(table, k) not in left]
                returned = parsed.get("Responses", {}).get(table, [])
                names = self._keys_of(endpoint, table)
                if "ProjectionExpression" in request:
                    found = [_item_key_from(table, item, names) for item in returned]
                    full = self._read_sizes(endpoint, table, found) if found else {}
                else:
                    full = {_item_id(table, {n: i[n] for n in names}): item_size(i) for i in returned}
                for key in keys:
                    size = full.get(_item_id(table, key), 0)
                    self._read(pending.function, operation, item_kind(table, key), consistent, size, used)
        elif operation in ("Query", "Scan"):
            total = sum(item_size(i) for i in parsed.get("Items", []))
            partition = (params.get("ExpressionAttributeValues") or {}).get(":pk")
            table = params["TableName"]
            where = item_kind(table, {"pk": partition}).partition("/")[0] if partition else table
            kind = f"{where}/({operation.lower()})"
            self._read(pending.function, operation, kind, bool(params.get("ConsistentRead")), total, used)

    def _read(
        self, function: str, operation: str, kind: str, consistent: bool, size: int, used: Usage
    ) -> None:
        units = read_units(size, consistent=consistent)
        used.read_units += units
        with self._lock:
            self._read_kinds[(function, operation, kind, "strong" if consistent else "eventual")] += units


def _item_id(table: str, key: Mapping[str, Any]) -> ItemKey:
    return table, json.dumps(key, sort_keys=True, default=str)


def _item_key_from(table: str, item: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {n: item[n] for n in names}


def _failed_records(result: Any) -> int:
    if result is None:
        return 0
    if not isinstance(result, Mapping):
        return 0
    return len(result.get("batchItemFailures") or [])


def _request_usage(
    service: str, operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]
) -> Usage:
    """Billed requests, items and bytes of one call (DynamoDB units come separately)."""
    used = Usage(billed=1)
    if service == "sqs":
        if operation == "ReceiveMessage":
            messages = parsed.get("Messages") or []
            payload = sum(
                len(str(m.get("Body", "")).encode()) + _message_attributes_size(m.get("MessageAttributes"))
                for m in messages
            )
            used.items, used.bytes, used.billed = len(messages), payload, _chunks(payload)
            used.empty = 0 if messages else 1
        elif operation in ("SendMessage", "SendMessageBatch"):
            entries = params.get("Entries") or [params]
            payload = sum(
                len(str(e.get("MessageBody", "")).encode())
                + _message_attributes_size(e.get("MessageAttributes"))
                for e in entries
            )
            used.items, used.bytes, used.billed = len(entries), payload, _chunks(payload)
        elif operation.endswith("Batch"):
            used.items = len(params.get("Entries") or [])
        else:
            used.items = 1
    elif service == "sns" and operation in ("Publish", "PublishBatch"):
        entries = params.get("PublishBatchRequestEntries") or [params]
        payload = sum(
            len(str(e.get("Message", "")).encode()) + _message_attributes_size(e.get("MessageAttributes"))
            for e in entries
        )
        used.items, used.bytes, used.billed = len(entries), payload, _chunks(payload)
    elif service == "eventbridge" and operation == "PutEvents":
        entries = params.get("Entries") or []
        sizes = [
            14  # the Time field, whether given or not
            + sum(len(str(e.get(k, "")).encode()) for k in ("Source", "DetailType", "Detail"))
            + sum(len(str(r).encode()) for r in e.get("Resources", []))
            for e in entries
        ]
        used.items, used.bytes, used.billed = len(entries), sum(sizes), sum(_chunks(s) for s in sizes)
    elif service == "s3":
        body = params.get("Body")
        used.items = 1
        if isinstance(body, bytes | bytearray):
            used.bytes = len(body)
    elif service == "dynamodb":
        if operation == "BatchWriteItem":
            used.items = sum(len(r) for r in params.get("RequestItems", {}).values())
        elif operation == "TransactWriteItems":
            used.items = len(params.get("TransactItems", []))
        elif operation == "BatchGetItem":
            used.items = sum(len(r.get("Keys", [])) for r in params.get("RequestItems", {}).values())
        elif operation in ("Query", "Scan"):
            used.items = len(parsed.get("Items", []))
        else:
            used.items = 1
    return used
