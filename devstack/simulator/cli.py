"""``storepulse simulate``: the simulated store sent to the ingest API, once or live.

:func:`backfill` sends a history ending now; :func:`live` rebuilds that same store and keeps it
going in real time (``make run`` runs both next to the stack); :func:`run_cli` is the command.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from tqdm import tqdm

from backend.settings import get_settings
from devstack.simulator.sender import ApiUnreachable, SimulatorError, send
from devstack.simulator.store import Event, Store, generate


def _store_settings(tz: str | None, currency: str | None) -> tuple[str, str]:
    # The store's zone and currency are the stack's settings; the simulator must agree with
    # them or every order would be refused for its currency.
    settings = get_settings()
    return tz or settings.store_timezone, currency or settings.store_currency


def backfill(
    api_url: str,
    ingest_key: str,
    days: int = 90,
    orders_per_day: int = 60,
    seed: int = 7,
    *,
    tz: str | None = None,
    currency: str | None = None,
    progress: bool = True,
) -> dict[str, int]:
    """Generate ``days`` of history ending now and send them through the ingest API.

    Sending the same backfill twice on the same day is harmless: every event comes back as
    a duplicate.

    Parameters
    ----------
    api_url, ingest_key
        Where to send, as for :func:`send`.
    days, orders_per_day, seed
        The store, as for :func:`generate`.
    tz, currency
        The store's time zone and currency; ``STORE_TIMEZONE`` / ``STORE_CURRENCY`` by default.
    progress
        Show a progress bar.

    Returns
    -------
    dict
        The totals of :func:`send`.

    Examples
    --------
    Against a running stack (``make run``)::

        backfill("http://127.0.0.1:8000", ingest_key, days=7)
    """
    zone, money = _store_settings(tz, currency)
    events = generate(days, orders_per_day, seed, tz=zone, currency=money)
    return send(events, api_url, ingest_key, progress=progress)


def _session_tag(clock: datetime) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    value, out = int(clock.timestamp() * 10), ""
    while value:
        value, rest = divmod(value, 36)
        out = digits[rest] + out
    return f"L{out}-"


def _trickle(
    store: Store,
    pending: list[Event],
    api_url: str,
    ingest_key: str,
    orders_per_minute: float,
    stop: threading.Event,
    progress: bool,
    clock: Callable[[], datetime],
) -> dict[str, int]:
    """Orders arrive as a Poisson process in real time; what is due is sent as it happens."""
    now = clock()
    store.go_live(_session_tag(now), random.Random())
    rate = max(orders_per_minute, 1e-6) / 60  # orders a second
    next_order = now + timedelta(seconds=store.rng.expovariate(rate))
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    warned = False
    with requests.Session() as http, tqdm(unit="events", desc="live", disable=not progress) as bar:
        while not stop.is_set():
            now = clock()
            while next_order <= now:
                store.add_order(next_order.replace(microsecond=0))
                next_order += timedelta(seconds=store.rng.expovariate(rate))
            pending += store.run_until(now)
            if pending:
                try:
                    result = send(
                        pending, api_url, ingest_key, progress=False, session=http, retries=1, timeout=10
                    )
                except ApiUnreachable as exc:
                    # Keep the events and try again on the next tick: the API may be restarting.
                    if not warned:
                        tqdm.write(f"live: {exc}; will keep trying", file=sys.stderr)
                        warned = True
                else:
                    warned = False
                    bar.update(len(pending))
                    pending.clear()
                    for key in totals:
                        totals[key] += result[key]
            pause = (next_order - clock()).total_seconds()
            stop.wait(min(max(pause, 0.05), 5.0))
    return totals


def live(
    api_url: str,
    ingest_key: str,
    orders_per_minute: float = 2.0,
    stop: threading.Event | None = None,
    *,
    days: int = 90,
    orders_per_day: int = 60,
    seed: int = 7,
    tz: str | None = None,
    currency: str | None = None,
    progress: bool = True,
    clock: Callable[[], datetime] | None = None,
) -> dict[str, int]:
    """Keep the store going in real time until ``stop`` is set (or Ctrl-C).

    The store is the one :func:`backfill` sent with the same ``days``, ``orders_per_day`` and
    ``seed``: its catalogue, stock and customers are rebuilt by replaying that history, and
    today's events so far are sent again (acknowledged as duplicates when already there), so
    that nothing between the end of the backfill and the start of the trickle is missing.
    After that, orders arrive at random at ``orders_per_minute``, returning customers come
    back, stock runs down and is replenished, and refunds follow, all with new ids.

    Parameters
    ----------
    api_url, ingest_key
        Where to send, as for :func:`send`.
    orders_per_minute
        The average rate of new orders.
    stop
        Set it to end the trickle; without one, it runs until interrupted.
    days, orders_per_day, seed
        The backfilled store to continue.
    tz, currency
        The store's time zone and currency; ``STORE_TIMEZONE`` / ``STORE_CURRENCY`` by default.
    progress
        Show a running count of events sent.
    clock
        The current time as an aware datetime, for tests.

    Returns
    -------
    dict
        The totals of everything sent, as for :func:`send`.

    Examples
    --------
    In the background, next to a running stack::

        stop = threading.Event()
        threading.Thread(target=live, args=(api_url, ingest_key), kwargs={"stop": stop}).start()
        ...
        stop.set()
    """
    zone_name, money = _store_settings(tz, currency)
    now_fn = clock or (lambda: datetime.now(UTC))
    store, catch_up = _replay(days, orders_per_day, seed, ZoneInfo(zone_name), money, now_fn())
    today = store._day_start(store._local_day(now_fn()))
    pending = [e for e in catch_up if datetime.fromisoformat(e["occurred_at"]) >= today]
    return _trickle(
        store, pending, api_url, ingest_key, orders_per_minute, stop or threading.Event(), progress, now_fn
    )


def _replay(
    days: int, orders_per_day: int, seed: int, zone: ZoneInfo, currency: str, now: datetime
) -> tuple[Store, list[Event]]:
    """The store after its deterministic history up to ``now``, and that history's events."""
    today = now.astimezone(zone).date()
    store = Store(
        seed=seed,
        orders_per_day=orders_per_day,
        zone=zone,
        currency=currency,
        first_day=today - timedelta(days=max(days, 1) - 1),
        last_day=today,
    )
    if days < 1:
        store.go_live("", store.rng)  # a new shop: no history, only the opening stock
    return store, store.run_until(now)


