"""The front door: ``make run`` comes up, serves the API, and keeps the data across a restart."""

from __future__ import annotations

import time
from pathlib import Path

import requests

from devstack.aws import free_port
from devstack.simulator import send
from tests.processes import Running, clean_environment

ROOT = Path(__file__).resolve().parents[2]
ORDER = {
    "event_id": "first-order",
    "type": "order.placed",
    "occurred_at": "2025-05-01T12:00:00Z",
    "data": {
        "order_id": "A-1",
        "customer_id": "C-1",
        "lines": [{"sku": "MUG", "quantity": 3, "unit_price": "7.25"}],
        "currency": "USD",
    },
}


def _summary(api: str, key: str) -> dict[str, object]:
    response = requests.get(
        f"{api}/v1/metrics/summary",
        params={"start": "2025-05-01", "end": "2025-05-01"},
        headers={"x-api-key": key},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    current: dict[str, object] = response.json()["current"]
    return current


def test_make_run_serves_the_api_and_keeps_data_across_a_restart(tmp_path: Path) -> None:
    api_port = free_port()
    api = f"http://127.0.0.1:{api_port}"
    dash_port = free_port()
    dashboard = f"http://127.0.0.1:{dash_port}"
    environment = clean_environment(
        STOREPULSE_DATA_DIR=str(tmp_path / "data"),
        STOREPULSE_API_PORT=str(api_port),
        STOREPULSE_AWS_PORT=str(free_port()),
        STOREPULSE_DASH_PORT=str(dash_port),
        STOREPULSE_INGEST_KEY="ingest-key-for-this-test-0123456789",
        STOREPULSE_READ_KEY="read-key-for-this-test-0123456789",
        SEED="0",
        PYTHONUNBUFFERED="1",
    )
    # Given `make run` started as the README says
    first = Running(["make", "--no-print-directory", "run"], environment, cwd=ROOT)
    try:
        first.wait_for("Ctrl-C", timeout=120)
        assert api in first.output and "ingest-key-for-this-test-0123456789" in first.output
        assert requests.get(f"{api}/v1/health", timeout=10).json() == {"status": "ok"}
        # and the dashboard answers with its sign-in page, whose generated password is printed
        assert dashboard in first.output and "Dashboard password" in first.output
        sign_in = requests.get(f"{dashboard}/", timeout=10)
        assert sign_in.status_code == 200 and 'id="login-password"' in sign_in.text
        # When an order comes in
        assert send([ORDER], api, "ingest-key-for-this-test-0123456789", progress=False)["accepted"] == 1
        for _ in range(100):
            if _summary(api, "read-key-for-this-test-0123456789")["orders"] == 1:
                break
            time.sleep(0.2)
        assert _summary(api, "read-key-for-this-test-0123456789")["net_sales"] == "21.75"
    finally:
        code = first.interrupt()
    # make itself dies of the SIGINT it shares with the stack (as in a terminal); the stack says
    # it stopped cleanly and saved the state.
    assert code in (0, -2, 130), first.output
    assert "Stopped." in first.output and "Traceback" not in first.output
    # Then after a restart the figures are still there
    second = Running(["make", "--no-print-directory", "run"], environment, cwd=ROOT)
    try:
        second.wait_for("Ctrl-C", timeout=120)
        summary = _summary(api, "read-key-for-this-test-0123456789")
        assert (summary["orders"], summary["units"], summary["net_sales"]) == (1, 3, "21.75")
    finally:
        second.interrupt()
    assert "Stopped." in second.output and "Traceback" not in second.output
