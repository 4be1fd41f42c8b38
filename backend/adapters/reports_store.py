"""The reports table and bucket: reports, digest subscriptions, digest sends, PDF objects.

Layout of the reports table (``pk``, ``sk``; ``expires_at`` is its TTL attribute):

========================  ========================  ===============================================
pk                        sk                        holds
========================  ========================  ===============================================
``REPORT#<id>``           ``REPORT``                type, start, end, status, object key, reason
``REPORTS``               ``<created_at>#<id>``     the recent reports, newest last (by key)
``SUB#<id>``              ``SUB``                   e-mail, frequency, report type, status
                                                    (``pending``, ``confirmed``; on cancel a
                                                    tombstone without the address)
``SUBS``                  ``<created_at>#<id>``     the listed subscriptions (removed on cancel)
``SUBS_VERSION``          ``SUBS_VERSION``          ``version``: one more for each subscription
                                                    created, so creating after counting the
                                                    listing is conditional on nobody having
                                                    created one in between (the cap)
``CONFIRM#<address key>`` ``CONFIRM``               until when no other confirmation goes there
``SUB#<id>``              ``SEND#<period>``         one digest send: ``claimed`` -> ``sent``/``failed``
``DIGEST_REPORT``         ``<type>#<start>#<end>``  the report digests of that period link to
========================  ========================  ===============================================

Every read is by key (a ``GetItem``, ``BatchGetItem`` or a ``Query`` of one partition): never a
scan. The processing code holds a :class:`ReportsTable` (behind :class:`ReportsStore`), built by
the handler; the API routes call the functions below. The e-mail address is kept in clear in
this table only (encrypted at rest), because the digests must be sent to it; it is never logged
and never reaches the lake.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from backend.adapters.dynamo import batch_get, from_ddb, key, to_ddb
from backend.domain.reports import CONFIRM_LINK_DAYS, CONFIRMATION_EVERY, REPORT_KEEP_DAYS, TOMBSTONE_DAYS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef
    from mypy_boto3_s3 import S3Client
else:
    DynamoDBClient = Any
    S3Client = Any
    TransactWriteItemTypeDef = dict

RECENT_REPORTS = 50


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _ttl(moment: datetime, days: int = REPORT_KEEP_DAYS) -> int:
    return int((moment + timedelta(days=days)).timestamp())


def _put(item: dict[str, Any]) -> dict[str, Any]:
    return {k: to_ddb(v) for k, v in item.items() if v is not None}


def _conditional_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in (
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    )


def _create_listed(
    client: DynamoDBClient,
    table: str,
    item_key: tuple[str, str],
    item: dict[str, Any],
    listing_key: tuple[str, str],
    listing: dict[str, Any],
    guard: TransactWriteItemTypeDef | None = None,
) -> None:
    """Create an item (it must not exist: ids are fresh) and its entry in the partition that
    lists its kind, in one transaction, so a listing never names a missing item; ``guard``, a
    further transaction item, makes the creation conditional on it too."""
    client.transact_write_items(
        TransactItems=[
            *([guard] if guard else []),
            {
                "Put": {
                    "TableName": table,
                    "Item": {**key(*item_key), **_put(item)},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": table, "Item": {**key(*listing_key), **_put(listing)}}},
        ]
    )


# -- reports ---------------------------------------------------------------------------------


def create_report(
    client: DynamoDBClient,
    table: str,
    report_id: str,
    report_type: str,
    start: date,
    end: date,
    now: datetime,
) -> dict[str, Any]:
    """Record a new ``pending`` report and list it among the recent ones."""
    created = _iso(now)
    item = {
        "report_id": report_id,
        "type": report_type,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "status": "pending",
        "created_at": created,
        "expires_at": _ttl(now),
    }
    _create_listed(
        client,
        table,
        (f"REPORT#{report_id}", "REPORT"),
        item,
        ("REPORTS", f"{created}#{report_id}"),
        {"report_id": report_id, "expires_at": item["expires_at"]},
    )
    return item


def get_report(client: DynamoDBClient, table: str, report_id: str) -> dict[str, Any] | None:
    """The report, or ``None`` when there is none with that id."""
    found = client.get_item(TableName=table, Key=key(f"REPORT#{report_id}", "REPORT"), ConsistentRead=True)
    return from_ddb(found["Item"]) if "Item" in found else None


def recent_reports(client: DynamoDBClient, table: str, limit: int = RECENT_REPORTS) -> list[dict[str, Any]]:
    """The ``limit`` newest reports, newest first (one Query and one BatchGetItem)."""
    page = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "REPORTS"}},
        ScanIndexForward=False,
        Limit=limit,
    )
    ids = [from_ddb(raw)["report_id"] for raw in page.get("Items", [])]
    found = batch_get(client, table, [(f"REPORT#{i}", "REPORT") for i in ids])
    return [found[(f"REPORT#{i}", "REPORT")] for i in ids if (f"REPORT#{i}", "REPORT") in found]


def mark_ready(
    client: DynamoDBClient, table: str, report_id: str, object_key: str, generated_at: datetime, size: int
) -> None:
    client.update_item(
        TableName=table,
        Key=key(f"REPORT#{report_id}", "REPORT"),
        UpdateExpression="SET #status = :ready, object_key = :key, generated_at = :at, size_bytes = :size "
        "REMOVE reason",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={
            ":ready": {"S": "ready"},
            ":key": {"S": object_key},
            ":at": {"S": _iso(generated_at)},
            ":size": {"N": str(size)},
        },
    )


def mark_failed(client: DynamoDBClient, table: str, report_id: str, reason: str) -> None:
    """``failed`` with a reason, unless it became ready meanwhile."""
    try:
        client.update_item(
            TableName=table,
            Key=key(f"REPORT#{report_id}", "REPORT"),
            UpdateExpression="SET #status = :failed, reason = :reason",
            ConditionExpression="attribute_exists(pk) AND #status <> :ready",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":failed": {"S": "failed"},
                ":ready": {"S": "ready"},
                ":reason": {"S": reason[:500]},
            },
        )
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise


def digest_report_id(
    client: DynamoDBClient, table: str, report_type: str, start: date, end: date
) -> str | None:
    found = client.get_item(
        TableName=table, Key=key("DIGEST_REPORT", f"{report_type}#{start}#{end}"), ConsistentRead=True
    )
    return from_ddb(found["Item"])["report_id"] if "Item" in found else None


def remember_digest_report(
    client: DynamoDBClient,
    table: str,
    report_type: str,
    start: date,
    end: date,
    report_id: str,
    now: datetime,
) -> None:
    client.put_item(
        TableName=table,
        Item={
            **key("DIGEST_REPORT", f"{report_type}#{start}#{end}"),
            **_put({"report_id": report_id, "expires_at": _ttl(now)}),
        },
    )


# -- subscriptions ---------------------------------------------------------------------------

SUBS_VERSION = ("SUBS_VERSION", "SUBS_VERSION")


class ListingChanged(Exception):
    """Another subscription was created since the listing was counted: count again."""


def subscriptions_version(client: DynamoDBClient, table: str) -> int:
    """How many subscriptions were ever created: read before counting the listing, and
    passed to :func:`create_subscription`, which creates only if it is still the same."""
    found = client.get_item(TableName=table, Key=key(*SUBS_VERSION), ConsistentRead=True)
    return int(found["Item"]["version"]["N"]) if "Item" in found else 0


def create_subscription(
    client: DynamoDBClient,
    table: str,
    subscription_id: str,
    *,
    email: str,
    frequency: str,
    report_type: str,
    now: datetime,
    seen_version: int,
) -> dict[str, Any]:
    """A ``pending`` subscription: listed, never sent to, gone after
    :data:`CONFIRM_LINK_DAYS` unless its address confirms it.

    Created only if :func:`subscriptions_version` is still ``seen_version`` (the one read
    before the listing was counted), in the same transaction that moves it on; otherwise
    :class:`ListingChanged`, and nothing is written. Two requests racing for a store's last
    place therefore cannot both take it.
    """
    created = _iso(now)
    expires = _ttl(now, CONFIRM_LINK_DAYS)
    item = {
        "subscription_id": subscription_id,
        "email": email,
        "frequency": frequency,
        "report_type": report_type,
        "status": "pending",
        "created_at": created,
        "expires_at": expires,
    }
    try:
        _create_listed(
            client,
            table,
            (f"SUB#{subscription_id}", "SUB"),
            item,
            ("SUBS", f"{created}#{subscription_id}"),
            {"subscription_id": subscription_id, "expires_at": expires},
            guard={
                "Update": {
                    "TableName": table,
                    "Key": key(*SUBS_VERSION),
                    "UpdateExpression": "SET #version = :next",
                    "ConditionExpression": "attribute_not_exists(pk) OR #version = :seen",
                    "ExpressionAttributeNames": {"#version": "version"},
                    "ExpressionAttributeValues": {
                        ":seen": {"N": str(seen_version)},
                        ":next": {"N": str(seen_version + 1)},
                    },
                }
            },
        )
    except ClientError as exc:
        if _conditional_failed(exc):
            raise ListingChanged from None
        raise
    return item


def get_subscription(client: DynamoDBClient, table: str, subscription_id: str) -> dict[str, Any] | None:
    found = client.get_item(TableName=table, Key=key(f"SUB#{subscription_id}", "SUB"), ConsistentRead=True)
    return from_ddb(found["Item"]) if "Item" in found else None


def _live(subscription: dict[str, Any] | None, now: datetime) -> bool:
    """Pending and not yet expired, or confirmed (DynamoDB's TTL deletes within days, not at once)."""
    if subscription is None:
        return False
    if subscription.get("status") == "confirmed":
        return True
    return (
        subscription.get("status") == "pending" and int(subscription.get("expires_at", 0)) > now.timestamp()
    )


def listed_subscriptions(
    client: DynamoDBClient, table: str, now: datetime, *, consistent: bool = False
) -> list[dict[str, Any]]:
    """Every pending or confirmed subscription, oldest first (the ``SUBS`` partition, page by
    page); ``consistent`` reads every write made before the call (to count against the cap)."""
    ids: list[str] = []
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "SUBS"}},
        "ConsistentRead": consistent,
    }
    while True:
        page = client.query(**request)
        ids += [from_ddb(raw)["subscription_id"] for raw in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    found = batch_get(client, table, [(f"SUB#{i}", "SUB") for i in ids], consistent=consistent)
    subscriptions = [found.get((f"SUB#{i}", "SUB")) for i in ids]
    return [s for s in subscriptions if s is not None and _live(s, now)]


def confirmed_subscriptions(client: DynamoDBClient, table: str, now: datetime) -> list[dict[str, Any]]:
    """The subscriptions whose address confirmed them: the only ones digests go to."""
    return [s for s in listed_subscriptions(client, table, now) if s["status"] == "confirmed"]


def confirm_subscription(client: DynamoDBClient, table: str, subscription_id: str, now: datetime) -> str:
    """Confirm; returns ``"confirmed"``, ``"already_confirmed"`` or ``"missing"`` (expired too)."""
    current = get_subscription(client, table, subscription_id)
    if current is not None and current.get("status") == "confirmed":
        return "already_confirmed"
    if not _live(current, now):
        return "missing"
    assert current is not None
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": key(f"SUB#{subscription_id}", "SUB"),
                        "UpdateExpression": "SET #status = :confirmed, confirmed_at = :at REMOVE expires_at",
                        "ConditionExpression": "#status = :pending",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":confirmed": {"S": "confirmed"},
                            ":pending": {"S": "pending"},
                            ":at": {"S": _iso(now)},
                        },
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": key("SUBS", f"{current['created_at']}#{subscription_id}"),
                        "UpdateExpression": "REMOVE expires_at",
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    except ClientError as exc:
        if _conditional_failed(exc):
            return (
                "confirmed"
                if (get_subscription(client, table, subscription_id) or {}).get("status") == "confirmed"
                else "missing"
            )
        raise
    return "confirmed"