def api_target(env: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """The API's URL and the ingest key, from the environment or the local stack's key file."""
    api_url = env.get("STOREPULSE_API_URL") or (f"http://127.0.0.1:{env.get('STOREPULSE_API_PORT') or 8000}")
    key = env.get("STOREPULSE_INGEST_KEY", "")
    if not key:
        data_dir = Path(env.get("STOREPULSE_DATA_DIR") or ".data")
        candidates = [data_dir / "keys.json"]
        if not data_dir.is_absolute():  # also the project's own .data when run elsewhere
            candidates.append(Path(__file__).resolve().parents[2] / data_dir / "keys.json")
        for path in candidates:
            try:
                key = str(json.loads(path.read_text())["ingest_key"])
                break
            except (OSError, ValueError, KeyError, TypeError):
                continue
    if not key:
        raise SimulatorError(
            "no ingest key: set STOREPULSE_INGEST_KEY, or start the local stack with `make run` "
            "(it writes the dev keys to .data/keys.json)"
        )
    return api_url.rstrip("/"), key


def run_cli(namespace: Any) -> int:
    """``storepulse simulate --days N [--orders-per-day N] [--live] [--seed S]``.

    Parameters
    ----------
    namespace
        Parsed arguments with ``days``, ``orders_per_day``, ``live`` and ``seed`` (and
        optionally ``orders_per_minute``).

    Returns
    -------
    int
        The exit status: 0 when done, 1 on an error (explained in words on stderr), 130 when
        interrupted.

    Examples
    --------
    What ``storepulse simulate --days 90`` does::

        run_cli(argparse.Namespace(days=90, orders_per_day=None, live=False, seed=None))
    """
    days = int(getattr(namespace, "days", 0) or 0)
    orders_per_day = int(getattr(namespace, "orders_per_day", None) or 60)
    seed = getattr(namespace, "seed", None)
    seed = 7 if seed is None else int(seed)
    keep_going = bool(getattr(namespace, "live", False))
    per_minute = float(getattr(namespace, "orders_per_minute", None) or 2.0)
    stop = threading.Event()
    try:
        if days < 0 or orders_per_day < 0:
            raise SimulatorError("--days and --orders-per-day must not be negative")
        if days == 0 and not keep_going:
            raise SimulatorError("nothing to do: give --days N, --live, or both")
        api_url, key = api_target()
        zone_name, currency = _store_settings(None, None)
        now = datetime.now(UTC)
        store, history = _replay(days, orders_per_day, seed, ZoneInfo(zone_name), currency, now)
        if days:
            print(
                f"Simulating {days} days of a store (seed {seed}, about {orders_per_day} "
                f"orders a day, {zone_name}): {len(history)} events to {api_url}"
            )
            totals = send(history, api_url, key)
            print(
                f"Sent: {totals['accepted']} accepted, {totals['duplicates']} duplicates, "
                f"{totals['rejected']} rejected."
            )
            history = []
        if keep_going:
            print(f"Live: about {per_minute:g} orders a minute; Ctrl-C to stop.")
            _trickle(store, history, api_url, key, per_minute, stop, True, lambda: datetime.now(UTC))
        return 0
    except ApiUnreachable as exc:
        print(f"storepulse simulate: {exc}. Is `make run` running?", file=sys.stderr)
        return 1
    except SimulatorError as exc:
        print(f"storepulse simulate: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        stop.set()
        print("\nstopped.", file=sys.stderr)
        return 130
