"""Shared fixtures: one complete local stack per test session.

The ``stack`` fixture runs what ``make run`` runs (a moto server subprocess, the resources of
``infra/stack.json``, the HTTP API, the SQS pollers, the real handlers) on free ports with a
temporary data directory, with short visibility timeouts and batching windows so that
redelivery takes a second. If it cannot start, every test using it errors: nothing is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from backend.settings import get_settings

# Hypothesis judges its own speed by the wall clock (a 200 ms deadline per example, a health check
from devstack.aws import AwsClients, free_port
from devstack.stack import LocalStack, StackOptions

# Hypothesis judges its own speed by the wall clock (a 200 ms deadline per example, a health check
# on slow generation); on two test processes sharing two cores that measures the machine, not the
# property (a series test failed its "input generation is slow" check under load). The examples
# and their number stay Hypothesis' defaults.
hypothesis_settings.register_profile(
    "storepulse", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("storepulse")

# The e2e and property tests build histories across a DST change in this zone.
STORE_TIMEZONE = "America/New_York"
VISIBILITY_TIMEOUT = 2
BATCHING_WINDOW = 0.2


class StackFixture:
    """What tests see of the session's stack.

    Attributes
    ----------
    local
        The :class:`LocalStack` itself (``add_queue_function``, ``resources``, ...).
    api_url, endpoint_url
        The HTTP API and the moto server.
    ingest_key, read_key
        The dev keys in clear.
    """

    def __init__(self, local: LocalStack):
        assert local.keys is not None and local.endpoint_url is not None
        self.local = local
        self.api_url = local.api_url
        self.endpoint_url = local.endpoint_url
        self.ingest_key = local.keys.ingest_key
        self.read_key = local.keys.read_key
        self.data_dir = local.data_dir
        self.session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=local.options.region
        )

    @property
    def aws(self) -> AwsClients:
        """The clients of the running stack, as the ``storepulse`` commands take them."""
        assert self.local.aws is not None
        return self.local.aws

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` bound to the stack's moto server."""
        return self.aws.client(service)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until every queue is empty and nothing runs (see :meth:`LocalStack.wait_idle`)."""
        self.local.wait_idle(timeout)

    def reset(self) -> None:
        """Empty the tables, buckets and queues (DLQs too); the resources stay."""
        self.local.reset()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackFixture]:
    """A complete local stack for the whole session (moto + resources + API + pollers)."""
    options = StackOptions.from_environment(
        {},
        data_dir=tmp_path_factory.mktemp("storepulse-data"),
        api_port=free_port(),
        aws_port=free_port(),
        store_timezone=STORE_TIMEZONE,
        visibility_timeout=VISIBILITY_TIMEOUT,
        batching_window_seconds=BATCHING_WINDOW,
        snapshot_interval=None,
        run_schedules=False,
    )
    local = LocalStack(options).start()
    try:
        yield StackFixture(local)
    finally:
        local.stop(drain_timeout=5)


@pytest.fixture
def store_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The handlers of this process read ``STORE_TIMEZONE`` as the stack's test zone."""
    monkeypatch.setenv("STORE_TIMEZONE", STORE_TIMEZONE)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def kept_environment() -> Iterator[None]:
    """The command line sets the handlers' variables in this process; put them back after."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh ``STOREPULSE_DATA_DIR`` for a test's own stack."""
    path = tmp_path / "data"
    path.mkdir()
    return path


# How `make test` spreads the suite over its processes (`--dist loadgroup`): a file's tests stay
# together on one process (they share its fixtures), except the few long tests below, which run
# one per group; and the longest groups start first, so that no process is still working
# through a long test alone at the end. Before, the four replays of the orders processor's
# fault injection (1.5-3 minutes each) ran one after another in one process and big files
# started last (in path order), about 20 % of the run's time. An entry is a file or one test's
# id, longest first; a renamed test is merely no longer started early.
LONGEST_FIRST = (
    "tests/integration/test_big_store_customers.py",
    "tests/integration/test_exactly_once.py::test_every_aws_call_of_the_orders_processor_can_fail[error-after]",
    "tests/integration/test_exactly_once.py::test_every_aws_call_of_the_orders_processor_can_fail[error-before]",
    "tests/deploy/test_lambda_rehearsal.py",
    "tests/integration/test_big_stock.py",
    "tests/integration/test_exactly_once.py::test_every_aws_call_of_the_orders_processor_can_fail[crash-before]",
    "tests/integration/test_exactly_once.py::test_every_aws_call_of_the_orders_processor_can_fail[crash-after]",
    "tests/e2e/test_chaos.py",
    "tests/integration/test_concurrent_batches.py",
    "tests/deploy/test_dashboard_rehearsal.py",
    "tests/browser/test_views.py",
    "tests/e2e/test_lake_history.py",
    "tests/e2e/test_concurrent_ingest.py",
)


def xdist_group_of(nodeid: str) -> tuple[int, str]:
    """The group of a test (its own id if listed, else its file) and the group's rank.

    >>> xdist_group_of("tests/integration/test_big_stock.py::test_x")
    (4, 'tests/integration/test_big_stock.py')
    >>> xdist_group_of("tests/unit/test_logs.py::test_y")[0] == len(LONGEST_FIRST)
    True
    """
    path = nodeid.split("::", 1)[0]
    for rank, entry in enumerate(LONGEST_FIRST):
        if entry in (nodeid, path):
            return rank, entry
    return len(LONGEST_FIRST), path


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    groups = {item.nodeid: xdist_group_of(item.nodeid) for item in items}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(groups[item.nodeid][1]))
    items.sort(key=lambda item: groups[item.nodeid][0])  # stable: the rest keep their order
