"""``storepulse``: the command line (CONTRACT section 1b).

Each subcommand is one ``add_<name>_command(subparsers)`` function that declares its
arguments and sets ``run`` to the function doing the work; :data:`COMMANDS` lists them, so a
new subcommand is one function and one line.

Which stack the commands talk to:

- ``STOREPULSE_TARGET=aws``: AWS, with the usual credential chain; resource names get the
  ``STOREPULSE_NAME_PREFIX`` prefix, and an ``ANALYTICS_TABLE``-style variable wins if set.
- ``STOREPULSE_TARGET=local``, or unset while ``AWS_ENDPOINT_URL`` is set or the data
  directory (``STOREPULSE_DATA_DIR``, ``.data``) exists: the local stack's endpoint
  (``AWS_ENDPOINT_URL``, else ``http://127.0.0.1:$STOREPULSE_AWS_PORT``).
- Otherwise AWS when credentials are found, else the local stack.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

logger = logging.getLogger("storepulse")


class CliError(Exception):
    """A failure to report in words, without a stack trace."""


@dataclass(frozen=True)
class Target:
    """The stack the command talks to."""

    kind: str
    endpoint_url: str | None
    data_dir: Path
    prefix: str = ""

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    def describe(self) -> str:
        return f"the local stack at {self.endpoint_url}" if self.is_local else "AWS"


def _has_aws_credentials() -> bool:
    import boto3

    return boto3.session.Session().get_credentials() is not None


def resolve_target(environ: Mapping[str, str] | None = None) -> Target:
    """Pick the local stack or AWS from the environment (see the module's docstring).

    Examples
    --------
    >>> resolve_target({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}).endpoint_url
    'http://127.0.0.1:5000'
    """
    environ = os.environ if environ is None else environ
    choice = environ.get("STOREPULSE_TARGET", "").strip().lower()
    endpoint = environ.get("AWS_ENDPOINT_URL") or None
    data_dir = Path(environ.get("STOREPULSE_DATA_DIR") or ".data")
    port = environ.get("STOREPULSE_AWS_PORT") or "4566"
    local = Target("local", endpoint or f"http://127.0.0.1:{port}", data_dir)
    aws = Target("aws", None, data_dir, environ.get("STOREPULSE_NAME_PREFIX", ""))
    if choice not in ("", "local", "aws"):
        raise CliError(f"STOREPULSE_TARGET must be 'local' or 'aws', not {choice!r}")
    if choice == "aws":
        if endpoint:
            raise CliError("STOREPULSE_TARGET=aws but AWS_ENDPOINT_URL is set; unset one of them")
        return aws
    if choice == "local" or endpoint or data_dir.exists():
        return local
    return aws if _has_aws_credentials() else local


def _connect(target: Target) -> Any:
    """Clients for ``target``; for the local stack, after checking that it answers."""
    from devstack.aws import DEFAULT_REGION, AwsClients, endpoint_answers

    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or DEFAULT_REGION
    if target.is_local:
        assert target.endpoint_url is not None
        if not endpoint_answers(target.endpoint_url):
            raise CliError(
                f"the local stack is not running (nothing answers at {target.endpoint_url}); "
                "start it with `make run`, or set STOREPULSE_TARGET=aws"
            )
    return AwsClients(target.endpoint_url, region)


def _target_environment(target: Target, aws: Any) -> tuple[dict[str, str], str]:
    """What the handlers read, for running one of them here against ``target``, and the
    account id of its resources."""
    from devstack.aws import fake_aws_environment
    from devstack.downloads import local_reports_environment
    from devstack.keys import load_or_create_keys
    from devstack.provision import ResourceMissing, lookup
    from devstack.spec import load_stack_spec

    spec = load_stack_spec()
    try:
        resources = lookup(spec, aws, prefix=target.prefix)
    except ResourceMissing as exc:
        raise CliError(f"{exc} on {target.describe()}; is it the storepulse stack?") from None
    environment = dict(resources.environment)
    for name in environment:
        if os.environ.get(name):
            environment[name] = os.environ[name]
    environment.setdefault("POWERTOOLS_SERVICE_NAME", "storepulse")
    if target.is_local:
        from backend.logs import LOG_FILE_ENV
        from devstack.stack import function_log_path

        assert target.endpoint_url is not None
        # The function's JSON lines join the local stack's log (warnings also on stderr).
        environment[LOG_FILE_ENV] = os.environ.get(LOG_FILE_ENV) or str(function_log_path(target.data_dir))
        environment.setdefault("POWERTOOLS_LOG_LEVEL", os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))
        environment.update(fake_aws_environment(target.endpoint_url, aws.region))
        environment.update(load_or_create_keys(target.data_dir).handler_environment())
        environment["STOREPULSE_DATA_DIR"] = str(target.data_dir.resolve())
        api_port = os.environ.get("STOREPULSE_API_PORT") or "8000"
        environment.update(local_reports_environment(f"http://127.0.0.1:{api_port}"))
    # Standard output is the command's result: the function's lines there only when they matter.
    environment.setdefault("POWERTOOLS_LOG_LEVEL", os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"))
    return environment, resources.account_id


def _analytics_table(target: Target) -> str:
    from devstack.spec import load_stack_spec

    table = next(t for t in load_stack_spec().tables if t.env == "ANALYTICS_TABLE")
    return os.environ.get("ANALYTICS_TABLE") or target.prefix + table.name


# -- storepulse stack ------------------------------------------------------------------


def run_stack_command(args: argparse.Namespace) -> int:
    from devstack.foreground import run_stack
    from devstack.stack import StackError, StackOptions

    try:
        options = StackOptions.from_environment()
        dashboard_port = int(os.environ.get("STOREPULSE_DASH_PORT") or 8050)
        return run_stack(options, seed=os.environ.get("SEED", "1") != "0", dashboard_port=dashboard_port)
    except (StackError, ValueError) as exc:
        raise CliError(str(exc)) from None


def add_stack_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "stack",
        help="run the local stack in the foreground (what `make run` runs)",
        description="Starts the AWS emulation, the API, the processors and the schedules, "
        "seeds demo data unless SEED=0, and runs until Ctrl-C.",
    )
    parser.set_defaults(run=run_stack_command, log_level=logging.INFO)


# -- storepulse simulate ---------------------------------------------------------------


def run_simulate_command(args: argparse.Namespace) -> int:
    from devstack.simulator.cli import run_cli

    return int(run_cli(args) or 0)


def add_simulate_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="generate a plausible store and send it through the ingest API",
        description="The AppFlow-style connector: generates orders, refunds, customers, products "
        "and stock movements and posts them to the ingest API (STOREPULSE_API_URL, else the "
        "local stack's) with STOREPULSE_INGEST_KEY (else the local stack's key), with a "
        "progress bar.",
    )
    parser.add_argument("--days", type=int, default=None, metavar="N", help="days of history to send")
    parser.add_argument("--orders-per-day", type=int, default=None, metavar="N", help="average orders a day")
    parser.add_argument("--live", action="store_true", help="then keep sending events as they happen")
    parser.add_argument("--seed", type=int, default=None, metavar="S", help="random seed of the store")
    parser.set_defaults(run=run_simulate_command)


# -- storepulse run-job ----------------------------------------------------------------


def run_job_command(args: argparse.Namespace) -> int:
    from devstack.runtime import new_context
    from devstack.spec import load_stack_spec
    from devstack.stack import clear_process_caches

    target = resolve_target()
    aws = _connect(target)
    environment, account_id = _target_environment(target, aws)
    os.environ.update(environment)
    clear_process_caches()
    try:
        jobs = importlib.import_module("backend.handlers.jobs")
    except ModuleNotFoundError as exc:
        if exc.name not in ("backend.handlers", "backend.handlers.jobs"):
            raise
        raise CliError("no jobs are defined yet (backend.handlers.jobs is missing)") from None
    known: Mapping[str, Any] = getattr(jobs, "JOBS", {})
    if args.name not in known:
        raise CliError(f"unknown job {args.name!r}; known jobs: {', '.join(sorted(known)) or 'none'}")
    function = load_stack_spec().function("jobs")
    context = new_context(
        function.name,
        memory=function.memory,
        timeout=function.timeout,
        region=aws.region,
        account_id=account_id,
    )
    job_input: dict[str, Any] = {"job": args.name}
    if args.month:
        if args.name != "rollups":
            raise CliError("--month goes with the rollups job only")
        job_input["months"] = args.month
    if args.day:
        if args.name != "anomalies":
            raise CliError("--day goes with the anomalies job only")
        job_input["day"] = args.day
    started = time.monotonic()
    try:
        result = jobs.handler(job_input, context)
    except ValueError as exc:  # a job's refusal of its input, in words
        raise CliError(f"job {args.name}: {exc}") from None
    print(f"job {args.name} finished in {time.monotonic() - started:.1f} s on {target.describe()}")
    if result is not None:
        print(json.dumps(result, indent=2, default=str))
    return 0


def add_run_job_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run-job",
        help="run a scheduled job now, as its EventBridge schedule would",
        description='Calls the jobs function with {"job": NAME}, the input its schedule sends.',
    )
    parser.add_argument(
        "name",
        metavar="NAME",
        help=(
            "the job: alert-sweep, digests, segments, lake-compaction, rollups, forecast, anomalies, "
            "pairs, stock-fold"
        ),
    )
    parser.add_argument(
        "--month",
        action="append",
        metavar="YYYY-MM",
        help="rollups only: roll up this month if it is stale (repeatable; default: every stale month)",
    )
    parser.add_argument(
        "--day",
        metavar="YYYY-MM-DD",
        help="anomalies only: check this store day (default: the last closed day, yesterday)",
    )
    parser.set_defaults(run=run_job_command)


# -- storepulse dlq --------------------------------------------------------------------


def _table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def _contents(letter: Any) -> str:
    """What a dead letter holds, in words: its event id, or its packet's size and first ids."""
    if not letter.packet_id:
        return letter.event_id or "-"
    more = ", ..." if letter.events > len(letter.event_ids) else ""
    return f"packet {letter.packet_id[:14]}: {letter.events} events ({', '.join(letter.event_ids)}{more})"


def run_dlq_list(args: argparse.Namespace) -> int:
    from devstack.dlq import CONFLICTS, WEBHOOKS, list_conflicts, list_dead_letters, list_webhooks

    target = resolve_target()
    aws = _connect(target)
    table = _analytics_table(target)
    wants_conflicts = args.queue in (None, CONFLICTS)
    wants_webhooks = args.queue in (None, WEBHOOKS)
    try:
        letters = (
            list_dead_letters(aws, analytics_table=table, queue=args.queue, prefix=target.prefix)
            if args.queue not in (CONFLICTS, WEBHOOKS)
            else []
        )
    except LookupError as exc:
        raise CliError(str(exc)) from None
    conflicts = list_conflicts(aws, analytics_table=table) if wants_conflicts else []
    webhooks = list_webhooks(aws, analytics_table=table) if wants_webhooks else []
    if args.json:
        kept = [
            *(x.to_json() for x in letters),
            *(c.to_json() for c in conflicts),
            *(w.to_json() for w in webhooks),
        ]
        print(json.dumps(kept, indent=2))
        return 0
    if webhooks:
        kept_rows = [(w.platform, w.topic, w.delivery_id, w.received_at, w.reason[:120]) for w in webhooks]
        print(_table(kept_rows, ("platform", "topic", "delivery", "received_at", "reason")))
        print(
            f"\n{len(webhooks)} webhook(s) answered 200 but not counted: they could not be mapped "
            "(docs/connectors.md). Fix the cause, then resend them from the store's admin.\n"
        )
    if conflicts:
        found = [
            (c.event_id, c.type, c.kind, c.business_id, c.counted_event_id, c.found_at) for c in conflicts
        ]
        print(_table(found, ("event_id", "type", "id", "value", "counted from", "found_at")))
        print(
            f"\n{len(conflicts)} conflict(s): events not counted because their order_id or refund_id "
            "was counted from another event (kept here; nothing to replay).\n"
        )
    if not letters:
        print(f"No dead-lettered messages on {target.describe()}.")
        return 0
    rows = [
        (
            letter.queue,
            _contents(letter),
            letter.type or "-",
            str(letter.receive_count),
            letter.failed_at or "-",
            (letter.reason or "unknown (no failure recorded)")[:120],
        )
        for letter in letters
    ]
    print(_table(rows, ("queue", "events", "type", "receives", "failed_at", "reason")))
    print(f"\n{len(letters)} message(s). `storepulse dlq replay` sends them back once fixed.")
    return 0


def run_dlq_replay(args: argparse.Namespace) -> int:
    from devstack.dlq import replay_dead_letters

    target = resolve_target()
    aws = _connect(target)
    try:
        replayed = replay_dead_letters(aws, queue=args.queue, prefix=target.prefix)
    except LookupError as exc:
        raise CliError(str(exc)) from None
    if not any(replayed.values()):
        print("Nothing to replay: the dead-letter queues are empty.")
        return 0
    for queue, count in replayed.items():
        print(f"Replayed {count} message(s) to {queue}.")
    return 0


def add_dlq_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dlq",
        help="dead-lettered messages: list them with their reason, replay them",
        description="Every queue's dead-letter queue (<queue>-dlq).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="show the messages in the DLQs and why they failed")
    listing.add_argument(
        "--queue",
        help="only this queue (e.g. storepulse-orders), `conflicts` for the conflicts only, or "
        "`webhooks` for the store webhooks that could not be mapped",
    )
    listing.add_argument("--json", action="store_true", help="JSON for machines")
    listing.set_defaults(run=run_dlq_list)
    replay = actions.add_parser("replay", help="send DLQ messages back to their queue")
    replay.add_argument("--queue", help="only this queue (e.g. storepulse-orders)")
    replay.set_defaults(run=run_dlq_replay)


# -- storepulse lake -------------------------------------------------------------------


def _lake_bucket(target: Target, aws: Any) -> str:
    environment, _ = _target_environment(target, aws)
    bucket = environment.get("LAKE_BUCKET")
    if not bucket:
        raise CliError("no lake bucket (LAKE_BUCKET) on " + target.describe())
    return bucket


def _lake_cache(target: Target, bucket: str) -> Path:
    if os.environ.get("STOREPULSE_LAKE_CACHE"):
        return Path(os.environ["STOREPULSE_LAKE_CACHE"]) / bucket
    if target.is_local:
        return target.data_dir / "lake-cache" / bucket
    return Path.home() / ".cache" / "storepulse" / "lake" / bucket


def run_lake_query(args: argparse.Namespace) -> int:
    import csv

    from tqdm import tqdm

    from backend.lake import query

    target = resolve_target()
    aws = _connect(target)
    bucket = _lake_bucket(target, aws)
    cache = _lake_cache(target, bucket)
    query.sync(
        aws.client("s3"),
        bucket,
        cache,
        progress=lambda files, total: tqdm(
            files, total=total, desc="lake files", unit="file", disable=None, leave=False
        ),
    )
    conn = query.connect(cache, os.environ.get("STORE_TIMEZONE") or "UTC")
    try:
        headers, rows = query.run(conn, args.sql)
    except query.QueryError as exc:
        raise CliError(f"the query failed: {exc}") from None
    if args.format == "json":
        print(json.dumps(list(query.records(headers, rows)), indent=2))
    elif args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows([query.text(v) for v in row] for row in rows)
    elif headers:
        shown = rows[: args.max_rows]
        print(_table([[query.text(v) for v in row] for row in shown], headers))
        hidden = len(rows) - len(shown)
        print(
            f"({len(rows)} row{'s' if len(rows) != 1 else ''}" + (f", {hidden} not shown)" if hidden else ")")
        )
    return 0


def run_lake_compact(args: argparse.Namespace) -> int:
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from tqdm import tqdm

    from backend.processing import compaction

    target = resolve_target()
    aws = _connect(target)
    bucket = _lake_bucket(target, aws)
    try:
        days = [date.fromisoformat(d) for d in args.day] if args.day else None
    except ValueError as exc:
        raise CliError(f"--day: {exc}; use YYYY-MM-DD") from None
    from backend.adapters import leases
    from backend.adapters.analytics import AnalyticsTable

    try:
        result = compaction.run_exclusive(
            aws.client("s3"),
            bucket,
            AnalyticsTable(aws.client("dynamodb"), _analytics_table(target)),
            zone=ZoneInfo(os.environ.get("STORE_TIMEZONE") or "UTC"),
            now=datetime.now(UTC),
            days=days,
            progress=lambda parts, total: tqdm(
                parts, total=total, desc="compacting", unit="file", disable=None
            ),
        )
    except (leases.Taken, leases.Lost) as exc:
        raise CliError(f"lake compaction: {exc}; run it again then") from None
    print(json.dumps(result, indent=2))
    return 0


def add_lake_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lake",
        help="the Parquet lake: SQL over it (DuckDB), compaction",
        description="Tables orders, refunds, customers, products, inventory_adjustments "
        "(docs/lake.md), each partitioned by dt, the store day.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    query = actions.add_parser(
        "query",
        help="run SQL over the lake with DuckDB",
        description="Mirrors the lake's Parquet files into a local cache, then runs SQL over views "
        "with the Glue tables' names. Timestamps show in STORE_TIMEZONE.",
    )
    query.add_argument("sql", metavar="SQL", help='e.g. "SELECT dt, count(*) FROM orders GROUP BY dt"')
    query.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    query.add_argument("--max-rows", type=int, default=200, metavar="N", help="rows shown as a table")
    query.set_defaults(run=run_lake_query)
    compact = actions.add_parser(
        "compact",
        help="run the lake-compaction job here, with progress",
        description="What `storepulse run-job lake-compaction` does (merge what arrived since "
        "the last run into its store days), or rebuild given days from every raw object.",
    )
    compact.add_argument("--day", action="append", metavar="YYYY-MM-DD", help="rebuild this day (repeatable)")
    compact.set_defaults(run=run_lake_compact)


