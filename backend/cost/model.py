"""The bill: per-event quantities measured by ``bench/pipeline.py`` times the list prices of
``backend/cost/prices.json``, plus what the deployment costs whatever the traffic.

Everything is :class:`~decimal.Decimal`; a line says whether its quantity is measured, derived
from the deployment's shape, or an estimate or assumption (named in ``prices.json``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).with_name("prices.json")
CENT = Decimal("0.01")

# (line, price key, field of the measured mix)
PER_EVENT_LINES: tuple[tuple[str, str, str], ...] = (
    ("API Gateway requests", "api_gateway_request", "api_requests"),
    ("Lambda requests", "lambda_request", "lambda_invocations"),
    ("Lambda duration (GB-s, local proxy)", "lambda_gb_second", "lambda_gb_seconds"),
    ("SNS publish requests", "sns_publish", "sns_publishes"),
    ("SQS requests", "sqs_request", "sqs_requests"),
    ("DynamoDB write request units", "dynamodb_write_unit", "dynamodb_write_units"),
    ("DynamoDB read request units", "dynamodb_read_unit", "dynamodb_read_units"),
    ("S3 PUT requests", "s3_put", "s3_puts"),
    ("S3 GET requests", "s3_get", "s3_gets"),
    ("EventBridge events", "eventbridge_event", "eventbridge_events"),
)


# DynamoDB's two capacity modes (infra variable ``dynamodb_capacity``): the measured request
# units priced per unit on demand, or as capacity unit-hours at the assumed utilization.
CAPACITY_MODES = ("on-demand", "provisioned")
# (line, on-demand price key, provisioned price key, field of the measured mix)
DYNAMODB_LINES = (
    ("DynamoDB write", "dynamodb_write_unit", "dynamodb_wcu_hour", "dynamodb_write_units"),
    ("DynamoDB read", "dynamodb_read_unit", "dynamodb_rcu_hour", "dynamodb_read_units"),
)
SECONDS_PER_HOUR = Decimal(3600)


class CostDataError(ValueError):
    """A price or measurement file is missing, malformed or lacks a figure."""


@dataclass(frozen=True)
class Price:
    key: str
    service: str
    billed: str
    unit_price: Decimal  # dollars per one unit
    free: Decimal  # units a month
    free_kind: str  # "always", "12-month" or "none"
    source: str


@dataclass(frozen=True)
class PriceTable:
    prices: Mapping[str, Price]
    assumptions: Mapping[str, Decimal]
    assumption_notes: Mapping[str, str]
    seed_low: Decimal
    seed_high: Decimal
    seed_text: str
    region: str
    checked: str

    def __getitem__(self, key: str) -> Price:
        return self.prices[key]


@dataclass(frozen=True)
class Measurement:
    """Billed quantities per event of the benchmark's mix."""

    per_event: Mapping[str, Decimal]
    measured_at: str
    commit: str
    path: str


@dataclass(frozen=True)
class Deployment:
    """What the Terraform deploys, as far as it costs money whatever the traffic."""

    mapped_queues: int
    schedule_runs_per_month: Decimal
    alarms: int
    dashboards: int = 1


@dataclass(frozen=True)
class Line:
    name: str
    part: str  # "per event" or "fixed"
    price_key: str
    quantity: Decimal
    cost: Decimal
    basis: str  # "measured", "deployment", "estimate", "assumption"


@dataclass(frozen=True)
class Bill:
    events_per_month: int
    lines: Sequence[Line]
    free_tier_always: Decimal
    free_tier_first_year: Decimal
    notes: Sequence[str] = field(default_factory=tuple)
    capacity: str = "on-demand"

    def part(self, part: str) -> Decimal:
        return sum((line.cost for line in self.lines if line.part == part), Decimal(0))

    @property
    def per_event(self) -> Decimal:
        return self.part("per event")

    @property
    def fixed(self) -> Decimal:
        return self.part("fixed")

    @property
    def total(self) -> Decimal:
        """At list prices, no free tier."""
        return self.per_event + self.fixed

    @property
    def after_always_free(self) -> Decimal:
        """What an account past its first year pays (the permanent free tiers subtracted)."""
        return self.total - self.free_tier_always

    @property
    def first_year(self) -> Decimal:
        """With the 12-month offers of older accounts subtracted too."""
        return self.total - self.free_tier_always - self.free_tier_first_year


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CostDataError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise CostDataError(f"{path} is not valid JSON: {exc}") from None


def load_prices(path: Path = PRICES_FILE) -> PriceTable:
    """The price table of ``prices.json``.

    Examples
    --------
    >>> load_prices()["lambda_request"].unit_price
    Decimal('2E-7')
    """
    raw = _read_json(path)
    try:
        prices = {
            key: Price(
                key=key,
                service=row["service"],
                billed=row["billed"],
                unit_price=Decimal(row["usd"]) / Decimal(row["per"]),
                free=Decimal(row["free"]),
                free_kind=row["free_kind"],
                source=row["source"],
            )
            for key, row in raw["prices"].items()
        }
        seed = raw["seed_claim"]
        return PriceTable(
            prices=prices,
            assumptions={k: Decimal(str(v["value"])) for k, v in raw["assumptions"].items()},
            assumption_notes={k: v["why"] for k, v in raw["assumptions"].items()},
            seed_low=Decimal(seed["low"]),
            seed_high=Decimal(seed["high"]),
            seed_text=seed["text"],
            region=raw["region"],
            checked=raw["checked"],
        )
    except (KeyError, TypeError, ArithmeticError) as exc:
        raise CostDataError(f"{path}: missing or malformed field {exc}") from None


