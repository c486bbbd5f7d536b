"""Hypothesis fuzzing of every Socket.IO event (docs/protocol.md), through the Flask-SocketIO test client and against
the real server (`python app.py`).

Properties:
1. Any payload for any event gets a reply: `{"ok": true, ...}`, or an error whose `field` and `message` are non-empty
   strings, the message starting with the field, that is also sent as an `error` event, carries no stack trace, and
   leaves the session exactly as it was (config, parameters, epoch, status, data, random stream, focus).
2. `update_config` is all or nothing: `fields` names exactly the invalid options (an independent reading of the
   options table decides which), and an accepted change is the old config updated with the clean values.
3. Unknown events get an `error` event naming them and change nothing.
4. An event with several arguments is rejected with field `payload`.
5. After long random sequences of valid and invalid events the session still trains.
6. The real server, hammered with malformed payloads and raw garbage, keeps serving new clients.
7. A rejected `import_network` changes nothing.

The server logs every exception its handlers raise ("event ... failed"): the properties fail on any such exception.
The bugs this fuzzing found stay below as regression tests (`test_found_by_fuzzing_*`).
"""

from __future__ import annotations

import gc
import json
import logging
import math
import re
import threading
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Any

import pytest
import socketio as socketio_lib
import websocket
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st

from playground import rooms, saved
from playground.experiments import Experiment
from playground.options import OPTIONS, OPTIONS_BY_NAME
from playground.session import EXPORT_FORMAT, TrainingSession
from playground.web import messages, saving
from playground.web.events import HANDLERS
from playground.web.hub import Connection as HubConnection
from playground.web.settings import Settings
from tests import test_abuse as abuse
from tests.live_server import LiveServer
from tests.test_server import call
from tests.waiting import wait_until

# Fuzz apps: the rate limit and the bound on binary attachments (more close the connection) must not mask other errors.
# No limit on events: the fuzzing is of what each event does (the limits have tests of their own, and the
# native-time share of tests/test_native_time.py would refuse a long sequence of seed runs as busy). Nor on all
# clients' events together: that allowance only makes events wait (tests/test_native_time.py), which here would
# only make each example slower.
FAST = dict(
    events_per_second=1e9,
    events_burst=1e9,
    max_attachments=10**6,
    event_native_burst=1e9,
    all_events_native_burst=1e9,
    all_messages_per_second=1e9,
)
SLOW_CHECKS = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
    HealthCheck.filter_too_much,
]


def count(label: str) -> None:
    """Tally an outcome for --hypothesis-show-statistics (labels must be valid UTF-8)."""
    hypothesis_event(label.encode("utf-8", "backslashreplace").decode("utf-8"))


def fuzz_settings(examples: int):
    return settings(max_examples=examples, deadline=None, suppress_health_check=SLOW_CHECKS, print_blob=True)