# -- storepulse cost -------------------------------------------------------------------


def run_cost_command(args: argparse.Namespace) -> int:
    from backend.cost import model
    from backend.cost.model import CostDataError, deployment, load_measurement, load_prices, monthly_bill
    from backend.cost.report import as_json, render, volumes
    from devstack.spec import StackSpecError, load_stack_spec

    if args.events_per_month < 0:
        raise CliError("--events-per-month must be zero or more")
    # backend/cost/pipeline.json: a link to bench/results/pipeline.json, packaged as a file.
    committed = (Path(model.__file__).with_name("pipeline.json")).resolve()
    data_dir = Path(os.environ.get("STOREPULSE_DATA_DIR") or ".data")
    try:
        prices = load_prices()
        measured = load_measurement([data_dir / "bench" / "pipeline.json", committed])
        spec = load_stack_spec()
        shape = deployment(
            functions=len(spec.functions),
            queues=len(spec.queues),
            mapped_queues=sum(1 for f in spec.functions if f.source is not None),
            schedules=[s.expression for s in spec.schedules],
            days=prices.assumptions["days_per_month"],
        )
    except (CostDataError, StackSpecError) as exc:
        raise CliError(str(exc)) from None
    bills = [monthly_bill(n, measured, prices, shape, args.capacity) for n in volumes(args.events_per_month)]
    if args.json:
        print(json.dumps(as_json(bills, measured, prices), indent=2))
    else:
        print(render(bills, measured, prices, args.events_per_month))
    return 0