def load_measurement(candidates: Iterable[Path]) -> Measurement:
    """The first of ``candidates`` that exists: a run's ``pipeline.json`` (or the committed
    transcription of the last published one)."""
    tried = []
    for path in candidates:
        tried.append(str(path))
        if not path.exists():
            continue
        raw = _read_json(path)
        try:
            mix = raw["mix"]
            per_event = {name: Decimal(str(mix[name] or 0)) for _, _, name in PER_EVENT_LINES}
        except (KeyError, TypeError, ArithmeticError) as exc:
            raise CostDataError(f"{path}: the measured mix lacks {exc}") from None
        machine = raw.get("machine") or {}
        return Measurement(
            per_event, str(raw.get("measured_at", "?")), str(machine.get("commit", "?")), str(path)
        )
    raise CostDataError(f"no benchmark results found (looked at {', '.join(tried)}); run `make bench`")


_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_MINUTES = {"minute": 1, "hour": 60, "day": 1440}


def runs_per_month(expression: str, days: Decimal = Decimal(30)) -> Decimal:
    """How often a schedule expression fires in a month.

    Examples
    --------
    >>> runs_per_month("rate(15 minutes)")
    Decimal('2880')
    >>> runs_per_month("cron(0 7 * * ? *)")
    Decimal('30')
    >>> runs_per_month("cron(0 7 ? * MON *)")
    Decimal('4.29')
    """
    rate = _RATE.fullmatch(expression.strip())
    if rate:
        every = int(rate.group(1)) * _MINUTES[rate.group(2).rstrip("s")]
        return days * 1440 / every
    fields = expression.strip().removeprefix("cron(").removesuffix(")").split()
    if len(fields) != 6:
        raise CostDataError(f"cannot read the schedule expression {expression!r}")
    minutes, hours, day_of_month, _, day_of_week, _ = fields
    per_day = Decimal(len(minutes.split(","))) * Decimal(len(hours.split(",")))
    if day_of_week not in ("*", "?"):
        return (per_day * days / 7 * len(day_of_week.split(","))).quantize(CENT)
    if day_of_month not in ("*", "?"):
        return per_day * len(day_of_month.split(","))
    return per_day * days


def per_event_costs(
    per_event: Mapping[str, Decimal], prices: Mapping[str, Price], events: Decimal
) -> dict[str, Decimal]:
    """What ``events`` events of a mix cost, line by line of :data:`PER_EVENT_LINES`: events x
    quantity per event x unit price. The one per-event computation: the bill
    (:func:`monthly_bill`) and the benchmark (``bench/pipeline.py``) both use it.

    Examples
    --------
    >>> mix = {name: Decimal(0) for _, _, name in PER_EVENT_LINES} | {"api_requests": Decimal("0.002")}
    >>> costs = per_event_costs(mix, load_prices().prices, Decimal(1_000_000))
    >>> costs["API Gateway requests"] == Decimal("2000") * Decimal("3.50") / 1_000_000
    True
    """
    return {
        name: events * per_event[figure] * prices[key].unit_price for name, key, figure in PER_EVENT_LINES
    }