class ServerExceptions(logging.Handler):
    """Collects what the server logs with a traceback ("event %s failed", "training turn failed")."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        if record.exc_info:
            self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        records, self.records = self.records, []
        return records


SERVER_EXCEPTIONS = ServerExceptions()


@pytest.fixture(scope="module", autouse=True)
def capture_server_exceptions():
    loggers = [logging.getLogger("playground.web.events"), logging.getLogger("playground.web.hub")]
    for logger in loggers:
        logger.addHandler(SERVER_EXCEPTIONS)
    yield
    for logger in loggers:
        logger.removeHandler(SERVER_EXCEPTIONS)


def describe(record: logging.LogRecord) -> str:
    assert record.exc_info, "ServerExceptions keeps only records with a traceback"
    return record.getMessage() + "\n" + "".join(traceback.format_exception(record.exc_info[1]))


# --- payloads ---------------------------------------------------------------------------------------------------------

VALID_NETWORK = json.loads(json.dumps(TrainingSession({"seed": "fuzz-import"}).export_json()))
VALID = {  # one valid payload per event (None: the event takes no payload)
    "update_config": {"learningRate": 0.1},
    "start_training": None,
    "stop_training": None,
    "step": None,
    "reset": {"sameWeights": True},
    "regenerate": None,
    "set_weight": {"layer": 0, "node": 0, "source": 0, "value": 0.5},
    "set_focus": {"node": 0},
    "add_point": {"x": 1.5, "y": -2, "label": 1, "set": "train"},
    "erase_points": {"x": 0, "y": 0, "radius": 0.3},
    "upload_data": {"csv": "x,y,label\n1,1,1\n-1,-1,-1\n2,-2,1,\n"},
    "download_data": None,
    "export_script": None,
    "export_network": None,
    "import_network": {"network": VALID_NETWORK},
    "open_link": {"hash": "#activation=relu&noise=95&networkShape=9,2&seed=abc=def&x_hide=true"},
    "run_seeds": {"seedRuns": 2},  # before the seed run's other events, which need a run
    "stop_seeds": None,
    "adopt_seed": {"member": 1},
    "close_seeds": None,
    "get_history": None,
    "scrub": {"epoch": 3},
    "fork": {"epoch": 0, "changes": {"learningRate": 0.3}},
    "save_experiment": {"title": "fuzz", "note": "a note"},
    "open_experiment": {"id": "fuzzSavedRun0000"},  # put in each app's store by `saved_run`
    "resume": {"draft": None},
    # The classroom, in an order that each is accepted in: a class the fuzz apps have from the start (`fuzz_class`),
    # its teacher, a learner, the teacher's actions, then a class of the connection's own, closed at the end.
    "teach": {"code": "FUZZ22", "key": "fuzz-teacher-key", "page": "playground"},
    "join_class": {"code": "FUZZ22", "name": "Fuzzy"},
    "rejoin_class": {"code": "FUZZ22", "key": "fuzzmember.key"},
    "push_config": {"hash": "#learningRate=0.1", "fixSeed": False},
    "lock_settings": {"locks": []},
    "pause_all": None,
    "resume_all": None,
    "set_challenge": {"challenge": {"dataset": "circle", "maxHiddenNeurons": 8, "belowTestLoss": 0.1}},
    "spotlight": {"member": None},
    "watch_member": {"member": None},
    "save_gallery": {"names": False},  # while the connection is the class's learner too
    "remove_member": {"member": "fuzzother"},
    "leave_class": None,
    "start_class": None,
    "close_class": None,
}
SAVED_RUN = saved.pack(TrainingSession({"seed": "fuzz-saved"}))


def seed_fuzz_class(hub) -> None:
    """The class of VALID: its teacher key, a member whose key rejoins and one to remove."""
    now, code = time.time(), "FUZZ22"
    room = {**rooms.new_room(code, "fuzz-teacher-key", now, hours=12), "link": f"http://localhost/join/{code}"}
    hub.store.put(rooms.ROOM, code, room, room["expiresAt"])
    for member, name in (("fuzzmember", "Member"), ("fuzzother", "Other")):
        document = rooms.new_member(member, name, f"{member}.key", now)
        hub.store.put(rooms.MEMBER, f"{code}:{member}", document, room["expiresAt"])
        hub.store.put(rooms.NAME, rooms.name_slot(code, name), {"member": member}, room["expiresAt"])


HUGE_INTS = [10**30, -(10**30), 2**53 + 1, 2**63, -(2**63) - 1, 2**64, 10**99, -(10**99 - 1)]  # the wire: <= 100 chars
SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 0.0, 1e308, -1e308, 5e-324, 1.5, 1e-300]
WEIRD_TEXT = [
    "",
    " ",
    "\x00",
    "\ud800",
    "a\udfffb",
    "\udc80\ud800",
    "\u202e",
    "\ufeff",
    "🤖",
    "é",
    "null",
    "NaN",
    "-0",
    "1e400",
    "Traceback",
    "<script>alert(1)</script>",
    "'",
    '"',
    "\\",
    "__proto__",
    "constructor",
    "\n",
    "abc\n",
    "train",
    "test",
    "tanh",
    "true",
    "0",
]
BIG_STRINGS = [("x", 100_000), ("1,1,1\n", 16_667), ("é", 100_000), ("\ud83e", 50_000)]  # (text, times)

ints = st.integers(-(10**99 - 1), 10**99) | st.sampled_from(HUGE_INTS) | st.integers(-3, 12)
floats = st.floats() | st.sampled_from(SPECIAL_FLOATS)
texts = (
    st.text(max_size=20)
    | st.text(st.characters(categories=["Cs"]), min_size=1, max_size=4)
    | st.sampled_from(WEIRD_TEXT)
)
small_scalars = st.none() | st.booleans() | ints | floats | texts | st.binary(max_size=64)
scalars = small_scalars | st.sampled_from(BIG_STRINGS).map(lambda big: big[0] * big[1])
keys = st.text(min_size=1, max_size=12) | st.sampled_from([k for k in WEIRD_TEXT if k])


def wire(value):
    """What the server receives: JSON joins a surrogate pair of two str code points into one character."""
    if isinstance(value, str):
        return json.loads(json.dumps(value))
    if isinstance(value, list):
        return [wire(item) for item in value]
    if isinstance(value, dict):
        return {wire(key): wire(item) for key, item in value.items()}
    return value


def nest(leaf, depth: int, kind: str):
    for level in range(depth):
        leaf = [leaf] if kind == "list" or (kind == "mixed" and level % 2) else {"a": leaf}
    return leaf


def junk_from(leaves):
    deep = st.builds(nest, leaves, st.integers(45, 55), st.sampled_from(["list", "dict", "mixed"]))
    return st.recursive(
        leaves | deep, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(keys, kids, max_size=4), max_leaves=8
    )


junk = junk_from(scalars)
small_junk = junk_from(small_scalars)
numbers = st.sampled_from(HUGE_INTS + SPECIAL_FLOATS) | ints | floats
replacements = st.one_of(numbers, scalars, junk)  # what a mutation puts in place of a valid part


@st.composite
def mutation(draw, valid, junk_values=None):
    """A valid payload with one part replaced by junk, removed, or one part added; for nested payloads
    (import_network) the part may be anywhere in the tree."""
    junk_values = replacements if junk_values is None else junk_values
    if not isinstance(valid, dict):  # events without a payload: a near miss of "nothing"
        return draw(st.sampled_from([{}, [], "", 0, False, {"unexpected": True}, [None], {"": None}]) | junk_values)
    payload = json.loads(json.dumps(valid))
    parent: dict | list | None = None
    key: Any = None  # a key of `parent` once there is one
    node = payload
    for _ in range(draw(st.integers(1, 8))):
        if isinstance(node, dict) and node:
            parent, key = node, draw(st.sampled_from(sorted(node)))
        elif isinstance(node, list) and node:
            parent, key = node, draw(st.integers(0, len(node) - 1))
        else:
            break
        node = parent[key]
        if not draw(st.integers(0, 3)):
            break
    action = draw(st.sampled_from(["replace", "replace", "replace", "remove", "add"]))
    if parent is None:
        payload[draw(keys)] = draw(junk_values)
    elif action == "add":
        if isinstance(parent, dict):
            parent[draw(keys)] = draw(junk_values)
        else:
            parent.insert(draw(st.integers(0, len(parent))), draw(junk_values))
    elif action == "remove":
        del parent[key]
    else:
        parent[key] = draw(junk_values)
    return payload


def payloads(event: str, junk_values=None):
    """Arguments for one emit: () is no argument at all, (payload,) one; mostly mutations of a valid payload."""
    valid = VALID[event]
    mutated = st.tuples(mutation(valid, junk_values))
    return st.one_of(
        st.just(()),
        st.tuples(junk if junk_values is None else junk_values),
        mutated,
        mutated,
        mutated,
        st.just((valid,) if valid is not None else ()),
    )


def plausible(event: str):
    """Mostly-valid arguments, to drive a session through many states."""
    coordinate = st.floats(-6, 6)
    if event == "update_config":
        return st.tuples(valid_changes())
    if event == "reset":
        return st.sampled_from([(), ({},), ({"sameWeights": True},), ({"sameWeights": False},)])
    if event == "set_weight":
        return st.tuples(
            st.fixed_dictionaries(
                {
                    "layer": st.integers(0, 3),
                    "node": st.integers(0, 8),
                    "source": st.none() | st.integers(0, 8),
                    "value": st.floats(-3, 3) | st.sampled_from([10.0, 1e10, 1e300, -1e300]),
                }
            )
        )
    if event == "set_focus":
        return st.tuples(st.fixed_dictionaries({"node": st.none() | st.integers(0, 12)}))
    if event == "add_point":
        return st.tuples(
            st.fixed_dictionaries(
                {
                    "x": coordinate,
                    "y": coordinate,
                    "label": st.sampled_from([-1, 0, 1, 0.5, 1.5, -1.5]),
                    "set": st.sampled_from(["train", "test"]),
                }
            )
        )
    if event == "erase_points":
        return st.tuples(st.fixed_dictionaries({"x": coordinate, "y": coordinate, "radius": st.floats(0.05, 12)}))
    if event == "upload_data":
        line = st.tuples(coordinate, coordinate, st.sampled_from([-1, 0, 1]), st.sampled_from(["", ",train", ",test"]))
        return st.lists(line, min_size=1, max_size=30).map(
            lambda rows: ({"csv": "".join(f"{x!r},{y!r},{label}{subset}\n" for x, y, label, subset in rows)},)
        )
    if event == "import_network":
        return st.just(({"network": VALID_NETWORK},)) | st.tuples(mutation({"network": VALID_NETWORK}, small_junk))
    if event == "open_link":  # links with any keys TF Playground reads, and any values
        key = st.sampled_from([*OPTIONS_BY_NAME, "cosX", "tutorial", "x_hide", "problem_hide", "zzz"])
        pairs = st.lists(
            st.tuples(key, st.text(max_size=12) | st.sampled_from(["1e-5", "95", "8,8,8,8,8,8,8"])), max_size=8
        )
        return pairs.map(lambda items: ({"hash": "#" + "&".join(f"{name}={value}" for name, value in items)},))
    return st.sampled_from([(), (None,), ({},)])


# --- the options table, read independently of playground/options.py's checks ------------------------------------------

# Printable ASCII but for '"', '&', '<', '=', '>' and '`', 1 to 4000 characters.
SEED = re.compile(r"[!#-%'-;?-_a-~]{1,4000}")


def allowed(option, value) -> bool:
    """docs/protocol.md's options table, as a client reads it."""
    if option.kind == "bool":
        return type(value) is bool
    if option.kind == "choice":
        return isinstance(value, str) and value in option.choices
    if option.kind == "seed":
        return isinstance(value, str) and SEED.fullmatch(value) is not None
    if option.kind == "shape":
        return isinstance(value, list) and len(value) <= 6 and all(type(n) is int and 1 <= n <= 8 for n in value)
    if type(value) not in (int, float) or not math.isfinite(value):
        return False
    if option.kind == "int" and value != int(value):
        return False
    return option.minimum <= value <= option.maximum


