"""Every item of a table of the session's stack, read at one instant (tests only).

A DynamoDB ``Scan`` of a big table costs moto the square of its size: each 1 MB page sorts
every item of the table and walks them from the first to the page's start key. The big store's
30,000 items took 120 s to scan on a loaded machine. The stack's own snapshot (what ``make run``
saves for the next start: every item as moto holds it, requests paused meanwhile) takes about
2 s, so item checks over a whole table read that instead. The items are the ones a scan returns,
in DynamoDB's wire format (binary values as bytes, as botocore gives them).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from devstack.provision import _ensure_table, _ensure_ttl
from devstack.snapshot import _binary_in, _records
from devstack.stack import LocalStack


def every_item(local: LocalStack, table: str) -> Iterator[dict[str, Any]]:
    """Every item of ``table`` (a table of ``local``'s own moto server), at one instant."""
    local.snapshot()
    for record in _records(local.snapshot_path):
        if record["kind"] == "item" and record["table"] == table:
            yield _binary_in(record["item"])


def empty_table(local: LocalStack, table: str) -> None:
    """Empty ``table`` by making it anew (deleted, then created as the stack provisioned it),
    once the stack is idle.

    A test that filled a table with tens of thousands of items calls it when done: the next
    test's own clean-up lists what to delete by a scan (:func:`tests.pipeline.clear_analytics`,
    ``LocalStack.reset``), which after the big store's customers took 83 s of that test's
    set-up; deleting the items one by one, listed from the snapshot, took 20 s."""
    assert local.aws is not None
    spec = next(t for t in local.spec.tables if t.name == table)
    local.wait_idle(60)
    local.aws.dynamodb.delete_table(TableName=table)
    _ensure_table(local.aws, spec.name, spec.hash_key, spec.range_key)
    if spec.ttl_attribute:
        _ensure_ttl(local.aws, spec.name, spec.ttl_attribute)
