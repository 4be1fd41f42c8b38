"""``storepulse cost``: the bill from measured counts and list prices (backend/cost)."""

from __future__ import annotations

import doctest
import json
import re
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

import backend.cost.model
import backend.cost.report
from backend.cost.model import (
    PER_EVENT_LINES,
    Deployment,
    Measurement,
    load_measurement,
    load_prices,
    monthly_bill,
    runs_per_month,
)
from devstack.cli import main

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "bench" / "results" / "pipeline.json"


@pytest.mark.parametrize("module", [backend.cost.model, backend.cost.report])
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


# The rows of docs/cost.md's price table that write out prices.json: key -> (the service cell
# starts with, the "what is billed" cell contains).
DOCS_PRICE_ROWS: dict[str, tuple[str, str]] = {
    "api_gateway_request": ("API Gateway", "requests"),
    "lambda_request": ("Lambda", "requests"),
    "lambda_gb_second": ("Lambda (arm64)", "duration"),
    "sns_publish": ("SNS", "publish"),
    "sqs_request": ("SQS", "request"),
    "dynamodb_write_unit": ("DynamoDB", "write request units"),
    "dynamodb_read_unit": ("DynamoDB", "read request units"),
    "s3_put": ("S3", "PUT"),
    "s3_get": ("S3", "GET"),
    "eventbridge_event": ("EventBridge", "custom events"),
}
_DOCS_PRICE = re.compile(r"\$([0-9][0-9,]*(?:\.[0-9]+)?) per (million|1,000|GB-second)")
_DOCS_PER = {"million": Decimal("1e-6"), "1,000": Decimal("1e-3"), "GB-second": Decimal(1)}


