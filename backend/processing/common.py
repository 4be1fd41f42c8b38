"""Shared by the processors: turning an SQS record into a validated pipeline event."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from backend.domain.events import Event, parse_event


def parse_record(record: SQSRecord, currency: str, accept: frozenset[str]) -> Event:
    """The event in an SQS record's body (raw SNS delivery), validated again.

    A body that is not a valid event is a poison message: the error names the field, and the
    message ends in the dead-letter queue with that reason.
    """
    try:
        raw = json.loads(record.body)
    except ValueError as exc:
        raise ValueError(f"message body is not JSON: {exc}") from None
    event = parse_event(raw, currency=currency, inbound=False)
    if event.type not in accept:
        raise ValueError(f"this processor does not take {event.type} events (check the filter policy)")
    return event
