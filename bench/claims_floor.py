"""The floor of the local pipeline's CPU: the contract's claims alone, against the local moto.

``python bench/claims_floor.py [--claims N] [--threads T] [--claims-per-event 1.6]``

Every accepted event costs at least one conditional ``PutItem`` (ingest's ``event_id`` claim;
orders and refunds a second, the store-wide ``order_id``/``refund_id`` claim: 1.6 per event of
the bench's mix). This starts the stack's moto server (:class:`devstack.aws.MotoServer`, with
its fixes), makes one table shaped as ingest's, and puts ``N`` new claims through boto3 from
``T`` threads, each with ingest's own condition. It prints the CPU each claim took on the client
side (boto3, this process) and in the moto server, and the events per second those two alone
would allow on this machine's cores: the ceiling of ``make bench`` whatever the handlers do.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devstack.aws import AwsClients, MotoServer, free_port

TABLE = "claims-floor"
CONDITION = "attribute_not_exists(event_id) OR (digest = :digest AND attribute_not_exists(published))"
TARGET_EVENTS_PER_SECOND = 1_000


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from ``/proc`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def claim(client: object, event_id: str) -> None:
    """One claim as ingest puts it (``IngestTable._put``): an item of five strings, conditional."""
    digest = uuid.uuid5(uuid.NAMESPACE_OID, event_id).hex
    client.put_item(  # type: ignore[attr-defined]
        TableName=TABLE,
        Item={
            "event_id": {"S": event_id},
            "type": {"S": "order.placed"},
            "digest": {"S": digest},
            "request": {"S": "floor"},
            "claimed_at": {"S": "2026-12-07T00:00:00+00:00"},
        },
        ConditionExpression=CONDITION,
        ExpressionAttributeValues={":digest": {"S": digest}},
    )


def run(claims: int, threads: int) -> dict[str, float]:
    """Put ``claims`` new claims from ``threads`` threads; the CPU and wall time they took."""
    with MotoServer(free_port()) as moto:
        assert moto.pid is not None
        client = AwsClients(moto.endpoint_url).dynamodb
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "event_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in range(50):  # warm both sides: imports, parsers, the connection pool
            claim(client, f"warm-{n}")
        share = [range(t, claims, threads) for t in range(threads)]
        moto_before, client_before = process_cpu_seconds(moto.pid), time.process_time()
        started = time.perf_counter()

        def put_all(ids: range) -> None:
            for n in ids:
                claim(client, f"ev-{n}")

        workers = [threading.Thread(target=put_all, args=(ids,)) for ids in share]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        wall = time.perf_counter() - started
        return {
            "claims": claims,
            "threads": threads,
            "wall_seconds": wall,
            "client_cpu_seconds": time.process_time() - client_before,
            "moto_cpu_seconds": process_cpu_seconds(moto.pid) - moto_before,
        }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--claims", type=int, default=5_000, help="conditional puts to time")
    parser.add_argument("--threads", type=int, default=4, help="threads putting them at once")
    parser.add_argument(
        "--claims-per-event", type=float, default=1.6, help="claims per event of the mix (make bench: 1.6)"
    )
    args = parser.parse_args(argv)
    figures = run(args.claims, args.threads)
    n = figures["claims"]
    client_ms = 1000 * figures["client_cpu_seconds"] / n
    moto_ms = 1000 * figures["moto_cpu_seconds"] / n
    per_event_ms = (client_ms + moto_ms) * args.claims_per_event
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    print(f"claims floor: {n} conditional PutItems from {figures['threads']} threads, load {load:.1f}")
    print(f"  wall: {figures['wall_seconds']:.1f} s, {n / figures['wall_seconds']:.0f} claims/s")
    print(f"  CPU per claim: client (boto3) {client_ms:.2f} ms, moto server {moto_ms:.2f} ms")
    print(
        f"  per event at {args.claims_per_event} claims: {per_event_ms:.2f} CPU-ms; "
        f"{cores} cores allow at most {1000 * cores / per_event_ms:.0f} events/s "
        f"({TARGET_EVENTS_PER_SECOND} events/s needs <= {1000 * cores / TARGET_EVENTS_PER_SECOND:.1f} "
        "CPU-ms per event for everything)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
