"""The alert feed Lambda on its SQS event (EventBridge events routed by the rule), against the
in-memory table: an alert sent twice kept once, the newest first."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.handlers import alert_feed
from tests.unit.processing.conftest import process
from tests.unit.processing.fakes import FakeAnalytics
from tests.unit.processing.sqs_events import LOW_STOCK, SALES_DROP, load


def test_the_feed_keeps_each_alert_once_newest_first() -> None:
    # Given the feed queue's batch: a low-stock alert twice (an interrupted send) and a drop
    table = FakeAnalytics()
    # When the handler's parser and apply take it, through the SQS batch path
    answer = process(load("alert_feed_sqs_event.json"), alert_feed.parse, alert_feed.keeping(lambda: table))
    # Then no message fails, and the feed holds two alerts, the newest (the drop) first
    assert answer == {"batchItemFailures": []}
    alerts, more = table.alert_feed(None, 10)
    assert [a["alert_id"] for a in alerts] == [SALES_DROP["alert_id"], LOW_STOCK["alert_id"]]
    assert more is False
    # And each is stored with its own fields: the SKU's stock, the anomaly's figures
    low = alerts[1]
    assert (low["sku"], low["on_hand"], low["reorder_point"]) == ("MUG-1", 7, 8)
    assert (alerts[0]["value"], alerts[0]["expected"]) == ("14.00", "61.00")
    # And a reader asking from 4 March on, stock alerts only, gets none
    since = datetime(2026, 3, 4, tzinfo=UTC)
    assert table.alert_feed(since, 10, alert_type="low_stock") == ([], False)