def clean(option, value):
    if option.kind == "int":
        return int(value)
    if option.kind == "shape":
        return tuple(value)
    return value


def valid_value(option):
    if option.kind == "bool":
        return st.booleans()
    if option.kind == "choice":
        return st.sampled_from(option.choices)
    if option.kind == "seed":
        return st.from_regex(SEED, fullmatch=True)
    if option.kind == "shape":
        return st.lists(st.integers(1, 8), max_size=6)
    if option.kind == "int":
        whole = st.integers(int(option.minimum), int(option.maximum))
        return whole | whole.map(float)
    values = st.floats(option.minimum, option.maximum) | st.sampled_from([option.minimum, option.maximum])
    return values | st.sampled_from(option.choices) if option.choices else values


def near_miss(option):
    """Values just outside what the option allows, plus the wrong types."""
    common = [None, "", [], {}, "1", math.nan, math.inf, -math.inf]
    if option.kind == "bool":
        extra = [0, 1, "true", "false", 1.0]
    elif option.kind == "choice":
        extra = [c.upper() for c in option.choices] + [c + " " for c in option.choices] + [True, 0]
    elif option.kind == "seed":
        extra = ["a" * 4001, "a b", "é", "a=b", 5, True, "\x00", "\ud800"]
    elif option.kind == "shape":
        extra = [[0], [9], [True], [1] * 7, [1.5], ["2"], [[2]], 4, "4,2", [-1], [2**64]]
    else:
        extra = [
            option.minimum - 1,
            option.maximum + 1,
            option.maximum * 1.0000001,
            True,
            False,
            str(option.maximum),
            10**30,
            -(10**30),
            [option.minimum],
        ]
        if option.kind == "int":
            extra += [option.minimum + 0.5]
    return st.sampled_from(common + extra) | small_junk


unknown_names = st.text(min_size=1, max_size=45).filter(lambda name: name not in OPTIONS_BY_NAME)


@st.composite
def config_changes(draw):
    """A dict of options, each valid or not, and sometimes names that are not options."""
    changes = {}
    for name in draw(st.lists(st.sampled_from([option.name for option in OPTIONS]), unique=True, max_size=6)):
        option = OPTIONS_BY_NAME[name]
        bad = draw(st.integers(0, 4)) == 0
        value = draw(near_miss(option) if bad else valid_value(option))
        changes[name] = value
    if draw(st.integers(0, 5)) == 0:
        for name in draw(st.lists(unknown_names, min_size=1, max_size=2, unique=True)):
            changes[name] = draw(small_junk)
    return changes


@st.composite
def valid_changes(draw):
    names = draw(st.lists(st.sampled_from([option.name for option in OPTIONS]), unique=True, max_size=4))
    return {name: draw(valid_value(OPTIONS_BY_NAME[name])) for name in names}


# --- a connection through the test client ---------------------------------------------------------------------------


@dataclass
class Answer:
    reply: Any  # a dict for every well-formed exchange; the properties check that it is
    errors: list  # the `error` events received
    exceptions: list  # the server's logged exceptions


