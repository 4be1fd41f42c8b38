"""The stack's moto server keeps DynamoDB transactions atomic and isolated, as in AWS.

moto's own server loses concurrent writes when a transaction rolls back and copies the whole
table per transaction item; ``devstack.moto_main`` fixes both. These tests hold it to
DynamoDB's semantics on the session's server.
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from tests.conftest import StackFixture


@pytest.fixture
def table(stack: StackFixture) -> str:
    return stack.local.environment["ANALYTICS_TABLE"]


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def test_a_cancelled_transaction_leaves_every_item_as_it_was(stack: StackFixture, table: str) -> None:
    dynamodb = stack.client("dynamodb")
    prefix = uuid.uuid4().hex
    # Given an item to update, one to delete, and one whose condition will fail
    dynamodb.put_item(TableName=table, Item={**_key(prefix, "updated"), "n": {"N": "5"}})
    dynamodb.put_item(TableName=table, Item={**_key(prefix, "deleted"), "n": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item=_key(prefix, "guard"))
    # When a transaction updates, puts, deletes, then fails its condition check
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": _key(prefix, "updated"),
                        "UpdateExpression": "SET n = :n",
                        "ExpressionAttributeValues": {":n": {"N": "9"}},
                    }
                },
                {"Put": {"TableName": table, "Item": _key(prefix, "created")}},
                {"Delete": {"TableName": table, "Key": _key(prefix, "deleted")}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": _key(prefix, "guard"),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    # Then it is cancelled with DynamoDB's reasons, and nothing changed
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in raised.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    get = dynamodb.get_item
    assert get(TableName=table, Key=_key(prefix, "updated"))["Item"]["n"] == {"N": "5"}
    assert "Item" not in get(TableName=table, Key=_key(prefix, "created"))
    assert get(TableName=table, Key=_key(prefix, "deleted"))["Item"]["n"] == {"N": "1"}


def test_concurrent_transactions_lose_no_write(stack: StackFixture, table: str) -> None:
    dynamodb = stack.client("dynamodb")
    prefix = uuid.uuid4().hex
    dynamodb.put_item(TableName=table, Item=_key(prefix, "guard"))
    failures: list[BaseException] = []

    def add_ones(worker: int) -> None:
        for i in range(30):
            items: list[dict[str, Any]] = [
                {
                    "Update": {
                        "TableName": table,
                        "Key": _key(prefix, "counter"),
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Put": {"TableName": table, "Item": _key(prefix, f"w{worker}-{i}")}},
            ]
            if i % 3 == 0:  # every third one is cancelled and must leave no trace
                items.append(
                    {
                        "ConditionCheck": {
                            "TableName": table,
                            "Key": _key(prefix, "guard"),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                )
            try:
                dynamodb.transact_write_items(TransactItems=items)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    failures.append(exc)

    # When four writers run transactions at the same time
    workers = [threading.Thread(target=add_ones, args=(w,)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # Then every committed transaction counted once, and no cancelled one left an item
    assert failures == []
    counter = dynamodb.get_item(TableName=table, Key=_key(prefix, "counter"), ConsistentRead=True)["Item"]
    assert counter["n"] == {"N": str(4 * 20)}
    items = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :w)",
        ExpressionAttributeValues={":pk": {"S": prefix}, ":w": {"S": "w"}},
    )["Items"]
    assert len(items) == 4 * 20


def test_reads_answer_every_attribute_type_as_written(stack: StackFixture, table: str) -> None:
    """The server writes read answers with ``json.dumps`` when they hold only JSON's types, and
    through moto's serializer otherwise (binary values): both must give back what was put."""
    dynamodb = stack.client("dynamodb")
    prefix = uuid.uuid4().hex
    members = {f"customer-{n:04d}-é" for n in range(700)}
    plain: dict[str, Any] = {
        **_key(prefix, "plain"),
        "s": {"S": "héllo"},
        "n": {"N": "12.50"},
        "ss": {"SS": sorted(members)},
        "ns": {"NS": ["1", "2.5", "-3"]},
        "yes": {"BOOL": True},
        "nothing": {"NULL": True},
        "list": {"L": [{"S": "a"}, {"N": "1"}, {"M": {"k": {"SS": ["x", "y"]}}}]},
        "map": {"M": {"inner": {"L": [{"BOOL": False}]}, "n": {"N": "0"}}},
    }
    binary: dict[str, Any] = {
        **_key(prefix, "binary"),
        "b": {"B": b"\x00\xffbytes"},
        "bs": {"BS": [b"\x01", b"\x02"]},
        "s": {"S": "with bytes"},
    }
    for item in (plain, binary):
        dynamodb.put_item(TableName=table, Item=item)

    def normal(item: dict[str, Any]) -> dict[str, Any]:  # sets come back in any order
        return {
            name: {kind: sorted(v) if kind in ("SS", "NS", "BS") else v for kind, v in value.items()}
            for name, value in item.items()
        }

    # When the items are read by GetItem, BatchGetItem (whole and projected) and Query
    got = {sk: dynamodb.get_item(TableName=table, Key=_key(prefix, sk))["Item"] for sk in ("plain", "binary")}
    batch = dynamodb.batch_get_item(
        RequestItems={table: {"Keys": [_key(prefix, "plain"), _key(prefix, "binary"), _key(prefix, "none")]}}
    )
    projected = dynamodb.batch_get_item(
        RequestItems={
            table: {
                "Keys": [_key(prefix, "plain")],
                "ProjectionExpression": "ss, #m.inner",
                "ExpressionAttributeNames": {"#m": "map"},
            }
        }
    )["Responses"][table]
    queried = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": prefix}},
    )
    # Then every read gives back exactly what was written, type for type
    for sk, item in (("plain", plain), ("binary", binary)):
        assert normal(got[sk]) == normal(item)
    assert sorted(map(normal, batch["Responses"][table]), key=lambda i: i["sk"]["S"]) == [
        normal(binary),
        normal(plain),
    ]
    assert batch["UnprocessedKeys"] == {}
    assert normal(projected[0]) == {
        "ss": {"SS": sorted(members)},
        "map": {"M": {"inner": plain["map"]["M"]["inner"]}},
    }
    assert queried["Count"] == 2
    assert sorted(map(normal, queried["Items"]), key=lambda i: i["sk"]["S"]) == [
        normal(binary),
        normal(plain),
    ]