def cancel_subscription(client: DynamoDBClient, table: str, subscription_id: str, now: datetime) -> str:
    """Cancel, forgetting the address; returns ``"cancelled"``, ``"already_cancelled"`` or ``"missing"``.

    The subscription's item is replaced by a tombstone without the address (kept
    :data:`TOMBSTONE_DAYS`, so that cancelling twice says so) and leaves the listing.
    """
    current = get_subscription(client, table, subscription_id)
    if current is None:
        return "missing"
    if current.get("status") not in ("pending", "confirmed"):
        return "already_cancelled"
    tombstone = {
        "subscription_id": subscription_id,
        "status": "cancelled",
        "created_at": current["created_at"],
        "cancelled_at": _iso(now),
        "expires_at": _ttl(now, TOMBSTONE_DAYS),
    }
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": {**key(f"SUB#{subscription_id}", "SUB"), **_put(tombstone)},
                        "ConditionExpression": "#status = :status",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {":status": {"S": current["status"]}},
                    }
                },
                {
                    "Delete": {
                        "TableName": table,
                        "Key": key("SUBS", f"{current['created_at']}#{subscription_id}"),
                    }
                },
            ]
        )
    except ClientError as exc:
        if _conditional_failed(exc):
            return "already_cancelled"
        raise
    return "cancelled"


