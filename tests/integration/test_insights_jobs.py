"""The forecast and anomalies jobs on the session's stack: real handlers, moto, fixed dates.

Events go in through the ingest API; the jobs' functions run with a fixed store day and clock
against the stack's DynamoDB and EventBridge; alerts travel the rule to the alerts topic and the
feed, and come back out of ``GET /v1/alerts`` and ``GET /v1/inventory``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests

from backend.adapters import alerts as alert_bus
from backend.adapters.alerts import alert_sender
from backend.adapters.analytics import AnalyticsTable
from backend.adapters.clients import client
from backend.processing import anomalies as anomaly_job
from backend.processing import figures
from backend.processing import forecasts as forecast_job
from backend.processing.context import Context
from backend.settings import get_settings
from devstack.cli import main
from devstack.simulator import send
from tests.pipeline import drain_queue, subscribe_alert_topic

if TYPE_CHECKING:
    from tests.conftest import StackFixture

TABLE, BUS = "storepulse-analytics", "storepulse"
TODAY = date(2025, 3, 10)  # a Monday; the last closed day is Sunday 9 March
NOW = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)


def _event(event_id: str, kind: str, moment: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": event_id, "type": kind, "occurred_at": moment, "data": data}


def _product(sku: str, **extra: Any) -> dict[str, Any]:
    data = {
        "sku": sku,
        "name": sku.title(),
        "category": "Home",
        "price": "10.00",
        "reorder_point": 2,
        **extra,
    }
    return _event(f"p-{sku}-{len(extra)}", "product.upserted", "2025-01-01T08:00:00Z", data)


def _adjust(event_id: str, sku: str, delta: int, moment: str) -> dict[str, Any]:
    reason = "restock" if delta > 0 else "damage"
    return _event(event_id, "inventory.adjusted", moment, {"sku": sku, "delta": delta, "reason": reason})


def _order(order_id: str, day: date, lines: list[tuple[str, int]], price: str = "10.00") -> dict[str, Any]:
    return _event(
        f"e-{order_id}",
        "order.placed",
        f"{day.isoformat()}T15:00:00Z",
        {
            "order_id": order_id,
            "customer_id": f"c-{order_id}",
            "lines": [{"sku": sku, "quantity": q, "unit_price": price} for sku, q in lines],
            "currency": "USD",
        },
    )


def _ingest(stack: StackFixture, events: list[dict[str, Any]]) -> None:
    totals = send(events, stack.api_url, stack.ingest_key, progress=False)
    assert totals["rejected"] == 0, totals
    stack.wait_idle(60)


def _get(stack: StackFixture, path: str, **params: Any) -> dict[str, Any]:
    response = requests.get(
        stack.api_url + path, params=params, headers={"x-api-key": stack.read_key}, timeout=30
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def alert_mail(stack: StackFixture) -> Any:
    """What the alerts topic (e-mail in AWS) delivers since the last call, through a new SQS
    subscriber of this test's own."""
    url = subscribe_alert_topic(stack, f"test-insight-mail-{uuid.uuid4().hex[:8]}")
    return lambda: drain_queue(stack, url)


def _run_forecast(stack: StackFixture, today: date = TODAY) -> dict[str, Any]:
    now = datetime.combine(today, NOW.timetz())
    analytics = AnalyticsTable(stack.client("dynamodb"), TABLE)
    result = forecast_job.run(analytics, alert_sender(stack.client("events"), BUS), today, now)
    stack.wait_idle(30)
    return result