class Connection:
    def __init__(self, app):
        self.socketio = app.extensions["socketio"]
        self.hub = app.extensions["playground_hub"]
        self.test_client = self.socketio.test_client(app)
        self.sid = self.socketio.server.manager.sid_from_eio_sid(self.test_client.eio_sid, "/")
        self.test_client.get_received()

    @property
    def experiment(self) -> Experiment:
        return self.hub.connections[self.sid].experiment

    def send(self, event, *args) -> Answer:
        SERVER_EXCEPTIONS.take()
        self.test_client.get_received()
        reply = self.test_client.emit(event, *args, callback=True)
        errors = [m["args"][0] for m in self.test_client.get_received() if m["name"] == "error"]
        return Answer(reply, errors, SERVER_EXCEPTIONS.take())

    def settle(self) -> None:
        """Stopped, focus on the output: the state the single-event properties start from."""
        experiment = self.experiment
        if experiment.session.status == "running":
            assert self.send("stop_training").reply["ok"]
        if experiment.focus is not None:
            assert self.send("set_focus", {"node": None}).reply["ok"]

    def close(self) -> None:
        if self.test_client.is_connected():
            self.test_client.disconnect()


def snapshot(experiment: Experiment, training: bool = True) -> dict:
    """What a rejected event must not change. `training=False` leaves out what a running session changes."""
    session, data = experiment.session, experiment.session.data
    state = {
        "config": dict(session.config),
        "features": list(session.feature_names),
        "links": dict(session.url_extras),
        "focus": experiment.focus,
        "random": repr(vars(session.rng)),
        "data": [
            (a.shape, a.tobytes()) for a in (data.train_points, data.train_labels, data.test_points, data.test_labels)
        ],
    }
    if training:
        state.update(
            epoch=session.epoch,
            status=session.status,
            parameters=json.dumps(session.net.get_parameters()),
            initial=json.dumps(session.initial_parameters),
            evaluation=repr((session.train_loss, session.test_loss, session.train_accuracy, session.test_accuracy)),
        )
    return state


def check_error_format(event, error, payload=None) -> None:
    """An error as docs/protocol.md defines it, its message naming the field, with no stack trace."""
    assert isinstance(error, dict) and set(error) == {"event", "field", "message", "fields"}, error
    assert error["event"] == event
    field, message, fields = error["field"], error["message"], error["fields"]
    assert isinstance(fields, dict) and fields and field in fields, error
    for name, sentence in fields.items():
        assert isinstance(name, str) and name, error
        assert isinstance(sentence, str) and sentence, error
    assert isinstance(field, str) and isinstance(message, str) and message
    assert message == f"{field} {fields[field]}" and message.startswith(field), error
    text = json.dumps(error, ensure_ascii=False)
    assert "Traceback (most recent call last)" not in text and 'File "/' not in text, error


def check_answer(event, args, answer: Answer, before: dict, after: dict) -> str:
    """The properties every reply has; returns "ok" or "error"."""
    assert not answer.exceptions, f"the server raised while handling {event}:\n" + "\n".join(
        map(describe, answer.exceptions)
    )
    reply = answer.reply
    assert isinstance(reply, dict) and reply.get("ok") in (True, False), reply
    if reply["ok"]:
        count(f"{event}: ok")
        return "ok"
    payload = args[0] if args else None
    error = reply["error"]
    check_error_format(event, error, payload)
    assert error in answer.errors, "every failure is also sent as an error event"
    assert "could not handle this event" not in error["message"], "an internal error"
    assert before == after, f"the rejected {event} changed the session: " + ", ".join(
        key for key in before if before[key] != after.get(key)
    )
    count(f"{event}: error {error['field'][:20]!r}")
    return "error"


@pytest.fixture(scope="module")
def app_settings():
    return FAST


@pytest.fixture(scope="module", autouse=True)
def saved_run(app, bug_app):
    """The saved experiment VALID's open_experiment opens, in the store of each app of this module."""
    for each in (app, bug_app):
        each.extensions["playground_hub"].store.put(saving.EXPERIMENT, VALID["open_experiment"]["id"], SAVED_RUN)


@pytest.fixture(scope="module", autouse=True)
def fuzz_class(app):
    seed_fuzz_class(app.extensions["playground_hub"])


@pytest.fixture(scope="module")
def connection(app):
    conn = Connection(app)
    yield conn
    conn.close()


@pytest.fixture(autouse=True)
def outside_any_class(request):
    """Each test starts with the module's connection in no class: a lock or a pause a fuzzed classroom event set
    must not refuse the next test's valid changes."""
    yield
    if "connection" in request.fixturenames:
        connection = request.getfixturevalue("connection")
        classroom = connection.hub.classroom
        classroom.learners.pop(connection.sid, None)
        classroom.teachers.pop(connection.sid, None)
        own = connection.hub.connections.get(connection.sid)
        if own is not None and set(own.watching) != {own.experiment.id}:  # a fuzzed watch_member left it elsewhere
            classroom.watch(own, None)


@pytest.fixture(scope="module")
def bug_app(make_app):
    """An app of its own for the bug tests: some of them leak sessions."""
    return make_app(**FAST)


@pytest.fixture
def fresh(bug_app):
    conn = Connection(bug_app)
    yield conn
    conn.close()


# --- 1. any payload, any event ----------------------------------------------------------------------------------------


def test_the_table_of_valid_payloads_covers_every_event_and_is_accepted(connection):
    assert set(VALID) == set(HANDLERS)
    for event, payload in VALID.items():
        connection.settle()
        answer = connection.send(event, *(() if payload is None else (payload,)))
        assert answer.reply["ok"], (event, answer.reply)
    connection.settle()


@pytest.mark.parametrize("event", sorted(HANDLERS))
@fuzz_settings(80)
@given(data=st.data())
def test_any_payload_gets_a_well_formed_reply_and_a_rejection_changes_nothing(connection, event, data):
    args = data.draw(payloads(event), label="args")
    connection.settle()
    before = snapshot(connection.experiment)
    answer = connection.send(event, *args)
    outcome = check_answer(event, args, answer, before, snapshot(connection.experiment))
    note(f"{event}: {outcome}")


# --- 2. update_config: all or nothing -----------------------------------------------------------------------------