def claim_confirmation(client: DynamoDBClient, table: str, address_key: str, now: datetime) -> int:
    """Claim the one confirmation e-mail an address may get per :data:`CONFIRMATION_EVERY`;
    returns 0 when claimed, else the seconds until the address may get another."""
    until = now + CONFIRMATION_EVERY
    try:
        client.put_item(
            TableName=table,
            Item={
                **key(f"CONFIRM#{address_key}", "CONFIRM"),
                "until": {"N": str(int(until.timestamp()))},
                "expires_at": {"N": str(int(until.timestamp()))},
            },
            ConditionExpression="attribute_not_exists(pk) OR #until <= :now",
            ExpressionAttributeNames={"#until": "until"},
            ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}},
        )
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
        found = client.get_item(
            TableName=table, Key=key(f"CONFIRM#{address_key}", "CONFIRM"), ConsistentRead=True
        ).get("Item")
        left = int(found["until"]["N"]) - int(now.timestamp()) if found else 1
        return max(left, 1)
    return 0


def release_confirmation(client: DynamoDBClient, table: str, address_key: str) -> None:
    """Undo :func:`claim_confirmation` when the e-mail could not be sent."""
    client.delete_item(TableName=table, Key=key(f"CONFIRM#{address_key}", "CONFIRM"))