def test_forecast_fields_and_one_stockout_risk_alert_re_armed_when_the_risk_ends(
    stack: StackFixture, alert_mail: Any
) -> None:
    # Given MUG (lead time 10 days, set on product.upserted) selling 3 a day and PEN (an event of
    # the older shape, no lead time: the store's 7 days) selling 1 a day for 8 weeks
    stack.reset()
    alert_mail()
    days = [TODAY - timedelta(days=n) for n in range(56, 0, -1)]
    events = [_product("MUG", lead_time_days=10), _product("PEN")]
    events += [
        _adjust("a-mug", "MUG", 200, "2025-01-01T09:00:00Z"),
        _adjust("a-pen", "PEN", 200, "2025-01-01T09:00:00Z"),
    ]
    events += [_order(f"o-{d:%m%d}", d, [("MUG", 3), ("PEN", 1)]) for d in days]
    _ingest(stack, events)
    # And a lead time out of range is refused, naming the field
    refused = requests.post(
        stack.api_url + "/v1/events",
        json={"events": [_product("BAD", lead_time_days=-1)]},
        headers={"x-api-key": stack.ingest_key},
        timeout=30,
    )
    assert refused.status_code == 400 and "lead_time_days" in refused.text
    # When the forecast job runs on Monday 10 March
    result = _run_forecast(stack)
    # Then both SKUs have a forecast; MUG (32 left at 3 a day, 10 days' lead time) is at risk
    assert (result["as_of"], result["skus"], result["written"], result["at_risk"], result["alerts"]) == (
        "2025-03-09",
        2,
        2,
        1,
        1,
    )
    rows = {
        row.sku: row.to_json()
        for row in figures.inventory_page(Context.of(get_settings(), client), TODAY).rows
    }
    mug, pen = rows["MUG"], rows["PEN"]
    assert (mug["on_hand"], mug["forecast_daily_units"], mug["lead_time_days"]) == (32, 3.0, 10)
    # 32 units at 3 a day: 30 gone by the end of the 10th day from today, 32 during the 11th
    assert (mug["stockout_date"], mug["reorder_by"]) == ("2025-03-20", "2025-03-10")
    assert (pen["on_hand"], pen["forecast_daily_units"], pen["lead_time_days"]) == (144, 1.0, 7)
    assert (pen["stockout_date"], pen["reorder_by"]) == ("2025-07-31", "2025-07-24")
    # And one SKU's row (what /v1/products/{sku} shows) is the same row
    found = figures.inventory_row(Context.of(get_settings(), client), TODAY, "MUG")
    assert found is not None and found[0].to_json() == mug
    # And /v1/inventory shows the same fields (its today is the API's clock: the dates move
    # with it, the rate does not)
    items = {i["sku"]: i for i in _get(stack, "/v1/inventory")["items"]}
    assert items["MUG"]["forecast_daily_units"] == 3.0 and items["MUG"]["lead_time_days"] == 10
    served = date.fromisoformat(items["MUG"]["stockout_date"])
    assert date.fromisoformat(items["MUG"]["reorder_by"]) == served - timedelta(days=10)
    # And one stockout_risk alert went to the feed and the alerts topic, with the forecast
    alerts = _get(stack, "/v1/alerts", type="stockout_risk")["alerts"]
    assert [(a["sku"], a["stockout_date"], a["reorder_by"], a["lead_time_days"]) for a in alerts] == [
        ("MUG", "2025-03-20", "2025-03-10", 10)
    ]
    assert alerts[0]["forecast_daily_units"] == 3.0 and alerts[0]["on_hand"] == 32
    mailed = alert_mail()
    assert [(m["detail-type"], m["detail"]["sku"]) for m in mailed] == [("StockoutRisk", "MUG")]
    # When the job runs again: still at risk, no second alert, nothing rewritten
    again = _run_forecast(stack)
    assert (again["alerts"], again["written"], again["at_risk"]) == (0, 0, 1)
    # When a restock ends the risk, it re-arms; a loss brings it back: a second alert
    _ingest(stack, [_adjust("a-mug-2", "MUG", 300, "2025-03-10T08:00:00Z")])
    assert _run_forecast(stack)["at_risk"] == 0
    _ingest(stack, [_adjust("a-mug-3", "MUG", -320, "2025-03-10T09:00:00Z")])
    assert _run_forecast(stack)["alerts"] == 1
    risks = _get(stack, "/v1/alerts", type="stockout_risk")["alerts"]
    assert [a["sku"] for a in risks] == ["MUG", "MUG"] and len({a["alert_id"] for a in risks}) == 2
    # And the other alert types are filtered out by type
    assert _get(stack, "/v1/alerts", type="low_stock")["alerts"] == []


