"""Create the resources of ``infra/stack.json`` on a moto (or LocalStack) endpoint.

Every step is idempotent: running it again on a server that already has the resources brings
their settings back to the description and changes nothing else. :func:`lookup` finds the
same resources without creating anything (for the command line).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from devstack.spec import StackSpec, dlq_name

if TYPE_CHECKING:
    from devstack.aws import AwsClients

logger = logging.getLogger(__name__)

BRIDGE_VISIBILITY_TIMEOUT = 30


class ResourceMissing(LookupError):
    """A resource of the description does not exist on the endpoint."""


@dataclass
class Resources:
    """Where each resource of the description ended up: URLs and ARNs by name."""

    account_id: str
    region: str
    tables: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    topic_arns: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    event_bus: str | None = None
    environment: dict[str, str] = field(default_factory=dict)

    def queue_arn(self, name: str) -> str:
        return self.queue_arns.get(name) or f"arn:aws:sqs:{self.region}:{self.account_id}:{name}"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _ensure_table(aws: AwsClients, name: str, hash_key: str, range_key: str | None) -> None:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    attributes = [{"AttributeName": hash_key, "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
        attributes.append({"AttributeName": range_key, "AttributeType": "S"})
    try:
        aws.dynamodb.create_table(
            TableName=name,
            KeySchema=schema,
            AttributeDefinitions=attributes,
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True},
        )
    except ClientError as exc:
        if _code(exc) != "ResourceInUseException":
            raise
        return
    aws.dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def _ensure_bucket(aws: AwsClients, name: str) -> None:
    try:
        if aws.region == "us-east-1":
            aws.s3.create_bucket(Bucket=name)
        else:
            aws.s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": aws.region})
    except ClientError as exc:
        if _code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    aws.s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    aws.s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    # No TLS-only bucket policy here: moto enforces bucket policies and the local endpoint is
    # plain HTTP. The Terraform sets it on buckets marked "tls_only" in stack.json.


def _ensure_expiry(aws: AwsClients, bucket: str, prefix: str, days: int) -> None:
    aws.s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": f"expire-{prefix.strip('/') or 'all'}-after-{days}-days",
                    "Filter": {"Prefix": prefix},
                    "Status": "Enabled",
                    "Expiration": {"Days": days},
                }
            ]
        },
    )


def _ensure_ttl(aws: AwsClients, table: str, attribute: str) -> None:
    current = aws.dynamodb.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
    enabled = current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    if enabled and current.get("AttributeName") == attribute:
        return
    aws.dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
    )


def _ensure_queue(aws: AwsClients, name: str, attributes: dict[str, str]) -> str:
    # CreateQueue is idempotent only with identical attributes, so an existing queue gets
    # its attributes set instead.
    try:
        url = str(aws.sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if _code(exc) not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise
        return str(aws.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    aws.sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


def _queue_arn(aws: AwsClients, url: str) -> str:
    attributes = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def ensure_queue_with_dlq(
    aws: AwsClients,
    resources: Resources,
    name: str,
    *,
    visibility_timeout: int,
    max_receive_count: int,
) -> str:
    """Create ``name`` and its ``<name>-dlq`` with the redrive policy; return the queue URL.

    The DLQ keeps messages 14 days (the SQS maximum) so that a failure found after a
    weekend can still be replayed.
    """
    dead = dlq_name(name)
    dlq_url = _ensure_queue(aws, dead, {"MessageRetentionPeriod": "1209600"})
    resources.queue_urls[dead] = dlq_url
    resources.queue_arns[dead] = _queue_arn(aws, dlq_url)
    url = _ensure_queue(
        aws,
        name,
        {
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {
                    "deadLetterTargetArn": resources.queue_arns[dead],
                    "maxReceiveCount": max_receive_count,
                }
            ),
        },
    )
    resources.queue_urls[name] = url
    resources.queue_arns[name] = _queue_arn(aws, url)
    return url


def _ensure_subscription(aws: AwsClients, topic_arn: str, queue_arn: str, filter_policy: Any | None) -> None:
    existing = None
    for page in aws.sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for subscription in page["Subscriptions"]:
            if subscription["Protocol"] == "sqs" and subscription["Endpoint"] == queue_arn:
                existing = subscription["SubscriptionArn"]
    if existing is None:
        attributes = {"RawMessageDelivery": "true"}
        if filter_policy:
            attributes["FilterPolicy"] = json.dumps(filter_policy)
            attributes["FilterPolicyScope"] = "MessageAttributes"
        aws.sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )
        return
    aws.sns.set_subscription_attributes(
        SubscriptionArn=existing, AttributeName="RawMessageDelivery", AttributeValue="true"
    )
    if filter_policy:
        aws.sns.set_subscription_attributes(
            SubscriptionArn=existing,
            AttributeName="FilterPolicy",
            AttributeValue=json.dumps(filter_policy),
        )


def _queue_policy(queue_arn: str, senders: list[tuple[str, str]]) -> str:
    """A policy that lets each (service principal, source ARN) send to the queue, nothing more."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": f"allow-{source.rsplit(':', 1)[-1].rsplit('/', 1)[-1]}",
                    "Effect": "Allow",
                    "Principal": {"Service": principal},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": source}},
                }
                for principal, source in senders
            ],
        }
    )