def delete_subscription(client: DynamoDBClient, table: str, subscription: dict[str, Any]) -> None:
    """Remove a pending subscription whose confirmation could not be sent, and its listing."""
    subscription_id = subscription["subscription_id"]
    client.transact_write_items(
        TransactItems=[
            {"Delete": {"TableName": table, "Key": key(f"SUB#{subscription_id}", "SUB")}},
            {
                "Delete": {
                    "TableName": table,
                    "Key": key("SUBS", f"{subscription['created_at']}#{subscription_id}"),
                }
            },
        ]
    )


# -- digest sends ----------------------------------------------------------------------------


def claim_send(client: DynamoDBClient, table: str, subscription_id: str, period: str, now: datetime) -> bool:
    """Claim the send of one digest; ``False`` when it was claimed or sent before.

    A send that ``failed`` (the transport refused it, nothing went out) may be claimed again.
    """
    try:
        client.update_item(
            TableName=table,
            Key=key(f"SUB#{subscription_id}", f"SEND#{period}"),
            UpdateExpression="SET #state = :claimed, claimed_at = :at, expires_at = :ttl ADD attempts :one",
            ConditionExpression="attribute_not_exists(pk) OR #state = :failed",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":claimed": {"S": "claimed"},
                ":failed": {"S": "failed"},
                ":at": {"S": _iso(now)},
                ":ttl": {"N": str(_ttl(now, 400))},
                ":one": {"N": "1"},
            },
        )
    except ClientError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def finish_send(
    client: DynamoDBClient,
    table: str,
    subscription_id: str,
    period: str,
    *,
    state: str,
    now: datetime,
    detail: str,
) -> None:
    """Move a claimed send to ``sent`` (``detail``: the message id) or ``failed`` (the reason)."""
    client.update_item(
        TableName=table,
        Key=key(f"SUB#{subscription_id}", f"SEND#{period}"),
        UpdateExpression="SET #state = :state, finished_at = :at, detail = :detail",
        ConditionExpression="#state = :claimed",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues={
            ":state": {"S": state},
            ":claimed": {"S": "claimed"},
            ":at": {"S": _iso(now)},
            ":detail": {"S": detail[:500]},
        },
    )


