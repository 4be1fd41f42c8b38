"""The read routes over HTTP against the pandas oracle: sales series, channels, top products,
inventory and alerts.

Given 100 days of a simulated store in America/New_York ending today (so that the inventory's
28- and 90-day windows, which end today, hold data), sent shuffled with a tenth of the events
twice through the public ingest API, every route answers what the oracle computes from the
same events.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from devstack.simulator import generate, planted_bundles, send
from tests import oracle

TZ = "America/New_York"
ZONE = ZoneInfo(TZ)
DAYS = 100
SEED = 11
MONEY = ("gross_sales", "discounts", "returns", "net_sales")


@dataclass
class Store:
    api_url: str
    read_key: str
    ingest_key: str
    events: list[dict[str, Any]]
    first: date
    last: date

    def get(self, path: str, key: str | None = None, **params: Any) -> requests.Response:
        headers = {"x-api-key": key or self.read_key}
        return requests.get(f"{self.api_url}{path}", params=params, headers=headers, timeout=30)

    def ok(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()


def _event(event_id: str, kind: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": event_id, "type": kind, "occurred_at": at.isoformat(), "data": data}


def _order(number: int, at: datetime, sku: str, quantity: int, channel: str) -> dict[str, Any]:
    data = {
        "order_id": f"edge-o{number}",
        "customer_id": f"edge-c{number}",
        "lines": [{"sku": sku, "quantity": quantity, "unit_price": "19.99"}],
        "discount": "1.00",
        "currency": "USD",
        "channel": channel,
    }
    return _event(f"edge-order-{number}", "order.placed", at, data)


def _edge_cases(today: date) -> list[dict[str, Any]]:
    """What a quiet simulated store rarely shows: orders either side of a Sunday's midnight, a
    SKU sold beyond its stock, one never stocked, one stocked but never described."""
    monday = datetime.combine(today - timedelta(days=today.weekday()), time(), tzinfo=ZONE)

    def product(sku: str, reorder_point: int) -> dict[str, Any]:
        data = {
            "sku": sku,
            "name": sku.title(),
            "category": "Edge",
            "price": "19.99",
            "reorder_point": reorder_point,
        }
        return _event(f"edge-product-{sku}", "product.upserted", monday - timedelta(days=20), data)

    def adjust(sku: str, delta: int, days_before: int) -> dict[str, Any]:
        data = {"sku": sku, "delta": delta, "reason": "restock"}
        return _event(f"edge-adjust-{sku}", "inventory.adjusted", monday - timedelta(days=days_before), data)

    sunday_night = monday - timedelta(days=7, seconds=30)  # 23:59:30, New York time
    monday_morning = monday - timedelta(days=7) + timedelta(seconds=30)  # 00:00:30

    def refund(number: int, days_before: int) -> dict[str, Any]:
        data = {
            "order_id": f"edge-o{number}",
            "refund_id": f"edge-channel-r{number}",
            "amount": "2.50",
            "currency": "USD",
        }
        return _event(f"edge-refund-{number}", "order.refunded", monday - timedelta(days=days_before), data)

    return [
        product("EDGE-OVERSOLD", 3),
        product("EDGE-NEVER-STOCKED", 1),
        adjust("EDGE-OVERSOLD", 2, 10),
        adjust("EDGE-UNDESCRIBED", 5, 9),
        _order(1, sunday_night, "EDGE-OVERSOLD", 3, "marketplace"),
        _order(2, monday_morning, "EDGE-OVERSOLD", 1, "pos"),
        # An order and a refund in every channel, whatever the simulated store did
        _order(3, monday - timedelta(days=8), "EDGE-UNDESCRIBED", 1, "web"),
        _order(4, monday - timedelta(days=8), "EDGE-UNDESCRIBED", 1, "mobile"),
        *(refund(number, 4) for number in (1, 2, 3, 4)),
        # A refund of an order the store never sent: in the store's returns, in no channel's
        _event(
            "edge-orphan-refund",
            "order.refunded",
            monday - timedelta(days=3),
            {"order_id": "edge-never-sent", "refund_id": "edge-r1", "amount": "7.25", "currency": "USD"},
        ),
    ]


@pytest.fixture(scope="module")
def store(stack: Any) -> Store:
    # Given a fresh stack and a store's last 100 days, up to now, with a few edge cases
    stack.reset()
    today = datetime.now(ZONE).date()
    events = generate(days=DAYS, orders_per_day=3, seed=SEED, end=today, tz=TZ) + _edge_cases(today)
    rng = random.Random(4)
    delivered = list(events)
    rng.shuffle(delivered)
    delivered += rng.sample(delivered, len(delivered) // 10)
    rng.shuffle(delivered)
    # When they arrive shuffled and partly twice, and the pipeline settles
    totals = send(delivered, stack.api_url, stack.ingest_key, batch_size=97, progress=False)
    assert totals["accepted"] == len(events) and totals["rejected"] == 0, totals
    stack.wait_idle(120)
    first = today - timedelta(days=DAYS - 1)
    return Store(stack.api_url, stack.read_key, stack.ingest_key, delivered, first, today)


def _money(value: Any, expected: Decimal, where: str) -> None:
    assert isinstance(value, str) and value.count(".") == 1 and len(value.split(".")[1]) == 2, where
    assert Decimal(value) == expected, f"{where}: api {value} != oracle {expected}"


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def test_sales_series_equals_the_oracle_by_day_week_and_month(store: Store) -> None:
    # Ranges: from before the store opened (empty periods) to today; one from a Wednesday to a
    # Tuesday (partial weeks at both edges); one across a month's end
    wednesday = _monday(store.first) + timedelta(days=16)
    month_end = (store.first.replace(day=1) + timedelta(days=62)).replace(day=1) - timedelta(days=1)
    ranges = [
        (store.first - timedelta(days=40), store.last),
        (wednesday, wednesday + timedelta(days=20)),
        (month_end - timedelta(days=9), month_end + timedelta(days=5)),
    ]
    for start, end in ranges:
        for granularity in ("day", "week", "month"):
            body = store.ok("/v1/metrics/sales", start=start, end=end, granularity=granularity)
            expected = oracle.sales_series(store.events, start, end, granularity, tz=TZ)
            where = f"{granularity} {start}..{end}"
            assert body["granularity"] == granularity
            assert [p["period"] for p in body["series"]] == [e["period"].isoformat() for e in expected], where
            for point, want in zip(body["series"], expected, strict=True):
                here = f"{where} {point['period']}"
                for name in MONEY:
                    _money(point[name], want[name], f"{here} {name}")
                assert (point["orders"], point["units"]) == (want["orders"], want["units"]), here
                assert start <= date.fromisoformat(point["start"]) <= date.fromisoformat(point["end"]) <= end
            # Weeks are named by their Monday, months by their 1st, even when partial
            first_period = date.fromisoformat(body["series"][0]["period"])
            if granularity == "week":
                assert first_period.weekday() == 0 and body["series"][0]["start"] == start.isoformat()
            if granularity == "month":
                assert first_period.day == 1
    # The empty weeks before the store opened are there, as zeros
    body = store.ok("/v1/metrics/sales", start=ranges[0][0], end=ranges[0][1], granularity="week")
    empty = body["series"][0]
    assert empty["net_sales"] == "0.00" and empty["orders"] == 0 and empty["units"] == 0


def test_channels_equal_the_oracle(store: Store) -> None:
    for start, end in [(store.first, store.last), (store.last - timedelta(days=6), store.last)]:
        body = store.ok("/v1/metrics/channels", start=start, end=end)
        expected = oracle.channels(store.events, start, end, tz=TZ)
        assert [c["channel"] for c in body["channels"]] == list(oracle.CHANNELS)
        for row in body["channels"]:
            want = expected[row["channel"]]
            where = f"{row['channel']} {start}..{end}"
            for name in ("gross_sales", "discounts", "returns", "net_sales", "average_order_value"):
                _money(row[name], want[name], f"{where} {name}")
            assert (row["orders"], row["units"]) == (want["orders"], want["units"]), where
        unattributed = oracle.unattributed_returns(store.events, start, end, tz=TZ)
        _money(body["unattributed_returns"], unattributed, "unattributed_returns")
        # The channels add up to the summary
        summary = store.ok("/v1/metrics/summary", start=start, end=end)["current"]
        for name in ("gross_sales", "discounts", "returns", "net_sales"):
            total = sum(Decimal(row[name]) for row in body["channels"])
            if name in ("returns", "net_sales"):
                total += unattributed if name == "returns" else -unattributed
            assert total == Decimal(summary[name]), name
    # The history has refunds in every channel (the edge cases see to it), and the orphan
    # refund in the long range
    full = oracle.channels(store.events, store.first, store.last, tz=TZ)
    assert all(full[c]["returns"] > 0 for c in oracle.CHANNELS)
    assert oracle.unattributed_returns(store.events, store.first, store.last, tz=TZ) == Decimal("7.25")


def test_a_channels_sales_series_equals_the_oracle(store: Store) -> None:
    # Given the last three weeks, by week (partial weeks at the edges)
    start, end = store.last - timedelta(days=20), store.last
    for channel in oracle.CHANNELS:
        # When the series of one channel is asked for
        body = store.ok("/v1/metrics/sales", start=start, end=end, granularity="week", channel=channel)
        assert body["channel"] == channel
        # Then each period holds that channel's figures, as the oracle counts them
        for point in body["series"]:
            first, last = date.fromisoformat(point["start"]), date.fromisoformat(point["end"])
            want = oracle.channels(store.events, first, last, tz=TZ)[channel]
            where = f"{channel} {first}..{last}"
            for name in ("gross_sales", "discounts", "returns", "net_sales"):
                _money(point[name], want[name], f"{where} {name}")
            assert (point["orders"], point["units"]) == (want["orders"], want["units"]), where
    # And a channel the store does not have is named in a 4xx
    response = store.get("/v1/metrics/sales", start=start, end=end, channel="fax")
    assert 400 <= response.status_code < 500 and "channel" in response.text, response.text


@pytest.mark.parametrize(("by", "limit"), [("net_sales", 10), ("units", 7), ("units", 100)])
def test_top_products_equal_the_oracle(store: Store, by: str, limit: int) -> None:
    for start, end in [(store.first, store.last), (store.last - timedelta(days=13), store.last)]:
        body = store.ok("/v1/products/top", start=start, end=end, by=by, limit=limit)
        expected = oracle.top_products(store.events, start, end, by=by, limit=limit, tz=TZ)
        assert [p["sku"] for p in body["products"]] == [e["sku"] for e in expected], f"{by} {start}..{end}"
        for product, want in zip(body["products"], expected, strict=True):
            assert (product["name"], product["category"], product["units"]) == (
                want["name"],
                want["category"],
                want["units"],
            )
            _money(product["net_sales"], want["net_sales"], product["sku"])
        assert len(body["products"]) == min(limit, len(expected))


def _as_number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def test_inventory_equals_the_oracle_and_filters_by_status(store: Store) -> None:
    # Today is the API's clock; the oracle is told the same day
    before = datetime.now(ZONE).date()
    body = store.ok("/v1/inventory")
    today = date.fromisoformat(body["as_of"])
    assert today in {before, datetime.now(ZONE).date()}
    expected = oracle.inventory_items(store.events, today, tz=TZ)
    assert [i["sku"] for i in body["items"]] == sorted(expected)
    for item in body["items"]:
        want = expected[item["sku"]]
        for name in ("days_of_cover", "sell_through_28d"):
            want[name] = _as_number(want[name])
        assert item == want, item["sku"]
    # The history exercises every class and status, oversold and undescribed SKUs
    assert {i["abc_class"] for i in body["items"]} == {"A", "B", "C"}
    assert {i["status"] for i in body["items"]} == {"ok", "low", "out"}
    items = {i["sku"]: i for i in body["items"]}
    oversold = items["EDGE-OVERSOLD"]
    assert (oversold["on_hand"], oversold["status"], oversold["sell_through_28d"]) == (-2, "out", 1.0)
    assert oversold["days_of_cover"] == -14.0  # -2 / (4 / 28)
    assert items["EDGE-NEVER-STOCKED"]["sell_through_28d"] is None
    assert items["EDGE-UNDESCRIBED"]["name"] is None and items["EDGE-UNDESCRIBED"]["reorder_point"] == 0
    for status in ("ok", "low", "out"):
        filtered = store.ok("/v1/inventory", status=status)["items"]
        assert filtered == [i for i in body["items"] if i["status"] == status], status


def _pages(store: Store, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item of /v1/inventory, following next_cursor; and how many pages it took."""
    items: list[dict[str, Any]] = []
    pages, cursor = 0, None
    while True:
        body = store.ok("/v1/inventory", **params, **({"cursor": cursor} if cursor else {}))
        assert len(body["items"]) <= int(params.get("limit", 500))
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def test_inventory_pages_hold_every_sku_once_in_order(store: Store) -> None:
    # Given the whole table in one page (the store has fewer than 500 SKUs)
    whole = store.ok("/v1/inventory")
    assert whole["next_cursor"] is None
    skus = [i["sku"] for i in whole["items"]]
    # When it is read 7 at a time, and each status 5 at a time
    paged, pages = _pages(store, limit=7)
    # Then every SKU comes once, in order, with the same figures, and only the last page ends it
    assert [i["sku"] for i in paged] == skus and pages == -(-len(skus) // 7)
    assert [(i["sku"], i["on_hand"], i["abc_class"]) for i in paged] == [
        (i["sku"], i["on_hand"], i["abc_class"]) for i in whole["items"]
    ]
    for status in ("ok", "low", "out"):
        filtered, _ = _pages(store, limit=5, status=status)
        assert [i["sku"] for i in filtered] == [i["sku"] for i in whole["items"] if i["status"] == status]


def test_alerts_newest_first_since_and_limit(store: Store) -> None:
    everything = store.ok("/v1/alerts", limit=1000)
    alerts = everything["alerts"]
    assert not everything["more"] and alerts, "the simulated store runs low on something"
    raised = [datetime.fromisoformat(a["raised_at"]) for a in alerts]
    assert raised == sorted(raised, reverse=True)
    assert all(a["type"] in {"low_stock", "out_of_stock"} for a in alerts)
    assert all(isinstance(a["on_hand"], int) and isinstance(a["reorder_point"], int) for a in alerts)
    assert len({a["alert_id"] for a in alerts}) == len(alerts)
    # A SKU that ends low or out crossed into it at least once; one that ends out, into out
    items = {i["sku"]: i for i in store.ok("/v1/inventory")["items"]}
    for sku, item in items.items():
        kinds = {a["type"] for a in alerts if a["sku"] == sku}
        if item["status"] != "ok":
            assert kinds, sku
        if item["status"] == "out":
            assert "out_of_stock" in kinds, sku
    # since an instant keeps the alerts raised at or after it
    middle = alerts[len(alerts) // 2]["raised_at"]
    since = store.ok("/v1/alerts", since=middle, limit=1000)["alerts"]
    assert since == [
        a for a in alerts if datetime.fromisoformat(a["raised_at"]) >= datetime.fromisoformat(middle)
    ]
    # since a store day: from its midnight in New York
    today = datetime.now(ZONE).date()
    assert store.ok("/v1/alerts", since=today - timedelta(days=1), limit=1000)["alerts"] == alerts
    assert store.ok("/v1/alerts", since=today + timedelta(days=1))["alerts"] == []
    # limit keeps the newest and says there are more
    first_two = store.ok("/v1/alerts", limit=2)
    assert first_two["alerts"] == alerts[:2] and first_two["more"] is (len(alerts) > 2)


def test_cohorts_equal_the_oracle(store: Store) -> None:
    # Cohorts from a month before the history to the current month (which may be partial)
    start_month = (store.first.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    end_month = store.last.strftime("%Y-%m")
    body = store.ok("/v1/customers/cohorts", start_month=start_month, end_month=end_month)
    expected = oracle.cohorts(store.events, start_month, end_month, body["as_of"], tz=TZ)
    assert body["as_of"] in {end_month, datetime.now(ZONE).strftime("%Y-%m")}
    assert [r["cohort"] for r in body["cohorts"]] == [e["cohort"] for e in expected]
    for row, want in zip(body["cohorts"], expected, strict=True):
        assert (row["size"], row["active"]) == (want["size"], want["active"]), row["cohort"]
        assert row["retention"] == [float(s) for s in want["retention"]], row["cohort"]
        assert not row["size"] or row["retention"][0] == 1.0
    # The history has returning customers in later months
    assert any(sum(r["active"][1:]) for r in body["cohorts"])


ROUTES: list[tuple[str, dict[str, Any]]] = [
    ("/v1/metrics/sales", {"granularity": "week"}),
    ("/v1/metrics/channels", {}),
    ("/v1/products/top", {"by": "units", "limit": 3}),
]
RANGE = {"start": "2025-03-01", "end": "2025-03-31"}


@pytest.mark.parametrize(
    ("path", "params", "status", "parameter"),
    [
        *[(path, {**RANGE, **p, "start": "2025-02-30"}, 422, "start") for path, p in ROUTES],
        *[(path, {"end": "2025-03-31", **p}, 422, "start") for path, p in ROUTES],
        *[(path, {**RANGE, **p, "end": "2025-02-28"}, 400, "end") for path, p in ROUTES],
        *[(path, {**p, "start": "2023-01-01", "end": "2025-01-01"}, 400, "end") for path, p in ROUTES],
        ("/v1/metrics/sales", {**RANGE, "granularity": "year"}, 422, "granularity"),
        ("/v1/products/top", {**RANGE, "by": "profit"}, 422, "by"),
        ("/v1/products/top", {**RANGE, "limit": "0"}, 422, "limit"),
        ("/v1/products/top", {**RANGE, "limit": "101"}, 422, "limit"),
        ("/v1/products/top", {**RANGE, "limit": "ten"}, 422, "limit"),
        ("/v1/inventory", {"status": "empty"}, 422, "status"),
        ("/v1/inventory", {"limit": "0"}, 422, "limit"),
        ("/v1/inventory", {"limit": "1001"}, 422, "limit"),
        ("/v1/inventory", {"limit": "ten"}, 422, "limit"),
        ("/v1/inventory", {"cursor": "SKU-1"}, 422, "cursor"),
        ("/v1/inventory", {"cursor": "c1.%%%"}, 422, "cursor"),
        ("/v1/alerts", {"since": "2025-03-01T10:00:00"}, 422, "since"),  # no offset
        ("/v1/alerts", {"since": "last week"}, 422, "since"),
        ("/v1/alerts", {"limit": "1001"}, 422, "limit"),
        ("/v1/customers/cohorts", {"start_month": "2025-13", "end_month": "2025-12"}, 422, "start_month"),
        ("/v1/customers/cohorts", {"start_month": "2025-01", "end_month": "2025-1"}, 422, "end_month"),
        ("/v1/customers/cohorts", {"start_month": "2025-01"}, 422, "end_month"),
        ("/v1/customers/cohorts", {"start_month": "2025-03", "end_month": "2025-02"}, 400, "end_month"),
        ("/v1/customers/cohorts", {"start_month": "2023-01", "end_month": "2025-01"}, 400, "end_month"),
    ],
)
def test_bad_parameters_are_named(
    store: Store, path: str, params: dict[str, Any], status: int, parameter: str
) -> None:
    response = store.get(path, **params)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert parameter in error["message"] and parameter in {d["parameter"] for d in error["details"]}, error


def test_a_731_day_range_is_fine_and_an_unknown_route_is_404(store: Store) -> None:
    body = store.ok("/v1/metrics/sales", start="2023-01-01", end="2024-12-31", granularity="month")
    assert len(body["series"]) == 24
    body = store.ok("/v1/customers/cohorts", start_month="2023-01", end_month="2024-12")
    assert len(body["cohorts"]) == 24
    assert store.get("/v1/metrics/weather", **RANGE).status_code == 404


@pytest.mark.parametrize(
    ("path", "params"),
    [
        *ROUTES,
        ("/v1/inventory", {}),
        ("/v1/alerts", {}),
        ("/v1/customers/cohorts", {"start_month": "2025-01", "end_month": "2025-03"}),
        ("/v1/customers/segments", {}),
    ],
)
def test_only_the_read_key_reads(store: Store, path: str, params: dict[str, Any]) -> None:
    query = {**RANGE, **params} if path.startswith(("/v1/metrics", "/v1/products")) else params
    forbidden = store.get(path, key=store.ingest_key, **query)
    assert forbidden.status_code == 403 and "ingest key" in forbidden.json()["error"]["message"]
    response = requests.get(f"{store.api_url}{path}", params=query, timeout=10)
    assert response.status_code == 401
    assert store.get(path, **query).status_code == 200


def test_the_routes_are_described_in_openapi(store: Store) -> None:
    document = store.ok("/v1/openapi.json")
    paths = document["paths"]
    for path in (
        "/v1/metrics/sales",
        "/v1/metrics/channels",
        "/v1/products/top",
        "/v1/inventory",
        "/v1/alerts",
        "/v1/customers/cohorts",
        "/v1/customers/segments",
    ):
        operation = paths[path]["get"]
        assert operation["description"] and operation["summary"]
        assert all(
            p.get("description") and p["schema"].get("examples") for p in operation.get("parameters", [])
        )
    # The customer routes show example answers (in their typed body's schema)
    for path in ("/v1/customers/cohorts", "/v1/customers/segments"):
        content = paths[path]["get"]["responses"]["200"]["content"]["application/json"]
        name = content["schema"]["$ref"].rsplit("/", 1)[1]
        assert content.get("examples") or document["components"]["schemas"][name]["examples"], path


def test_a_product_is_its_inventory_row_with_its_days(store: Store) -> None:
    # Given the inventory table and a few products: the best seller, an oversold one, one never
    # described (stock only)
    inventory = {i["sku"]: i for i in store.ok("/v1/inventory")["items"]}
    best = store.ok("/v1/products/top", start=store.first, end=store.last, limit=1)["products"][0]["sku"]
    start, end = store.last - timedelta(days=40), store.last
    for sku in (best, "EDGE-OVERSOLD", "EDGE-UNDESCRIBED"):
        # When its page is asked for
        body = store.ok(f"/v1/products/{sku}", start=start, end=end)
        # Then its stock fields are exactly its /inventory row (same day), its series the oracle's
        assert {name: body[name] for name in inventory[sku]} == inventory[sku], sku
        assert body["as_of"] == store.ok("/v1/inventory", limit=1)["as_of"]
        expected = oracle.product_series(store.events, sku, start, end, tz=TZ)
        assert [p["period"] for p in body["series"]] == [e["period"].isoformat() for e in expected]
        for point, want in zip(body["series"], expected, strict=True):
            assert point["units"] == want["units"], (sku, point["period"])
            _money(point["net_sales"], want["net_sales"], f"{sku} {point['period']}")
        assert isinstance(body["together"], list)
        assert (body["start"], body["end"]) == (start.isoformat(), end.isoformat())
    assert any(p["units"] for p in store.ok(f"/v1/products/{best}", start=start, end=end)["series"])
    # The catalogue's price is there as money, null for a SKU never described
    catalogue = oracle.catalogue(store.events)
    _money(
        store.ok(f"/v1/products/{best}", start=end, end=end)["price"], Decimal(catalogue[best]["price"]), best
    )
    assert store.ok("/v1/products/EDGE-UNDESCRIBED", start=end, end=end)["price"] is None
    # together is what /together answers: for a product of the range's strongest pair (in 3
    # orders or more, as together asks), its partner first
    (strongest,) = store.ok("/v1/products/pairs", start=start, end=end, min_orders=3, limit=1)["pairs"]
    body = store.ok(f"/v1/products/{strongest['a']}", start=start, end=end)
    together = store.ok(f"/v1/products/{strongest['a']}/together", start=start, end=end)
    assert body["together"] == together["items"] and together["items"][0]["sku"] == strongest["b"]
    assert together["items"][0]["name"] == catalogue.get(strongest["b"], {}).get("name")


def test_pairs_over_http_equal_the_oracle_and_planted_bundles_lead(store: Store) -> None:
    body = store.ok("/v1/products/pairs", start=store.first, end=store.last, min_orders=2, limit=100)
    expected = oracle.pairs(store.events, store.first, store.last, min_orders=2, tz=TZ).head(100)
    assert body["orders"] == oracle.summary(store.events, store.first, store.last, tz=TZ)["orders"]
    assert [tuple(p.values()) for p in body["pairs"]] == [
        tuple(row) for row in expected[list(body["pairs"][0])].itertuples(index=False)
    ]
    planted = {
        (a, b) for bundle in planted_bundles(SEED) for i, a in enumerate(bundle) for b in bundle[i + 1 :]
    }
    top = store.ok("/v1/products/pairs", start=store.first, end=store.last, limit=10)["pairs"]
    assert sum((p["a"], p["b"]) in planted for p in top) >= 9


def test_fixed_product_paths_are_not_skus_and_an_unknown_sku_is_404(store: Store) -> None:
    top = store.ok("/v1/products/top", start=store.first, end=store.last)
    assert "products" in top and "series" not in top
    missing = store.get("/v1/products/NO-SUCH-SKU", start=store.first, end=store.last)
    assert missing.status_code == 404
    assert "sku" in missing.json()["error"]["message"]
    # Its dates are checked like every range's
    for params, status, parameter in [
        ({"start": "2025-03-01", "end": "2025-02-28"}, 400, "end"),
        ({"start": "2025-02-30", "end": "2025-03-01"}, 422, "start"),
        ({"end": "2025-03-01"}, 422, "start"),
    ]:
        response = store.get("/v1/products/EDGE-OVERSOLD", **params)
        assert response.status_code == status, response.text
        assert parameter in response.json()["error"]["message"]
    forbidden = store.get("/v1/products/EDGE-OVERSOLD", key=store.ingest_key, **RANGE)
    assert forbidden.status_code == 403
    operation = store.ok("/v1/openapi.json")["paths"]["/v1/products/{sku}"]["get"]
    assert operation["summary"] and operation["description"]
    assert {p["name"] for p in operation["parameters"]} == {"sku", "start", "end"}