def provision(
    spec: StackSpec,
    aws: AwsClients,
    *,
    visibility_timeout: int | None = None,
) -> Resources:
    """Create (or bring up to date) every resource of ``spec`` on ``aws``'s endpoint.

    Parameters
    ----------
    spec
        The description, from :func:`devstack.spec.load_stack_spec`.
    aws
        Clients bound to the moto or LocalStack endpoint.
    visibility_timeout
        Overrides every queue's visibility timeout (seconds), so that tests of redelivery
        wait a second instead of ``timeout x visibility_timeout_factor``.

    Returns
    -------
    Resources
        Names, URLs and ARNs, and ``environment``: the variables the handlers read
        (``INGEST_TABLE``, ``EVENTS_TOPIC_ARN``, ...).

    Examples
    --------
    With a moto server listening (so not run as a doctest)::

        resources = provision(load_stack_spec(), AwsClients("http://127.0.0.1:4566"))
        resources.environment["ANALYTICS_TABLE"]
        # 'storepulse-analytics'
    """
    resources = Resources(account_id="", region=aws.region)
    for table in spec.tables:
        _ensure_table(aws, table.name, table.hash_key, table.range_key)
        if table.ttl_attribute:
            _ensure_ttl(aws, table.name, table.ttl_attribute)
        resources.tables[table.name] = table.name
        resources.environment[table.env] = table.name
    for bucket in spec.buckets:
        _ensure_bucket(aws, bucket.name)
        if bucket.expire_days:
            _ensure_expiry(aws, bucket.name, bucket.expire_prefix or "", bucket.expire_days)
        resources.buckets[bucket.name] = bucket.name
        resources.environment[bucket.env] = bucket.name
    for topic in spec.topics:
        arn = str(aws.sns.create_topic(Name=topic.name)["TopicArn"])
        resources.topic_arns[topic.name] = arn
        resources.environment[topic.env] = arn
    if spec.event_bus is not None:
        try:
            aws.events.create_event_bus(Name=spec.event_bus.name)
        except ClientError as exc:
            if _code(exc) != "ResourceAlreadyExistsException":
                raise
        resources.event_bus = spec.event_bus.name
        resources.environment[spec.event_bus.env] = spec.event_bus.name

    for queue in spec.queues:
        url = ensure_queue_with_dlq(
            aws,
            resources,
            queue.name,
            visibility_timeout=visibility_timeout or spec.visibility_timeout(queue),
            max_receive_count=queue.max_receive_count,
        )
        if queue.env:
            resources.environment[queue.env] = url
    for bridge in spec.bridges():
        url = _ensure_queue(
            aws,
            bridge.queue_name,
            {"VisibilityTimeout": str(visibility_timeout or BRIDGE_VISIBILITY_TIMEOUT)},
        )
        resources.queue_urls[bridge.queue_name] = url
        resources.queue_arns[bridge.queue_name] = _queue_arn(aws, url)
    resources.account_id = next(iter(resources.queue_arns.values()), "::::000000000000").split(":")[4]

    senders: dict[str, list[tuple[str, str]]] = {}
    for queue in spec.queues:
        if queue.subscription is not None:
            topic_arn = resources.topic_arns[queue.subscription.topic]
            _ensure_subscription(
                aws, topic_arn, resources.queue_arns[queue.name], queue.subscription.filter_policy
            )
            senders.setdefault(queue.name, []).append(("sns.amazonaws.com", topic_arn))
    _provision_rules(spec, aws, resources, senders)
    for name, queue_senders in senders.items():
        aws.sqs.set_queue_attributes(
            QueueUrl=resources.queue_urls[name],
            Attributes={"Policy": _queue_policy(resources.queue_arns[name], queue_senders)},
        )
    _provision_schedules(spec, aws)
    logger.info(
        "provisioned %d tables, %d buckets, %d topics, %d queues",
        len(resources.tables),
        len(resources.buckets),
        len(resources.topic_arns),
        len(resources.queue_urls),
    )
    return resources