@fuzz_settings(200)
@given(changes=config_changes())
def test_update_config_applies_all_valid_changes_or_none(connection, changes):
    connection.settle()
    client = connection.experiment
    old = dict(client.session.config)
    before = snapshot(client)
    answer = connection.send("update_config", changes)
    check_answer("update_config", (changes,), answer, before, snapshot(client))
    invalid = {
        name[:40]
        for name, value in changes.items()
        if name not in OPTIONS_BY_NAME or not allowed(OPTIONS_BY_NAME[name], value)
    }
    reply, session = answer.reply, connection.experiment.session
    if invalid:
        assert reply["ok"] is False, f"accepted although {sorted(invalid)} are invalid"
        fields = reply["error"]["fields"]
        assert set(fields) == invalid
        for name, sentence in fields.items():
            option = OPTIONS_BY_NAME.get(name)
            expected = f"must be {option.describe()}, got " if option else "is not an option"
            assert sentence.startswith(expected), (name, sentence)
        return
    assert reply["ok"] is True, reply
    values = {name: clean(OPTIONS_BY_NAME[name], value) for name, value in changes.items()}
    changed = sorted(name for name, value in values.items() if old[name] != value)
    effects = {OPTIONS_BY_NAME[name].effect for name in changed}
    expected = dict(old, **values)
    if "regenerate" in effects and "seed" not in changes:  # a new seed from the session's random stream
        assert SEED.fullmatch(session.config["seed"])
        expected["seed"] = session.config["seed"]
    assert session.config == expected
    for name, value in session.config.items():
        assert type(value) is type(OPTIONS_BY_NAME[name].default) or OPTIONS_BY_NAME[name].kind in ("float", "seed")
    assert reply["changed"] == changed
    assert reply["reset"] == bool(effects & {"regenerate", "reset"})
    assert {"config": reply["config"], "hash": reply["hash"]} == messages.config(session)
    if reply["reset"]:
        assert session.epoch == 0 and session.status == "stopped"


# --- 3. unknown events ------------------------------------------------------------------------------------------------

NOT_UNKNOWN = set(HANDLERS) | {"connect", "disconnect", "*"}  # reserved names: see test_found_by_fuzzing_* below
event_names = (
    st.text(max_size=60)
    | st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
    | st.sampled_from(
        [
            "message",
            "json",
            "error",
            "map_update",
            "dataset",
            "state",
            "step_result",
            "connect_error",
            "Step",
            "step ",
            "update-config",
            "__proto__",
            "",
            "x" * 1000,
        ]
    )
).filter(lambda name: name not in NOT_UNKNOWN)


@fuzz_settings(120)
@given(name=event_names, args=st.lists(junk, max_size=2))
def test_unknown_events_get_an_error_event_and_change_nothing(connection, name, args):
    connection.settle()
    before = snapshot(connection.experiment)
    answer = connection.send(name, *args)
    name = wire(name)
    assert not answer.exceptions, [describe(record) for record in answer.exceptions]
    assert not (isinstance(answer.reply, dict) and answer.reply.get("ok")), answer.reply
    (error,) = answer.errors
    check_error_format(name, error)
    assert error["field"] == "event"
    assert error["fields"]["event"].startswith(repr(name[:40])) and "not an event" in error["message"]
    assert snapshot(connection.experiment) == before


# --- 4. several arguments ---------------------------------------------------------------------------------------------


@fuzz_settings(120)
@given(data=st.data(), event=st.sampled_from(sorted(HANDLERS)))
def test_several_arguments_are_rejected_with_field_payload(connection, data, event):
    first = data.draw(st.just(VALID[event]) | small_junk, label="first")
    rest = data.draw(st.lists(small_junk, min_size=1, max_size=3), label="rest")
    connection.settle()
    before = snapshot(connection.experiment)
    answer = connection.send(event, first, *rest)
    assert check_answer(event, (first, *rest), answer, before, snapshot(connection.experiment)) == "error"
    assert answer.reply["error"]["field"] == "payload"
    assert answer.reply["error"]["message"] == "payload must be a single argument"


# --- 5. long random sequences -----------------------------------------------------------------------------------------


@st.composite
def sequence_step(draw, junk_values=None):
    event = draw(st.sampled_from(sorted(HANDLERS)))
    if draw(st.integers(0, 3)) == 0:
        return event, draw(payloads(event, junk_values))
    return event, draw(plausible(event))


def run_sequence(connection, steps) -> list[tuple[str, dict]]:
    """Send the steps, checking every reply; returns (outcome, reply) for each."""
    outcomes = []
    for event, args in steps:
        training = connection.experiment.session.status != "running"
        before = snapshot(connection.experiment, training)
        answer = connection.send(event, *args)
        outcome = check_answer(event, args, answer, before, snapshot(connection.experiment, training))
        outcomes.append((outcome, answer.reply))
    return outcomes


def assert_still_trains(connection) -> None:
    answer = connection.send("step")
    assert not answer.exceptions, [describe(record) for record in answer.exceptions]
    assert answer.reply["ok"], answer.reply
    session = connection.experiment.session
    assert answer.reply["epoch"] == session.epoch and answer.reply["status"] == session.status
    assert session.status in ("stopped", "diverged")
    if session.status == "stopped":
        for loss, labels in (
            (session.train_loss, session.data.train_labels),
            (session.test_loss, session.data.test_labels),
        ):
            assert not len(labels) or math.isfinite(loss), (session.train_loss, session.test_loss)


@fuzz_settings(30)
@given(steps=st.lists(sequence_step(), min_size=10, max_size=40))
def test_after_a_long_random_sequence_the_session_still_trains(app, steps):
    connection = Connection(app)
    try:
        outcomes = run_sequence(connection, steps)
        note(f"outcomes: {[outcome for outcome, _ in outcomes]}")
        assert_still_trains(connection)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def default_app(make_app):
    # The default event rate limit; not the native-time shares (tests/test_native_time.py): a flood of seed runs
    # would use up the client's for a minute, and wait for all clients' after each heavy event.
    return make_app(event_native_burst=1e9, all_events_native_burst=1e9)


