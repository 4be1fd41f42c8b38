"""``storepulse stack``: the local stack in the foreground until Ctrl-C (``make run``).

It prints where everything is, seeds demo data through the public ingest API when the store
is empty, keeps a live trickle flowing, and on Ctrl-C stops within seconds, losing nothing
(see :meth:`LocalStack.stop`). A second Ctrl-C stops at once: what was acknowledged is in the
journal and the last snapshot, and comes back at the next start.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import signal
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from types import FrameType
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from devstack import memtrace
from devstack.http_api import HttpServer
from devstack.stack import LocalStack, StackError, StackOptions

logger = logging.getLogger(__name__)

BACKFILL_DAYS = 90


def _dashboard_server() -> Any | None:
    """The dashboard's WSGI app, when a ``dashboard.app`` module with one exists."""
    try:
        if importlib.util.find_spec("dashboard.app") is None:
            return None
    except ModuleNotFoundError:
        return None
    module = importlib.import_module("dashboard.app")
    server = getattr(module, "server", None)
    if server is None:
        server = getattr(getattr(module, "app", None), "server", None)
    return server if callable(server) else None


def _seed(stack: LocalStack, stopping: threading.Event) -> None:
    """Backfill when the store is empty, then keep a live trickle (in a daemon thread)."""
    assert stack.keys is not None
    from devstack.simulator import cli as simulate

    try:
        if not stack.has_data():
            print(f"Backfilling {BACKFILL_DAYS} days of demo data through the ingest API...", flush=True)
            simulate.backfill(stack.api_url, stack.keys.ingest_key, days=BACKFILL_DAYS)
            insights_after_backfill(stack)
            print("Backfill done; a live trickle of events keeps flowing.", flush=True)
        simulate.live(stack.api_url, stack.keys.ingest_key, stop=stopping)
    except Exception as exc:
        if not stopping.is_set():
            logger.error("the simulator stopped: %s", exc)
            logger.debug("simulator failure", exc_info=True)


# The anomaly check looks back this many closed days after a backfill, so that the demo's
# planted bad day and refund wave show as alerts without waiting for their nights.
BACKFILL_ANOMALY_DAYS = 14
# The queues whose processors write what those jobs read (the lake's gathers for minutes).
_INSIGHT_SOURCES = ("storepulse-orders", "storepulse-inventory")


def insights_after_backfill(stack: LocalStack, today: date | None = None, timeout: float = 180.0) -> None:
    """Run the nightly jobs the backfilled history would have had: the anomaly check of each of
    its last closed days before ``today`` (the store's, by default), the forecast (stock-out
    risks), the RFM segments and the bought-together pairs; once the orders and inventory
    processors have taken in the backfill. Without them a first ``make run`` would show empty
    segments and pairs until their nights."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [
            n
            for n, visible, hidden in stack._queue_depths()
            if n.endswith(_INSIGHT_SOURCES) and visible + hidden
        ]
        if not busy:
            break
        time.sleep(1)
    today = today or datetime.now(UTC).astimezone(ZoneInfo(stack.options.store_timezone)).date()
    try:
        for back in range(BACKFILL_ANOMALY_DAYS, 0, -1):
            stack.invoke_job("anomalies", day=(today - timedelta(days=back)).isoformat())
        stack.invoke_job("forecast", today=today.isoformat())
        stack.invoke_job("segments", today=today.isoformat())
        stack.invoke_job("pairs")
    except Exception as exc:  # the demo goes on; the nightly schedules run them again
        logger.warning("the insights jobs after the backfill failed: %s", exc)


def _banner(stack: LocalStack, dashboard_url: str | None, out: TextIO) -> None:
    assert stack.keys is not None
    rows = [("API", stack.api_url)]
    if dashboard_url:
        rows.append(("Dashboard", dashboard_url))
    rows += [
        ("AWS endpoint", str(stack.endpoint_url)),
        ("Data", str(stack.data_dir)),
        ("Ingest key", stack.keys.ingest_key),
        ("Read key", stack.keys.read_key),
        ("Shopify webhook URL", f"{stack.api_url}/v1/connectors/shopify"),
        ("Shopify secret", stack.keys.shopify_secret),
        ("WooCommerce webhook URL", f"{stack.api_url}/v1/connectors/woocommerce"),
        ("WooCommerce secret", stack.keys.woocommerce_secret),
    ]
    if dashboard_url:
        rows += [
            ("Dashboard user", stack.keys.dash_user),
            ("Dashboard password", stack.keys.dash_password),
        ]
    width = max(len(label) for label, _ in rows)
    print("\nstorepulse is running", file=out)
    for label, value in rows:
        print(f"  {label.ljust(width)}  {value}", file=out)
    print("Webhooks from a real store need a public URL: a tunnel to the API (docs/connectors.md).", file=out)
    print("Ctrl-C stops it; the data is kept for the next start.\n", file=out, flush=True)


def run_stack(
    options: StackOptions,
    *,
    seed: bool = True,
    dashboard_port: int = 8050,
    out: TextIO = sys.stdout,
) -> int:
    """Run the stack until SIGINT or SIGTERM; return the exit code.

    Parameters
    ----------
    options
        From :meth:`StackOptions.from_environment`.
    seed
        Run the simulator (``SEED`` is not ``0``).
    dashboard_port
        ``STOREPULSE_DASH_PORT``, used when a dashboard app exists.
    out
        Where the banner and the farewell go.

    Raises
    ------
    StackError
        When the stack cannot start.
    """
    memtrace.install("stack")
    stack = LocalStack(options)
    stopping = threading.Event()
    interrupts = 0

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            print(
                "\nStopping: saving the state (Ctrl-C again to force).",
                file=sys.stderr,
                flush=True,
            )
            stopping.set()
            return
        print(
            "Forced stop: every accepted event is in the journal and comes back at the next start.",
            file=sys.stderr,
            flush=True,
        )
        stack.kill()
        os._exit(130)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    dashboard: HttpServer | None = None
    try:
        print("Starting the local stack...", file=out, flush=True)
        stack.start()
        dashboard = _start_dashboard(stack, dashboard_port)
        _banner(stack, dashboard.url if dashboard else None, out)
        if seed and not stopping.is_set():
            threading.Thread(target=_seed, args=(stack, stopping), name="simulator", daemon=True).start()
        while not stopping.wait(0.5):
            pass
    finally:
        if dashboard is not None:
            dashboard.stop()
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"Stopped. The data is in {stack.data_dir}; the next start picks it up.", file=out, flush=True)
    return 0


def _start_dashboard(stack: LocalStack, port: int) -> HttpServer | None:
    assert stack.keys is not None
    # The dashboard knows the product only through the HTTP API: it gets its URL and key.
    os.environ["STOREPULSE_API_URL"] = stack.api_url
    os.environ.setdefault("STOREPULSE_READ_KEY", stack.keys.read_key)
    for name, value in stack.keys.dashboard_environment().items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("STORE_TIMEZONE", stack.options.store_timezone)
    try:
        server = _dashboard_server()
    except Exception as exc:
        logger.error("the dashboard cannot be loaded: %s", exc)
        return None
    if server is None:
        return None
    dashboard = HttpServer(server, port=port, name="dashboard")
    try:
        dashboard.start()
    except OSError as exc:
        raise StackError(
            f"cannot serve the dashboard on port {port} ({exc.strerror}); choose another with "
            "STOREPULSE_DASH_PORT"
        ) from None
    return dashboard
