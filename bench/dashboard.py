"""The dashboard benchmark: how soon the Overview is usable, the slowest callback, the Lambda
package's size and the packaged app's cold import.

``python bench/dashboard.py [--days 90] [--orders-per-day 20] [--runs 5] [--no-package]``

1. Starts a throwaway local stack (its own ports and data directory), sends a simulated store
   through the real ingest API and waits until the pipeline is idle.
2. Serves the dashboard from this process on a free port, signs in with headless Chromium
   (Debian's ``chromium`` + ``chromedriver``), then opens the Overview ``--runs`` times for the
   last 30 days: the time from navigation until the net-sales card shows a value and the sales
   trend is drawn (median and worst); the same for a product page (``/products/<sku>``: its
   cards and its trend drawn).
3. Live Overview: with the Overview open, sends one order through the ingest API and times
   until the Orders card changes, without reloading (``--runs`` orders).
4. Opens every page once and changes the sales grouping; every Dash callback request is timed
   on the server (``/_dash-update-component``, including the page layouts): the slowest ones.
5. Builds ``build/dashboard.zip`` with ``make package-dashboard`` (unless ``--no-package``): zipped and
   unzipped size, and the cold import of the packaged ``dashboard.app`` in a bare interpreter
   that sees only the unpacked zip and the Lambda runtime's own boto3 (median of 3).

Prints the figures; writes them as JSON to ``.data/bench/dashboard.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devstack.aws import free_port
from devstack.http_api import HttpServer
from devstack.simulator import generate, send
from devstack.stack import LocalStack, StackOptions

ROOT = Path(__file__).resolve().parents[1]
USER, PASSWORD = "bench", "bench-password"
PAGES = ("/", "/sales", "/customers", "/inventory", "/alerts", "/reports", "/digests")
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py")


def start_stack(data_dir: Path) -> LocalStack:
    options = StackOptions.from_environment(
        {},
        data_dir=data_dir,
        api_port=free_port(),
        aws_port=free_port(),
        snapshot_interval=None,
        run_schedules=False,
        # Settle in seconds, not after the lake's production batching window.
        batching_window_seconds=0.2,
    )
    return LocalStack(options).start()


def serve_dashboard(stack: LocalStack) -> tuple[HttpServer, dict[str, list[float]]]:
    """The dashboard on a free port, with every callback request timed by output."""
    assert stack.keys is not None
    os.environ.update(
        STOREPULSE_API_URL=stack.api_url,
        STOREPULSE_READ_KEY=stack.keys.read_key,
        STOREPULSE_DASH_USER=USER,
        STOREPULSE_DASH_PASSWORD=PASSWORD,
        STOREPULSE_DASH_SECRET="bench-secret",
        STORE_TIMEZONE=stack.options.store_timezone,
    )
    from flask import g, request

    from dashboard.app import server

    timings: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()

    def started() -> None:
        g.bench_started = time.perf_counter()

    def finished(response: Any) -> Any:
        if request.path == "/_dash-update-component":
            output = str((request.get_json(silent=True) or {}).get("output", "?"))
            with lock:
                timings[output].append(time.perf_counter() - g.bench_started)
        return response

    server.before_request_funcs.setdefault(None, []).insert(0, started)
    server.after_request(finished)
    http = HttpServer(server, port=free_port(), name="dashboard")
    http.start()
    return http, timings


def browser() -> Any:
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    for argument in ("--headless", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    return webdriver.Chrome(options=options)


def wait(driver: Any, script: str, timeout: float = 120, *args: Any) -> None:
    deadline = time.monotonic() + timeout
    while not driver.execute_script(script, *args):
        if time.monotonic() > deadline:
            raise TimeoutError(script)
        time.sleep(0.01)


USABLE = (
    "var k = document.getElementById('overview-kpi-net_sales');"
    "var p = document.querySelector('#overview-trend-graph .js-plotly-plot');"
    "return !!(k && k.textContent && p && p.data && p.data.length);"
)
IDLE = (
    "return !document.querySelector('[data-dash-is-loading=\"true\"]')"
    " && !!document.querySelector('#_pages_content > div');"
)


PRODUCT_USABLE = (
    "var k = document.getElementById('product-kpi-units');"
    "var p = document.querySelector('#product-trend-graph .js-plotly-plot');"
    "var e = document.getElementById('product-trend-empty');"
    "return !!(k && k.textContent && ((p && p.data && p.data.length) || e));"
)
ORDERS_CARD = "var k = document.getElementById('overview-kpi-orders'); return k ? k.textContent : '';"
ORDERS_CARD_CHANGED = (
    "var k = document.getElementById('overview-kpi-orders'); return !!k && k.textContent !== arguments[0];"
)


def live_order(number: int) -> dict[str, Any]:
    """One order placed now (a SKU the simulated store sells), for the live Overview."""
    stamp = f"{datetime.now(UTC):%H%M%S%f}-{number}"
    return {
        "event_id": f"bench-live-{stamp}",
        "type": "order.placed",
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": {
            "order_id": f"BENCH-LIVE-{stamp}",
            "customer_id": f"C-BENCH-LIVE-{stamp}",
            "lines": [{"sku": "APP-1001", "quantity": 1, "unit_price": "10.00"}],
            "discount": "0.00",
            "shipping": "0.00",
            "tax": "0.00",
            "currency": "USD",
            "channel": "web",
        },
    }


def sold_skus(events: list[dict[str, Any]], count: int) -> list[str]:
    """The ``count`` best-selling SKUs of the history sent: product pages with a trend to draw
    (SKUs named from the simulated store, not guessed: a page of an unknown SKU never shows its
    figures).

    >>> lines = [{"sku": "B", "quantity": 2}, {"sku": "A", "quantity": 1}]
    >>> order = {"type": "order.placed", "data": {"lines": lines}}
    >>> sold_skus([order, {"type": "customer.registered", "data": {}}], 2)
    ['B', 'A']
    """
    units: dict[str, int] = {}
    for event in events:
        if event["type"] == "order.placed":
            for line in event["data"]["lines"]:
                units[line["sku"]] = units.get(line["sku"], 0) + int(line["quantity"])
    return sorted(units, key=lambda sku: (-units[sku], sku))[:count]


def measure_browser(url: str, runs: int, today: Any, stack: LocalStack, skus: list[str]) -> dict[str, Any]:
    driver = browser()
    try:
        driver.get(f"{url}/login")
        driver.find_element("id", "login-username").send_keys(USER)
        driver.find_element("id", "login-password").send_keys(PASSWORD)
        driver.find_element("id", "login-submit").click()
        wait(driver, "return !!document.getElementById('shell-sign-out');")

        def overview(end: Any) -> float:
            driver.get("about:blank")
            started = time.perf_counter()
            driver.get(f"{url}/?start={end - timedelta(days=29)}&end={end}")
            wait(driver, USABLE)
            return time.perf_counter() - started

        overview(today - timedelta(days=40))  # warms the browser's cache of Dash's scripts
        # A range not seen before (the dashboard asks the API) and the same again (its cache).
        first_view = [overview(today - timedelta(days=run)) for run in range(runs)]
        repeat_view = [overview(today - timedelta(days=run)) for run in range(runs)]

        def product(sku: str, end: Any) -> float:
            driver.get("about:blank")
            started = time.perf_counter()
            driver.get(f"{url}/products/{sku}?start={end - timedelta(days=29)}&end={end}")
            wait(driver, PRODUCT_USABLE)
            return time.perf_counter() - started

        product_first = [product(sku, today) for sku in skus]
        product_repeat = [product(sku, today) for sku in skus]

        assert stack.keys is not None
        driver.get(f"{url}/")
        wait(driver, USABLE)
        driver.execute_script("window.__benchNotReloaded = true;")
        live = []
        for number in range(runs):
            before = driver.execute_script(ORDERS_CARD)
            sent = time.perf_counter()
            send([live_order(number)], stack.api_url, stack.keys.ingest_key, progress=False)
            wait(driver, ORDERS_CARD_CHANGED, 60, before)
            live.append(time.perf_counter() - sent)
        assert driver.execute_script("return window.__benchNotReloaded === true;"), "the Overview reloaded"
        query = f"?start={today - timedelta(days=29)}&end={today}"
        for path in PAGES:
            driver.get(f"{url}{path}{query}")
            time.sleep(0.3)
            wait(driver, IDLE)
            time.sleep(0.5)
        driver.get(f"{url}/sales{query}")
        wait(driver, IDLE)
        from selenium.webdriver.support.ui import Select

        granularity = '[id=\'{"page":"sales","param":"granularity","type":"view-control"}\']'
        Select(driver.find_element("css selector", granularity)).select_by_value("week")
        time.sleep(1.0)
        wait(driver, IDLE)
        return {
            "overview_usable_seconds": {"first_view": first_view, "repeat_view": repeat_view},
            "product_usable_seconds": {"first_view": product_first, "repeat_view": product_repeat},
            "live_order_seconds": live,
        }
    finally:
        driver.quit()


def measure_package(build: bool) -> dict[str, Any]:
    if build:
        subprocess.run(
            ["make", "--no-print-directory", "package-dashboard"], cwd=ROOT, check=True, capture_output=True
        )
    archive = ROOT / "build" / "dashboard.zip"
    if not archive.exists():
        return {}
    with zipfile.ZipFile(archive) as zipped:
        unzipped = sum(info.file_size for info in zipped.infolist())
        work = Path(tempfile.mkdtemp(prefix="dash-package-"))
        zipped.extractall(work / "lambda")
    (site_packages,) = (ROOT / ".venv-dashboard" / "lib").glob("python3.*/site-packages")
    (work / "runtime").mkdir()
    for name in RUNTIME_PACKAGES:
        (work / "runtime" / name).symlink_to(site_packages / name)
    script = (
        f"import sys, time; sys.path[:0] = [{str(work / 'lambda')!r}, {str(work / 'runtime')!r}]\n"
        "t = time.perf_counter(); import dashboard.app; print(time.perf_counter() - t)"
    )
    environment = {
        "PATH": "/usr/bin:/bin",
        "STOREPULSE_DASH_SECRET": "x",
        "DASH_REQUESTS_PATHNAME_PREFIX": "/dev/",
    }
    imports = []
    for _ in range(3):
        run = subprocess.run(
            [sys.executable, "-I", "-S", "-c", script],
            cwd=work / "lambda",
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        imports.append(float(run.stdout.strip().splitlines()[-1]))
    return {
        "zipped_bytes": archive.stat().st_size,
        "unzipped_bytes": unzipped,
        "cold_import_seconds": imports,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--orders-per-day", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-package", action="store_true", help="measure build/dashboard.zip as it is")
    args = parser.parse_args()

    results: dict[str, Any] = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}",
        "load_average": os.getloadavg(),
    }
    print(
        "Packaging the dashboard (make package-dashboard)..."
        if not args.no_package
        else "Measuring build/dashboard.zip..."
    )
    results["package"] = measure_package(not args.no_package)
    with tempfile.TemporaryDirectory(prefix="storepulse-bench-dash-") as data_dir:
        stack = start_stack(Path(data_dir))
        try:
            assert stack.keys is not None
            zone = stack.options.store_timezone
            today = datetime.now(ZoneInfo(zone)).date()
            events = generate(days=args.days, orders_per_day=args.orders_per_day, seed=5, end=today, tz=zone)
            print(f"Sending {len(events)} events ({args.days} days) through the ingest API...")
            send(events, stack.api_url, stack.keys.ingest_key)
            stack.wait_idle(600)
            dashboard, timings = serve_dashboard(stack)
            try:
                skus = sold_skus(events, args.runs)
                results.update(measure_browser(dashboard.url, args.runs, today, stack, skus))
            finally:
                dashboard.stop()
        finally:
            stack.stop(drain_timeout=5)
    slowest = sorted(((max(v), k, len(v)) for k, v in timings.items()), reverse=True)[:5]
    results["slowest_callbacks"] = [{"output": k, "worst_seconds": s, "calls": n} for s, k, n in slowest]
    results["load_average_after"] = os.getloadavg()

    package = results["package"]
    print("\nOverview usable (net sales card + trend drawn), target <= 1.5 s:")
    for name, usable in results["overview_usable_seconds"].items():
        median, worst = statistics.median(usable), max(usable)
        print(f"  {name}: median {median:.2f} s, worst {worst:.2f} s ({len(usable)} runs)")
    print("Product page usable (cards + trend drawn), target <= 1.5 s:")
    for name, usable in results["product_usable_seconds"].items():
        median, worst = statistics.median(usable), max(usable)
        print(f"  {name}: median {median:.2f} s, worst {worst:.2f} s ({len(usable)} runs)")
    live = results["live_order_seconds"]
    print(
        "A new order on the live Overview (sent -> Orders card changed, no reload), target <= 5 s: "
        f"median {statistics.median(live):.2f} s, worst {max(live):.2f} s ({len(live)} orders)"
    )
    print("Slowest callbacks (server side, worst of their calls):")
    for row in results["slowest_callbacks"]:
        print(f"  {row['worst_seconds']:.2f} s  {row['output']}  ({row['calls']} calls)")
    if not package:
        print("Package: not measured (no build/dashboard.zip; run without --no-package)")
    else:
        print_package(package)
    print(f"Load average before/after: {results['load_average']} / {results['load_average_after']}")
    out = ROOT / ".data" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "dashboard.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


def print_package(package: dict[str, Any]) -> None:
    print(
        f"Package: {package['zipped_bytes'] / 2**20:.1f} MiB zipped (target <= 50 MB), "
        f"{package['unzipped_bytes'] / 2**20:.1f} MiB unzipped (Lambda limit 250 MB)"
    )
    print(
        "Cold import of the packaged dashboard.app: "
        f"median {statistics.median(package['cold_import_seconds']):.2f} s "
        f"(target <= 1 s); runs {', '.join(f'{s:.2f}' for s in package['cold_import_seconds'])}"
    )


if __name__ == "__main__":
    sys.exit(main())
