"""count_once keeps every transaction within DynamoDB's 100 items when the guarded writes a
group needs grow after an earlier group of the same batch committed (a batch of packets holds
thousands of events, so many groups; the groups are cut from the state read first).

Given 150 events whose guard adds nothing until the first group commits and two writes per
event after it, when they are counted, then no transaction is refused and each claim is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backend.adapters.dynamo import Claim, Counted, Guarded, count_once
from backend.domain.sales import Contributions
from backend.settings import get_settings


class GrowingGuards:
    """No guarded write before the first commit; two per event (on their own items) after."""

    def __init__(self) -> None:
        self.commits = 0

    def guarded(self, group: Sequence[Counted]) -> list[Guarded]:
        if not self.commits:
            return []
        return [
            Guarded(("TEST-GUARD", f"{c.ref}-{side}"), {"seen": 1}, {}) for c in group for side in ("a", "b")
        ]

    def stale(self, group: Sequence[Counted]) -> None:
        return None

    def committed(self, group: Sequence[Counted], guarded: Sequence[Guarded]) -> None:
        self.commits += 1


def test_a_group_whose_guarded_writes_grew_is_split_to_fit(stack: Any) -> None:
    table = get_settings().require("analytics_table")
    dynamodb = stack.client("dynamodb")
    events = [
        Counted(f"e{n}", Claim(("TEST-CLAIM", f"c{n:03d}"), "counted", "1"), Contributions())
        for n in range(150)
    ]
    guards = GrowingGuards()
    stats = count_once(dynamodb, table, events, guards=guards, touch=False)
    claimed = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "TEST-CLAIM"}},
        ConsistentRead=True,
    )["Items"]
    assert len(claimed) == 150 and stats.already_counted == []
    assert stats.transactions == guards.commits >= 3