@fuzz_settings(3)
@given(steps=st.lists(sequence_step(small_junk), min_size=130, max_size=160))
def test_with_the_default_rate_limit_a_flood_is_answered_and_the_session_still_trains(default_app, steps):
    """The default limit (50 a second, bursts of 100): every reply is still well formed, an event over the limit is
    answered with field `rate` and changes nothing, and the session still trains afterwards."""
    limits = default_app.config["PLAYGROUND_SETTINGS"]
    # More binary attachments than allowed close the connection (the live-server tests send those); the test
    # client then raises instead of answering.
    assume(all(blobs(args) <= limits.max_attachments for _, args in steps))
    connection = Connection(default_app)
    try:
        started = time.monotonic()
        replies = [reply for _, reply in run_sequence(connection, steps)]
        elapsed = time.monotonic() - started
        rate = [reply for reply in replies if not reply["ok"] and reply["error"]["field"] == "rate"]
        # The bucket starts full at connect: at most burst + rate * time events get through.
        assert len(rate) >= len(steps) - limits.events_burst - limits.events_per_second * (elapsed + 0.5)
        for reply in rate:
            assert reply["error"]["message"] == (
                "rate is too high: at most 50 events a second (bursts of 100); this one was ignored"
            )
        hub_connection = connection.hub.connections[connection.sid]
        wait_until(
            lambda: hub_connection.events.refill(time.monotonic()) >= 1,
            pause=connection.socketio.sleep,
            message="a token for the final step",
        )
        assert_still_trains(connection)
    finally:
        connection.close()


# --- 7. import_network ------------------------------------------------------------------------------------------------

json_trees = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | floats | st.text(max_size=10),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
    max_leaves=25,
)
export_like = st.fixed_dictionaries(
    {"format": st.just(EXPORT_FORMAT)},
    optional={key: json_trees | st.just(value) for key, value in VALID_NETWORK.items() if key != "format"},
)
networks = st.one_of(
    json_trees,
    export_like,
    mutation(VALID_NETWORK, json_trees),
    mutation(VALID_NETWORK, json_trees).flatmap(lambda tree: mutation(tree, json_trees)),
)


@fuzz_settings(120)
@given(network=networks)
def test_a_rejected_import_changes_nothing(connection, network):
    connection.settle()
    before = snapshot(connection.experiment)
    answer = connection.send("import_network", {"network": network})
    outcome = check_answer("import_network", ({"network": network},), answer, before, snapshot(connection.experiment))
    if outcome == "error":
        assert answer.reply["error"]["field"] == "network"
    note(outcome)


# --- 6. the real server -----------------------------------------------------------------------------------------------


class LiveClient(socketio_lib.Client):
    """A real python-socketio client over a WebSocket; it acknowledges every map_update (by returning)."""

    def __init__(self):
        super().__init__(reconnection=False)
        self.framed = threading.Event()
        self.errors: list = []
        self.on("map_update", lambda payload: self.framed.set())
        self.on("error", self.errors.append)


def live_connect(server) -> LiveClient:
    client = LiveClient()
    client.connect(server.url, transports=["websocket"], wait_timeout=10)
    assert client.framed.wait(10), "no map_update after connect"
    return client


@pytest.fixture(scope="module")
def live_server():
    """A server of this module's own: the fuzzing spends the allowances all clients share, and the log the last
    test reads for tracebacks is then of this module's traffic only."""
    server = LiveServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live_client(live_server):
    client = live_connect(live_server)
    yield client
    if client.connected:
        client.disconnect()


class Pacer:
    """Keeps a client under the server's default limit of 50 events a second."""

    def __init__(self, per_second: float):
        self.interval, self.last = 1.0 / per_second, 0.0

    def wait(self) -> None:
        delay = self.last + self.interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.last = time.monotonic()


PACER = Pacer(45)


def blobs(value) -> int:
    if isinstance(value, (bytes, bytearray)):
        return 1
    if isinstance(value, dict):
        value = list(value.values())
    return sum(map(blobs, value)) if isinstance(value, (list, tuple)) else 0


def wire_size(value) -> int:
    return len(json.dumps(value, default=lambda blob: "b" * len(blob)))


@fuzz_settings(200)
@given(data=st.data(), event=st.sampled_from(sorted(HANDLERS)))
def test_live_server_answers_every_malformed_payload(live_client, data, event):
    args = data.draw(payloads(event), label="args")
    assume(wire_size(args) < 300_000)  # a message over MAX_HTTP_BUFFER_SIZE closes the connection
    assume(blobs(args) <= Settings().max_attachments)  # and so do more binary attachments than allowed
    PACER.wait()
    reply = live_client.call(event, tuple(args), timeout=10)  # a tuple: exactly these arguments
    assert isinstance(reply, dict) and reply.get("ok") in (True, False), reply
    if not reply["ok"]:
        check_error_format(event, reply["error"], wire(args[0]) if args else None)  # "rate" is a valid answer
    count(f"{event}: {'ok' if reply['ok'] else reply['error']['field'][:20]}")


RAW_GARBAGE = [  # (what, how to send it): python-socketio lets a client send all of these
    ("a 700 kB event, over MAX_HTTP_BUFFER_SIZE", lambda c: c.emit("upload_data", {"csv": "x" * 700_000})),
    ("an integer of 101 digits", lambda c: c.emit("step", 10**100)),
    ("broken JSON", lambda c: c.eio.send("2[")),
    ("not a Socket.IO packet", lambda c: c.eio.send("garbage")),
    ("an unknown packet type", lambda c: c.eio.send("9")),
    ("an empty message", lambda c: c.eio.send("")),
    ("a binary event whose attachment never comes", lambda c: c.eio.send('51-["step",{"_placeholder":true,"num":7}]')),
    (
        "a binary event with a bad attachment number",
        lambda c: (c.eio.send('51-["step",{"_placeholder":true,"num":7}]'), c.eio.send(b"\x00\x01")),
    ),
    ("a stray binary message", lambda c: c.eio.send(b"\x00\xff")),
    ("a number as the event name", lambda c: c.eio.send("2[5,{}]")),
    ("an object as the event name", lambda c: c.eio.send('2[{"a":1}]')),
    ("no event name", lambda c: c.eio.send("2[]")),
    ("null as the event name", lambda c: c.eio.send("2[null]")),
    ("an acknowledgement nobody asked for", lambda c: c.eio.send("399[1]")),
    ("a second connect packet", lambda c: c.eio.send('0{"x":1}')),
    ("an unknown namespace", lambda c: c.eio.send('2/nope,["step"]')),
    ("5000 levels of nesting", lambda c: c.eio.send('2["step",' + "[" * 5000 + "]" * 5000 + "]")),
    ("a flood of 300 events without waiting", lambda c: [c.emit("step") for _ in range(300)]),
]


