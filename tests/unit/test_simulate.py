"""The simulated store: plausible, deterministic, always valid, and sent like a real client."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.domain.events import parse_event
from devstack.simulator import ApiUnreachable, IngestRefused, generate, send, sender
from devstack.simulator import cli as simulate
from tests import oracle

END = date(2025, 6, 30)
NEW_YORK = "America/New_York"


@pytest.fixture(scope="module")
def quarter() -> list[dict[str, Any]]:
    """90 days of the default store, in New York."""
    return generate(90, 60, seed=7, end=END, tz=NEW_YORK)


def of_type(events: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == event_type]


# -- determinism and validity ----------------------------------------------------------------


def test_the_same_seed_gives_the_same_events_and_another_seed_another_store() -> None:
    first = generate(10, 20, seed=3, end=END, tz=NEW_YORK)
    assert generate(10, 20, seed=3, end=END, tz=NEW_YORK) == first
    other = generate(10, 20, seed=4, end=END, tz=NEW_YORK)
    assert other != first
    # Stores with different seeds can share a stack: no id in common
    assert not {e["event_id"] for e in first} & {e["event_id"] for e in other}


def test_every_event_is_one_the_ingest_api_accepts(quarter: list[dict[str, Any]]) -> None:
    for event in quarter:
        parse_event(event, currency="USD")
    assert len({e["event_id"] for e in quarter}) == len(quarter)
    assert len({e["data"]["order_id"] for e in of_type(quarter, "order.placed")}) == len(
        of_type(quarter, "order.placed")
    )


def test_the_currency_is_the_stores() -> None:
    events = generate(3, 20, end=END, currency="EUR")
    for event in events:
        parse_event(event, currency="EUR")


def test_events_are_in_time_order_within_the_window(quarter: list[dict[str, Any]]) -> None:
    instants = [datetime.fromisoformat(e["occurred_at"]) for e in quarter]
    assert instants == sorted(instants)
    zone = ZoneInfo(NEW_YORK)
    days = {moment.astimezone(zone).date() for moment in instants}
    assert min(days) == END - timedelta(days=89)
    assert max(days) == END


def test_money_is_always_a_string_with_two_decimals(quarter: list[dict[str, Any]]) -> None:
    def two_decimals(value: Any) -> bool:
        return isinstance(value, str) and len(value.partition(".")[2]) == 2

    for event in of_type(quarter, "order.placed"):
        data = event["data"]
        assert all(two_decimals(data[k]) for k in ("discount", "shipping", "tax"))
        assert all(two_decimals(line["unit_price"]) for line in data["lines"])
    assert all(two_decimals(e["data"]["amount"]) for e in of_type(quarter, "order.refunded"))
    assert all(two_decimals(e["data"]["price"]) for e in of_type(quarter, "product.upserted"))


def test_generating_a_quarter_is_fast() -> None:
    # CPU time, not the wall clock: on a machine busy with other work the wall clock says nothing
    # of the generator (it failed at 1.9 s on a load of 20; its CPU time there was under 1 s).
    started = time.process_time()
    generate(90, 60, seed=1, end=END)
    assert time.process_time() - started < 1.5


def test_nothing_is_generated_after_now() -> None:
    now = datetime(2025, 6, 30, 15, 0, tzinfo=UTC)
    events = generate(5, 40, end=END, now=now)
    assert max(datetime.fromisoformat(e["occurred_at"]) for e in events) <= now
    assert generate(5, 40, end=END, now=now) == events


def test_a_run_stopped_early_is_a_prefix_of_the_full_run() -> None:
    # What lets the live trickle continue a backfill: stopping changes nothing before the stop
    full = generate(6, 40, seed=5, end=END, tz=NEW_YORK)
    cut = datetime(2025, 6, 28, 17, 45, 12, tzinfo=UTC)
    early = generate(6, 40, seed=5, end=END, tz=NEW_YORK, now=cut)
    assert early == [e for e in full if datetime.fromisoformat(e["occurred_at"]) <= cut]


def test_time_zone_offsets_are_right_across_both_dst_changes() -> None:
    zone = ZoneInfo(NEW_YORK)
    for end in (date(2025, 3, 15), date(2025, 11, 8)):
        events = generate(14, 30, end=end, tz=NEW_YORK)
        offsets: Counter[str] = Counter()
        for event in events:
            moment = datetime.fromisoformat(event["occurred_at"])
            # The offset written is the zone's offset at that instant, and the wall time exists
            assert moment.utcoffset() == moment.astimezone(zone).utcoffset()
            assert moment.astimezone(zone).isoformat() == event["occurred_at"]
            offsets[event["occurred_at"][-6:]] += 1
        assert set(offsets) == {"-05:00", "-04:00"}


def test_utc_stores_write_an_explicit_offset() -> None:
    assert all(e["occurred_at"].endswith("+00:00") for e in generate(2, 10, end=END))


# -- plausibility ------------------------------------------------------------------------------


def test_the_catalogue_comes_first(quarter: list[dict[str, Any]]) -> None:
    products = of_type(quarter, "product.upserted")
    skus = {e["data"]["sku"] for e in products}
    assert 100 <= len(skus) <= 140
    assert len({e["data"]["category"] for e in products}) == 8
    assert len({e["data"]["name"] for e in products[: len(skus)]}) == len(skus)
    # Every product and its opening stock come before the first order
    first_order = next(i for i, e in enumerate(quarter) if e["type"] == "order.placed")
    opened = {e["data"]["sku"] for e in quarter[:first_order] if e["type"] == "inventory.adjusted"}
    assert opened == skus


def test_returning_customers_place_about_a_third_of_the_orders(
    quarter: list[dict[str, Any]],
) -> None:
    seen: set[str] = set()
    lines: dict[bool, list[int]] = {True: [], False: []}
    orders = of_type(quarter, "order.placed")
    for event in orders:
        customer = event["data"]["customer_id"]
        lines[customer in seen].append(len(event["data"]["lines"]))
        seen.add(customer)
    assert 0.25 <= len(lines[True]) / len(orders) <= 0.35
    # And returning buyers put more in their baskets than first-timers
    # (1 to 4 lines picked; a planted bundle adds its other products, at most two per line)
    assert {1, 2, 3, 4} <= set(lines[True]) | set(lines[False]) <= set(range(1, 4 * 3 + 1))
    assert sum(lines[True]) / len(lines[True]) > sum(lines[False]) / len(lines[False])


def test_orders_follow_the_week_the_trend_and_the_mix(quarter: list[dict[str, Any]]) -> None:
    orders = of_type(quarter, "order.placed")
    assert 50 * 90 <= len(orders) <= 70 * 90
    zone = ZoneInfo(NEW_YORK)
    days = [datetime.fromisoformat(e["occurred_at"]).astimezone(zone).date() for e in orders]
    weekend = sum(d.weekday() >= 5 for d in days) / 26
    weekday = sum(d.weekday() < 5 for d in days) / 64
    assert weekend > weekday
    first_month = sum(d < END - timedelta(days=60) for d in days)
    last_month = sum(d > END - timedelta(days=30) for d in days)
    assert last_month > first_month
    channels = Counter(e["data"]["channel"] for e in orders)
    assert set(channels) == {"web", "mobile", "marketplace", "pos"}
    assert channels["web"] > channels["mobile"] > channels["marketplace"] > channels["pos"]
    discounted = sum(e["data"]["discount"] != "0.00" for e in orders) / len(orders)
    assert 0.15 <= discounted <= 0.25
    popularity = Counter(line["sku"] for e in orders for line in e["data"]["lines"])
    top = [count for _, count in popularity.most_common()]
    assert top[0] > 10 * top[len(top) // 2]  # a few best sellers and a long tail


def test_refunds_follow_their_order_and_never_exceed_its_net(
    quarter: list[dict[str, Any]],
) -> None:
    orders = {e["data"]["order_id"]: e for e in of_type(quarter, "order.placed")}
    refunds = of_type(quarter, "order.refunded")
    assert 0.03 <= len(refunds) / len(orders) <= 0.05
    assert any("restock" in e["data"] for e in refunds)
    for event in refunds:
        data = event["data"]
        placed = orders[data["order_id"]]
        lines = placed["data"]["lines"]
        gross = sum(Decimal(line["unit_price"]) * line["quantity"] for line in lines)
        net = gross - Decimal(placed["data"]["discount"])
        assert Decimal("0") < Decimal(data["amount"]) <= net
        assert datetime.fromisoformat(event["occurred_at"]) > datetime.fromisoformat(placed["occurred_at"])
        ordered = {line["sku"]: line["quantity"] for line in lines}
        for item in data.get("restock", []):
            assert item["quantity"] <= ordered[item["sku"]]


def test_stock_runs_low_and_out_and_is_replenished(quarter: list[dict[str, Any]]) -> None:
    points = oracle.reorder_points(quarter)
    stock: Counter[str] = Counter()
    went_low: set[str] = set()
    went_out: set[str] = set()
    for event in quarter:
        data = event["data"]
        if event["type"] == "inventory.adjusted":
            stock[data["sku"]] += data["delta"]
        elif event["type"] == "order.placed":
            for line in data["lines"]:
                stock[line["sku"]] -= line["quantity"]
                if stock[line["sku"]] <= 0:
                    went_out.add(line["sku"])
                elif stock[line["sku"]] <= points[line["sku"]]:
                    went_low.add(line["sku"])
        elif event["type"] == "order.refunded":
            for item in data.get("restock", []):
                stock[item["sku"]] += item["quantity"]
    assert stock == Counter(oracle.on_hand(quarter))
    assert len(went_low) > 20 and 3 <= len(went_out) <= 60
    reasons = Counter(e["data"]["reason"] for e in of_type(quarter, "inventory.adjusted"))
    assert reasons["restock"] > len(points)  # opening stock and replenishments
    assert reasons["damage"] > 0 and reasons["correction"] > 0
    # Most of the catalogue is in stock at the end
    assert sum(units > 0 for units in stock.values()) > 0.8 * len(points)


def test_customers_register_with_a_country_and_mostly_an_email(
    quarter: list[dict[str, Any]],
) -> None:
    registered = of_type(quarter, "customer.registered")
    countries = Counter(e["data"]["country"] for e in registered)
    assert countries.most_common(1)[0][0] == "US"
    with_email = [e for e in registered if "email" in e["data"]]
    assert 0.8 <= len(with_email) / len(registered) < 1
    assert all(e["data"]["email"].endswith("@example.com") for e in with_email)
    # Every buyer's first order comes after their registration, when they registered
    when = {e["data"]["customer_id"]: e["occurred_at"] for e in registered}
    for event in of_type(quarter, "order.placed"):
        customer = event["data"]["customer_id"]
        assert datetime.fromisoformat(when[customer]) <= datetime.fromisoformat(event["occurred_at"])


# -- sending -----------------------------------------------------------------------------------


@dataclass
class FakeIngest:
    """A stand-in for the ingest API: records requests, answers from a script."""

    url: str = ""
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    script: list[tuple[int, dict[str, Any] | None]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append((headers, body))
            if self.script:
                status, payload = self.script.pop(0)
                if payload is not None:
                    return status, payload
            ids = [e["event_id"] for e in body["events"]]
            fresh = [i for i in ids if i not in self.seen]
            self.seen.update(ids)
            return 202, {"accepted": len(fresh), "duplicates": len(ids) - len(fresh), "rejected": []}


@pytest.fixture
def ingest() -> Iterator[FakeIngest]:
    fake = FakeIngest()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["content-length"])
            body = json.loads(self.rfile.read(length))
            status, payload = fake.answer({k.lower(): v for k, v in self.headers.items()}, body)
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sender, "RETRY_BACKOFF_SECONDS", 0.0)


def closed_port_url() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    server.server_close()
    return url


def test_send_posts_batches_with_the_key_and_adds_up_the_answers(ingest: FakeIngest) -> None:
    events = generate(4, 30, end=END)
    totals = send(events, ingest.url, "k-ingest", batch_size=100, progress=False)
    assert totals == {"accepted": len(events), "duplicates": 0, "rejected": 0}
    assert all(headers["x-api-key"] == "k-ingest" for headers, _ in ingest.requests)
    sizes = [len(body["events"]) for _, body in ingest.requests]
    assert max(sizes) == 100 and sum(sizes) == len(events)
    assert [e for _, body in ingest.requests for e in body["events"]] == events
    # Sending again is harmless: all duplicates
    again = send(events, ingest.url, "k-ingest", progress=False)
    assert again == {"accepted": 0, "duplicates": len(events), "rejected": 0}


def test_send_retries_a_5xx_and_the_retry_counts_once(ingest: FakeIngest, no_backoff: None) -> None:
    events = generate(1, 5, end=END)[:20]
    ingest.script = [(503, {"error": {"code": "unavailable", "message": "busy", "details": []}})]
    totals = send(events, ingest.url, "k", progress=False)
    assert totals["accepted"] == len(events)
    assert len(ingest.requests) == 2


def test_send_stops_on_a_4xx_with_the_apis_message(ingest: FakeIngest) -> None:
    ingest.script = [(401, {"error": {"code": "unauthorized", "message": "invalid API key", "details": []}})]
    with pytest.raises(IngestRefused, match="401: invalid API key") as refused:
        send(generate(1, 5, end=END), ingest.url, "wrong", progress=False)
    assert "STOREPULSE_INGEST_KEY" in str(refused.value)
    assert len(ingest.requests) == 1


def test_send_counts_rejections(ingest: FakeIngest) -> None:
    events = generate(1, 5, end=END)[:3]
    ingest.script = [
        (
            202,
            {
                "accepted": 2,
                "duplicates": 0,
                "rejected": [{"index": 1, "event_id": "x", "errors": ["data: bad"]}],
            },
        )
    ]
    assert send(events, ingest.url, "k", progress=False) == {"accepted": 2, "duplicates": 0, "rejected": 1}


def test_send_gives_up_on_an_unreachable_api(no_backoff: None) -> None:
    with pytest.raises(ApiUnreachable, match="cannot reach the ingest API"):
        send(generate(1, 5, end=END), closed_port_url(), "k", progress=False, retries=2)


def test_live_continues_the_store_with_new_ids(ingest: FakeIngest) -> None:
    # Given a store backfilled for 3 days, and a fast trickle running for a moment
    backfilled = simulate.backfill(
        ingest.url, "k", days=3, orders_per_day=20, seed=9, tz="UTC", currency="USD", progress=False
    )
    before = set(ingest.seen)
    stop = threading.Event()
    result: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: result.update(
            simulate.live(
                ingest.url,
                "k",
                orders_per_minute=1200,
                stop=stop,
                days=3,
                orders_per_day=20,
                seed=9,
                tz="UTC",
                currency="USD",
                progress=False,
            )
        )
    )
    worker.start()
    deadline = time.monotonic() + 10
    while len(ingest.seen) < len(before) + 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    worker.join(timeout=10)
    assert not worker.is_alive()
    # Then new orders arrived, valid, with ids unseen before, from the same catalogue
    sent = [e for _, body in ingest.requests for e in body["events"]]
    new = [e for e in sent if e["event_id"] not in before]
    assert backfilled["accepted"] == len(before)
    assert any(e["type"] == "order.placed" for e in new)
    catalogue = {e["data"]["sku"] for e in sent if e["type"] == "product.upserted"}
    for event in new:
        parse_event(event, currency="USD")
        for line in event["data"].get("lines", []):
            assert line["sku"] in catalogue
    assert result["accepted"] == len(new)


# -- the command line --------------------------------------------------------------------------


def cli_args(**overrides: Any) -> SimpleNamespace:
    return SimpleNamespace(**{"days": 2, "orders_per_day": 10, "live": False, "seed": 7, **overrides})


def test_cli_backfills_with_the_key_from_the_stacks_key_file(
    ingest: FakeIngest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "keys.json").write_text(json.dumps({"ingest_key": "from-file", "read_key": "r"}))
    monkeypatch.setenv("STOREPULSE_API_URL", ingest.url)
    monkeypatch.delenv("STOREPULSE_INGEST_KEY", raising=False)
    monkeypatch.setenv("STOREPULSE_DATA_DIR", str(tmp_path))
    assert simulate.run_cli(cli_args()) == 0
    assert ingest.requests[0][0]["x-api-key"] == "from-file"
    assert "accepted" in capsys.readouterr().out


def test_the_environment_key_and_port_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOREPULSE_API_URL", raising=False)
    monkeypatch.setenv("STOREPULSE_API_PORT", "8123")
    monkeypatch.setenv("STOREPULSE_INGEST_KEY", "from-env")
    assert simulate.api_target() == ("http://127.0.0.1:8123", "from-env")


def test_cli_says_in_words_when_the_api_is_down(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_backoff: None,
) -> None:
    monkeypatch.setenv("STOREPULSE_API_URL", closed_port_url())
    monkeypatch.setenv("STOREPULSE_INGEST_KEY", "k")
    assert simulate.run_cli(cli_args()) == 1
    err = capsys.readouterr().err
    assert "make run" in err and "Traceback" not in err


def test_cli_says_in_words_when_there_is_no_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("STOREPULSE_INGEST_KEY", raising=False)
    monkeypatch.setenv("STOREPULSE_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert simulate.run_cli(cli_args()) == 1
    assert "STOREPULSE_INGEST_KEY" in capsys.readouterr().err


def test_cli_refuses_to_do_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert simulate.run_cli(cli_args(days=0)) == 1
    assert "--days" in capsys.readouterr().err