def test_a_stockout_risk_alert_left_pending_by_a_crash_is_sent_once_by_the_next_run(
    stack: StackFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a SKU at risk
    stack.reset()
    days = [TODAY - timedelta(days=n) for n in range(28, 0, -1)]
    events = [_product("LAMP"), _adjust("a-lamp", "LAMP", 60, "2025-01-01T09:00:00Z")]
    _ingest(stack, events + [_order(f"l-{d:%m%d}", d, [("LAMP", 2)]) for d in days])

    # When the run crashes after recording the alert, before EventBridge has it
    def crash(*_: Any) -> None:
        raise ConnectionError("EventBridge unreachable")

    monkeypatch.setattr(alert_bus, "send_alert", crash)
    with pytest.raises(ConnectionError):
        _run_forecast(stack)
    assert _get(stack, "/v1/alerts")["alerts"] == []
    monkeypatch.undo()
    # Then the next run sends that alert (same id and time) and no other; a third sends nothing
    first = _run_forecast(stack)
    assert (first["resent"], first["alerts"]) == (1, 0)
    assert _run_forecast(stack)["resent"] == 0
    alerts = _get(stack, "/v1/alerts")["alerts"]
    assert [(a["type"], a["sku"], a["raised_at"]) for a in alerts] == [
        ("stockout_risk", "LAMP", "2025-03-10T06:00:00Z")
    ]


MONDAYS = [date(2025, 1, 13) + timedelta(weeks=n) for n in range(9)]  # the last is 10 March


def _anomaly_history() -> list[dict[str, Any]]:
    """Mondays of about 20 orders of 50.00 (3 February a bad one, too early to tell), 10 March a
    bad day; Tuesdays likewise, with a refund wave on 11 March."""
    events = []
    for week, monday in enumerate(MONDAYS):
        for day in (monday, monday + timedelta(days=1)):
            count = 20 + week % 3 - 1
            if day in (date(2025, 2, 3), date(2025, 3, 10)):
                count = 3
            for n in range(count):
                events.append(_order(f"{day:%m%d}-{n}", day, [("MUG", 5)]))
            refunds = 12 if day == date(2025, 3, 11) else 1
            for n in range(refunds):
                events.append(
                    _event(
                        f"r-{day:%m%d}-{n}",
                        "order.refunded",
                        f"{day.isoformat()}T18:00:00Z",
                        {
                            "order_id": f"{day:%m%d}-{n}",
                            "refund_id": f"r-{day:%m%d}-{n}",
                            "amount": "50.00",
                            "currency": "USD",
                        },
                    )
                )
    return events


def test_anomalies_once_per_day_and_metric_with_value_expected_and_score(
    stack: StackFixture, alert_mail: Any, capsys: pytest.CaptureFixture[str], kept_environment: None
) -> None:
    stack.reset()
    alert_mail()
    _ingest(
        stack, [_product("MUG"), _adjust("a", "MUG", 100_000, "2025-01-01T09:00:00Z"), *_anomaly_history()]
    )
    context = Context.of(get_settings(), stack.client)
    # When the check runs on a bad day with only 3 weeks of history before it: nothing
    early = anomaly_job.run(context, date(2025, 2, 3), NOW)
    assert (early["baseline_days"], early["anomalies"]) == (3, [])
    # When it runs on Monday 10 March (3 orders where about 20 are usual)
    result = anomaly_job.run(context, date(2025, 3, 10), NOW)
    assert result["baseline_days"] == 8
    assert {(a["type"], a["metric"]) for a in result["anomalies"]} == {
        ("sales_drop", "net_sales"),
        ("sales_drop", "orders"),
    }
    # And again: the same anomalies, no second alert
    assert anomaly_job.run(context, date(2025, 3, 10), NOW + timedelta(hours=1))["sent"] == 0
    # And the refund wave of Tuesday 11 March (600.00 of refunds where 50.00 is usual)
    # (12 refunds where 1 is usual, scored on the count the orders processor keeps)
    wave = anomaly_job.run(context, date(2025, 3, 11), NOW)
    assert ("refund_spike", "returns") in {(a["type"], a["metric"]) for a in wave["anomalies"]}
    assert wave["refunds_scored_on"] == "count"
    stack.wait_idle(30)
    # Then the feed holds each once: money as strings, orders as numbers, expected the median
    all_drops = _get(stack, "/v1/alerts", type="sales_drop")["alerts"]
    drops = {a["metric"]: a for a in all_drops if a["day"] == "2025-03-10"}
    assert len(all_drops) == len({(a["day"], a["metric"]) for a in all_drops})
    assert set(drops) == {"net_sales", "orders"}
    assert (drops["orders"]["day"], drops["orders"]["value"], drops["orders"]["expected"]) == (
        "2025-03-10",
        3,
        20,
    )
    assert (drops["net_sales"]["value"], drops["net_sales"]["expected"]) == ("100.00", "950.00")
    assert drops["orders"]["score"] < -3
    spike = _get(stack, "/v1/alerts", type="refund_spike")["alerts"]
    assert [(a["day"], a["value"], a["expected"]) for a in spike] == [("2025-03-11", "600.00", "50.00")]
    # And the alerts topic carried them, from the insights source
    mailed = alert_mail()
    assert {m["detail-type"] for m in mailed} == {"SalesDrop", "RefundSpike"}
    assert len(mailed) == len(all_drops) + len(spike)
    assert {m["source"] for m in mailed} == {"storepulse.insights"}
    # And `storepulse run-job anomalies --day` runs the same check through the jobs function
    assert main(["run-job", "anomalies", "--day", "2025-03-10"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") :])["sent"] == 0
    assert main(["run-job", "forecast", "--day", "2025-03-10"]) == 1
    assert "--day goes with the anomalies job only" in capsys.readouterr().err
    # And `storepulse run-job forecast` runs the forecast through it (on the clock's today: only
    # that it ran is asserted here; its figures are checked on fixed dates above)
    assert main(["run-job", "forecast"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") :])["job"] == "forecast"
