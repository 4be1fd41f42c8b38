"""The simulator's HTTP sender: events to the public ingest API, in batches, with retries.

The API acknowledges events it already holds as duplicates, so a batch sent again after an error
never counts twice; :func:`send` relies on that to retry a connection error or a 5xx.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import requests
from tqdm import tqdm

from devstack.simulator.store import Event

# The ingest API's limits (CONTRACT section 2); a batch is cut before either is reached.
MAX_BATCH_EVENTS = 500
MAX_BATCH_BYTES = 1024 * 1024 - 4096
# First pause before resending a failed batch, doubled at each attempt (0.5 + 1 + 2 + 4 s).
RETRY_BACKOFF_SECONDS = 0.5


class SimulatorError(RuntimeError):
    """Something the person running the simulator has to act on; the message says what."""


class ApiUnreachable(SimulatorError):
    """The ingest API could not be reached or kept failing; worth trying again later."""


class IngestRefused(SimulatorError):
    """The ingest API refused a request (4xx); sending it again would not help.

    ``status`` and ``error`` (the body's ``error`` object, when it has one) say how.
    """

    def __init__(self, message: str, status: int = 0, error: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.error = error or {}


def batch_bodies(events: Sequence[Event], batch_size: int) -> Iterator[tuple[int, bytes]]:
    """Request bodies of at most ``batch_size`` events and the API's byte limit."""
    encoded: list[bytes] = []
    size = len(b'{"events":[]}')
    for event in events:
        item = json.dumps(event, separators=(",", ":")).encode()
        if encoded and (len(encoded) >= batch_size or size + len(item) + 1 > MAX_BATCH_BYTES):
            yield len(encoded), b'{"events":[' + b",".join(encoded) + b"]}"
            encoded, size = [], len(b'{"events":[]}')
        encoded.append(item)
        size += len(item) + 1
    if encoded:
        yield len(encoded), b'{"events":[' + b",".join(encoded) + b"]}"


def _api_message(response: requests.Response) -> str:
    try:
        error = response.json()["error"]
        details = "; ".join(str(d) for d in error.get("details") or [])
        return f"{error['message']}" + (f" ({details})" if details else "")
    except (ValueError, KeyError, TypeError, AttributeError):
        return response.text.strip()[:300] or response.reason or "no message"


def post_batch(
    http: requests.Session,
    url: str,
    ingest_key: str,
    body: bytes,
    *,
    timeout: float,
    retries: int,
    backoff: float,
) -> dict[str, Any]:
    problem = ""
    for attempt in range(max(1, retries)):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            response = http.post(
                url,
                data=body,
                headers={"x-api-key": ingest_key, "content-type": "application/json"},
                timeout=timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            problem = f"cannot reach the ingest API at {url} ({type(exc).__name__})"
            continue
        if response.status_code >= 500 or response.status_code == 429:
            problem = f"the ingest API at {url} answered {response.status_code}: " + _api_message(response)
            continue
        if response.status_code >= 400:
            hint = (
                " Check the ingest key (STOREPULSE_INGEST_KEY)." if response.status_code in (401, 403) else ""
            )
            try:
                error = response.json().get("error")
            except (ValueError, AttributeError):
                error = None
            message = _api_message(response)
            raise IngestRefused(
                f"the ingest API refused a batch with {response.status_code}: {message}.{hint}",
                response.status_code,
                error if isinstance(error, dict) else None,
            )
        try:
            result: dict[str, Any] = response.json()
        except ValueError:
            raise IngestRefused(f"the ingest API at {url} did not answer JSON") from None
        return result
    raise ApiUnreachable(problem)


def send(
    events: Sequence[Event],
    api_url: str,
    ingest_key: str,
    batch_size: int = 500,
    progress: bool = True,
    *,
    session: requests.Session | None = None,
    timeout: float = 30.0,
    retries: int = 5,
    backoff: float | None = None,
) -> dict[str, int]:
    """Send events through the ingest API, in batches.

    A batch that meets a connection error or a 5xx is sent again after a growing pause: the
    API acknowledges events it already holds as duplicates, so a retry never counts twice.

    Parameters
    ----------
    events
        JSON-ready events, as :func:`generate` returns them.
    api_url
        The API's base URL, such as ``http://127.0.0.1:8000``.
    ingest_key
        The ingest key, sent as ``x-api-key``.
    batch_size
        Events per request (at most 500, and fewer if the body would pass 1 MiB).
    progress
        Show a progress bar on stderr.
    session
        The HTTP session to use; one is opened (and closed) for this call by default.
    timeout, retries, backoff
        Seconds per request; attempts per batch; first pause between attempts, doubled each
        time (``RETRY_BACKOFF_SECONDS`` by default).

    Returns
    -------
    dict
        ``{"accepted": n, "duplicates": n, "rejected": n}`` over all batches.

    Raises
    ------
    IngestRefused
        On a 4xx answer, with the API's message.
    ApiUnreachable
        When a batch still fails after ``retries`` attempts.

    Examples
    --------
    Against a running stack (``make run``)::

        totals = send(generate(7, 20), "http://127.0.0.1:8000", ingest_key)
        # {'accepted': 1234, 'duplicates': 0, 'rejected': 0}
    """
    if not 1 <= batch_size <= MAX_BATCH_EVENTS:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_EVENTS}")
    url = api_url.rstrip("/") + "/v1/events"
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    http = session or requests.Session()
    shown_rejections = 0
    try:
        with tqdm(total=len(events), unit="events", disable=not progress, desc="ingest") as bar:
            for count, body in batch_bodies(events, batch_size):
                answer = post_batch(
                    http,
                    url,
                    ingest_key,
                    body,
                    timeout=timeout,
                    retries=retries,
                    backoff=RETRY_BACKOFF_SECONDS if backoff is None else backoff,
                )
                rejected = answer.get("rejected") or []
                totals["accepted"] += int(answer.get("accepted", 0))
                totals["duplicates"] += int(answer.get("duplicates", 0))
                totals["rejected"] += len(rejected)
                for rejection in rejected[: max(0, 5 - shown_rejections)]:
                    # A rejected event is a bug in the generator or the contract: say which.
                    tqdm.write(
                        f"rejected {rejection.get('event_id')}: {rejection.get('errors')}", file=sys.stderr
                    )
                shown_rejections += len(rejected)
                bar.update(count)
                bar.set_postfix(accepted=totals["accepted"], duplicates=totals["duplicates"], refresh=False)
    finally:
        if session is None:
            http.close()
    return totals
