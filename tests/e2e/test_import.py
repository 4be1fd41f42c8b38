"""``storepulse import``: a Shopify orders export of a few hundred orders, imported through the
ingest API, interrupted (Ctrl-C) after its first request, resumed, and imported again; the
figures are then the pandas oracle's for the orders the file holds (CONTRACT section 1b)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.shopify_export import write_export
from devstack import importer
from devstack.cli import main
from devstack.simulator import generate
from tests import oracle
from tests.conftest import STORE_TIMEZONE, StackFixture
from tests.figures import assert_same_figures

END = date(2025, 3, 20)
DAYS = 45


@pytest.fixture
def cli_environment(stack: StackFixture, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The command line aimed at the test stack (its API, key and data directory)."""
    saved = dict(os.environ)
    monkeypatch.setenv("STOREPULSE_API_URL", stack.api_url)
    monkeypatch.setenv("STOREPULSE_INGEST_KEY", stack.ingest_key)
    monkeypatch.setenv("STOREPULSE_DATA_DIR", str(stack.data_dir))
    yield
    os.environ.clear()
    os.environ.update(saved)


def summary(stack: StackFixture, start: date, end: date) -> dict[str, Any]:
    response = requests.get(
        f"{stack.api_url}/v1/metrics/summary",
        params={"start": start.isoformat(), "end": end.isoformat()},
        headers={"x-api-key": stack.read_key},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["current"])


def test_an_export_imported_interrupted_resumed_and_again_counts_each_order_once(
    stack: StackFixture,
    cli_environment: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a fresh store and its Shopify export: a few hundred orders, one row per line item
    stack.reset()
    history = generate(days=DAYS, orders_per_day=14, seed=11, end=END, tz=STORE_TIMEZONE)
    export = tmp_path / "orders_export_1.csv"
    meant = write_export(history, export)
    orders = sum(1 for e in meant if e["type"] == "order.placed")
    refunds = len(meant) - orders
    assert orders >= 500 and refunds > 50 and len(meant) > 500  # more than one request
    assert sum(1 for _ in export.open()) > orders + 1  # several lines per order
    # When the import is interrupted by Ctrl-C right after its first request was acknowledged
    real_post = importer.post_batch
    calls = {"n": 0}

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_post(*args, **kwargs)

    monkeypatch.setattr(importer, "post_batch", interrupted)
    assert main(["import", "shopify-orders", str(export)]) == 130
    assert "run the same command again to resume" in capsys.readouterr().err
    # Then the same command resumes after the 500 events sent, and counts the rest
    monkeypatch.setattr(importer, "post_batch", real_post)
    assert main(["import", "shopify-orders", str(export)]) == 0
    resumed = capsys.readouterr().out
    assert f"{len(meant)} events: {len(meant)} accepted, 0 duplicates (sent before), 0 rejected" in resumed
    assert "resumed after the 500 events an earlier run had sent" in resumed
    # And importing the file again counts nothing twice
    assert main(["import", "shopify-orders", str(export)]) == 0
    again = capsys.readouterr().out
    assert f"{len(meant)} events: 0 accepted, {len(meant)} duplicates (sent before), 0 rejected" in again
    stack.wait_idle(180)
    # And every range shows the oracle's figures for the orders and refunds the file holds
    first = END - timedelta(days=DAYS - 1)
    for start, end in [
        (first, END),
        (date(2025, 3, 9), date(2025, 3, 9)),
        (date(2025, 3, 1), date(2025, 3, 15)),
    ]:
        expected = oracle.summary(meant, start, end, tz=STORE_TIMEZONE)
        assert_same_figures(summary(stack, start, end), expected, f"{start}..{end}")


def test_an_events_file_reports_rejected_lines_by_number(
    stack: StackFixture, cli_environment: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.reset()
    good = {
        "event_id": "imp-1",
        "type": "inventory.adjusted",
        "occurred_at": "2025-03-01T10:00:00Z",
        "data": {"sku": "MUG", "delta": 5, "reason": "restock"},
    }
    wrong_currency = {
        "event_id": "imp-2",
        "type": "order.placed",
        "occurred_at": "2025-03-01T10:00:00Z",
        "data": {"order_id": "1", "customer_id": "c", "currency": "EUR",
                 "lines": [{"sku": "MUG", "quantity": 1, "unit_price": "5.00"}]},
    }  # fmt: skip
    path = tmp_path / "history.ndjson"
    path.write_text(json.dumps(good) + "\n\n" + "{not json\n" + json.dumps(wrong_currency) + "\n")
    assert main(["import", "events", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 events: 1 accepted, 0 duplicates (sent before), 2 rejected" in out
    assert "line 3: (no event id): not JSON" in out
    assert "line 4: imp-2: data.currency: must be the store currency USD" in out
