"""The whole local stack: AWS emulation, resources, HTTP API, event-source mappings, schedules.

:class:`LocalStack` wires the very handler functions that are deployed to Lambda to a moto
server the way AWS wires them: API Gateway proxy events from real HTTP requests, SQS batches
with partial batch failure and redrive, EventBridge rules and schedules. Its state survives
restarts: a journal of what the API acknowledged (:mod:`devstack.journal`), point-in-time
snapshots of moto's state (:mod:`devstack.snapshot`), and a lock that keeps a second stack
off the same data directory (:mod:`devstack.datalock`).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from backend.adapters import stock_in as stock_in_items
from backend.adapters.analytics import AnalyticsTable
from backend.adapters.clients import MAX_POOL_ENV
from backend.adapters.dynamo import key
from backend.adapters.stock import migrate_buckets
from backend.logs import LOG_FILE_ENV, Sink, close_files
from backend.processing import stock_in
from devstack.aws import (
    DEFAULT_REGION,
    AwsClients,
    EndpointUnavailable,
    MotoServer,
    fake_aws_environment,
    port_in_use,
    wait_for_endpoint,
)
from devstack.datalock import DataDirInUse, DataDirLock
from devstack.downloads import PresignedDownloads, local_reports_environment, with_downloads
from devstack.gateway import Refusal, admit, match
from devstack.http_api import ApiGateway, HttpServer, Route, requests_held
from devstack.journal import JOURNAL_FILE, Journal, replay
from devstack.keys import DevKeys, ensure_data_dir, load_or_create_keys, sha256_hex
from devstack.pollers import Activity, EventSourceMapping, SqsPoller, forward_to_topic
from devstack.provision import Resources, ensure_queue_with_dlq, provision
from devstack.runtime import Handler, HandlerNotFound, HandlerRef, new_context
from devstack.schedules import ScheduledJob, ScheduleRunner, parse_schedule
from devstack.snapshot import (
    SNAPSHOT_FILE,
    ObjectCache,
    SnapshotCounts,
    restore_snapshot,
    save_snapshot,
)
from devstack.spec import FunctionSpec, StackSpec, load_stack_spec

logger = logging.getLogger(__name__)

API_FUNCTION = "api"
JOBS_FUNCTION = "jobs"
SERVICE_NAME = "storepulse"
_BUSY_SNAPSHOT_FACTOR = 10
POLLER_STOP_SECONDS = 30.0
# Connections per shared client in the stack's process (backend.adapters.clients).
LOCAL_MAX_POOL = 256
# Once the final snapshot holds every message (in flight too), a batch still running changes
# nothing that matters: it is not waited for longer than this.
POLLER_LEAVE_SECONDS = 3.0
# How long moto may take to exit on SIGTERM once the final snapshot holds its state.
MOTO_STOP_SAVED_SECONDS = 2.0


class StackError(RuntimeError):
    """The stack could not start; the message says why in words."""


def _int_setting(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise StackError(f"{name} must be a port number, not {value!r}")
    return int(value)


def _seconds_setting(environ: Mapping[str, str], name: str, default: float) -> float:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise StackError(f"{name} must be a number of seconds above 0, not {value!r}")
    return seconds


@dataclass
class StackOptions:
    """How to run a stack; :meth:`from_environment` reads the documented variables.

    Parameters
    ----------
    data_dir
        ``STOREPULSE_DATA_DIR``: keys, the ingest journal, snapshots, the lock, moto's log,
        the e-mail outbox.
    api_port, aws_port
        ``STOREPULSE_API_PORT`` (8000) and ``STOREPULSE_AWS_PORT`` (4566).
    endpoint_url
        ``AWS_ENDPOINT_URL``: use this running moto or LocalStack instead of starting moto.
    store_timezone, store_currency
        ``STORE_TIMEZONE`` and ``STORE_CURRENCY``.
    visibility_timeout
        Tests: every queue's visibility timeout in seconds (else function timeout x factor).
    function_timeout
        Tests: every function's timeout in seconds (else the one in ``stack.json``).
    batching_window_seconds
        Tests: every mapping's batching window (else the one in ``stack.json``).
    maximum_concurrency
        Tests and benchmarks: batches of one queue run at once, for every mapping (else each
        function's ``maximum_concurrency`` in ``stack.json``).
    snapshot_interval
        ``STOREPULSE_SNAPSHOT_SECONDS`` (60): seconds between snapshots while running (each
        lets the journal start afresh); ``None`` saves only at shutdown.
    restore
        Load the data directory's snapshot at start (into an empty store only).
    run_schedules
        Run the EventBridge schedules.
    handlers
        Tests: callables to use instead of the handler ``stack.json`` names, by function.
    """

    data_dir: Path = Path(".data")
    api_port: int = 8000
    aws_port: int = 4566
    endpoint_url: str | None = None
    region: str = DEFAULT_REGION
    store_timezone: str = "UTC"
    store_currency: str = "USD"
    spec_path: Path | None = None
    visibility_timeout: int | None = None
    function_timeout: float | None = None
    batching_window_seconds: float | None = None
    maximum_concurrency: int | None = None
    poll_wait_seconds: int = 1
    snapshot_interval: float | None = 60.0
    restore: bool = True
    run_schedules: bool = True
    handlers: Mapping[str, Handler] = field(default_factory=dict)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> StackOptions:
        """Options from ``STOREPULSE_*``, ``STORE_*`` and ``AWS_ENDPOINT_URL``.

        Examples
        --------
        >>> StackOptions.from_environment({"STOREPULSE_API_PORT": "9000"}).api_port
        9000
        """
        environ = os.environ if environ is None else environ
        options = cls(
            data_dir=Path(environ.get("STOREPULSE_DATA_DIR") or ".data"),
            api_port=_int_setting(environ, "STOREPULSE_API_PORT", 8000),
            aws_port=_int_setting(environ, "STOREPULSE_AWS_PORT", 4566),
            endpoint_url=environ.get("AWS_ENDPOINT_URL") or None,
            region=environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            store_timezone=environ.get("STORE_TIMEZONE") or "UTC",
            store_currency=environ.get("STORE_CURRENCY") or "USD",
            snapshot_interval=_seconds_setting(environ, "STOREPULSE_SNAPSHOT_SECONDS", 60.0),
        )
        return replace(options, **overrides)


@dataclass(frozen=True)
class QueueFunction:
    """A queue with its DLQ and a poller, added to a running stack (tests)."""

    name: str
    url: str
    arn: str
    dlq_url: str
    poller: SqsPoller


class LocalStack:
    """Everything ``make run`` runs, in this process (moto in its own).

    Examples
    --------
    With free ports and minutes to spare (so not run as a doctest)::

        with LocalStack(StackOptions(data_dir=Path(".data"))) as stack:
            print(stack.api_url, stack.keys.ingest_key)
            stack.wait_idle()
    """

    def __init__(self, options: StackOptions | None = None):
        self.options = options or StackOptions()
        self.spec: StackSpec = load_stack_spec(self.options.spec_path)
        self.data_dir = self.options.data_dir
        self.activity = Activity()
        self.keys: DevKeys | None = None
        self.resources: Resources | None = None
        self.aws: AwsClients | None = None
        self.endpoint_url: str | None = None
        self.pollers: dict[str, SqsPoller] = {}
        self.test_functions: dict[str, QueueFunction] = {}
        self.handlers: dict[str, Handler] = {}
        self.environment: dict[str, str] = {}
        self._moto: MotoServer | None = None
        self._http: HttpServer | None = None
        self._schedules: ScheduleRunner | None = None
        self._saved_environ: dict[str, str | None] = {}
        self._log_sink: Sink | None = None
        self._snapshot_lock = threading.Lock()
        self._snapshot_stop = threading.Event()
        self._snapshot_thread: threading.Thread | None = None
        self._object_cache = ObjectCache()
        self._lock: DataDirLock | None = None
        self.journal: Journal | None = None
        self._started = False

    # -- properties -------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.options.api_port}"

    @property
    def snapshot_path(self) -> Path:
        return self.data_dir / SNAPSHOT_FILE

    @property
    def journal_path(self) -> Path:
        return self.data_dir / JOURNAL_FILE

    @property
    def moto_pid(self) -> int | None:
        """The moto server's process id, when this stack started it."""
        return self._moto.pid if self._moto else None

    def _require_started(self) -> tuple[AwsClients, Resources]:
        if self.aws is None or self.resources is None:
            raise StackError("the stack is not started")
        return self.aws, self.resources

    # -- start ------------------------------------------------------------------------

    def start(self) -> LocalStack:
        """Start the endpoint, provision, restore, then the pollers, schedules and HTTP API.

        Raises
        ------
        StackError
            Saying in words what could not start; whatever had started is stopped again.
        """
        try:
            self._start()
        except BaseException:
            self._shutdown(save=False)
            raise
        self._started = True
        return self

    def _start(self) -> None:
        try:
            ZoneInfo(self.options.store_timezone)
        except (ValueError, KeyError):
            raise StackError(f"STORE_TIMEZONE {self.options.store_timezone!r} is not a time zone") from None
        if port_in_use(self.options.api_port):
            raise StackError(
                f"port {self.options.api_port} is already in use; stop whatever listens there or "
                "choose another port for the API with STOREPULSE_API_PORT"
            )
        self.data_dir = ensure_data_dir(self.options.data_dir)
        self._lock = DataDirLock(self.data_dir)
        try:
            self._lock.acquire()
        except DataDirInUse as exc:
            self._lock = None
            raise StackError(str(exc)) from None
        try:
            self.keys = load_or_create_keys(self.data_dir)
        except ValueError as exc:
            raise StackError(str(exc)) from None
        self.endpoint_url = self._start_endpoint()
        self.aws = AwsClients(self.endpoint_url, self.options.region)
        self.resources = provision(self.spec, self.aws, visibility_timeout=self.options.visibility_timeout)
        if self.options.restore and self.snapshot_path.exists():
            if self._store_is_empty():
                restore_snapshot(
                    self.aws,
                    self.snapshot_path,
                    tables=self.resources.tables.values(),
                    buckets=self.resources.buckets.values(),
                    queue_urls=self.resources.queue_urls,
                )
            else:
                logger.info("the endpoint already holds data; the snapshot was not loaded")
        self._replay_journal()
        # A store written by an older release keeps its stock bookkeeping in 16 buckets.
        migrate_buckets(self.aws.dynamodb, self.resources.environment["ANALYTICS_TABLE"])
        # The stock-in items' fold: the days missed while the stack was down, and on a new store
        # its first watermark (until there is one, orders take the transaction for their stock).
        stock_in.fold(
            AnalyticsTable(self.aws.dynamodb, self.resources.environment["ANALYTICS_TABLE"]),
            datetime.now(UTC),
            progress=False,
        )
        self._apply_environment()
        self._load_handlers()
        self._start_pollers()
        self._start_schedules()
        self._start_http()
        if self.options.snapshot_interval:
            self._snapshot_stop.clear()
            self._snapshot_thread = threading.Thread(
                target=self._snapshot_loop, name="snapshots", daemon=True
            )
            self._snapshot_thread.start()

    def _replay_journal(self) -> None:
        """Publish again what was acknowledged after the last snapshot (before the pollers
        start: a restored queue's messages come first)."""
        aws, resources = self._require_started()
        assert self.keys is not None
        currency = self.options.store_currency
        if self.options.restore:
            try:
                count = replay(
                    aws.sns, resources.environment["EVENTS_TOPIC_ARN"], self.journal_path, currency=currency
                )
            except RuntimeError as exc:
                raise StackError(f"{exc}; the journal {self.journal_path} is kept: start again") from None
            if count:
                logger.info("published again the %d events acknowledged after the last snapshot", count)
        else:
            self.journal_path.unlink(missing_ok=True)
        self.journal = Journal(self.journal_path, currency=currency, pii_key=self.keys.pii_hash_key)

    def _start_endpoint(self) -> str:
        if self.options.endpoint_url:
            try:
                wait_for_endpoint(self.options.endpoint_url, timeout=10)
            except EndpointUnavailable as exc:
                raise StackError(f"AWS_ENDPOINT_URL is set but {exc}") from None
            logger.info("using the AWS endpoint at %s", self.options.endpoint_url)
            return self.options.endpoint_url
        self._moto = MotoServer(
            self.options.aws_port, log_path=self.data_dir / "moto.log", snapshot_path=self.snapshot_path
        )
        try:
            self._moto.start()
        except EndpointUnavailable as exc:
            self._moto = None
            raise StackError(str(exc)) from None
        return self._moto.endpoint_url

    def _store_is_empty(self) -> bool:
        """No table holds an item but the stack's own bookkeeping (the stock-in fold's watermark,
        written at start: a new store is still empty, and ``make run`` backfills it), and no
        bucket an object."""
        aws, resources = self._require_started()
        bookkeeping = key(*stock_in_items.WATERMARK)
        for table in resources.tables.values():
            items = aws.dynamodb.scan(TableName=table, Limit=2).get("Items", [])
            if any({name: item.get(name) for name in bookkeeping} != bookkeeping for item in items):
                return False
        for bucket in resources.buckets.values():
            if aws.s3.list_objects_v2(Bucket=bucket, MaxKeys=1).get("KeyCount", 0):
                return False
        return True

    def _apply_environment(self) -> None:
        assert self.endpoint_url is not None and self.resources is not None and self.keys is not None
        environment = {
            **fake_aws_environment(self.endpoint_url, self.options.region),
            **self.resources.environment,
            **self.keys.handler_environment(),
            "STORE_TIMEZONE": self.options.store_timezone,
            "STORE_CURRENCY": self.options.store_currency,
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            # Every function's JSON lines go to the data directory's log (INFO: the line per
            # packet that follows an event); only warnings share the terminal with the
            # simulator's progress bar (backend.logs).
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"),
            LOG_FILE_ENV: os.environ.get(LOG_FILE_ENV) or str(function_log_path(self.data_dir)),
            "STOREPULSE_DATA_DIR": str(self.data_dir),
            # Every function shares this process and its clients, several invocations at once
            # (senders x the ingest's 16 claimers, pollers x their batches' thread pools): a
            # Lambda-sized pool would drop connections and warn on the terminal.
            MAX_POOL_ENV: os.environ.get(MAX_POOL_ENV) or str(LOCAL_MAX_POOL),
            # The store's default lead time of the forecast's reorder_by (README).
            "LEAD_TIME_DAYS": os.environ.get("LEAD_TIME_DAYS") or "7",
            **local_reports_environment(self.api_url),
        }
        for name in sorted({n for f in self.spec.functions for n in f.env} | set(self.spec.common_env)):
            if name not in environment and name not in os.environ:
                logger.warning("a function reads %s, which the local stack does not set", name)
        self.environment = environment
        for name, value in environment.items():
            self._saved_environ.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        clear_process_caches()
        # The stack's own lines (a function that failed, a poller's retries) join the trail.
        # Not on the terminal as well: the stack's console handler prints them there in words.
        self._log_sink = Sink(terminal=False)
        self._log_sink.setFormatter(LambdaPowertoolsFormatter(service=f"{SERVICE_NAME}-local", utc=True))
        self._log_sink.setLevel(logging.INFO)
        logging.getLogger("devstack").addHandler(self._log_sink)

    def _restore_environment(self) -> None:
        if self._log_sink is not None:
            logging.getLogger("devstack").removeHandler(self._log_sink)
            self._log_sink = None
        close_files()
        for name, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environ.clear()
        clear_process_caches()

    def _load_handlers(self) -> None:
        for function in self.spec.functions:
            override = self.options.handlers.get(function.name)
            if override is not None:
                self.handlers[function.name] = override
                continue
            reference = HandlerRef(function.handler)
            self.handlers[function.name] = reference
            try:
                reference.resolve()
            except HandlerNotFound as exc:
                logger.warning("function %s cannot run yet: %s", function.name, exc)

    def _function_timeout(self, function: FunctionSpec) -> float:
        return self.options.function_timeout or function.timeout

    def _start_pollers(self) -> None:
        aws, resources = self._require_started()
        for function in self.spec.functions:
            if function.source is None:
                continue
            window = function.source.batching_window_seconds
            if self.options.batching_window_seconds is not None:
                window = self.options.batching_window_seconds
            mapping = EventSourceMapping(
                function_name=function.name,
                queue_name=function.source.queue,
                queue_url=resources.queue_urls[function.source.queue],
                queue_arn=resources.queue_arns[function.source.queue],
                batch_size=function.source.batch_size,
                batching_window_seconds=window,
                timeout=self._function_timeout(function),
                memory=function.memory,
                maximum_concurrency=self.options.maximum_concurrency or function.source.maximum_concurrency,
            )
            self._add_poller(mapping, self.handlers[function.name])
        for bridge in self.spec.bridges():
            mapping = EventSourceMapping(
                function_name=f"bridge:{bridge.queue_name}",
                queue_name=bridge.queue_name,
                queue_url=resources.queue_urls[bridge.queue_name],
                queue_arn=resources.queue_arns[bridge.queue_name],
            )
            self._add_poller(mapping, forward_to_topic(aws.sns, resources.topic_arns[bridge.topic]))

    def _add_poller(self, mapping: EventSourceMapping, handler: Handler) -> SqsPoller:
        aws, resources = self._require_started()
        poller = SqsPoller(
            mapping,
            handler,
            aws.sqs,
            self.activity,
            region=self.options.region,
            account_id=resources.account_id,
            poll_wait_seconds=self.options.poll_wait_seconds,
        )
        self.pollers[mapping.function_name] = poller
        poller.start()
        return poller

    def _start_schedules(self) -> None:
        if not self.options.run_schedules or not self.spec.schedules:
            return
        zone = ZoneInfo(self.options.store_timezone)
        now = datetime.now(UTC)
        jobs = [
            ScheduledJob(s.name, s.job, parse_schedule(s.expression, zone, anchor=now))
            for s in self.spec.schedules
        ]
        self._schedules = ScheduleRunner(jobs, lambda job: self.invoke_job(job.job))
        self._schedules.start()

    def route(self, method: str, path: str) -> Route:
        """The function API Gateway calls for ``method path``, by the routes of ``stack.json``:
        ingest for ``POST /v1/events``, the read API for everything else (it answers 404 for
        unknown routes itself)."""
        matched = match(self.spec.routes, path)
        name = matched.function if matched is not None and matched.allows(method) else API_FUNCTION
        function = self.spec.function(name)
        return Route(name, self.handlers[name], self._function_timeout(function), function.memory)

    def _gate(self, method: str, path: str, api_key: str | None) -> Refusal | None:
        """API Gateway's refusals under ``/v1`` (the keys of its usage plans are the dev keys)."""
        if not path.startswith("/v1/") or self.keys is None:
            return None
        digests = {sha256_hex(self.keys.ingest_key), sha256_hex(self.keys.read_key)}
        admitted = admit(self.spec.routes, method, path, api_key, digests)
        return admitted if isinstance(admitted, Refusal) else None

    def _start_http(self) -> None:
        _, resources = self._require_started()
        app = ApiGateway(
            self.route,
            self.activity,
            region=self.options.region,
            account_id=resources.account_id,
            gate=self._gate,
            journal=self.journal,
        )
        # Presigned report downloads are served beside the API, checked as S3 checks them.
        assert self.aws is not None
        signing = fake_aws_environment(self.aws.endpoint_url or "", self.options.region)
        credentials = {signing["AWS_ACCESS_KEY_ID"]: signing["AWS_SECRET_ACCESS_KEY"]}
        downloads = PresignedDownloads(self.aws, credentials)
        self._http = HttpServer(with_downloads(app, downloads), port=self.options.api_port, name="api")
        try:
            self._http.start()
        except OSError as exc:
            self._http = None
            raise StackError(
                f"cannot serve the API on port {self.options.api_port} ({exc.strerror}); "
                "choose another with STOREPULSE_API_PORT"
            ) from None
        logger.info("API at %s", self.api_url)

    # -- running ----------------------------------------------------------------------

    def invoke_job(self, job: str, **options: Any) -> Any:
        """Run a scheduled job now, with the input its schedule gives: ``{"job": job}`` (and
        ``options``, as ``storepulse run-job`` passes them)."""
        _, resources = self._require_started()
        function = self.spec.function(JOBS_FUNCTION)
        context = new_context(
            function.name,
            memory=function.memory,
            timeout=self._function_timeout(function),
            region=self.options.region,
            account_id=resources.account_id,
        )
        with self.activity.working(function.name):
            logger.info("running job %s%s", job, "".join(f" {k}={v}" for k, v in options.items()))
            return self.handlers[function.name]({"job": job, **options}, context)

    def main_queue_urls(self) -> dict[str, str]:
        """Queues that feed functions or bridges (every queue but the DLQs), by name."""
        _, resources = self._require_started()
        urls = {p.mapping.queue_name: p.mapping.queue_url for p in self.pollers.values()}
        for name, url in resources.queue_urls.items():
            if not name.endswith("-dlq"):
                urls.setdefault(name, url)
        return urls

    def dlq_urls(self) -> dict[str, str]:
        """The dead-letter queues (of ``stack.json`` and of test functions), by name."""
        _, resources = self._require_started()
        urls = {n: u for n, u in resources.queue_urls.items() if n.endswith("-dlq")}
        for function in self.test_functions.values():
            urls[f"{function.name}-dlq"] = function.dlq_url
        return urls

    def _queue_depths(self) -> Iterator[tuple[str, int, int]]:
        aws, _ = self._require_started()
        for name, url in self.main_queue_urls().items():
            attributes = aws.sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            visible = int(attributes["ApproximateNumberOfMessages"])
            hidden = int(attributes["ApproximateNumberOfMessagesNotVisible"]) + int(
                attributes.get("ApproximateNumberOfMessagesDelayed", 0)
            )
            yield name, visible, hidden

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Return once no queue (DLQs aside) holds a visible or in-flight message and nothing
        runs: no handler, no HTTP request, no job.

        Raises
        ------
        TimeoutError
            After ``timeout`` seconds, naming the queues and functions still busy.
        """
        deadline = time.monotonic() + timeout
        busy_queues: list[str] = []
        running: tuple[str, ...] = ()
        while True:
            generation, running = self.activity.state()
            if not running:
                busy_queues = [
                    f"{name} ({visible} waiting, {hidden} in flight)"
                    for name, visible, hidden in self._queue_depths()
                    if visible or hidden
                ]
                after, running = self.activity.state()
                if not busy_queues and not running and after == generation:
                    return
            if time.monotonic() >= deadline:
                what = busy_queues + [f"{name} running" for name in running]
                raise TimeoutError(f"the stack is not idle after {timeout:.0f} s: {', '.join(what)}")
            time.sleep(0.05)

    def add_queue_function(
        self,
        name: str,
        handler: Handler,
        *,
        batch_size: int = 10,
        batching_window_seconds: float = 0.0,
        timeout: float = 5.0,
        visibility_timeout: int = 1,
        max_receive_count: int = 5,
        maximum_concurrency: int = 1,
    ) -> QueueFunction:
        """Create queue ``name`` with its DLQ and poll it into ``handler`` (tests).

        The queue takes part in :meth:`wait_idle` and its DLQ in ``storepulse dlq``.
        """
        aws, resources = self._require_started()
        url = ensure_queue_with_dlq(
            aws, resources, name, visibility_timeout=visibility_timeout, max_receive_count=max_receive_count
        )
        mapping = EventSourceMapping(
            function_name=name,
            queue_name=name,
            queue_url=url,
            queue_arn=resources.queue_arns[name],
            batch_size=batch_size,
            batching_window_seconds=batching_window_seconds,
            timeout=timeout,
            maximum_concurrency=maximum_concurrency,
        )
        poller = self._add_poller(mapping, handler)
        added = QueueFunction(name, url, mapping.queue_arn, resources.queue_urls[f"{name}-dlq"], poller)
        self.test_functions[name] = added
        return added

    def remove_queue_function(self, name: str) -> None:
        """Stop polling a queue added by :meth:`add_queue_function` and delete it and its DLQ."""
        aws, resources = self._require_started()
        added = self.test_functions.pop(name)
        added.poller.stop()
        self.pollers.pop(name, None)
        for queue in (name, f"{name}-dlq"):
            aws.sqs.delete_queue(QueueUrl=resources.queue_urls.pop(queue))
            resources.queue_arns.pop(queue, None)

    def has_data(self) -> bool:
        """Whether any table holds an item (the store has data already)."""
        return not self._store_is_empty()

    def snapshot(self, *, final: bool = False) -> SnapshotCounts:
        """Save the state to the data directory now, then drop the journal it covers.

        With the stack's own moto the snapshot is one instant of every table, bucket and queue
        (messages in flight included), taken while no API request and no moto request runs.
        With an endpoint of ``AWS_ENDPOINT_URL`` it is read through the API, as it goes: while
        running only DLQ messages are saved with the tables and buckets (the pollers own the
        other queues); ``final`` saves every queue, once the pollers have stopped.
        """
        aws, resources = self._require_started()
        queues = {**resources.queue_urls} if final or self._moto else self.dlq_urls()
        for function in self.test_functions.values():
            queues.pop(function.name, None)
            queues.pop(f"{function.name}-dlq", None)
        with self._snapshot_lock, requests_held():
            covered = self.journal.position if self.journal else 0
            if self._moto is not None:
                started = time.monotonic()
                answer = self._moto.snapshot(
                    tables=list(resources.tables.values()),
                    buckets=list(resources.buckets.values()),
                    queues=list(queues),
                )
                counts = SnapshotCounts(answer["items"], answer["objects"], answer["messages"])
                counts.seconds = time.monotonic() - started
            else:
                counts = save_snapshot(
                    aws,
                    self.snapshot_path,
                    tables=resources.tables.values(),
                    buckets=resources.buckets.values(),
                    queues=queues,
                    cache=self._object_cache,
                )
            if self.journal is not None:
                self.journal.drop_through(covered)
        return counts

    def _snapshot_loop(self) -> None:
        assert self.options.snapshot_interval is not None
        interval = self.options.snapshot_interval
        saved_generation = -1
        while not self._snapshot_stop.wait(interval):
            generation, _ = self.activity.state()
            if generation == saved_generation:
                continue
            try:
                counts = self.snapshot()
            except Exception:
                logger.exception("the periodic snapshot failed; the next one retries")
                continue
            saved_generation = generation
            # A big store makes snapshots slow: keep them to a tenth of the time.
            interval = max(self.options.snapshot_interval, counts.seconds * _BUSY_SNAPSHOT_FACTOR)

    def reset(self, timeout: float = 30.0) -> None:
        """Empty every table, bucket and queue (DLQs included); the resources stay (tests)."""
        aws, resources = self._require_started()
        try:
            self.wait_idle(timeout)
        except TimeoutError as exc:
            logger.warning("resetting a busy stack: %s", exc)
        for url in resources.queue_urls.values():
            _empty_queue(aws, url)
        for poller in self.pollers.values():
            poller.forget_held()
        for table_spec in self.spec.tables:
            _empty_table(aws, resources.tables[table_spec.name], table_spec.hash_key, table_spec.range_key)
        for bucket in resources.buckets.values():
            _empty_bucket(aws, bucket)
        self._object_cache = ObjectCache()

    # -- stop -------------------------------------------------------------------------

    def stop(self, drain_timeout: float = 0.0) -> None:
        """Stop within seconds, losing nothing: HTTP first, then (after waiting up to
        ``drain_timeout`` seconds for idle queues, for tests) the final snapshot, the pollers,
        moto. Nothing needs draining: the snapshot holds every message, in flight or not."""
        if not self._started:
            return
        self._started = False
        self._shutdown(save=True, drain_timeout=drain_timeout)

    def _shutdown(self, *, save: bool, drain_timeout: float = 0.0) -> None:
        timer = _StepTimer()
        if self._http is not None:
            self._http.stop()
            self._http = None
        timer.step("the API")
        if self._schedules is not None:
            self._schedules.stop()
            self._schedules = None
        self._snapshot_stop.set()
        if self._snapshot_thread is not None:
            self._snapshot_thread.join(60)
            self._snapshot_thread = None
        timer.step("a periodic snapshot in progress")
        if save and drain_timeout > 0:
            try:
                self.wait_idle(drain_timeout)
            except TimeoutError as exc:
                logger.info("stopping before the queues drained (the snapshot keeps them): %s", exc)
            except Exception:
                logger.exception("could not check that the queues drained")
        timer.step("draining")
        for poller in self.pollers.values():
            poller.request_stop()
        saved = False
        if self._moto is not None:
            if save:
                saved = self._save("the final snapshot")
                timer.step("the final snapshot")
            self._stop_pollers(POLLER_LEAVE_SECONDS)
        else:
            # An outside endpoint is read through its API: in-flight messages must be
            # released by their pollers before they can be saved.
            self._stop_pollers(POLLER_STOP_SECONDS)
            if save:
                for poller in self.pollers.values():
                    poller.release_held()
                self._save("the final snapshot")
        timer.step("the pollers")
        self.pollers.clear()
        self.test_functions.clear()
        if self._moto is not None:
            # Once its state is saved, moto holds nothing the next start needs: no long wait.
            self._moto.stop(timeout=MOTO_STOP_SAVED_SECONDS if saved else 10.0)
            self._moto = None
        timer.step("moto")
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        logger.info("stopped in %s", timer.summary())
        self._restore_environment()

    def _stop_pollers(self, budget: float) -> None:
        # One budget for all: each poller finishes the batch in hand, in parallel.
        deadline = time.monotonic() + budget
        for poller in self.pollers.values():
            poller.stop(timeout=max(0.1, deadline - time.monotonic()))

    def _save(self, what: str) -> bool:
        """Write the final snapshot; whether it was written."""
        try:
            counts = self.snapshot(final=True)
        except Exception:
            logger.exception("%s failed; the previous one and the journal are kept", what)
            return False
        logger.info("state saved in %.1f s: %s", counts.seconds, counts)
        return True

    def kill(self) -> None:
        """Stop moto at once, without saving (the forced second Ctrl-C): the last snapshot and
        the journal bring back everything acknowledged at the next start."""
        if self._moto is not None:
            self._moto.kill()

    def crash(self) -> None:
        """Die as under kill -9 (tests): moto is killed and nothing is saved, so what comes back
        at the next start comes from the last snapshot and the journal. Threads and ports are
        let go, as the kernel would."""
        self.kill()
        self._started = False
        self._shutdown(save=False)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _empty_queue(aws: AwsClients, url: str) -> None:
    # PurgeQueue may run once a minute per queue; tests reset far more often than that.
    while True:
        messages = aws.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=30
        ).get("Messages", [])
        if not messages:
            return
        aws.sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def _empty_table(aws: AwsClients, table: str, hash_key: str, range_key: str | None) -> None:
    names = [hash_key] + ([range_key] if range_key else [])
    projection = ", ".join(f"#k{i}" for i in range(len(names)))
    attribute_names = {f"#k{i}": name for i, name in enumerate(names)}
    keys: list[dict[str, Any]] = []
    for page in aws.dynamodb.get_paginator("scan").paginate(
        TableName=table, ProjectionExpression=projection, ExpressionAttributeNames=attribute_names
    ):
        keys += page.get("Items", [])
    for start in range(0, len(keys), 25):
        requests = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
        while requests:
            response = aws.dynamodb.batch_write_item(RequestItems={table: requests})
            requests = response.get("UnprocessedItems", {}).get(table, [])


def _empty_bucket(aws: AwsClients, bucket: str) -> None:
    for page in aws.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        objects = [{"Key": summary["Key"]} for summary in page.get("Contents", [])]
        if objects:
            aws.s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})


def function_log_path(data_dir: Path) -> Path:
    """Where the local stack's functions write their JSON lines (``backend.logs``)."""
    return data_dir / "logs" / "functions.jsonl"


def clear_process_caches() -> None:
    """Forget settings and boto3 clients cached by modules already imported in this process,
    so that handlers read the environment the stack has just set."""
    settings = sys.modules.get("backend.settings")
    if settings is not None:
        settings.get_settings.cache_clear()
    clients = sys.modules.get("backend.adapters.clients")
    if clients is not None:
        clients.forget_clients()


class _StepTimer:
    """How long each step of a stop took, for the one line that says it (``stopped in 4.1 s:
    the final snapshot 3.2 s, ...``): where a slow stop goes is then in the log.

    >>> timer = _StepTimer()
    >>> timer.step("nothing")
    >>> timer.summary().startswith("0.0 s")
    True
    """

    def __init__(self) -> None:
        self.started = self.last = time.monotonic()
        self.steps: list[tuple[str, float]] = []

    def step(self, name: str) -> None:
        now = time.monotonic()
        self.steps.append((name, now - self.last))
        self.last = now

    def summary(self) -> str:
        total = self.last - self.started
        slow = [f"{name} {seconds:.1f} s" for name, seconds in self.steps if seconds >= 0.5]
        return f"{total:.1f} s" + (f": {', '.join(slow)}" if slow else "")
