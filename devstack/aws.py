"""The AWS endpoint of the local stack: a moto server subprocess, or one already running.

Clients made here are bound to an explicit endpoint; the handlers instead find it through
``AWS_ENDPOINT_URL`` (boto3 honours it), which :func:`fake_aws_environment` provides.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

import boto3
from botocore.config import Config

logger = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"
SNAPSHOT_ROUTE = "/_storepulse/snapshot"  # served by devstack.moto_main
_PR_SET_PDEATHSIG = 1


class EndpointUnavailable(RuntimeError):
    """The AWS endpoint did not answer, or the moto server could not be started."""


def fake_aws_environment(endpoint_url: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """Variables that point every boto3 client of this process at ``endpoint_url``.

    The credentials are moto's documented dummies: they make sure that nothing signed
    locally can ever be valid in a real account.

    Examples
    --------
    >>> fake_aws_environment("http://127.0.0.1:4566")["AWS_DEFAULT_REGION"]
    'us-east-1'
    """
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }


class AwsClients:
    """boto3 clients bound to one endpoint, one client per service, shared by threads.

    boto3's low-level clients are thread-safe but sessions are not, so clients are created
    under a lock and then reused.

    Parameters
    ----------
    endpoint_url
        The moto or LocalStack endpoint; ``None`` for real AWS (credentials from the usual
        chain).
    region
        The region the resources live in.
    """

    def __init__(self, endpoint_url: str | None, region: str = DEFAULT_REGION):
        self.endpoint_url = endpoint_url
        self.region = region
        fake = "testing" if endpoint_url is not None else None
        self._session = boto3.session.Session(
            region_name=region, aws_access_key_id=fake, aws_secret_access_key=fake
        )
        self._config = Config(
            region_name=region,
            retries={"mode": "standard", "max_attempts": 4},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=32,
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        """The shared client for ``service`` (``"sqs"``, ``"dynamodb"``, ...)."""
        with self._lock:
            if service not in self._clients:
                # boto3-stubs types each service by its literal name; this one is a parameter.
                self._clients[service] = cast(Any, self._session).client(
                    service, endpoint_url=self.endpoint_url, config=self._config
                )
            return self._clients[service]

    @property
    def sqs(self) -> Any:
        return self.client("sqs")

    @property
    def sns(self) -> Any:
        return self.client("sns")

    @property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def events(self) -> Any:
        return self.client("events")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (for tests and throwaway stacks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already accepts connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def endpoint_answers(endpoint_url: str) -> bool:
    """Whether an HTTP server answers at ``endpoint_url`` (any status counts as an answer)."""
    try:
        with urlopen(endpoint_url, timeout=2):
            return True
    except HTTPError:
        return True
    except (URLError, OSError):
        return False


def wait_for_endpoint(endpoint_url: str, timeout: float = 30.0) -> None:
    """Block until ``endpoint_url`` answers HTTP.

    Raises
    ------
    EndpointUnavailable
        After ``timeout`` seconds without an answer.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if endpoint_answers(endpoint_url):
            return
        time.sleep(0.1)
    raise EndpointUnavailable(f"nothing answers at {endpoint_url} after {timeout:.0f} s")


def _parent_death_signal() -> Callable[[], None] | None:
    """A function for ``preexec_fn`` that makes the kernel send SIGTERM to the child when
    the thread that started it dies, so a stack killed hard (SIGKILL, a closed terminal) does
    not leave moto holding its port. Linux only; ``None`` elsewhere.

    libc is loaded here, in the parent: between fork and exec the child may only make plain
    calls, not load libraries (the loader's lock may be held by another thread).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def set_parent_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return set_parent_death_signal


class MotoServer:
    """moto's server as a subprocess of its own (its own CPU core, its own GIL).

    It is :mod:`devstack.moto_main`: moto's server with fixes that keep a store of a
    few months fast.

    It runs in a session of its own so that the terminal's Ctrl-C reaches only the stack,
    which then takes its final snapshot before stopping moto. On Linux it is stopped by the
    kernel when the thread that started it ends, so start it from the main thread.

    Parameters
    ----------
    port
        TCP port on 127.0.0.1.
    log_path
        Where moto's warnings and errors go (rewritten at each start); discarded when ``None``.
    snapshot_path
        Where :meth:`snapshot` makes moto write its point-in-time snapshot.

    Examples
    --------
    With a free port and a second to start moto (so not run as a doctest)::

        with MotoServer(free_port()) as moto:
            AwsClients(moto.endpoint_url).sqs.list_queues()
    """

    def __init__(
        self,
        port: int,
        *,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        snapshot_path: Path | None = None,
    ):
        self.host = host
        self.port = port
        self.log_path = log_path
        self.snapshot_path = snapshot_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout: float = 30.0) -> None:
        """Start moto and wait until it answers.

        Raises
        ------
        EndpointUnavailable
            When the port is taken or moto exits or does not answer in time.
        """
        if port_in_use(self.port, self.host):
            raise EndpointUnavailable(
                f"port {self.port} is already in use; stop whatever listens there, choose "
                "another port with STOREPULSE_AWS_PORT, or point AWS_ENDPOINT_URL at it if it "
                "is a moto or LocalStack you want to use"
            )
        with contextlib.ExitStack() as files:
            log: Any = subprocess.DEVNULL
            if self.log_path is not None:
                log = files.enter_context(open(self.log_path, "wb"))
            # The child keeps its own copy of the log's descriptor; ours closes on exit.
            command = [sys.executable, "-m", "devstack.moto_main", "-H", self.host, "-p", str(self.port)]
            if self.snapshot_path is not None:
                command += ["--snapshot", str(self.snapshot_path)]
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=_parent_death_signal(),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EndpointUnavailable(
                    f"the moto server exited with code {self._process.returncode} while "
                    f"starting{self._log_hint()}"
                )
            if endpoint_answers(self.endpoint_url + "/moto-api/"):
                logger.info("moto server answers at %s (pid %s)", self.endpoint_url, self.pid)
                return
            time.sleep(0.1)
        self.stop()
        raise EndpointUnavailable(f"the moto server did not answer within {timeout:.0f} s{self._log_hint()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop moto: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def snapshot(self, *, tables: list[str], buckets: list[str], queues: list[str]) -> dict[str, Any]:
        """Have moto write one instant of ``tables``, ``buckets`` and ``queues`` (every message,
        in flight or not) to ``snapshot_path``, its requests paused meanwhile; its counts.
        """
        body = json.dumps({"tables": tables, "buckets": buckets, "queues": queues}).encode()
        request = Request(self.endpoint_url + SNAPSHOT_ROUTE, data=body, method="POST")
        with urlopen(request, timeout=600) as response:
            counts: dict[str, Any] = json.loads(response.read())
        return counts

    def kill(self) -> None:
        """Stop moto at once (the forced second Ctrl-C); safe in a signal handler."""
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(OSError):
                os.kill(self._process.pid, signal.SIGKILL)

    def _log_hint(self) -> str:
        return f"; see {self.log_path}" if self.log_path else ""

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
