"""Each fix of ``devstack.moto_main`` against moto's own behaviour.

The local stack's moto server patches moto 5.2.5 in several places (module docstring there). Each
test here shows the behaviour the patch works around with moto as it ships (``unpatched``), and
that the patched moto no longer has it while answering the same (``patched``). moto 5.2.6, the
newest release on 2026-12-06, still has every one of these behaviours (its DynamoDB and SQS
models differ from 5.2.5's only in backup listing and number sizes), so the fixes stay.

moto runs in this process (``mock_aws``): the patches replace class attributes, and the
``patched`` fixture puts moto's own back after each test.
"""

from __future__ import annotations

import copy
import email.utils
import gc
import importlib
import inspect
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import boto3
import pytest
from moto import mock_aws

from devstack import moto_main

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef, UpdateTypeDef
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef


def test_the_fixes_are_for_the_pinned_moto() -> None:
    # A new moto runs unpatched (with a warning): check each behaviour below again, then move
    # PATCHED_MOTO_VERSION, or drop the fixes it made unnecessary.
    import moto

    assert moto.__version__ == moto_main.PATCHED_MOTO_VERSION


def _patched_attributes() -> list[tuple[Any, str]]:
    """Every (owner, attribute) that ``patch_moto`` replaces."""
    import jsonpath_ng.ext
    from moto import backends
    from moto.core import responses as core_responses
    from moto.core.common_models import BaseModel
    from moto.dynamodb import responses as dynamodb_responses
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoResult
    from moto.sns.models import Topic
    from moto.sqs.models import Queue, SQSBackend
    from werkzeug import serving

    # moto's expression modules are untyped (they declare no attributes to mypy).
    ast_nodes: Any = importlib.import_module("moto.dynamodb.parsing.ast_nodes")
    expressions: Any = importlib.import_module("moto.dynamodb.parsing.expressions")
    validators: Any = importlib.import_module("moto.dynamodb.parsing.validators")
    from moto.dynamodb.comparisons import ConditionExpressionParser

    return [
        (BaseModel, "__new__"),
        (Topic, "__init__"),
        (Queue, "__init__"),
        (DynamoDBBackend, "transact_write_items"),
        (DynamoResult, "execute_result"),
        (dynamodb_responses, "dynamo_to_dict"),
        (DynamoType, "size"),
        (Table, "query"),
        (Table, "all_items"),
        (SQSBackend, "is_message_valid_based_on_retention_period"),
        (SQSBackend, "send_message"),
        *[(Queue, name) for name in moto_main._COUNTS],
        (backends, "list_of_moto_modules"),
        (core_responses, "method_names_from_class"),
        (jsonpath_ng.ext, "parse"),
        (ast_nodes.DepthFirstTraverser, "traverse_node_recursively"),
        (ast_nodes.Node, "find_clauses"),
        (expressions.UpdateExpressionParser, "make"),
        (validators.Validator, "__init__"),
        (ConditionExpressionParser, "parse"),
        (serving, "selectors"),
    ]


