"""The benchmark's meter: DynamoDB item sizes and request units by AWS's rules, and its hooks.

The arithmetic is checked on items of known size; the hooks on an in-process moto
(``mock_aws``), where a metered client's calls must come out with the units AWS would bill.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bench.meter import (
    Meter,
    Tally,
    Usage,
    item_size,
    number_size,
    read_units,
    transaction_write_units,
    value_size,
    write_units,
)
from bench.meter import _Invocation as Invocation

TABLE = "meter-test"


def sized_item(size: int, pk: str = "a") -> dict[str, Any]:
    """An item of exactly ``size`` bytes: ``pk`` (2 + len) and ``pad`` (3 + len)."""
    padding = size - (2 + len(pk)) - 3
    assert padding >= 0
    return {"pk": {"S": pk}, "pad": {"S": "x" * padding}}


# -- sizes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("7", 2),  # one significant digit: 1 byte for it, 1 byte more
        ("12", 2),
        ("123", 3),
        ("12345", 4),
        ("0.50", 2),  # leading and trailing zeroes are not significant
        ("-1200", 2),
        ("19.99", 3),
        ("123456789012345678901234567890123456789", 21),
    ],
)
def test_number_size_is_one_byte_per_two_significant_digits_plus_one(text: str, size: int) -> None:
    assert number_size(text) == size


def test_string_and_binary_sizes_are_their_bytes() -> None:
    assert value_size({"S": "abc"}) == 3
    assert value_size({"S": "é"}) == 2  # UTF-8 bytes, not characters
    assert value_size({"B": b"\x00\x01\x02\x03"}) == 4
    assert value_size({"BOOL": False}) == 1
    assert value_size({"NULL": True}) == 1


def test_sets_lists_and_maps_add_three_bytes_and_one_per_element() -> None:
    # Given sets, a list and a map whose elements' sizes are known
    # Then each is its elements + 1 byte each + 3 bytes
    assert value_size({"SS": ["a", "bc"]}) == 3 + (1 + 1) + (2 + 1)
    assert value_size({"NS": ["1", "100"]}) == 3 + (2 + 1) + (2 + 1)
    assert value_size({"L": [{"S": "ab"}, {"N": "5"}]}) == 3 + (2 + 1) + (2 + 1)
    assert value_size({"M": {"k": {"S": "vv"}}}) == 3 + (1 + 2 + 1)
    assert value_size({"L": []}) == 3


def test_item_size_counts_attribute_names() -> None:
    assert item_size({"pk": {"S": "DAY#2025-03-01"}, "orders": {"N": "12"}}) == 2 + 14 + 6 + 2
    assert item_size(sized_item(1500)) == 1500
    assert item_size(None) == 0


def test_unknown_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown DynamoDB type"):
        value_size({"X": "1"})


# -- units ------------------------------------------------------------------------------------


def test_a_1500_byte_put_is_two_write_units_and_four_in_a_transaction() -> None:
    size = item_size(sized_item(1500))
    assert write_units(size) == 2
    assert transaction_write_units([size]) == 4


def test_write_units_round_up_per_kilobyte_with_a_minimum_of_one() -> None:
    assert [write_units(s) for s in (0, 1, 1024, 1025, 2048, 2049)] == [1, 1, 1, 2, 2, 3]
    assert transaction_write_units([100, 1025, 3000]) == 2 * (1 + 2 + 3)


def test_read_units_per_4_kb_and_half_when_eventually_consistent() -> None:
    assert read_units(4096, consistent=True) == 1
    assert read_units(4097, consistent=True) == 2
    assert read_units(4097, consistent=False) == 1.0
    assert read_units(0, consistent=False) == 0.5  # a missing item still costs the smallest read


def test_tallies_subtract() -> None:
    earlier = Tally({("orders", "dynamodb", "UpdateItem"): Usage(calls=2, write_units=2)})
    later = Tally(
        {
            ("orders", "dynamodb", "UpdateItem"): Usage(calls=5, write_units=7),
            ("lake", "s3", "PutObject"): Usage(calls=1, billed=1),
        }
    )
    between = later - earlier
    assert between.usage(service="dynamodb").write_units == 5
    assert between.usage(function="lake").billed == 1


# -- hooks on real (mocked) clients -----------------------------------------------------------


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def metered(client: Any, *, precise: bool) -> Meter:
    meter = Meter(precise=precise)
    meter.instrument(client)
    return meter


def test_precise_put_update_and_transaction_units(dynamodb: Any) -> None:
    meter = metered(dynamodb, precise=True)
    # Given a 1,500-byte item put
    dynamodb.put_item(TableName=TABLE, Item=sized_item(1500))
    assert meter.snapshot().usage(operation="PutItem").write_units == 2
    # When a small item grows past 1 KB by an update, the larger size (after) is billed
    dynamodb.put_item(TableName=TABLE, Item=sized_item(500, "b"))
    dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "b"}},
        UpdateExpression="SET more = :v",
        ExpressionAttributeValues={":v": {"S": "y" * 1000}},
    )
    assert meter.snapshot().usage(operation="UpdateItem").write_units == 2
    # And a transaction writing the 1,500-byte item counts double
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "a"}},
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            }
        ]
    )
    assert meter.snapshot().usage(operation="TransactWriteItems").write_units == 4


def test_a_failed_condition_is_billed_as_failed_write_units(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=sized_item(500))
    meter = metered(dynamodb, precise=True)
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.update_item(
            TableName=TABLE,
            Key={"pk": {"S": "a"}},
            UpdateExpression="SET n = :v",
            ConditionExpression="attribute_not_exists(pk)",
            ExpressionAttributeValues={":v": {"N": "1"}},
        )
    used = meter.snapshot().usage(operation="UpdateItem")
    assert (used.calls, used.errors, used.write_units, used.failed_write_units) == (1, 1, 0, 1)


def test_reads_bill_the_whole_item_even_with_a_projection(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=sized_item(5000))
    meter = metered(dynamodb, precise=True)
    # Given an eventually consistent read of one attribute of a 5,000-byte item and of a missing item
    dynamodb.batch_get_item(
        RequestItems={
            TABLE: {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "nobody"}}], "ProjectionExpression": "pk"}
        }
    )
    # Then the item costs 2 units at half price, and the missing one the smallest read
    assert meter.snapshot().usage(operation="BatchGetItem").read_units == 1.0 + 0.5


def test_read_units_are_told_by_item_kind_and_consistency(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=sized_item(5000, "DAY#1"))
    dynamodb.put_item(TableName=TABLE, Item=sized_item(100, "CUST#9"))
    meter = metered(dynamodb, precise=True)
    # Given a strongly consistent read of a 5,000-byte day item, an eventually consistent one of
    # a profile, and a Query of the day's partition
    dynamodb.batch_get_item(RequestItems={TABLE: {"Keys": [{"pk": {"S": "DAY#1"}}], "ConsistentRead": True}})
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "CUST#9"}})
    dynamodb.query(
        TableName=TABLE, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "DAY#1"}}
    )
    # Then each is told apart, with the units that the calls' totals hold
    assert meter.read_units_by_kind() == {
        ("unattributed", "BatchGetItem", "DAY#*/*", "strong"): 2,
        ("unattributed", "GetItem", "CUST#*/*", "eventual"): 0.5,
        ("unattributed", "Query", "DAY#*/(query)", "eventual"): 1.0,
    }
    assert meter.snapshot().usage(service="dynamodb").read_units == 3.5


def test_cheap_mode_counts_calls_without_sizing(dynamodb: Any) -> None:
    meter = metered(dynamodb, precise=False)
    dynamodb.put_item(TableName=TABLE, Item=sized_item(1500))
    used = meter.snapshot().usage(service="dynamodb")
    assert (used.calls, used.billed, used.write_units) == (1, 1, 0)


def test_calls_belong_to_the_function_that_makes_them(dynamodb: Any) -> None:
    meter = metered(dynamodb, precise=False)

    def handler(event: Any, context: Any) -> dict[str, Any]:
        dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})
        return {"batchItemFailures": [{"itemIdentifier": "m2"}]}

    meter.function("orders", handler)({"Records": [{"messageId": "m1"}, {"messageId": "m2"}]}, None)
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})
    tally = meter.snapshot()
    assert tally.usage(function="orders").calls == 1
    assert tally.usage(function="unattributed").calls == 1
    orders = tally.functions["orders"]
    assert (orders.count, orders.records, orders.failed_records) == (1, 2, 1)


def test_sqs_receives_are_counted_with_their_messages_and_empties(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="x" * 100)
        meter = metered(sqs, precise=False)
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    used = meter.snapshot().usage(service="sqs", operation="ReceiveMessage")
    assert (used.calls, used.billed, used.items, used.empty, used.bytes) == (2, 2, 1, 1, 100)


def test_clients_made_while_metered_can_be_forgotten_and_made_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # The local stack forgets the shared clients when it sets the functions' environment, inside
    # the benchmark's metered block (`make bench` failed at start with an AttributeError)
    from backend.adapters import clients

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    meter = Meter()
    with mock_aws(), meter.handler_clients():
        first = clients.client("sqs")
        clients.forget_clients()
        again = clients.client("sqs")
        again.create_queue(QueueName="metered")
    # Then the client made again is a new one, and still metered
    assert again is not first
    assert meter.snapshot().usage(service="sqs", operation="CreateQueue").calls == 1


def test_an_invocations_own_time_leaves_out_its_calls_in_flight_and_the_meters_sizing() -> None:
    # Given an invocation of 1.0 s: two calls overlapping from 0.1 to 0.4 (0.5 s of call time in
    # 0.3 s), one from 0.6 to 0.7, and the meter sizing a write from 0.7 to 0.8
    invocation = Invocation()
    invocation.call("dynamodb", "PutItem", 0.1, 0.4)
    invocation.call("dynamodb", "PutItem", 0.2, 0.4)
    invocation.call("sqs", "DeleteMessageBatch", 0.6, 0.7)
    invocation.sized(0.7, 0.8)
    profile = invocation.profile(0.0, 1.0, cpu_seconds=0.2)
    # Then its own time is the 0.5 s with nothing in flight, its wait 0.4 s, at 1.5 calls at once
    assert profile.own_seconds == pytest.approx(0.5)
    assert profile.waited_seconds == pytest.approx(0.4)
    assert profile.parallelism == pytest.approx(0.6 / 0.4)
    assert profile.calls == {("dynamodb", "PutItem"): 2, ("sqs", "DeleteMessageBatch"): 1}
    # And priced at AWS latency its calls take their count times the latency, overlapping as here
    latency = {"dynamodb": 0.010, "sqs": 0.020}
    assert profile.seconds_at(lambda service, _: latency[service]) == pytest.approx(0.5 + 0.040 / 1.5)
    # And on a quarter of a core its own time takes four times as long
    assert profile.seconds_at(lambda service, _: latency[service], 0.25) == pytest.approx(2.0 + 0.040 / 1.5)
    # And its own time can be taken as the CPU its thread used instead
    assert profile.seconds_at(lambda service, _: latency[service], by_cpu=True) == pytest.approx(
        0.2 + 0.040 / 1.5
    )


def test_calls_of_an_invocation_made_by_its_worker_threads_are_its_own(dynamodb: Any) -> None:
    meter = metered(dynamodb, precise=False)

    def handler(event: Any, context: Any) -> None:
        # As backend.adapters.parallel does: the workers run in a copy of the caller's context
        with ThreadPoolExecutor(2) as pool:
            futures = [
                pool.submit(
                    contextvars.copy_context().run, dynamodb.get_item, TableName=TABLE, Key={"pk": {"S": k}}
                )
                for k in ("a", "b")
            ]
            [f.result() for f in futures]
        dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "c"}})

    meter.function("orders", handler)({}, None)
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "outside"}})
    (profile,) = meter.snapshot().functions["orders"].profiles
    assert profile.calls == {("dynamodb", "GetItem"): 3}
    assert profile.parallelism >= 1.0
