"""docs/protocol.md against the code: the events, their fields and the options table must agree."""

import re
from pathlib import Path

import pytest

from playground.web import protocol_doc
from playground.web.events import HANDLERS

DOC = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"


def table_after(heading: str) -> dict:
    """{event: [cell, cell, ...]} of the first table under a '## heading'."""
    section = DOC.read_text().split(f"## {heading}\n", 1)[1]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells[1:]
        elif rows and not line.startswith("|"):
            break
    return rows


def names(cell: str) -> set:
    return set(re.findall(r"`(\w+)`", cell))


CLIENT_EVENTS = table_after("Client → server")
SERVER_EVENTS = table_after("Server → client")
CLASS_CLIENT_EVENTS = table_after("Classroom: client → server")  # tests/test_classroom.py checks their fields
CLASS_SERVER_EVENTS = table_after("Classroom: server → client")


def test_documented_client_events_are_exactly_the_handled_ones():
    assert set(CLIENT_EVENTS) | set(CLASS_CLIENT_EVENTS) == set(HANDLERS)
    assert not set(CLIENT_EVENTS) & set(CLASS_CLIENT_EVENTS)


def test_options_table_is_generated_from_the_code():
    document = DOC.read_text()
    assert protocol_doc.document_with_table(document) == document, "run `python -m playground.web.protocol_doc --write`"


@pytest.fixture(scope="module")
def sio_client(app):
    client = app.extensions["socketio"].test_client(app)
    yield client
    client.disconnect()


SAMPLE_PAYLOADS = {
    "update_config": {"learningRate": 0.1},
    "set_weight": {"layer": 0, "node": 0, "source": 0, "value": 0.2},
    "set_focus": {"node": 1},
    "add_point": {"x": 1, "y": 2, "label": 1, "set": "train"},
    "erase_points": {"x": 1, "y": 2, "radius": 0.5},
    "upload_data": {"csv": "1,2,1\n-1,-2,-1\n"},
    "reset": {"sameWeights": True},
    "open_link": {"hash": "#activation=relu&noise=95&x_hide=true"},
    "run_seeds": {"seedRuns": 2, "seedData": "same"},
    "adopt_seed": {"member": 1},
    "scrub": {"epoch": 0},
    "save_experiment": {"title": "a run", "note": ""},
    "resume": {"draft": None},
}
NEED_A_SEED_RUN = {"adopt_seed", "stop_seeds"}


@pytest.mark.parametrize("event", sorted(CLIENT_EVENTS))
def test_replies_carry_the_documented_fields(sio_client, event):
    payload_cell, reply_cell = CLIENT_EVENTS[event]
    payload = SAMPLE_PAYLOADS.get(event)
    if event in NEED_A_SEED_RUN:
        assert sio_client.emit("run_seeds", {"seedRuns": 2}, callback=True)["ok"]
    if event == "import_network":
        payload = {"network": sio_client.emit("export_network", callback=True)["network"]}
    if event == "fork":
        payload = {"epoch": sio_client.emit("get_history", callback=True)["epoch"], "changes": {}}
    if event == "open_experiment":
        payload = {"id": sio_client.emit("save_experiment", SAMPLE_PAYLOADS["save_experiment"], callback=True)["id"]}
    if payload is not None and payload_cell != "any subset of the options (table below)":
        assert set(payload) == names(payload_cell)
    elif payload is None:
        assert payload_cell.startswith("none")
    reply = sio_client.emit(event, payload, callback=True)
    assert reply["ok"] is True
    assert set(reply) - {"ok"} == names(reply_cell)


def test_server_events_carry_the_documented_fields(sio_client, wait):
    sio_client.emit("update_config", {"noise": 10}, callback=True)
    sio_client.emit("step", callback=True)
    sio_client.emit("update_config", {"batchSize": 0}, callback=True)
    sio_client.emit("run_seeds", {"seedRuns": 2}, callback=True)
    seen = {}

    def every_documented_event_seen() -> bool:
        for message in sio_client.get_received():
            seen.setdefault(message["name"], message["args"][0])
        return set(seen) >= set(SERVER_EVENTS)

    wait(every_documented_event_seen, message=f"the events {sorted(SERVER_EVENTS)}")
    assert set(seen) == set(SERVER_EVENTS)
    for event, payload in seen.items():
        assert set(payload) == names(SERVER_EVENTS[event][0]), event