def add_cost_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cost",
        help="the monthly AWS bill from measured request counts and list prices",
        description="Prices the request counts measured by `make bench` (.data/bench/pipeline.json, "
        "else the committed bench/results/pipeline.json) at the list prices of "
        "backend/cost/prices.json, plus the deployment's fixed costs, at N events a month and at "
        "10k, 1M and 100M; the free tiers are shown apart (docs/cost.md).",
    )
    parser.add_argument(
        "--events-per-month", type=int, required=True, metavar="N", help="events the store sends a month"
    )
    parser.add_argument(
        "--capacity",
        choices=("on-demand", "provisioned"),
        default="on-demand",
        help="DynamoDB's capacity mode (infra variable dynamodb_capacity): on-demand request units "
        "(default) or provisioned capacity with auto scaling, at the utilization assumed in prices.json",
    )
    parser.add_argument("--json", action="store_true", help="JSON for machines")
    parser.set_defaults(run=run_cost_command)


# -- storepulse import -----------------------------------------------------------------


def _pii_key(data_dir: Path) -> str:
    """The key e-mails are hashed with (customer ids of an export are the keyed hash of their
    e-mail, as the webhooks make them): ``PII_HASH_KEY``, else the local stack's, else AWS's
    SSM parameter ``/<prefix>storepulse/pii_hash_key``."""
    from devstack.keys import read_stored_keys

    value = os.environ.get("PII_HASH_KEY", "")
    if value and not value.startswith("ssm:"):
        return value
    for directory in (data_dir, Path(__file__).resolve().parents[1] / data_dir):
        stored = read_stored_keys(directory) if directory.exists() else {}
        if stored.get("pii_hash_key"):
            return stored["pii_hash_key"]
    import boto3

    name = (
        value.removeprefix("ssm:")
        or f"/{os.environ.get('STOREPULSE_NAME_PREFIX', '')}storepulse/pii_hash_key"
    )
    try:
        answer = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)
    except (BotoCoreError, ClientError) as exc:
        raise CliError(
            "no PII hashing key: set PII_HASH_KEY, run the local stack (make run), "
            f"or allow reading {name} ({exc})"
        ) from None
    return str(answer["Parameter"]["Value"])


