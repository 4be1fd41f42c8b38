"""The code scanners the consistency tests rely on find what the code plainly does: a scanner
that found nothing would make every coverage test pass vacuously."""

from __future__ import annotations

from tests.infra.aws_calls import aws_calls, import_closure
from tests.infra.code_settings import settings_variables, variables_read


def test_ingest_calls_found() -> None:
    calls = aws_calls("backend.handlers.ingest")
    # ssm: backend/settings.py reads a secret from the parameter its variable names (ssm:<name>)
    assert calls.services == {"dynamodb", "sns", "ssm"}
    # batch_get / batch_put in backend.adapters.dynamo, publish_batch in backend.adapters.bus
    assert {"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "sns:Publish"} <= calls.actions()
    assert "backend.adapters.bus" in calls.modules
    # backend.adapters.clients is in the closure, but its @cache'd S3 presigner is not reached
    assert "backend.adapters.clients" in calls.modules


def test_reachability_tells_functions_sharing_a_module_apart() -> None:
    # orders and customers share backend/handlers/_sqs.py; only stock keepers raise alerts
    assert "events:PutEvents" in aws_calls("backend.handlers.orders").actions()
    assert "events:PutEvents" not in aws_calls("backend.handlers.customers").actions()
    assert "EVENT_BUS_NAME" in variables_read("backend.handlers.orders")
    assert "EVENT_BUS_NAME" not in variables_read("backend.handlers.customers")


def test_transaction_and_s3_calls_found() -> None:
    assert "dynamodb:UpdateItem" in aws_calls("backend.handlers.orders").actions()  # TransactWriteItems
    assert aws_calls("backend.handlers.lake").actions() >= {"s3:PutObject"}


def test_transactions_are_granted_by_the_kinds_of_item_they_hold() -> None:
    # subscribing and unsubscribing (backend/adapters/reports_store.py) put, update and delete
    api = aws_calls("backend.handlers.api")
    assert {"Put", "Update", "Delete"} <= api.transaction_items
    assert {"dynamodb:PutItem", "dynamodb:DeleteItem"} <= api.actions()
    # the orders' counting transaction only updates; a stock crossing puts its pending alert in
    # the transaction that records the crossing (backend/processing/stock.py), so Put too
    orders = aws_calls("backend.handlers.orders")
    assert orders.transaction_items == {"Update", "Put"}
    assert "dynamodb:PutItem" in orders.actions()
    assert "dynamodb:BatchWriteItem" in orders.actions()
    # the reports function writes no transaction
    assert ("dynamodb", "TransactWriteItems") not in aws_calls("backend.handlers.reports").operations


def test_read_api_does_not_inherit_the_ingest_routes_it_only_describes() -> None:
    assert "backend.api.ingest_routes" not in import_closure("backend.handlers.api")
    assert "sns:Publish" not in aws_calls("backend.handlers.api").actions()
    assert "dynamodb:Query" in aws_calls("backend.handlers.api").actions()


def test_settings_variables_found() -> None:
    fields = settings_variables()
    assert fields["analytics_table"] == "ANALYTICS_TABLE"
    # a variable read through a method chain (env("PUBLIC_API_URL", "").rstrip("/"))
    assert fields["public_api_url"] == "PUBLIC_API_URL"
    assert all(name.isupper() for name in fields.values())
    assert {"PII_HASH_KEY", "INGEST_KEY_SHA256", "EVENTS_TOPIC_ARN"} <= variables_read(
        "backend.handlers.ingest"
    )
