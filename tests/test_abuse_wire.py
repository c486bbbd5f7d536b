"""What reaches the wire (playground/web/packets.py, the server's JSON module and packet class): no payload carries NaN
or Infinity, whichever builder made it, on diverged and overflowing networks; a number beyond a float is an error
that names its field, like any bad value; and the WebSocket helpers of concurrency.py do what eventlet's did."""

from __future__ import annotations

import json
import math
import random

import pytest
from socketio import packet

from playground.session import TrainingSession
from playground.web import concurrency, messages, packets
from playground.web.events import HANDLERS
from tests.configs import DIVERGING
from tests.test_protocol_doc import SAMPLE_PAYLOADS

# Diverges within a few epochs (tests/test_session.py); the large shape makes the weights overflow on the way.
OVERFLOWING = {**DIVERGING, "networkShape": [8, 8, 8, 8, 8, 8]}


@pytest.fixture(scope="module")
def app_settings():
    # What is checked is each event's reply, not the limits (they have tests of their own): the overflowing
    # network's steps would spend the allowances of the native thread's time, and each event after them would wait
    # (or be refused as busy) until they are repaid.
    return {
        "events_per_second": 1e9,
        "events_burst": 1e9,
        "event_native_burst": 1e9,
        "all_events_native_burst": 1e9,
        "all_messages_per_second": 1e9,
    }


def refuse_constant(name: str):
    raise AssertionError(f"{name} on the wire")


def wire_text(app, data: list) -> str:
    """The text python-socketio would send for an event carrying `data` (its binary attachments apart)."""
    encoded = app.extensions["socketio"].server.packet_class(packet.EVENT, data=data).encode()
    return encoded[0] if isinstance(encoded, list) else encoded


def assert_strict_json(text: str) -> None:
    json.loads(text[text.index("[") :], parse_constant=refuse_constant)


def non_finite(value) -> list:
    if isinstance(value, float):
        return [] if math.isfinite(value) else [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [bad for item in value for bad in non_finite(item)]
    return []


def diverged_session() -> TrainingSession:
    session = TrainingSession(OVERFLOWING)
    session.train_for(30)
    assert session.status == "diverged"
    return session


def test_every_payload_builder_sends_strict_json_for_a_diverged_network(app):
    session = diverged_session()
    focus = sum(session.net.layer_sizes) - 2
    frame = messages.frame(session, focus)
    payloads = {
        "frame": frame,
        "frame_as_sent": messages.as_sent(frame, math.inf),
        "state": messages.state(session),
        "dataset": messages.dataset(session),
        "config": messages.config(session),
        "error": messages.error("set_weight", {"value": f"got {math.nan}"}),
        "export": session.export_json(),
        "frames": messages.frames([session], [None]),
        "overflow": {"weights": [[1e308 * 10, -1e308 * 10, math.nan]]},
    }
    for name, payload in payloads.items():
        text = wire_text(app, [name, payload])
        assert "NaN" not in text and "Infinity" not in text, name
        assert_strict_json(text)


@pytest.mark.parametrize("event", sorted(HANDLERS))
def test_every_reply_and_message_after_divergence_is_finite(app, event):
    socketio = app.extensions["socketio"]
    client = socketio.test_client(app)
    try:
        assert client.emit("update_config", OVERFLOWING, callback=True)["ok"]
        for _ in range(30):
            if client.emit("step", callback=True).get("status") == "diverged":
                break
        reply = client.emit(event, SAMPLE_PAYLOADS.get(event), callback=True)
        assert isinstance(reply, dict) and not non_finite(reply), reply
        for message in client.get_received():
            assert not non_finite(message["args"]), message["name"]
    finally:
        client.disconnect()


@pytest.mark.parametrize(
    "event, payload, field",
    [
        ("set_weight", {"layer": 1, "node": 0, "source": 0, "value": 10**400}, "value"),
        ("erase_points", {"x": -(10**400), "y": 0, "radius": 1}, "radius"),  # the session names radius
        ("update_config", {"learningRate": 10**400}, "learningRate"),
        ("step", 10**400, "payload"),
    ],
)
def test_a_number_beyond_a_float_gets_an_error_that_names_its_field(app, event, payload, field):
    client = app.extensions["socketio"].test_client(app)
    try:
        reply = client.emit(event, payload, callback=True)
        assert reply is not None and reply["ok"] is False and reply["error"]["field"] == field, reply
    finally:
        client.disconnect()


def test_a_big_message_is_parsed_like_a_small_one():
    document = {"csv": "1,2,1\n" * 20_000, "big": 10**150, "deep": [[[1.5]]]}
    text = json.dumps(document)
    assert len(text) > packets.NATIVE_PARSE_CHARACTERS
    assert packets.loads(text) == {**document, "big": float(10**150)}
    with pytest.raises(ValueError):
        packets.loads("[" * 100_000)


def test_the_vectorised_unmask_equals_the_byte_by_byte_one():
    rng = random.Random(7)
    for length, offset in [(0, 0), (1, 3), (5, 2), (4096, 1), (100_003, 3)]:
        data, mask = rng.randbytes(length + 7), tuple(rng.randbytes(4))
        expected = bytes(data[i] ^ mask[(offset + i) % 4] for i in range(length))
        assert concurrency._apply_mask(data, mask, length, offset) == expected