def prices_in_docs() -> dict[str, Decimal]:
    """The unit prices the table in docs/cost.md shows, by prices.json's keys."""
    rows = []
    for line in (ROOT / "docs" / "cost.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and len(cells) >= 5:
            rows.append(cells)
    found: dict[str, Decimal] = {}
    for key, (service, billed) in DOCS_PRICE_ROWS.items():
        for cells in rows:
            if not cells[0].startswith(service) or billed.lower() not in cells[1].lower():
                continue
            if service == "Lambda" and cells[0] != "Lambda":
                continue
            match = _DOCS_PRICE.search(cells[2])
            if match:
                found[key] = Decimal(match.group(1).replace(",", "")) * _DOCS_PER[match.group(2)]
                break
    return found


def test_docs_price_table_is_the_data_file() -> None:
    # Given the table in docs/cost.md and backend/cost/prices.json (the one price list, which
    # storepulse cost and the benchmark read)
    docs = prices_in_docs()
    data = load_prices()
    # Then the table shows every per-event price, each the same as the file's
    assert set(docs) == set(DOCS_PRICE_ROWS)
    for key, price in docs.items():
        assert price == data[key].unit_price, key


def one_of_each(value: str) -> Measurement:
    return Measurement({name: Decimal(value) for _, _, name in PER_EVENT_LINES}, "t", "c", "p")


def test_per_event_part_is_events_times_quantities_times_prices() -> None:
    # Given a measurement of 2 units of everything per event, and no fixed costs
    prices = load_prices()
    bill = monthly_bill(1_000, one_of_each("2"), prices, Deployment(0, Decimal(0), 0, 0))
    # Then each per-event line costs 2,000 units at its unit price, computed independently
    expected = {
        "API Gateway requests": Decimal("2000") * Decimal("3.50") / 1_000_000,
        "DynamoDB write request units": Decimal("2000") * Decimal("0.625") / 1_000_000,
        "S3 PUT requests": Decimal("2000") * Decimal("0.005") / 1_000,
        "Lambda duration (GB-s, local proxy)": Decimal("2000") * Decimal("0.0000133334"),
    }
    costs = {line.name: line.cost for line in bill.lines}
    for name, cost in expected.items():
        assert costs[name] == cost, name
    assert bill.per_event == sum(line.cost for line in bill.lines if line.part == "per event")


def test_free_tiers_are_apart_and_never_more_than_the_usage() -> None:
    prices = load_prices()
    bill = monthly_bill(0, one_of_each("0"), prices, Deployment(0, Decimal(0), alarms=4, dashboards=1))
    # 4 alarms ($0.40) and one dashboard ($3.00) are within the permanent free tiers
    assert bill.free_tier_always >= Decimal("3.40")
    assert bill.after_always_free >= 0
    assert bill.total - bill.free_tier_always == bill.after_always_free
    big = monthly_bill(100_000_000, one_of_each("1"), prices, Deployment(6, Decimal(2970), 27))
    # the Lambda request free tier is 1M requests: $0.20, not more
    assert big.free_tier_always < big.total
    assert big.first_year == big.total - big.free_tier_always - big.free_tier_first_year


def test_fixed_part_does_not_grow_with_events() -> None:
    prices = load_prices()
    shape = Deployment(mapped_queues=6, schedule_runs_per_month=Decimal(2970), alarms=27)
    small = monthly_bill(10_000, one_of_each("1"), prices, shape)
    large = monthly_bill(100_000_000, one_of_each("1"), prices, shape)
    assert small.fixed == large.fixed > 0
    assert large.per_event == small.per_event * 10_000
    # 27 alarms at $0.10 and 6 idle mappings of 648,000 receives at $0.40 per million
    costs = {line.name: line.cost for line in small.lines}
    assert costs["CloudWatch alarms"] == Decimal("2.70")
    assert costs["SQS idle polling (event-source mappings)"] == 6 * 648_000 * Decimal("0.40") / 1_000_000


def test_provisioned_capacity_prices_the_same_units_as_unit_hours() -> None:
    # Given 3 write and 2 read units per event, and no other fixed costs
    prices = load_prices()
    shape = Deployment(0, Decimal(0), 0, 0)
    month_hours = Decimal(30 * 24)
    small = monthly_bill(1_000, one_of_each("3"), prices, shape, "provisioned")
    large = monthly_bill(100_000_000, one_of_each("3"), prices, shape, "provisioned")
    # Then the writes are capacity unit-hours at 70 % use, at $0.00065 each, computed apart
    needed = Decimal(100_000_000 * 3) / 3600 / Decimal("0.70")
    costs = {line.name: line.cost for line in large.lines}
    assert costs["DynamoDB write capacity unit-hours at 70% use"] == needed * Decimal("0.00065")
    # and 100 M events need more than the tables' minimum (2 tables x 5 units), 1,000 do not:
    # the unused minimum is a fixed line there, nothing here
    floor = 2 * 5 * month_hours
    assert costs["DynamoDB write capacity: the tables' minimum, unused"] == 0
    small_costs = {line.name: line.cost for line in small.lines}
    small_needed = Decimal(1_000 * 3) / 3600 / Decimal("0.70")
    assert small_costs["DynamoDB write capacity: the tables' minimum, unused"] == (
        floor - small_needed
    ) * Decimal("0.00065")
    # and on demand the same events cost more per unit than provisioned at 70 % use
    on_demand = monthly_bill(100_000_000, one_of_each("3"), prices, shape)
    assert large.per_event < on_demand.per_event
    with pytest.raises(ValueError, match="capacity"):
        monthly_bill(1, one_of_each("1"), prices, shape, "reserved")


def test_schedule_expressions() -> None:
    assert runs_per_month("rate(1 hour)") == 720
    assert runs_per_month("cron(30 2 * * ? *)") == 30
    assert runs_per_month("cron(0 7,19 * * ? *)") == 60


def test_committed_measurement_gives_the_benchmarks_own_figure() -> None:
    # The benchmark prices its mix with the cost model (bench/pipeline.py); the bill of the
    # committed measurement must land on the benchmark's per-event total, and docs/cost.md must
    # publish it.
    measured = load_measurement([COMMITTED])
    bill = monthly_bill(1_000_000, measured, load_prices(), Deployment(0, Decimal(0), 0, 0))
    raw = json.loads(COMMITTED.read_text())
    benchmark_total = Decimal(str(raw["dollars_per_million_events"]["total"]))
    assert abs(bill.per_event - benchmark_total) < Decimal("0.01")
    published = re.search(
        r"\*\*total per million events\*\* \(list price, no free tier\) \| \*\*\$(\d+\.\d\d)\*\*",
        (ROOT / "docs" / "cost.md").read_text(),
    )
    assert published is not None
    assert abs(bill.per_event - Decimal(published.group(1))) < Decimal("0.01")


def test_a_newer_run_wins_over_the_committed_copy(tmp_path: Path) -> None:
    run = json.loads(COMMITTED.read_text())
    run["mix"]["dynamodb_write_units"] = 1.0
    run["machine"]["commit"] = "abc1234"
    newer = tmp_path / "bench" / "pipeline.json"
    newer.parent.mkdir()
    newer.write_text(json.dumps(run))
    measured = load_measurement([newer, COMMITTED])
    assert measured.commit == "abc1234"
    assert measured.per_event["dynamodb_write_units"] == 1


def test_cli_prints_the_three_volumes_and_the_seed_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STOREPULSE_DATA_DIR", str(tmp_path))  # no local run: the committed copy
    assert main(["cost", "--events-per-month", "250000"]) == 0
    out = capsys.readouterr().out
    for volume in ("10,000", "250,000 *", "1,000,000", "100,000,000"):
        assert volume in out
    assert "$20-30" in out
    assert "bench/results/pipeline.json" in out
    assert re.search(r"after the permanent free tiers\s+\$\d", out)


def test_cli_json_adds_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STOREPULSE_DATA_DIR", str(tmp_path))
    assert main(["cost", "--events-per-month", "1000000", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [b["events_per_month"] for b in report["bills"]] == [10_000, 1_000_000, 100_000_000]
    for bill in report["bills"]:
        assert re.fullmatch(r"-?\d+\.\d\d", bill["total"])
        lines = sum(Decimal(line["cost"]) for line in bill["lines"])
        assert abs(lines - Decimal(bill["total"])) <= Decimal("0.01") * len(bill["lines"])
        assert Decimal(bill["after_always_free"]) == Decimal(bill["total"]) - Decimal(
            bill["free_tier_always"]
        )


def test_cli_refuses_a_negative_volume(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--events-per-month", "-5"]) == 1
    assert "--events-per-month" in capsys.readouterr().err


def test_the_benchmark_prices_its_mix_with_the_bill_of_storepulse_cost() -> None:
    # Given per-event figures as the benchmark measures them (floats, a missing unit figure None)
    from bench.pipeline import COST_LINES, PerEvent, dollars_per_million
    from bench.pipeline import load_prices as bench_prices

    figures = PerEvent(
        api_requests=0.002,
        lambda_invocations=0.01,
        lambda_gb_seconds=0.0004,
        sns_publishes=0.002,
        sqs_requests=0.03,
        dynamodb_write_units=1.7,
        dynamodb_read_units=None,
        s3_puts=0.001,
        s3_gets=0.0,
        eventbridge_events=0.0005,
    )
    # When the benchmark prices them, and storepulse cost bills a million such events
    bench = dollars_per_million(figures, bench_prices())
    measured = Measurement(
        {name: Decimal(str(getattr(figures, name) or 0.0)) for _, _, name in PER_EVENT_LINES}, "t", "c", "p"
    )
    bill = monthly_bill(1_000_000, measured, load_prices(), Deployment(0, Decimal(0), 0, 0))
    lines = {line.name: line.cost for line in bill.lines if line.part == "per event"}
    # Then every line is the same figure, from the same prices
    assert set(COST_LINES.values()) == set(lines)
    for label, line in COST_LINES.items():
        assert bench[label] == float(lines[line]), label
    assert abs(sum(bench.values()) - float(bill.per_event)) < 1e-9
    assert bench["DynamoDB write units"] == 1.7 * 0.625