def sends(client: DynamoDBClient, table: str, subscription_id: str) -> dict[str, dict[str, Any]]:
    """The digest sends of a subscription, by period."""
    page = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :send)",
        ExpressionAttributeValues={":pk": {"S": f"SUB#{subscription_id}"}, ":send": {"S": "SEND#"}},
    )
    return {item["sk"][len("SEND#") :]: item for item in map(from_ddb, page.get("Items", []))}


# -- the interface the processing code holds -------------------------------------------------


class ReportsStore(Protocol):
    """What the report, digest and subscription code asks of the reports table."""

    def create_report(
        self, report_id: str, report_type: str, start: date, end: date, now: datetime
    ) -> dict[str, Any]:
        """Record a new ``pending`` report and list it among the recent ones."""

    def get_report(self, report_id: str) -> dict[str, Any] | None:
        """The report, or ``None`` when there is none with that id."""

    def mark_ready(self, report_id: str, object_key: str, generated_at: datetime, size: int) -> None:
        """The report's PDF is stored under ``object_key``."""

    def digest_report_id(self, report_type: str, start: date, end: date) -> str | None:
        """The report the digests of that type and period link to, if made."""

    def remember_digest_report(
        self, report_type: str, start: date, end: date, report_id: str, now: datetime
    ) -> None:
        """Note the report the digests of that type and period link to."""

    def subscriptions_version(self) -> int:
        """How many subscriptions were ever created (read before counting the listing)."""

    def listed_subscriptions(self, now: datetime, *, consistent: bool = False) -> list[dict[str, Any]]:
        """Every pending or confirmed subscription, oldest first."""

    def confirmed_subscriptions(self, now: datetime) -> list[dict[str, Any]]:
        """The subscriptions whose address confirmed them."""

    def create_subscription(
        self,
        subscription_id: str,
        *,
        email: str,
        frequency: str,
        report_type: str,
        now: datetime,
        seen_version: int,
    ) -> dict[str, Any]:
        """A ``pending`` subscription, if :meth:`subscriptions_version` is still
        ``seen_version`` (else :class:`ListingChanged`, nothing written)."""

    def delete_subscription(self, subscription: dict[str, Any]) -> None:
        """Remove a pending subscription whose confirmation could not be sent."""

    def claim_confirmation(self, address_key: str, now: datetime) -> int:
        """Claim an address's one confirmation e-mail of the day: 0, or the seconds to wait."""

    def release_confirmation(self, address_key: str) -> None:
        """Undo :meth:`claim_confirmation` when the e-mail could not be sent."""

    def claim_send(self, subscription_id: str, period: str, now: datetime) -> bool:
        """Claim the send of one digest; ``False`` when it was claimed or sent before."""

    def finish_send(
        self, subscription_id: str, period: str, *, state: str, now: datetime, detail: str
    ) -> None:
        """Move a claimed send to ``sent`` or ``failed``."""