def test_live_server_keeps_serving_after_raw_garbage_and_oversize_messages(live_server, live_client):
    for _what, send in RAW_GARBAGE:
        client = live_connect(live_server)
        try:
            send(client)
            time.sleep(0.15)
        finally:
            if client.connected:  # the server may drop a client that sent garbage: that is fine
                client.disconnect()
            if client.eio.state == "connected":  # after a refused second CONNECT, python-socketio leaves the
                client.eio.disconnect()  # namespace but keeps the transport (and so the session) open
    fresh = live_connect(live_server)  # what matters: the server still serves new clients...
    try:
        assert call(fresh, "step")["ok"]
        assert call(fresh, "update_config", {"learningRate": 0.1})["ok"]
    finally:
        fresh.disconnect()
    PACER.wait()
    answer = call(live_client, "step")  # ...and the fuzzed session still trains, or is told it is over its own
    # limits: its event rate, or its share of the native thread (the fuzzing before spent it on heavy events)
    assert answer["ok"] or answer["error"]["field"] in ("rate", "busy"), answer


# --- 8. below Socket.IO: raw WebSocket frames (Engine.IO packets, attachments, fragments) -----------------------------

socketio_packets = st.builds(
    lambda kind, attachments, namespace, ack, body: f"4{kind}{attachments}{namespace}{ack}{body}",
    st.sampled_from("0123456789x"),
    st.sampled_from(["", "1-", "2-", "3-", "100000-", "99999999999-", "-"]),
    st.sampled_from(["", "/", "/nope,", "/,"]),
    st.sampled_from(["", "1", "99", "1" * 120]),
    st.one_of(
        st.sampled_from(
            [
                '["step"]',
                '["update_config",{"learningRate":1e999}]',
                '["export_network"]',
                '["step",{"_placeholder":true,"num":0}]',
                '["set_focus",{"node":' + "9" * 400 + "}]",
                "[" * 3000,
                '["upload_data",{"csv":"1,2,1\\n"}]',
                "[NaN]",
                '"x"',
                "{}",
            ]
        ),
        st.text(max_size=50),
    ),
)
engineio_packets = st.one_of(
    socketio_packets,
    st.builds(lambda kind, body: kind + body, st.sampled_from("0123456b"), st.text(max_size=40)),
    st.text(max_size=60),
    st.binary(max_size=3000),
)
fragments = st.lists(st.text(max_size=2000), min_size=2, max_size=4)  # a text message sent in pieces
raw_messages = st.one_of(engineio_packets, fragments.map(tuple))


def send_raw(ws, message) -> None:
    if isinstance(message, tuple):
        for index, part in enumerate(message):
            opcode = websocket.ABNF.OPCODE_TEXT if index == 0 else websocket.ABNF.OPCODE_CONT
            ws.send_frame(websocket.ABNF.create_frame(part.encode(), opcode, fin=int(index == len(message) - 1)))
    elif isinstance(message, bytes):
        ws.send_binary(message)
    else:
        ws.send(message)


def received_until_quiet(ws) -> list:
    """What the server sends until it closes the WebSocket or says nothing for 0.2 s."""
    received = []
    ws.settimeout(0.2)
    while True:
        try:
            opcode, data = ws.recv_data(control_frame=True)
        except (websocket.WebSocketException, OSError):
            return received
        received.append(data)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return received


@fuzz_settings(40)
@given(messages=st.lists(raw_messages, min_size=1, max_size=5))
def test_live_server_answers_raw_frames_without_tracebacks_or_nan_and_frees_the_session(live_server, messages):
    before = live_server.counts()["connections"]
    ws = abuse.session(live_server)
    received = []
    try:
        for message in messages:
            send_raw(ws, message)
            received += received_until_quiet(ws)
    except (websocket.WebSocketException, OSError):
        pass  # the server closed a session that broke the protocol: fine
    finally:
        ws.close()
    for data in received:
        assert abuse.carries_no_traceback(data), data[:200]
        text = data if isinstance(data, str) else data.decode("latin-1")
        assert "NaN" not in text and "Infinity" not in text, text[:200]
    wait_until(lambda: live_server.counts()["connections"] == before, 5, "the session to end with its WebSocket")
    assert live_server.health() == {"ok": True}


def server_log_exceptions(text: str) -> list[tuple[str, str, str]]:
    """(exception type, innermost playground function, the log message) of each traceback our code logged."""
    found, lines = [], text.splitlines()
    for index, line in enumerate(lines):
        if line != "Traceback (most recent call last):" or index == 0:
            continue
        message = lines[index - 1]
        if not ((message.startswith("event ") and message.endswith(" failed")) or message == "training turn failed"):
            continue  # python-socketio's own complaints about garbage packets
        functions, end = [], index + 1
        while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
            match = re.match(r'\s+File "([^"]+)", line \d+, in (\S+)', lines[end])
            if match and "/playground/" in match.group(1):
                functions.append(match.group(2))
            end += 1
        kind = lines[end].split(":")[0].split(".")[-1] if end < len(lines) else "?"
        found.append((kind, functions[-1] if functions else "?", message))
    return found


def test_live_server_is_healthy_and_our_code_raised_nothing(live_server, live_client):
    live_server.wait_connections(1)  # only the fuzzing client is left
    assert live_server.health() == {"ok": True}
    with open(live_server.log_path, encoding="utf-8", errors="replace") as log:
        exceptions = server_log_exceptions(log.read())
    assert not exceptions, f"the server raised: {exceptions} (see {live_server.log_path})"


