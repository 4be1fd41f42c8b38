"""The SQS event files hold what the pipeline really sends, and parse as the processors parse
them."""

from __future__ import annotations

import json

import pytest

from backend.adapters.packets import pack_json, unpack
from backend.domain.events import parse_event
from tests.unit.processing.conftest import parsed
from tests.unit.processing.sqs_events import fixtures, load

ORDERS = frozenset({"order.placed", "order.refunded"})


@pytest.mark.parametrize("name", sorted(fixtures()))
def test_each_event_file_is_what_the_pipeline_sends_today(name: str) -> None:
    # Given the file, and the records the ingest code's packets (or the bus's events) make now
    stored, built = load(name), fixtures()[name]
    assert len(stored["Records"]) == len(built["Records"])
    for kept, now in zip(stored["Records"], built["Records"], strict=True):
        # Then each record is the same, its packet's events included (compared decoded: gzip's
        # bytes may differ between zlib builds, the events may not)
        kept_body, now_body = json.loads(kept.pop("body")), json.loads(now.pop("body"))
        assert kept == {**now, "md5OfBody": kept["md5OfBody"]}
        if "events_gz" in now_body:
            assert unpack(json.dumps(kept_body)).events == unpack(json.dumps(now_body)).events
            kept_body.pop("events_gz"), now_body.pop("events_gz")
        assert kept_body == now_body


def test_the_orders_processor_keeps_its_own_types_of_a_packet() -> None:
    # Given the orders queue's batch: a packet of two orders' events and a registration, then
    # a packet of two orders
    first, second = parsed(load("orders_sqs_event.json"), ORDERS)
    # Then each record gives the order and refund events, in packet order, the registration
    # left to the customers processor, and every event knows its packet
    assert [p.value.event_id for p in first] == ["ord-o1", "ref-r1", "ref-r2"]
    assert [p.value.event_id for p in second] == ["ord-o2", "ord-o3"]
    assert {p.packet_id for p in first} == {
        json.loads(load("orders_sqs_event.json")["Records"][0]["body"])["packet_id"]
    }
    # And money stays Decimal, validated as at the door: o1 is 2 x 14.00 + 20.00 less 3.00
    o1 = first[0].value.data
    assert (str(o1.gross_sales), str(o1.discount), o1.channel) == ("48.00", "3.00", "web")


def test_a_record_with_an_event_that_is_not_valid_is_poison_and_names_it() -> None:
    # Given a packet whose refund has a negative amount (a body the ingest API would refuse)
    record = load("orders_sqs_event.json")["Records"][0]
    events = unpack(record["body"]).events
    events[1]["data"]["amount"] = "-1.00"
    record["body"] = pack_json(events)
    # Then parsing it fails, naming the packet, the event and the field
    with pytest.raises(ValueError, match=r"event 1 \(ref-r1\).*amount"):
        parsed({"Records": [record]}, ORDERS)
    # While its other events alone still parse
    assert parse_event(events[0], currency="USD", inbound=False).event_id == "ord-o1"