class ReportsTable:
    """The reports table in DynamoDB (:class:`ReportsStore`): the functions above on one table.

    Parameters
    ----------
    client
        A DynamoDB client (the handler's).
    name
        The table's name (``REPORTS_TABLE``).
    """

    def __init__(self, client: DynamoDBClient, name: str):
        self.client = client
        self.name = name

    def create_report(
        self, report_id: str, report_type: str, start: date, end: date, now: datetime
    ) -> dict[str, Any]:
        return create_report(self.client, self.name, report_id, report_type, start, end, now)

    def get_report(self, report_id: str) -> dict[str, Any] | None:
        return get_report(self.client, self.name, report_id)

    def mark_ready(self, report_id: str, object_key: str, generated_at: datetime, size: int) -> None:
        mark_ready(self.client, self.name, report_id, object_key, generated_at, size)

    def digest_report_id(self, report_type: str, start: date, end: date) -> str | None:
        return digest_report_id(self.client, self.name, report_type, start, end)

    def remember_digest_report(
        self, report_type: str, start: date, end: date, report_id: str, now: datetime
    ) -> None:
        remember_digest_report(self.client, self.name, report_type, start, end, report_id, now)

    def subscriptions_version(self) -> int:
        return subscriptions_version(self.client, self.name)

    def listed_subscriptions(self, now: datetime, *, consistent: bool = False) -> list[dict[str, Any]]:
        return listed_subscriptions(self.client, self.name, now, consistent=consistent)

    def confirmed_subscriptions(self, now: datetime) -> list[dict[str, Any]]:
        return confirmed_subscriptions(self.client, self.name, now)

    def create_subscription(
        self,
        subscription_id: str,
        *,
        email: str,
        frequency: str,
        report_type: str,
        now: datetime,
        seen_version: int,
    ) -> dict[str, Any]:
        return create_subscription(
            self.client,
            self.name,
            subscription_id,
            email=email,
            frequency=frequency,
            report_type=report_type,
            now=now,
            seen_version=seen_version,
        )

    def delete_subscription(self, subscription: dict[str, Any]) -> None:
        delete_subscription(self.client, self.name, subscription)

    def claim_confirmation(self, address_key: str, now: datetime) -> int:
        return claim_confirmation(self.client, self.name, address_key, now)

    def release_confirmation(self, address_key: str) -> None:
        release_confirmation(self.client, self.name, address_key)

    def claim_send(self, subscription_id: str, period: str, now: datetime) -> bool:
        return claim_send(self.client, self.name, subscription_id, period, now)

    def finish_send(
        self, subscription_id: str, period: str, *, state: str, now: datetime, detail: str
    ) -> None:
        finish_send(self.client, self.name, subscription_id, period, state=state, now=now, detail=detail)

    # what the API routes and the report function also ask

    def recent_reports(self, limit: int = RECENT_REPORTS) -> list[dict[str, Any]]:
        """The ``limit`` newest reports, newest first."""
        return recent_reports(self.client, self.name, limit)

    def mark_failed(self, report_id: str, reason: str) -> None:
        """``failed`` with a reason, unless it became ready meanwhile."""
        mark_failed(self.client, self.name, report_id, reason)

    def confirm_subscription(self, subscription_id: str, now: datetime) -> str:
        """Confirm: ``"confirmed"``, ``"already_confirmed"`` or ``"missing"``."""
        return confirm_subscription(self.client, self.name, subscription_id, now)

    def cancel_subscription(self, subscription_id: str, now: datetime) -> str:
        """Cancel: ``"cancelled"``, ``"already_cancelled"`` or ``"missing"``."""
        return cancel_subscription(self.client, self.name, subscription_id, now)


# -- objects ---------------------------------------------------------------------------------


def put_pdf(client: S3Client, bucket: str, object_key: str, body: bytes) -> None:
    client.put_object(
        Bucket=bucket,
        Key=object_key,
        Body=body,
        ContentType="application/pdf",
        ServerSideEncryption="AES256",
    )


def presigned_download(client: S3Client, bucket: str, object_key: str, file_name: str, ttl: int) -> str:
    """A GET URL valid ``ttl`` seconds that downloads the object as ``file_name``.

    The URL is a bearer credential for its lifetime: never log it.
    """
    return str(
        client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": bucket,
                "Key": object_key,
                "ResponseContentDisposition": f'attachment; filename="{file_name}"',
                "ResponseContentType": "application/pdf",
            },
            ExpiresIn=ttl,
        )
    )