def monthly_bill(
    events_per_month: int,
    measured: Measurement,
    prices: PriceTable,
    deployment: Deployment,
    capacity: str = "on-demand",
) -> Bill:
    """The bill for ``events_per_month`` events of the measured mix, with DynamoDB on demand or
    on provisioned capacity (``capacity``, one of :data:`CAPACITY_MODES`).

    Provisioned, the measured request units become capacity unit-hours at the assumed
    utilization (units a month / 3,600 / utilization), and the minimum capacity of the
    provisioned tables that the traffic does not use is a fixed line.

    Examples
    --------
    >>> m = Measurement({name: Decimal(0) for _, _, name in PER_EVENT_LINES}, "", "", "")
    >>> bill = monthly_bill(0, m, load_prices(), Deployment(0, Decimal(0), 10, 1))
    >>> money(bill.per_event), money(bill.fixed), money(bill.free_tier_always)
    ('$0.00', '$4.06', '$4.01')
    >>> bill = monthly_bill(0, m, load_prices(), Deployment(0, Decimal(0), 10, 1), "provisioned")
    >>> money(bill.fixed), money(bill.free_tier_always)
    ('$9.68', '$9.63')
    """
    if events_per_month < 0:
        raise ValueError("events_per_month must be zero or more")
    if capacity not in CAPACITY_MODES:
        raise ValueError(f"capacity must be one of {', '.join(CAPACITY_MODES)}")
    events = Decimal(events_per_month)
    assume = prices.assumptions
    lines: list[Line] = []

    def add(name: str, part: str, key: str, quantity: Decimal, basis: str) -> None:
        lines.append(Line(name, part, key, quantity, quantity * prices[key].unit_price, basis))

    provisioned = {figure: key for _, _, key, figure in DYNAMODB_LINES} if capacity == "provisioned" else {}
    utilization = assume["provisioned_utilization"]
    costs = per_event_costs(measured.per_event, prices.prices, events)
    for name, key, figure in PER_EVENT_LINES:
        units = events * measured.per_event[figure]
        if figure in provisioned:
            capacity_name = name.replace("request units", f"capacity unit-hours at {utilization:.0%} use")
            add(
                capacity_name,
                "per event",
                provisioned[figure],
                units / SECONDS_PER_HOUR / utilization,
                "measured",
            )
        else:
            lines.append(Line(name, "per event", key, units, costs[name], "measured"))
    hours = assume["days_per_month"] * 24
    floor = assume["provisioned_tables"] * assume["provisioned_min_units"] * hours
    for name, _, key, figure in DYNAMODB_LINES if provisioned else ():
        needed = events * measured.per_event[figure] / SECONDS_PER_HOUR / utilization
        add(
            f"{name} capacity: the tables' minimum, unused",
            "fixed",
            key,
            max(floor - needed, Decimal(0)),
            "deployment",
        )

    views = assume["dashboard_page_views_month"]
    reads = views * assume["read_api_calls_per_page_view"]
    add(
        "SQS idle polling (event-source mappings)",
        "fixed",
        "sqs_request",
        deployment.mapped_queues * assume["idle_receives_per_mapped_queue_month"],
        "estimate",
    )
    add(
        "Scheduler invocations (jobs)",
        "fixed",
        "scheduler_invocation",
        deployment.schedule_runs_per_month,
        "deployment",
    )
    add(
        "Lambda requests (scheduled jobs)",
        "fixed",
        "lambda_request",
        deployment.schedule_runs_per_month,
        "deployment",
    )
    add("CloudWatch alarms", "fixed", "cloudwatch_alarm", Decimal(deployment.alarms), "deployment")
    add("CloudWatch dashboard", "fixed", "cloudwatch_dashboard", Decimal(deployment.dashboards), "deployment")
    add(
        "Dashboard Lambda requests (keep-warm + views)",
        "fixed",
        "lambda_request",
        assume["dashboard_keep_warm_invocations_month"] + views,
        "assumption",
    )
    add(
        "Dashboard and read API: API Gateway requests",
        "fixed",
        "api_gateway_request",
        views + reads,
        "assumption",
    )
    add("Read API Lambda requests (dashboard)", "fixed", "lambda_request", reads, "assumption")
    add(
        "CloudFront requests (dashboard assets)",
        "fixed",
        "cloudfront_request",
        views * assume["asset_requests_per_page_view"],
        "assumption",
    )
    add("SSM SecureString parameters (standard)", "fixed", "ssm_parameter", Decimal(5), "deployment")

    used: dict[str, Decimal] = {}
    for line in lines:
        used[line.price_key] = used.get(line.price_key, Decimal(0)) + line.quantity
    free = {"always": Decimal(0), "12-month": Decimal(0)}
    for key, quantity in used.items():
        price = prices[key]
        if price.free_kind in free:
            free[price.free_kind] += min(quantity, price.free) * price.unit_price
    notes = (
        "Lambda duration is the local stack's handler time x configured memory: a rough proxy "
        "until durations are measured in AWS.",
        "Not priced: storage (DynamoDB, S3 lake and reports, CloudWatch Logs), Lambda duration of "
        "the jobs and the dashboard, SES e-mails: not measured yet; pennies for a small store.",
    )
    return Bill(
        events_per_month,
        tuple(lines),
        free["always"].quantize(CENT),
        free["12-month"].quantize(CENT),
        notes,
        capacity,
    )


def money(amount: Decimal) -> str:
    """Dollars with cents, rounded half-up.

    Examples
    --------
    >>> money(Decimal("3.205")), money(Decimal("-4.42"))
    ('$3.21', '-$4.42')
    """
    rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return f"{'-' if rounded < 0 else ''}${abs(rounded):,}"


# Alarms that are not one per function (errors, throttles) or per queue (DLQ depth): the
# schedules' DLQ, the API's 5xx and the lake's backlog (infra/schedules.tf, infra/monitoring.tf).
OTHER_ALARMS = 3
ALARMS_PER_FUNCTION = 2


def deployment(
    functions: int, queues: int, mapped_queues: int, schedules: Iterable[str], days: Decimal
) -> Deployment:
    """The deployment's fixed shape from the resource description (``infra/stack.json``).

    Examples
    --------
    >>> deployment(9, 6, 6, ["rate(15 minutes)", "cron(0 7 * * ? *)"], Decimal(30)).alarms
    27
    """
    return Deployment(
        mapped_queues=mapped_queues,
        schedule_runs_per_month=sum((runs_per_month(e, days) for e in schedules), Decimal(0)),
        alarms=ALARMS_PER_FUNCTION * functions + queues + OTHER_ALARMS,
    )