def run_import_command(args: argparse.Namespace) -> int:
    from backend.processing.connectors import customer_ids
    from backend.settings import get_settings
    from devstack import importer
    from devstack.simulator.cli import api_target
    from devstack.simulator.sender import SimulatorError

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    data_dir = Path(os.environ.get("STOREPULSE_DATA_DIR") or ".data")
    try:
        api_url, key = api_target()
        if args.kind == "shopify-orders":
            currency = get_settings().store_currency
            customers = customer_ids("shopify", _pii_key(data_dir))
            items = list(importer.read_shopify_orders(path, currency=currency, customers=customers))
        else:
            items = list(importer.read_ndjson(path))
    except importer.ImportError_ as exc:
        raise CliError(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: cannot read it: {exc}") from None
    except SimulatorError as exc:
        raise CliError(str(exc)) from None
    checkpoint = importer.checkpoint_for(path, data_dir)
    if args.restart:
        checkpoint.clear()
    print(f"Importing {path} ({len(items)} events) into {api_url}")
    try:
        summary = importer.send_events(items, api_url, key, checkpoint)
    except KeyboardInterrupt:
        done = checkpoint.load()
        sent = done.events if done else 0
        print(f"\nInterrupted after {sent} events; run the same command again to resume.", file=sys.stderr)
        raise
    except SimulatorError as exc:
        raise CliError(f"{exc}; run the same command again to resume") from None
    importer.report(summary)
    return 0


def add_import_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "import",
        help="a store's history into the pipeline through the ingest API",
        description="Sends a file's events through POST /v1/events (STOREPULSE_API_URL, else the local "
        "stack's) in requests of 500, with a progress bar. Event ids are deterministic, so running it "
        "again or resuming after Ctrl-C counts nothing twice. docs/connectors.md.",
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind, help_text in (
        ("events", "events of the contract, one JSON object per line (NDJSON)"),
        ("shopify-orders", "Shopify's orders export (CSV, one row per line item)"),
    ):
        sub = kinds.add_parser(kind, help=help_text)
        sub.add_argument("file", metavar="FILE", help="the file to import")
        sub.add_argument("--restart", action="store_true", help="ignore an interrupted run's progress")
        sub.set_defaults(run=run_import_command)


COMMANDS: tuple[Callable[[Any], None], ...] = (
    add_stack_command,
    add_simulate_command,
    add_run_job_command,
    add_dlq_command,
    add_lake_command,
    add_cost_command,
    add_import_command,
)


def installed_version() -> str:
    """The version of the installed ``storepulse`` distribution (pyproject.toml's)."""
    try:
        return metadata.version("storepulse")
    except metadata.PackageNotFoundError:
        return "(not installed: run make venv or pip install .)"


def build_parser() -> argparse.ArgumentParser:
    """The ``storepulse`` parser with every subcommand of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="storepulse",
        description="storepulse: serverless e-commerce analytics, on AWS or on this machine.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (debug)")
    parser.add_argument("--version", action="version", version=f"storepulse {installed_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add_command in COMMANDS:
        add_command(subparsers)
    return parser


def _configure_logging(level: int) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    # boto and werkzeug narrate every request at INFO.
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``storepulse`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(logging.DEBUG if args.verbose else getattr(args, "log_level", logging.WARNING))
    try:
        return int(args.run(args) or 0)
    except CliError as exc:
        print(f"storepulse: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("storepulse: interrupted", file=sys.stderr)
        return 130
    except NoCredentialsError:
        print(
            "storepulse: no AWS credentials found (set AWS_PROFILE or run the local stack)", file=sys.stderr
        )
    except EndpointConnectionError as exc:
        print(f"storepulse: cannot reach {exc.kwargs.get('endpoint_url', 'AWS')}", file=sys.stderr)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        print(f"storepulse: AWS refused: {error.get('Code')}: {error.get('Message')}", file=sys.stderr)
    except BotoCoreError as exc:
        print(f"storepulse: AWS error: {exc}", file=sys.stderr)
    except Exception as exc:
        logger.debug("unexpected failure", exc_info=True)
        print(f"storepulse: {type(exc).__name__}: {exc} (run with -v for details)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
