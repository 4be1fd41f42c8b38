"""The ingest journal (events on disk before the 202, no clear e-mail) and the data dir lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devstack.datalock import DataDirInUse, DataDirLock
from devstack.journal import Journal, journalled_events

NOW = datetime(2025, 6, 3, tzinfo=UTC)
ACCEPTED = {"statusCode": 202, "body": '{"accepted": 1, "duplicates": 1, "rejected": []}'}
ALL_DUPLICATES = {"statusCode": 202, "body": '{"accepted": 0, "duplicates": 1, "rejected": []}'}


def _request(*events: dict[str, object]) -> dict[str, object]:
    import json

    return {"body": json.dumps({"events": list(events)})}


def _registered(n: int, email: str) -> dict[str, object]:
    return {
        "event_id": f"reg-{n}",
        "type": "customer.registered",
        "occurred_at": "2025-06-02T10:00:00Z",
        "data": {"customer_id": f"C-{n}", "country": "FR", "email": email},
    }


def test_the_journal_holds_acknowledged_events_hashed_and_drops_what_a_snapshot_covers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, currency="USD", pii_key="pii-key")
    # Given two acknowledged requests, a refused one, and a request to another function
    journal.record(
        "ingest", _request(_registered(1, "Ada@Example.com"), _registered(1, "x@y.z")), ACCEPTED, NOW
    )
    journal.record("ingest", _request(_registered(9, "no@example.com")), {"statusCode": 401}, NOW)
    journal.record("api", _request(_registered(8, "no@example.com")), ACCEPTED, NOW)
    # and a batch whose every event was a duplicate (a client re-sending what it could not confirm)
    journal.record("ingest", _request(_registered(7, "dup@example.com")), ALL_DUPLICATES, NOW)
    covered = journal.position
    journal.record("ingest", _request(_registered(2, "bob@example.com")), ACCEPTED, NOW)
    # Then only the acknowledged events are there, each id once, with no e-mail in clear
    text = path.read_text()
    assert "@" not in text and "email_hash" in text
    assert [e.event_id for e in journalled_events(path, currency="USD")] == ["reg-1", "reg-2"]
    assert os.stat(path).st_mode & 0o777 == 0o600
    # When a snapshot covers the first request, then only the second stays
    journal.drop_through(covered)
    journal.record("ingest", _request(_registered(3, "cy@example.com")), ACCEPTED, NOW)
    assert [e.event_id for e in journalled_events(path, currency="USD")] == ["reg-2", "reg-3"]
    journal.close()
    # And a line cut short by a crash (never acknowledged) is skipped
    with open(path, "ab") as torn:
        torn.write(b'{"events":[{"event_id":"reg-4","ty')
    assert [e.event_id for e in journalled_events(path, currency="USD")] == ["reg-2", "reg-3"]


def test_one_stack_per_data_dir_and_a_dead_holder_s_lock_is_taken_over(tmp_path: Path) -> None:
    # Given another process holding the data directory's lock
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from devstack.datalock import DataDirLock; "
            "lock = DataDirLock(Path(sys.argv[1])); lock.acquire(); print('held', flush=True); "
            "time.sleep(120)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        # Then this one is refused, in words naming the holder
        with pytest.raises(DataDirInUse, match=f"in use by the stack with pid {holder.pid}"):
            DataDirLock(tmp_path).acquire()
    finally:
        # When the holder dies under kill -9, leaving its pid in the lock file
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    assert DataDirLock(tmp_path).holder() == holder.pid
    # Then the stale lock is taken over
    lock = DataDirLock(tmp_path)
    lock.acquire()
    assert lock.holder() == os.getpid()
    lock.release()


def test_an_accepted_store_webhook_is_journalled_as_its_events_without_clear_email(tmp_path: Path) -> None:
    # Given a Shopify orders/create and customers/create the connectors function accepted,
    # and one it answered without accepting anything (a redelivery)
    fixtures = Path(__file__).parents[1] / "fixtures" / "connectors"
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, currency="USD", pii_key="pii-key")

    def webhook(topic: str, name: str, delivery: str) -> dict[str, object]:
        return {
            "path": "/v1/connectors/shopify",
            "headers": {"X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": delivery},
            "body": (fixtures / f"{name}.json").read_text(),
        }

    accepted = {"statusCode": 200, "body": '{"status": "accepted", "accepted": 1, "duplicates": 0}'}
    duplicate = {"statusCode": 200, "body": '{"status": "duplicate", "accepted": 0, "duplicates": 1}'}
    journal.record("connectors", webhook("orders/create", "shopify_orders_create", "d1"), accepted, NOW)
    journal.record("connectors", webhook("customers/create", "shopify_customers_create", "d2"), accepted, NOW)
    journal.record("connectors", webhook("orders/create", "shopify_orders_create", "d3"), duplicate, NOW)
    journal.close()
    # Then the journal holds their events, as the pipeline carries them
    events = list(journalled_events(path, currency="USD"))
    assert [(e.event_id, e.type) for e in events] == [
        ("shopify:d1:0", "order.placed"),
        ("shopify:d2:0", "customer.registered"),
    ]
    assert "example.com" not in path.read_text().lower()