def _make_moto(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto as it ships (``unpatched``) or as the local stack runs it (``patched``): every
    attribute ``patch_moto`` replaces is first put back to moto's own (restored after the test)."""
    for owner, name in _patched_attributes():
        monkeypatch.setattr(owner, name, inspect.getattr_static(owner, name))
    if kind == "patched":
        assert moto_main.patch_moto()


@pytest.fixture(params=["unpatched", "patched"])
def moto_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto as it ships, then moto as the local stack runs it; moto's own restored after."""
    _make_moto(request.param, monkeypatch)
    # A local stack started earlier in the session points every boto3 client of this process at
    # its moto server (AWS_ENDPOINT_URL); mock_aws only answers requests to AWS's own endpoints.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield request.param


def _spy(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[Any]:
    """Record the first argument of each call of ``owner.name`` (a function attribute)."""
    calls: list[Any] = []
    original: Callable[..., Any] = getattr(owner, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0] if args else None)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return calls


def _set_n(pk: str, value: str) -> UpdateTypeDef:
    return {
        "TableName": "t",
        "Key": {"pk": {"S": pk}},
        "UpdateExpression": "SET n = :v",
        "ExpressionAttributeValues": {":v": {"N": value}},
    }


def _table(items: int = 0) -> Any:
    dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
    table = dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with table.batch_writer() as batch:
        for i in range(items):
            batch.put_item(Item={"pk": f"item-{i}", "n": i})
    return table


def test_a_transaction_copies_what_it_touches_not_the_table(
    moto_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a table of 300 items
    table = _table(300)
    client = boto3.client("dynamodb", region_name="us-east-1")
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    whole_table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables["t"]
    copied = _spy(monkeypatch, copy, "deepcopy")
    # When a transaction of two updates is cancelled by its second condition
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                {"Update": _set_n("item-1", "-1")},
                {"Update": {**_set_n("item-2", "-2"), "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )
    # Then nothing changed, as in AWS, either way
    assert table.get_item(Key={"pk": "item-1"})["Item"]["n"] == Decimal(1)
    # but moto as it ships copied the whole table once per item of the transaction (the cost
    # grows with the store), the patched moto only the items the transaction touched
    assert sum(c is whole_table for c in copied) == (2 if moto_kind == "unpatched" else 0)


def test_sending_and_receiving_do_not_count_the_queue(
    moto_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.sqs.models import Queue

    # Given a queue with 50 messages, and a count of how often moto counts its messages
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for i in range(5):
        batch: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(j), "MessageBody": f"{i}-{j}"} for j in range(10)
        ]
        sqs.send_message_batch(QueueUrl=url, Entries=batch)
    scanning = Queue.__dict__["messages"]  # a property: a pass over every message of the queue
    scans: list[Any] = []

    def scanned(queue: Any) -> Any:
        scans.append(queue)
        return scanning.fget(queue)

    monkeypatch.setattr(Queue, "messages", property(scanned))
    # When ten more are sent
    entries: list[SendMessageBatchRequestEntryTypeDef] = [
        {"Id": str(j), "MessageBody": "x"} for j in range(10)
    ]
    sqs.send_message_batch(QueueUrl=url, Entries=entries)
    scans_sending = len(scans)
    # and ten received
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    scans_receiving = len(scans) - scans_sending
    # Then the messages are the same either way, but moto as it ships scanned the queue for each
    # message sent and received (to count it, for attributes nobody asked for); the patched moto
    # not while sending, and once to receive
    assert len(received) == 10
    if moto_kind == "unpatched":
        assert scans_sending >= 10 and scans_receiving >= 10
    else:
        assert scans_sending == 0 and scans_receiving <= 2
    # and the queue's attributes still count, when asked for
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "50"


def _live(kind: type) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is kind)


def test_moto_keeps_no_object_it_no_longer_uses(moto_kind: str) -> None:
    from moto.dynamodb.models.dynamo_type import Item
    from moto.sqs.models import Message

    # Given a table of 10 items and a queue
    table = _table(10)
    client = boto3.client("dynamodb", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    items, messages = _live(Item), _live(Message)
    # When its items are updated, read and queried 200 times, and 200 messages go through the queue
    for n in range(200):
        key = {"pk": {"S": f"item-{n % 10}"}}
        client.update_item(**{**_set_n(f"item-{n % 10}", str(n)), "TableName": table.name})
        client.get_item(TableName=table.name, Key=key)
        sqs.send_message(QueueUrl=url, MessageBody=str(n))
        for message in sqs.receive_message(QueueUrl=url).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    # Then the patched moto holds the 10 items and no message; moto as it ships kept an item
    # object for every read and write, and every message, for as long as it runs
    grown = (_live(Item) - items, _live(Message) - messages)
    if moto_kind == "unpatched":
        assert grown[0] >= 400 and grown[1] >= 200, grown
    else:
        assert grown[0] <= 10 and grown[1] == 0, grown


def test_what_was_carried_is_forgotten_past_a_bound(moto_kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    monkeypatch.setattr(moto_main, "SNS_MESSAGES_KEPT", 20)
    monkeypatch.setattr(moto_main, "SQS_DELETED_HANDLES_KEPT", 30)
    # Given a topic delivering raw to a queue, as the pipeline's topics do
    sns, sqs = boto3.client("sns", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="events")["TopicArn"]
    url = sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    kept_topic = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].topics[topic]
    kept_queue = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].queues["orders"]

    def carry(messages: int) -> list[str]:
        """Publish, receive twice (a redelivery: two receipt handles) and delete each message."""
        bodies = []
        for n in range(messages):
            sns.publish(TopicArn=topic, Message=f"event {n} " + "x" * 1000)
            first = sqs.receive_message(QueueUrl=url)["Messages"][0]
            again = sqs.receive_message(QueueUrl=url)["Messages"][0]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
            # deleting again with the first handle still succeeds, as in AWS
            sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
            bodies.append(again["Body"])
        return bodies

    # When 60, then 60 more messages go through
    carried = [carry(60), carry(60)]
    # Then every message was delivered either way, and the queue is empty
    assert [len(set(b)) for b in carried] == [60, 60]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    # But moto as it ships kept every message published and every handle of every message deleted
    # (growing with each one, for as long as it runs); the patched moto only the last few
    if moto_kind == "unpatched":
        assert len(kept_topic.sent_notifications) == 120
        assert len(kept_queue.deleted_messages) >= 240
    else:
        assert len(kept_topic.sent_notifications) == 20
        assert len(kept_queue.deleted_messages) == 30


def test_reads_answer_the_same_without_moto_s_generic_serializer(
    moto_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an item of every plain attribute type, big sets included
    client = boto3.client("dynamodb", region_name="us-east-1")
    _table()
    item: dict[str, Any] = {
        "pk": {"S": "k"},
        "s": {"S": "text é"},
        "n": {"N": "12.50"},
        "flag": {"BOOL": True},
        "none": {"NULL": True},
        "ids": {"SS": [f"customer-{i}" for i in range(500)]},
        "numbers": {"NS": ["1", "2.5", "-3"]},
        "list": {"L": [{"S": "a"}, {"N": "1"}]},
        "map": {"M": {"inner": {"SS": ["x", "y"]}}},
    }
    client.put_item(TableName="t", Item=item)
    from moto.core import responses as core_responses

    serialized = _spy(monkeypatch, core_responses, "XFormedAttributePicker")
    # When it is read by GetItem
    got = client.get_item(TableName="t", Key={"pk": {"S": "k"}}, ConsistentRead=True)["Item"]
    # Then it is the item written, either way
    assert {name: _canonical(value) for name, value in got.items()} == {
        name: _canonical(value) for name, value in item.items()
    }
    # but moto as it ships walked the answer through its model-driven serializer; the patched
    # moto wrote the DynamoDB JSON it already had with json.dumps
    assert len(serialized) == (1 if moto_kind == "unpatched" else 0)


def test_a_set_is_measured_without_an_object_per_member(
    moto_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    # Given a string set of 500 customer ids and a number set
    ids = DynamoType({"SS": [f"customer-{i}" for i in range(500)] + ["é"]})
    numbers = DynamoType({"NS": ["1", "22", "-3.5"]})
    made = _spy(monkeypatch, DynamoType, "__init__")
    # When moto measures them (it does for every item read and written)
    sizes = ids.size(), numbers.size()
    # Then the sizes are DynamoDB's either way (UTF-8 bytes of the members; digits of numbers)
    assert sizes == (sum(len(f"customer-{i}") for i in range(500)) + 2, 1 + 2 + 4)
    # but moto as it ships made an object per member to measure it, the patched moto none
    assert len(made) >= 500 if moto_kind == "unpatched" else made == []


def test_a_query_reads_its_partition_not_the_table(moto_kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a table of 60 partitions of 5 items each
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName="q",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for p in range(60):
        for s in (4, 0, 3, 1, 2):
            client.put_item(
                TableName="q", Item={"pk": {"S": f"DAY#{p:02d}"}, "sk": {"S": f"CB#{s}"}, "n": {"N": str(s)}}
            )
    from moto.dynamodb.models.dynamo_type import DynamoType

    compared = _spy(monkeypatch, DynamoType, "__eq__")
    # When one partition is queried by a range of sort keys, a page of 2 at a time, backwards
    pages: list[list[str]] = []
    request: QueryInputTypeDef = {
        "TableName": "q",
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
        "ExpressionAttributeValues": {":pk": {"S": "DAY#07"}, ":low": {"S": "CB#1"}, ":high": {"S": "CB#4"}},
        "ScanIndexForward": False,
        "Limit": 2,
    }
    while True:
        page = client.query(**request)
        pages.append([item["sk"]["S"] for item in page["Items"]])
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    # Then the answer is the same either way: that partition's items, in order, in pages
    assert [sk for page in pages for sk in page] == ["CB#4", "CB#3", "CB#2", "CB#1"]
    assert pages[0] == ["CB#4", "CB#3"]
    # but moto as it ships compared the hash key of every item of the table (300 a page);
    # the patched moto looked at the partition only
    assert (len(compared) >= 300 * len(pages)) == (moto_kind == "unpatched")


# Sort keys whose text orders differently by case, accents, prefixes and digits.
SORT_KEYS = ["b", "B", "a10", "a9", "a", "é", "e", "CB#2", "CB#10", "SKU#Z", "SKU#a", "~", " "]


def _queried_in_order() -> list[Any]:
    """The items of one partition of a string sort key and of one of a number sort key, as
    queries forwards, backwards and by a key range answer them."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    answers: list[Any] = []
    partitions: list[tuple[str, Literal["S", "N"], list[str]]] = [
        ("text", "S", SORT_KEYS),
        ("numbers", "N", ["10", "-1.5", "2", "0", "9.75"]),
    ]
    for table, kind, keys in partitions:
        client.create_table(
            TableName=table,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": kind},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for pk in ("DAY#1", "DAY#2"):
            for key in keys:
                client.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {kind: key}})
        for forward in (True, False):
            request: QueryInputTypeDef = {
                "TableName": table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": "DAY#2"}},
                "ScanIndexForward": forward,
            }
            answers.append([item["sk"] for item in client.query(**request)["Items"]])
        low, high = sorted(keys)[1], sorted(keys)[-2]
        ranged = client.query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={":pk": {"S": "DAY#1"}, ":low": {kind: low}, ":high": {kind: high}},
            Limit=3,
        )
        answers.append(([item["sk"] for item in ranged["Items"]], ranged.get("LastEvaluatedKey")))
    return answers


def test_a_partition_of_string_sort_keys_is_ordered_by_their_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    answers: dict[str, list[Any]] = {}
    compared: dict[str, int] = {}
    for kind in ("unpatched", "patched"):
        _make_moto(kind, monkeypatch)
        with mock_aws():
            # Given a count of moto's comparisons of key objects
            comparisons = _spy(monkeypatch, DynamoType, "__lt__")
            # When partitions of string and of number sort keys are queried every way
            answers[kind] = _queried_in_order()
            compared[kind] = sum(key.type == "S" for key in comparisons)
    # Then the items come in the same order, pages and all
    assert answers["patched"] == answers["unpatched"]
    assert [key["S"] for key in answers["unpatched"][0]][:4] == [" ", "B", "CB#10", "CB#2"]
    assert [key["N"] for key in answers["unpatched"][3]] == ["-1.5", "0", "2", "9.75", "10"]
    # but the patched moto ordered the string keys without comparing key objects (the number
    # keys as moto does); what is left is the key condition's test of each item
    assert compared["patched"] < compared["unpatched"] / 4


def _canonical(value: Mapping[str, Any]) -> Any:
    ((kind, inner),) = value.items()
    if kind in ("SS", "NS"):
        return kind, sorted(inner)
    if kind == "L":
        return kind, [_canonical(v) for v in inner]
    if kind == "M":
        return kind, {k: _canonical(v) for k, v in inner.items()}
    return kind, inner


def test_moto_s_service_folders_are_listed_once(moto_kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from moto import backends

    # Given a count of directory listings
    listed = _spy(monkeypatch, os, "listdir")
    # When moto's dispatcher asks for its service folders three times (once per request)
    modules = [tuple(backends.list_of_moto_modules()) for _ in range(3)]
    # Then the answer is the same each time; moto as it ships lists its package directory each
    # time, the patched moto never again
    assert modules[0] == modules[1] == modules[2] and "dynamodb" in modules[0]
    assert len(listed) == (3 if moto_kind == "unpatched" else 0)


def test_a_response_class_s_actions_are_listed_once(moto_kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a count of class member listings
    listed = _spy(monkeypatch, inspect, "getmembers")
    client = boto3.client("dynamodb", region_name="us-east-1")
    _table()
    listed.clear()
    # When three requests, a wrong one among them, reach the DynamoDB handler
    answers = [client.describe_table(TableName="t")["Table"]["TableName"] for _ in range(2)]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_table(TableName="missing")
    # Then moto finds each action and answers alike; moto as it ships listed the handler's
    # members for each request, the patched moto remembered them from the table's creation
    assert answers == ["t", "t"]
    assert len(listed) == (3 if moto_kind == "unpatched" else 0)


def test_an_input_transformer_delivers_the_same_with_its_paths_parsed_once(
    moto_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jsonpath_ng.ext import parser as jsonpath_parser

    # Given a rule that sends an input-transformed event to a queue (the stock alerts' bridge)
    events = boto3.client("events", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    events.put_rule(Name="alerts", EventPattern='{"source": ["storepulse.stock"]}')
    events.put_targets(
        Rule="alerts",
        Targets=[
            {
                "Id": "queue",
                "Arn": queue_arn,
                "InputTransformer": {
                    "InputPathsMap": {"sku": "$.detail.sku", "on_hand": "$.detail.on_hand"},
                    "InputTemplate": '{"sku": "<sku>", "on_hand": <on_hand>}',
                },
            }
        ],
    )
    parsers = _spy(monkeypatch, jsonpath_parser.ExtendedJsonPathParser, "__init__")
    # When three events go through it
    for n in range(3):
        events.put_events(
            Entries=[
                {
                    "Source": "storepulse.stock",
                    "DetailType": "stock.low",
                    "Detail": json.dumps({"sku": f"SKU-{n}", "on_hand": n}),
                }
            ]
        )
    bodies = [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    ]
    # Then each is delivered transformed, either way
    assert sorted(bodies, key=lambda b: b["sku"]) == [{"sku": f"SKU-{n}", "on_hand": n} for n in range(3)]
    # but moto as it ships built a parser per path of each event (2 x 3), the patched moto one
    # per distinct path
    assert len(parsers) == (6 if moto_kind == "unpatched" else 2)


# Update expressions of every kind the handlers send and DynamoDB refuses, in order on one item.
UPDATES: list[tuple[str, dict[str, Any], str | None]] = [
    (
        "SET n = :one, #s = :s, tags = :tags",
        {":one": {"N": "1"}, ":s": {"S": "a"}, ":tags": {"SS": ["x"]}},
        None,
    ),
    ("SET n = n + :one ADD tags :more, qty :one", {":one": {"N": "1"}, ":more": {"SS": ["y", "z"]}}, None),
    (
        "SET m = if_not_exists(m, :map), l = list_append(if_not_exists(l, :empty), :l)",
        {":map": {"M": {"k": {"N": "5"}}}, ":empty": {"L": []}, ":l": {"L": [{"S": "p"}]}},
        None,
    ),
    (
        "SET m.k = m.k - :one REMOVE #s DELETE tags :gone",
        {":one": {"N": "1"}, ":gone": {"SS": ["x"]}},
        "attribute_exists(n) AND n >= :one",
    ),
    ("SET n = :one SET qty = :one", {":one": {"N": "1"}}, None),
    ("SET m = :one, m.k = :one", {":one": {"N": "1"}}, None),
    ("SET pk = :pk", {":pk": {"S": "other"}}, None),
    ("SET n = absent + :one", {":one": {"N": "1"}}, None),
    ("SET n = :one", {":one": {"N": "1"}}, "n > :ten"),
]


def _apply_updates(keys: tuple[str, ...] = ("item",)) -> list[Any]:
    """Each update's outcome (the item after it, or the error DynamoDB answered), the updates
    applied in turn to each item of ``keys``."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    _table()
    outcomes: list[Any] = []
    for key, (expression, values, condition) in [(key, update) for key in keys for update in UPDATES]:
        request: dict[str, Any] = {
            "TableName": "t",
            "Key": {"pk": {"S": key}},
            "UpdateExpression": expression,
            "ExpressionAttributeValues": {**values, ":ten": {"N": "10"}}
            if ":ten" in (condition or "")
            else values,
            "ReturnValues": "ALL_NEW",
        }
        if "#s" in expression:
            request["ExpressionAttributeNames"] = {"#s": "s"}
        if condition:
            request["ConditionExpression"] = condition
        try:
            outcomes.append({"item": _canonical({"M": client.update_item(**request)["Attributes"]})})
        except client.exceptions.ClientError as error:
            outcomes.append((error.response["Error"]["Code"], error.response["Error"]["Message"]))
    return outcomes


def test_update_expressions_answer_the_same_with_kinds_told_by_class(monkeypatch: pytest.MonkeyPatch) -> None:
    import abc

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    outcomes: dict[str, list[Any]] = {}
    checks: dict[str, int] = {}
    for kind in ("unpatched", "patched"):
        _make_moto(kind, monkeypatch)
        with mock_aws():
            # Given a count of moto's checks against its abstract node classes
            told = _spy(monkeypatch, abc.ABCMeta, "__instancecheck__")
            # When updates of every kind, and ones DynamoDB refuses, are applied to one item
            outcomes[kind] = _apply_updates()
            checks[kind] = len(told)
            monkeypatch.setattr(
                abc.ABCMeta, "__instancecheck__", inspect.getattr_static(abc.ABCMeta, "__instancecheck__")
            )
    # Then every item and every refusal is the same, word for word
    assert outcomes["patched"] == outcomes["unpatched"]
    assert [type(o) for o in outcomes["unpatched"]].count(tuple) == 5  # refused
    # but the patched moto told node kinds by class, without moto's abstract-class checks
    assert checks["unpatched"] > 300 and checks["patched"] < checks["unpatched"] / 5


def _write_answers() -> list[tuple[str, Any]]:
    """The raw answers (parsed JSON) to puts and updates of every return-value kind."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    answers: list[tuple[str, Any]] = []
    client.meta.events.register(
        "before-parse.dynamodb.*",
        lambda operation_model, response_dict, **_: answers.append(
            (operation_model.name, json.loads(response_dict["body"] or b"{}"))
        ),
    )
    _table()
    item: dict[str, Any] = {
        "pk": {"S": "a"},
        "n": {"N": "1.50"},
        "b": {"B": b"\x00\x01"},
        "ids": {"SS": ["x", "y"]},
        "m": {"M": {"l": {"L": [{"NULL": True}, {"BOOL": False}]}}},
    }
    client.put_item(TableName="t", Item=item)
    client.put_item(TableName="t", Item=item, ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL")
    for returned in ("ALL_NEW", "UPDATED_OLD", "UPDATED_NEW", "ALL_OLD", "NONE"):
        client.update_item(
            TableName="t",
            Key={"pk": {"S": "a"}},
            UpdateExpression="SET n = n + :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues=returned,
        )
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.put_item(
            TableName="t",
            Item={"pk": {"S": "a"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    return answers[1:]  # after the table's creation


def test_puts_and_updates_answer_the_same_without_moto_s_generic_serializer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.core import responses as core_responses

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    answers: dict[str, list[tuple[str, Any]]] = {}
    serialized: dict[str, int] = {}
    for kind in ("unpatched", "patched"):
        _make_moto(kind, monkeypatch)
        with mock_aws():
            # Given a count of answers walked through moto's model-driven serializer
            walked = _spy(monkeypatch, core_responses, "XFormedAttributePicker")
            # When items are put and updated with every kind of returned values
            answers[kind] = _write_answers()
            serialized[kind] = len(walked)
    # Then every answer is the same, the refused put's old item included
    assert answers["patched"] == answers["unpatched"]
    assert [operation for operation, _ in answers["unpatched"]].count("UpdateItem") == 5
    # but the patched moto wrote the four answers without a binary value (the plain put, the
    # updates returning n or nothing) without the serializer; the binary ones still go through it
    assert serialized["unpatched"] == 8 and serialized["patched"] == 4


def test_update_expressions_answer_the_same_with_their_trees_unpickled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    validators: Any = importlib.import_module("moto.dynamodb.parsing.validators")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    outcomes: dict[str, list[Any]] = {}
    copied: dict[str, int] = {}
    counted: dict[str, int] = {}
    for kind in ("unpatched", "patched"):
        _make_moto(kind, monkeypatch)
        with mock_aws():
            # Given a count of the syntax trees moto's validators deep-copy, and of its counts
            # of a tree's clauses
            trees = _spy(monkeypatch, validators, "deepcopy")
            counts = _spy(monkeypatch, validators.ActionCountValidator, "verify_action_counts")
            # When updates of every kind, and ones DynamoDB refuses, are applied to one item and
            # then to another (the second time from the trees the first one parsed and validated)
            outcomes[kind] = _apply_updates(("first", "second"))
            copied[kind] = sum(isinstance(tree, validators.Node) for tree in trees)
            counted[kind] = len(counts)
    # Then every item and every refusal is the same, word for word, both times
    assert outcomes["patched"] == outcomes["unpatched"]
    first, second = outcomes["patched"][: len(UPDATES)], outcomes["patched"][len(UPDATES) :]
    assert [_without_key(o) for o in first] == [_without_key(o) for o in second]
    assert [type(o) for o in outcomes["unpatched"]].count(tuple) == 10  # refused
    # but the patched moto made its validators' trees from their pickles, not by deep copies
    assert copied["unpatched"] >= len(UPDATES) * 2 and copied["patched"] == 0
    # and counted a tree's clauses until it passed once (the refused trees every time)
    assert counted["patched"] < counted["unpatched"] / 2


def _without_key(outcome: Any) -> Any:
    if isinstance(outcome, dict):
        return {name: value for name, value in outcome["item"][1].items() if name != "pk"}
    return outcome


def _conditional_writes(client: Any) -> list[Any]:
    """The outcomes (answer or error) of conditional puts, updates, deletes and transactions,
    passing, failing and refused, each sent twice."""
    claim = {"TableName": "t", "ConditionExpression": "attribute_not_exists(pk)"}
    writes: list[tuple[str, dict[str, Any]]] = [
        ("put_item", {**claim, "Item": {"pk": {"S": "claim"}, "n": {"N": "1"}}}),
        (
            "put_item",
            {
                **claim,
                "Item": {"pk": {"S": "claim"}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            },
        ),
        (
            "update_item",
            {
                "TableName": "t",
                "Key": {"pk": {"S": "claim"}},
                "UpdateExpression": "SET n = n + :one",
                "ConditionExpression": "#n < :ten AND attribute_exists(pk)",
                "ExpressionAttributeNames": {"#n": "n"},
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":ten": {"N": "2"}},
                "ReturnValues": "ALL_NEW",
            },
        ),
        (
            "put_item",  # a name the condition does not use: refused
            {**claim, "Item": {"pk": {"S": "other"}}, "ExpressionAttributeNames": {"#x": "x"}},
        ),
        (
            "transact_write_items",
            {
                "TransactItems": [
                    {"Put": {**claim, "Item": {"pk": {"S": "t1"}}}},
                    {
                        "Update": {
                            **_set_n("claim", "5"),
                            "ConditionExpression": "n IN (:a, :b)",
                            "ExpressionAttributeValues": {
                                ":v": {"N": "5"},
                                ":a": {"N": "2"},
                                ":b": {"N": "3"},
                            },
                        }
                    },
                ]
            },
        ),
        (
            "delete_item",
            {
                "TableName": "t",
                "Key": {"pk": {"S": "claim"}},
                "ConditionExpression": "attribute_exists(#n) AND NOT #n <> :two",
                "ExpressionAttributeNames": {"#n": "n"},
                "ExpressionAttributeValues": {":two": {"N": "2"}},
            },
        ),
    ]
    outcomes: list[Any] = []
    for operation, request in writes * 2:
        try:
            answer = getattr(client, operation)(**request)
            outcomes.append({k: v for k, v in answer.items() if k != "ResponseMetadata"})
        except client.exceptions.ClientError as error:
            outcomes.append((error.response["Error"], error.response.get("Item")))
    outcomes.append(client.scan(TableName="t")["Items"])
    return outcomes


def test_conditions_answer_the_same_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.comparisons import ConditionExpressionParser

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    outcomes: dict[str, list[Any]] = {}
    parsed: dict[str, int] = {}
    for kind in ("unpatched", "patched"):
        _make_moto(kind, monkeypatch)
        with mock_aws():
            _table()
            # Given a count of the condition expressions moto parses
            lexed = _spy(monkeypatch, ConditionExpressionParser, "_lex_condition_expression")
            # When conditional writes of each kind are sent twice: passing, failing, refused
            outcomes[kind] = _conditional_writes(boto3.client("dynamodb", region_name="us-east-1"))
            parsed[kind] = len(lexed)
    # Then every answer, every refusal and the table after are the same, word for word
    assert outcomes["patched"] == outcomes["unpatched"]
    errors = [o[0]["Code"] for o in outcomes["unpatched"] if isinstance(o, tuple)]
    assert errors.count("ConditionalCheckFailedException") == 6
    assert errors.count("ValidationException") == 2 and errors.count("TransactionCanceledException") == 1
    # but the patched moto parsed each of the five conditions once per form moto hands it over
    # in (the claim's without names as None and as {}: 7 in all), where moto as it ships parsed
    # them up to three times per request, 28 times
    assert parsed == {"unpatched": 28, "patched": 7}


def _request_handler(kind: str) -> Any:
    """moto's request handler as the stack's server runs it (``patched``) or as moto ships it,
    for one answered ``POST /`` (no connection: only its logging and headers are used)."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    handler_class = (
        moto_main.keep_alive_handler(MotoRequestHandler) if kind == "patched" else MotoRequestHandler
    )
    handler = handler_class.__new__(handler_class)
    handler.client_address = ("127.0.0.1", 50000)
    handler.command, handler.path, handler.request_version = "POST", "/", "HTTP/1.1"
    handler.requestline = "POST / HTTP/1.1"
    return handler


@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING])
def test_requests_are_logged_the_same_and_dates_said_the_same(
    level: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import time

    # Given werkzeug's logger at a level, and a fixed clock (half a second into a second)
    caplog.set_level(level, logger="werkzeug")
    monkeypatch.setattr(time, "time", lambda: 1_796_688_000.5)
    lines: dict[str, list[str]] = {}
    formatted: dict[str, int] = {}
    dates: dict[str, str] = {}
    dated: dict[str, int] = {}
    for kind in ("unpatched", "patched"):
        handler = _request_handler(kind)
        stamps = _spy(monkeypatch, type(handler), "log_date_time_string")
        # When the server logs an answered request and dates an answer
        caplog.clear()
        handler.log_request(200, 123)
        lines[kind] = [record.getMessage() for record in caplog.records]
        formatted[kind] = len(stamps)
        said = _spy(monkeypatch, email.utils, "formatdate")
        dates[kind] = handler.date_time_string()
        assert handler.date_time_string() == dates[kind]
        dated[kind] = len(said)
        monkeypatch.setattr(email.utils, "formatdate", inspect.getattr_static(email.utils, "formatdate"))
    # Then the same lines are logged and the same Date said, twice
    assert lines["patched"] == lines["unpatched"]
    assert dates["patched"] == dates["unpatched"] == "Tue, 08 Dec 2026 00:00:00 GMT"
    # but the patched server formats a second's Date once, not for every answer
    assert dated["unpatched"] == 2 and dated["patched"] <= 1
    if level == logging.INFO:
        assert len(lines["unpatched"]) == 1 and '"POST / HTTP/1.1" 200 123' in lines["unpatched"][0]
    else:
        # and a line the level drops is not formatted first
        assert lines["unpatched"] == [] and formatted == {"unpatched": 1, "patched": 0}
