"""Leases: a lock item in the analytics table that expires, so a holder that died frees it.

One item per lease, ``pk="LEASE"``, ``sk=<name>``: ``owner`` (a random token per holder) and
``until`` (epoch seconds). Taking it is a conditional ``PutItem`` (no item, or its ``until``
passed); the holder renews it every third of its length while it works, each renewal
conditional on still being the owner, and deletes it when done (again only as its owner).

A holder checks :meth:`Lease.check` before each write it must not make without the lease: the
check fails a third of the lease's length before anyone else could take it (the renewals
failed, or another holder took over), so a write that starts after a passing check has that
long to finish. In Lambda the function's timeout bounds a holder anyway; the renewals are for
runs longer than one lease, and for the command line, which has no timeout.

>>> Taken("lake-compaction", 1_700_000_000.0).until.isoformat()
'2023-11-14T22:13:20+00:00'
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from backend.adapters.dynamo import key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

Clock = Callable[[], float]
LEASE_PK = "LEASE"


class Taken(Exception):
    """Another holder has the lease until :attr:`until`."""

    def __init__(self, name: str, until: float):
        self.name = name
        self.until = datetime.fromtimestamp(until, UTC)
        super().__init__(f"{name}: another run holds it until {self.until:%Y-%m-%d %H:%M:%S} UTC")


class Lost(Exception):
    """The lease ran out or was taken over while its holder still worked: stop writing."""


def _condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class Lease:
    """A lease held by this process; see the module's docstring."""

    def __init__(self, client: DynamoDBClient, table: str, name: str, seconds: float, clock: Clock):
        self.client, self.table, self.name, self.seconds, self.clock = client, table, name, seconds, clock
        self.owner = secrets.token_hex(16)
        self.confirmed_until = 0.0

    def take(self) -> None:
        """Take the lease, or raise :class:`Taken`."""
        now = self.clock()
        until = now + self.seconds
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    **key(LEASE_PK, self.name),
                    "owner": {"S": self.owner},
                    "until": {"N": repr(until)},
                },
                ConditionExpression="attribute_not_exists(pk) OR #until < :now",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":now": {"N": repr(now)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            holder: dict[str, Any] = cast("dict[str, Any]", exc.response).get("Item") or {}
            raise Taken(self.name, float(holder.get("until", {}).get("N", until))) from None
        self.confirmed_until = until

    def renew(self) -> bool:
        """Move ``until`` on, as the owner; False (and :meth:`check` fails) when no longer held."""
        until = self.clock() + self.seconds
        try:
            self.client.update_item(
                TableName=self.table,
                Key=key(LEASE_PK, self.name),
                UpdateExpression="SET #until = :until",
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#until": "until", "#owner": "owner"},
                ExpressionAttributeValues={":until": {"N": repr(until)}, ":me": {"S": self.owner}},
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            self.confirmed_until = 0.0
            return False
        self.confirmed_until = until
        return True

    def check(self) -> None:
        """Raise :class:`Lost` unless the lease is surely still this holder's for a third of
        its length."""
        if self.clock() > self.confirmed_until - self.seconds / 3:
            raise Lost(f"{self.name}: the lease ran out or was taken over; stopped before writing")

    def release(self) -> None:
        """Delete the lease, if still this holder's."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key=key(LEASE_PK, self.name),
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":me": {"S": self.owner}},
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise


class Held:
    """The context of :func:`hold_lease`: takes the lease on entry, renews it while the block runs,
    releases it on exit. (A class rather than a ``@contextmanager`` generator, so that
    tests/infra/aws_calls.py reaches its calls only from code that names :func:`hold_lease`.)"""

    def __init__(self, lease: Lease, seconds: float):
        self._lease = lease
        self._seconds = seconds
        self._stop = threading.Event()
        self._renewer = threading.Thread(
            target=self._renew_until_stopped, name=f"lease-{lease.name}", daemon=True
        )

    def _renew_until_stopped(self) -> None:
        while not self._stop.wait(self._seconds / 3) and self._lease.renew():
            pass

    def __enter__(self) -> Lease:
        self._lease.take()
        self._renewer.start()
        return self._lease

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._renewer.join()
        self._lease.release()


def hold_lease(
    client: DynamoDBClient, table: str, name: str, *, seconds: float, clock: Clock = time.time
) -> Held:
    """Hold the lease ``name`` for the ``with`` block, renewing it meanwhile; :class:`Taken`
    when another holder has it. The block calls :meth:`Lease.check` before each guarded write."""
    return Held(Lease(client, table, name, seconds, clock), seconds)


__all__ = ["Held", "Lease", "Lost", "Taken", "hold_lease"]