def _provision_rules(
    spec: StackSpec,
    aws: AwsClients,
    resources: Resources,
    senders: dict[str, list[tuple[str, str]]],
) -> None:
    for rule in spec.rules:
        rule_arn = str(
            aws.events.put_rule(Name=rule.name, EventBusName=rule.bus, EventPattern=json.dumps(rule.pattern))[
                "RuleArn"
            ]
        )
        targets = []
        for target in rule.targets:
            if target.kind == "sqs":
                queue_name = target.name
            elif target.kind == "sns":
                # moto's PutEvents fails as a whole (HTTP 500) when a rule targets SNS, so the
                # rule targets a bridge queue whose forwarder publishes to the topic.
                queue_name = f"{rule.name}-to-{target.name}"
            else:
                raise ValueError(f"rule {rule.name}: unknown target kind {target.kind!r}")
            targets.append({"Id": queue_name[-64:], "Arn": resources.queue_arn(queue_name)})
            senders.setdefault(queue_name, []).append(("events.amazonaws.com", rule_arn))
        if targets:
            aws.events.put_targets(Rule=rule.name, EventBusName=rule.bus, Targets=targets)


def _provision_schedules(spec: StackSpec, aws: AwsClients) -> None:
    # The rules are created for the record (they show in list-rules like in AWS); moto never
    # fires them, so devstack.schedules runs the jobs.
    for schedule in spec.schedules:
        aws.events.put_rule(
            Name=schedule.name,
            ScheduleExpression=schedule.expression,
            Description=f"runs job {schedule.job}",
        )


def lookup(spec: StackSpec, aws: AwsClients, *, prefix: str = "") -> Resources:
    """Find the resources of ``spec`` without creating anything.

    Parameters
    ----------
    spec
        The description.
    aws
        Clients for the local endpoint or for AWS.
    prefix
        Prepended to every name (the deployment's prefix in AWS; empty locally).

    Raises
    ------
    ResourceMissing
        When a queue or topic of the description is not there.
    """
    resources = Resources(account_id="", region=aws.region)
    for table in spec.tables:
        resources.tables[table.name] = prefix + table.name
        resources.environment[table.env] = prefix + table.name
    for bucket in spec.buckets:
        resources.buckets[bucket.name] = prefix + bucket.name
        resources.environment[bucket.env] = prefix + bucket.name
    if spec.event_bus is not None:
        resources.event_bus = prefix + spec.event_bus.name
        resources.environment[spec.event_bus.env] = prefix + spec.event_bus.name
    existing_topics = {}
    for page in aws.sns.get_paginator("list_topics").paginate():
        for topic in page["Topics"]:
            existing_topics[topic["TopicArn"].rsplit(":", 1)[-1]] = topic["TopicArn"]
    for topic in spec.topics:
        if prefix + topic.name not in existing_topics:
            raise ResourceMissing(f"topic {prefix + topic.name} does not exist")
        resources.topic_arns[topic.name] = existing_topics[prefix + topic.name]
        resources.environment[topic.env] = existing_topics[prefix + topic.name]
    names: list[str] = []
    for queue in spec.queues:
        names += [queue.name, queue.dlq_name]
    for name in names:
        try:
            resources.queue_urls[name] = str(aws.sqs.get_queue_url(QueueName=prefix + name)["QueueUrl"])
        except ClientError as exc:
            raise ResourceMissing(f"queue {prefix + name} does not exist ({_code(exc)})") from None
    for queue in spec.queues:
        if queue.env:
            resources.environment[queue.env] = resources.queue_urls[queue.name]
    arns = list(resources.topic_arns.values())
    resources.account_id = arns[0].split(":")[4] if arns else ""
    return resources
