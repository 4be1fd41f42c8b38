"""Packets: the events of one ingest request, compressed into as few SNS/SQS messages as fit.

A packet's message body is JSON that a person reading a queue can follow::

    {"packet_id": "p-<digest>", "count": 500, "first_event_ids": [...], "events_gz": "<base64>"}

``events_gz`` is the base64 of the gzipped JSON list of the events (pipeline form). The packet
id is a digest of its events' ids: a replay of the same events makes the same id. A body is at
most :data:`MAX_BODY_BYTES` and holds at most :data:`MAX_PACKET_EVENTS` events; a request
whose events do not fit is split into several packets.

Bodies written before packets (one event, its JSON) are still read: messages already in the
queues and dead-letter queues of a store that upgrades are processed as before.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backend.domain.events import Event

#: SNS and SQS take 256 KB per message, attributes included; keep room for them.
MAX_BODY_BYTES = 256 * 1024 - 8 * 1024
#: Events per packet, at most: a processor's batch is bounded in events by its batch size in
#: messages (``infra/stack.json``; the orders function takes 10 messages, so at most 1,000
#: events an invocation), while requests of one or a few events (webhooks, a live store) still
#: share a batch. A 500-event request travels as 5 packets: 0.01 messages per event.
MAX_PACKET_EVENTS = 100
#: Event ids shown in the clear in a packet's body (and by ``storepulse dlq list``).
SHOWN_EVENT_IDS = 5
PACKET_PREFIX = "p-"


@dataclass(frozen=True)
class Packet:
    """Events travelling together in one message."""

    packet_id: str
    events: tuple[Event, ...]
    body: str

    @property
    def types(self) -> list[str]:
        """The distinct event types in the packet (its ``event_type`` attribute), sorted."""
        return sorted({e.type for e in self.events})


def packet_id(event_ids: Sequence[str]) -> str:
    """The id of a packet of these events: the same events give the same id, in any order.

    >>> packet_id(["b", "a"]) == packet_id(["a", "b"])
    True
    >>> packet_id(["a"]).startswith("p-")
    True
    """
    digest = hashlib.sha256("\n".join(sorted(event_ids)).encode()).hexdigest()[:40]
    return PACKET_PREFIX + digest


def pack(
    events: Sequence[Event], max_bytes: int = MAX_BODY_BYTES, max_events: int = MAX_PACKET_EVENTS
) -> list[Packet]:
    """The events in packets of at most ``max_events`` events and ``max_bytes`` each (cut in
    runs of ``max_events`` in the order given, then halved until they fit): the same events in
    the same order give the same packets.

    Raises ``ValueError`` for one event that does not fit alone (the ingest API's limits on a
    request make that impossible for a valid event).
    """
    if not events:
        return []
    if len(events) > max_events:
        return [
            packet
            for start in range(0, len(events), max_events)
            for packet in pack(events[start : start + max_events], max_bytes, max_events)
        ]
    body = pack_json([e.to_json() for e in events])
    if len(body.encode()) <= max_bytes:
        return [Packet(packet_id([e.event_id for e in events]), tuple(events), body)]
    if len(events) == 1:
        raise ValueError(f"event {events[0].event_id} does not fit in a message of {max_bytes} bytes")
    middle = len(events) // 2
    return pack(events[:middle], max_bytes, max_events) + pack(events[middle:], max_bytes, max_events)


@dataclass(frozen=True)
class Unpacked:
    """What a message body holds: its packet id ("" for a body from before packets) and the
    events in pipeline JSON form, not validated yet."""

    packet_id: str
    events: list[dict[str, Any]]


class NotAPacket(ValueError):
    """A message body that is neither a packet nor an event."""


def unpack(body: str) -> Unpacked:
    """The events in a message body: a packet, or one event (the body from before packets).

    >>> unpack('{"event_id": "e1", "type": "order.placed"}').events[0]["event_id"]
    'e1'
    >>> packed = pack_json([{"event_id": "e2", "type": "order.placed"}])
    >>> unpacked = unpack(packed)
    >>> unpacked.packet_id == packet_id(["e2"]), unpacked.events[0]["event_id"]
    (True, 'e2')
    """
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise NotAPacket(f"message body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise NotAPacket("message body is not a JSON object")
    if "events_gz" not in value:
        return Unpacked("", [value])
    try:
        raw = gzip.decompress(base64.b64decode(str(value["events_gz"]), validate=True))
        events = json.loads(raw)
    except (ValueError, OSError, EOFError) as exc:
        raise NotAPacket(f"packet {value.get('packet_id', '?')}: events_gz does not decode: {exc}") from None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise NotAPacket(f"packet {value.get('packet_id', '?')}: events_gz is not a list of events")
    return Unpacked(str(value.get("packet_id") or ""), events)


def pack_json(events: Sequence[dict[str, Any]]) -> str:
    """A packet's body for events already in pipeline JSON form (tests, tools)."""
    ids = [str(e.get("event_id", "")) for e in events]
    raw = json.dumps(list(events), separators=(",", ":")).encode()
    return json.dumps(
        {
            "packet_id": packet_id(ids),
            "count": len(events),
            "first_event_ids": ids[:SHOWN_EVENT_IDS],
            "events_gz": base64.b64encode(gzip.compress(raw, mtime=0)).decode(),
        },
        separators=(",", ":"),
    )


@dataclass(frozen=True)
class Contents:
    """What a message carries, as far as it can be read: its packet id ("" for a body from
    before packets or one that does not decode), how many events, their ids and types."""

    packet_id: str
    count: int
    event_ids: tuple[str, ...]
    types: tuple[str, ...]


def describe(body: str) -> Contents:
    """The packet id, event count, event ids and distinct types of a message body.

    >>> describe('{"event_id": "e1", "type": "order.placed"}')
    Contents(packet_id='', count=1, event_ids=('e1',), types=('order.placed',))
    >>> describe("not json")
    Contents(packet_id='', count=0, event_ids=(), types=())
    >>> describe(pack_json([{"event_id": "e2", "type": "order.refunded"}])).event_ids
    ('e2',)
    """
    try:
        unpacked = unpack(body)
    except NotAPacket:
        return Contents("", 0, (), ())
    ids = tuple(str(e["event_id"])[:64] for e in unpacked.events if isinstance(e.get("event_id"), str))
    types = tuple(sorted({str(e["type"]) for e in unpacked.events if isinstance(e.get("type"), str)}))
    return Contents(unpacked.packet_id, len(unpacked.events), ids, types)
