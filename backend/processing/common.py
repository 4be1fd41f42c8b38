"""Shared by the processors: turning an SQS record into validated pipeline events."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from backend.adapters.batch import Many
from backend.adapters.packets import unpack
from backend.domain.events import EventError, parse_event


def parse_record(record: SQSRecord, currency: str, accept: frozenset[str]) -> Many:
    """The events of the ``accept`` types in an SQS record's body (raw SNS delivery), validated
    again: a packet's events of other types are for other processors and left out.

    A body that does not decode, or an event in it that is not valid, makes the message poison:
    the error names the event and field, and the message (the whole packet) ends in the
    dead-letter queue with that reason. A body from before packets holds one event; one of a
    type this processor does not take means a wrong filter policy, and is an error too.
    """
    unpacked = unpack(record.body)
    events = []
    for index, raw in enumerate(unpacked.events):
        kind = raw.get("type")
        if unpacked.packet_id and kind not in accept:
            continue
        try:
            event = parse_event(raw, currency=currency, inbound=False)
        except EventError as exc:
            if not unpacked.packet_id:
                raise
            raise EventError(
                [
                    f"packet {unpacked.packet_id}, event {index} ({raw.get('event_id', '?')}): {e}"
                    for e in exc.errors
                ]
            ) from None
        if event.type not in accept:
            raise ValueError(f"this processor does not take {event.type} events (check the filter policy)")
        events.append(event)
    return Many(unpacked.packet_id, tuple(events))
