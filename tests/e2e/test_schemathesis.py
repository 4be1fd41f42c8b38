"""schemathesis against the local stack, from the API's own ``/v1/openapi.json``: no generated
request gets a 5xx, and no answer breaks the document (status code documented, body conformant).

Examples are few per operation (``MAX_EXAMPLES``) so the run stays near a minute on a loaded
machine; the routes' own tests cover their behaviour. (schemathesis' pytest plugin does not load
under pytest 9, so the operations are driven through its Python API.)
"""

from __future__ import annotations

from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err, Ok
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.conftest import StackFixture

MAX_EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def test_no_request_gets_a_server_error_or_breaks_the_document(stack: StackFixture) -> None:
    # Given the document the API publishes
    document = requests.get(
        stack.api_url + "/v1/openapi.json", headers={"x-api-key": stack.read_key}, timeout=10
    ).json()
    schema = schemathesis.openapi.from_dict(document)
    loaded = list(schema.get_all_operations())
    # Every operation of the document loads (or the test names what schemathesis could not read)
    assert not [r.err() for r in loaded if isinstance(r, Err)]
    operations = [r.ok() for r in loaded if isinstance(r, Ok)]
    assert len(operations) >= 15

    def explore(operation: Any) -> None:
        key = stack.ingest_key if operation.path == "/v1/events" else stack.read_key

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def call(case: Any) -> None:
            # When schemathesis sends what the document allows (and what it does not), then no
            # answer is a server error or outside the document (it raises with a curl to replay)
            case.call_and_validate(
                base_url=stack.api_url, headers={"x-api-key": key}, checks=CHECKS, timeout=10
            )

        call()

    for operation in operations:
        explore(operation)