# --- bugs the fuzzing found, now fixed: each stays as a regression test -----------------------------------------------


def session_of(connection) -> TrainingSession:
    hub_connection = connection.hub.connections.get(connection.sid)
    assert hub_connection is not None, "the connection has no session any more"
    return hub_connection.experiment.session


def test_found_by_fuzzing_event_named_connect_keeps_the_session(fresh):
    assert fresh.send("update_config", {"seed": "kept", "learningRate": 0.1}).reply["ok"]
    session = session_of(fresh)
    fresh.send("connect", {"token": 1})
    assert session_of(fresh) is session and session.config["seed"] == "kept"


def test_found_by_fuzzing_event_named_disconnect_keeps_the_session(fresh):
    fresh.send("disconnect")
    assert fresh.test_client.is_connected()
    answer = fresh.send("step")
    assert answer.reply["ok"], answer.reply


def test_found_by_fuzzing_connect_events_are_not_rate_limited_and_leak_sessions(default_app):
    connection = Connection(default_app)  # the default limit: 50 a second, bursts of 100
    try:
        for _ in range(120):  # more than the burst of 100
            connection.test_client.emit("connect", None)
        gc.collect()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alive = [
                obj
                for obj in gc.get_objects()
                if isinstance(obj, HubConnection) and obj.sid == connection.sid and not obj.closed
            ]
        assert len(alive) == 1, f"{len(alive)} live sessions for one connection"
    finally:
        connection.close()


@pytest.mark.parametrize(
    "focus,change",
    [(8, {"networkShape": [1]}), (2, {"networkShape": [], "x": False})],
    ids=["fewer-neurons", "fewer-features"],
)
def test_found_by_fuzzing_stale_focus_after_the_network_shrinks(fresh, focus, change):
    if change.get("networkShape") == []:
        assert fresh.send("update_config", {"networkShape": []}).reply["ok"]
    assert fresh.send("set_focus", {"node": focus}).reply["ok"]
    config = dict(session_of(fresh).config)
    answer = fresh.send("update_config", change)
    # Either the change is accepted, or it is rejected and changes nothing (docs/protocol.md).
    assert answer.reply["ok"] or session_of(fresh).config == config, (answer.reply, session_of(fresh).config)
    assert fresh.send("step").reply["ok"]


@pytest.mark.parametrize(
    "payload",
    [{"x": 10**30, "y": 0, "radius": 1}, {"x": 0, "y": -(2**63) - 1, "radius": 1}, {"x": 2**64, "y": 0, "radius": 12}],
)
def test_found_by_fuzzing_erase_points_with_an_integer_beyond_int64(fresh, payload):
    answer = fresh.send("erase_points", payload)
    assert not answer.exceptions, describe(answer.exceptions[0])
    assert answer.reply["ok"] or answer.reply["error"]["field"] in ("x", "y", "radius"), answer.reply


@pytest.mark.parametrize(
    "network",
    [
        {"format": EXPORT_FORMAT, "config": {}},
        dict(VALID_NETWORK, weights=None),
        dict(VALID_NETWORK, biases=5),
        dict(VALID_NETWORK, initialBiases=None),
        {key: value for key, value in VALID_NETWORK.items() if key != "initialBiases"},
        dict(VALID_NETWORK, dead={}),
    ],
    ids=["no-weights", "null-weights", "number-biases", "null-initial-biases", "no-initial-biases", "dead-object"],
)
def test_found_by_fuzzing_import_network_with_missing_or_odd_parts(fresh, network):
    answer = fresh.send("import_network", {"network": network})
    assert not answer.exceptions, describe(answer.exceptions[0])
    assert answer.reply["error"]["field"] == "network", answer.reply


@pytest.mark.parametrize(
    "csv",
    ["1" * 140_000, "x,y,label\n" + "1" * 200_000 + ",0,1\n", "1,1,1\n\ud800,0,1\n"],
    ids=["one-140kB-field", "long-field-in-a-line", "lone-surrogate"],
)
def test_found_by_fuzzing_upload_data_csv_the_parser_chokes_on(fresh, csv):
    answer = fresh.send("upload_data", {"csv": csv})
    assert not answer.exceptions, describe(answer.exceptions[0])
    assert answer.reply["error"]["field"] == "csv", answer.reply


@pytest.mark.parametrize(
    "event,payload",
    [
        ("update_config", {"": 1}),
        ("set_focus", {"node": 0, "": 1}),
        ("add_point", {"x": 0, "y": 0, "label": 1, "set": "train", "": 0}),
    ],
    ids=["update_config", "set_focus", "add_point"],
)
def test_found_by_fuzzing_an_empty_field_name_is_reported_as_the_empty_field(fresh, event, payload):
    error = fresh.send(event, payload).reply["error"]
    assert error["field"] and not error["message"].startswith(" "), error


def test_found_by_fuzzing_seed_with_a_trailing_newline_is_accepted(fresh):
    reply = fresh.send("update_config", {"seed": "abc\n"}).reply
    assert reply["ok"] is False and reply["error"]["field"] == "seed", reply


def test_found_by_fuzzing_a_non_finite_loss_without_the_diverged_status(fresh):
    assert fresh.send("update_config", {"problem": "regression", "seed": "w"}).reply["ok"]
    assert fresh.send("set_weight", {"layer": 2, "node": 0, "source": None, "value": 1e300}).reply["ok"]
    session = session_of(fresh)
    losses = (session.train_loss, session.test_loss)
    assert all(map(math.isfinite, losses)) or session.status == "diverged", (losses, session.status)


def test_found_by_fuzzing_import_network_accepts_a_boolean_epoch(fresh):
    answer = fresh.send("import_network", {"network": dict(VALID_NETWORK, epoch=True)})
    assert not answer.reply["ok"] or type(session_of(fresh).epoch) is int, session_of(fresh).epoch


def test_found_by_fuzzing_event_named_star_gets_no_error_event(fresh):
    answer = fresh.send("*", "payload")
    assert [error["event"] for error in answer.errors] == ["* (reserved)"], answer
