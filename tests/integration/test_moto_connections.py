"""The stack's moto server keeps a client's connection open between requests, answering as before.

moto's server (werkzeug's) closed every connection after one answer, so each AWS call paid for
a TCP connection and a server thread of its own. ``devstack.moto_main`` keeps HTTP/1.1
connections open when a request's body is framed by ``Content-Length``; these tests drive its
real server through raw HTTP, where the connection is visible, and through boto3.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import boto3
import pytest

from devstack.aws import MotoServer, free_port

LIST_TABLES = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}
AUTH = {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20261207/us-east-1/dynamodb/aws4_request"}


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer(free_port()) as server:
        yield server


def _client(moto: MotoServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", moto.port, timeout=10)


def _list_tables(connection: http.client.HTTPConnection, **extra: str) -> tuple[int, dict[str, str], bytes]:
    connection.request("POST", "/", body=b"{}", headers={**LIST_TABLES, **AUTH, **extra})
    answer = connection.getresponse()
    return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


def test_requests_of_one_client_share_its_connection(moto: MotoServer) -> None:
    # Given one HTTP/1.1 connection to the stack's moto
    connection = _client(moto)
    # When it sends three requests in turn
    answers = [_list_tables(connection) for _ in range(3)]
    socket_after_first = connection.sock
    # Then each is answered as a fresh connection's is, and the connection stays open for the next
    fresh = _list_tables(_client(moto))
    expected = (fresh[0], json.loads(fresh[2]))
    assert [(status, json.loads(body)) for status, _, body in answers] == [expected] * 3
    assert fresh[0] == 200 and "TableNames" in json.loads(fresh[2])
    assert all(headers.get("connection") != "close" for _, headers, _ in answers)
    assert socket_after_first is not None and connection.sock is socket_after_first


def test_a_body_the_server_never_reads_does_not_reach_the_next_request(moto: MotoServer) -> None:
    # Given a connection whose first request is refused before its body is read (a web page's)
    connection = _client(moto)
    body = json.dumps({"padding": "x" * 50_000}).encode()
    connection.request(
        "POST", "/", body=body, headers={**LIST_TABLES, **AUTH, "Origin": "http://evil.example"}
    )
    refused = connection.getresponse()
    refused_body = refused.read()
    # When the same connection sends a request after it
    status, _, answer = _list_tables(connection)
    # Then the refusal stands and the next request is answered whole, not parsed from the rest
    # of the first one's body
    assert refused.status == 403 and b"cross-origin" in refused_body
    assert status == 200 and "TableNames" in json.loads(answer)


def test_a_client_that_asks_to_close_is_closed(moto: MotoServer) -> None:
    # Given a connection whose request says Connection: close
    connection = _client(moto)
    status, headers, _ = _list_tables(connection, Connection="close")
    # Then it is answered, and closed as asked
    assert status == 200 and headers.get("connection") == "close"
    assert connection.sock is None


def test_boto3_calls_answer_as_before_on_a_kept_connection(moto: MotoServer) -> None:
    # Given boto3's client, whose pool reuses a connection the server keeps open
    client = boto3.client(
        "dynamodb",
        endpoint_url=moto.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_table(
        TableName="kept",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # When a claim is put, put again (its condition fails), and read, one call after another
    item = {"pk": {"S": "event-1"}}
    client.put_item(TableName="kept", Item=item, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.put_item(TableName="kept", Item=item, ConditionExpression="attribute_not_exists(pk)")
    got = client.get_item(TableName="kept", Key={"pk": {"S": "event-1"}}, ConsistentRead=True)
    # Then the answers are DynamoDB's: the second claim refused, the item as first put
    assert got["Item"] == {"pk": {"S": "event-1"}}
