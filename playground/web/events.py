"""Socket.IO events -> session calls -> replies and messages. Thin on purpose: the rules live in `playground`.

Each handler takes the hub, the connection and the event's payload and returns the fields of its success reply;
`register` wraps it so that every failure becomes `{"ok": false, "error": ...}` plus an `error` event, and a bad
payload never changes the session (docs/protocol.md).
"""

from __future__ import annotations

import functools
import logging
import time

from flask import request

from .. import export, rooms, saved
from ..options import ConfigError, field_label, is_whole_number, read_link, validate_changes
from ..rooms import RoomError
from ..session import link_changes
from . import messages

log = logging.getLogger(__name__)
HANDLERS = {}
READ_ONLY = set()  # events that change nothing a draft keeps (saving.py)


class EventError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.fields = {field: message}


def handles(event: str, read_only: bool = False):
    def register(function):
        HANDLERS[event] = function
        if read_only:
            READ_ONLY.add(event)
        return function

    return register


def _no_payload(payload) -> None:
    if payload not in (None, {}):
        raise EventError("payload", "must be empty (no arguments, or {})")


def _object(payload, *required) -> dict:
    if not isinstance(payload, dict):
        raise EventError("payload", f"must be an object with the fields {', '.join(required)}")
    extra = sorted(set(payload) - set(required), key=str)
    if extra:
        raise EventError(field_label(extra[0]), "is not a field of this event")
    for name in required:
        if name not in payload:
            raise EventError(name, "is required")
    return payload


def _locks(hub, connection) -> tuple[str, ...]:
    """The settings the teacher locked, if this connection is a learner in a class (playground/rooms.py)."""
    rules = hub.classroom.rules(connection.sid) if hub.classroom else None
    return rules.locks if rules else ()


def _refuse_locked(locks, session, proposed: dict) -> None:
    if locks:
        rooms.refuse_locked(locks, rooms.changed_names(session.config, proposed))


@handles("update_config")
def update_config(hub, connection, payload):
    experiment = connection.experiment
    locks = _locks(hub, connection)

    def change(session):
        if locks:
            _refuse_locked(locks, session, validate_changes(payload))
        result = session.update_config(payload)
        if result["reset"]:
            experiment.focus = None  # a new network: the focused index may name another node
        return {**messages.config(session), "changed": result["changed"], "reset": result["reset"]}

    return hub.trip(experiment, change, payer=connection)


@handles("open_link")
def open_link(hub, connection, payload):
    url_hash = _object(payload, "hash")["hash"]
    experiment = connection.experiment
    locks = _locks(hub, connection)

    def open_it(session):
        if locks:
            _refuse_locked(locks, session, link_changes(read_link(url_hash)))
        result = session.open_link(url_hash)
        if result["reset"]:
            experiment.focus = None
        return {**messages.config(session), "notices": result["notices"], "hidden": result["hidden"]}

    return hub.trip(experiment, open_it, payer=connection)


@handles("start_training")
def start_training(hub, connection, payload):
    _no_payload(payload)
    rules = hub.classroom.rules(connection.sid) if hub.classroom else None
    if rules and rules.paused:
        raise EventError("status", "is paused by the teacher: training starts again when the teacher resumes it")
    hub.start(connection.experiment, payer=connection)
    return {"status": connection.experiment.session.status}


@handles("stop_training")
def stop_training(hub, connection, payload):
    _no_payload(payload)
    hub.stop(connection.experiment, payer=connection)
    return {"status": connection.experiment.session.status}


@handles("step")
def step(hub, connection, payload):
    _no_payload(payload)

    def one_epoch(session):
        session.stop()  # (a diverged network stays diverged, and the step is refused)
        session.step()
        return {"status": session.status, "epoch": session.epoch}

    return hub.trip(connection.experiment, one_epoch, payer=connection)


@handles("reset")
def reset(hub, connection, payload):
    same_weights = False
    if payload not in (None, {}):
        same_weights = _object(payload, "sameWeights")["sameWeights"]
        if not isinstance(same_weights, bool):
            raise EventError("sameWeights", "must be true (the initial weights again) or false (new weights)")

    def restart(session):
        session.reset(same_weights)
        return {**messages.config(session), "epoch": session.epoch}

    return hub.trip(connection.experiment, restart, payer=connection)


@handles("regenerate")
def regenerate(hub, connection, payload):
    _no_payload(payload)
    rooms.refuse_locked(_locks(hub, connection), ["seed"])  # new data comes from a new seed

    def new_data(session):
        session.regenerate()
        return messages.config(session)

    return hub.trip(connection.experiment, new_data, payer=connection)


@handles("set_weight")
def set_weight(hub, connection, payload):
    fields = _object(payload, "layer", "node", "source", "value")

    def edit(session):
        session.set_parameter(fields["layer"], fields["node"], fields["source"], fields["value"])
        return fields

    return hub.trip(connection.experiment, edit, payer=connection)


@handles("set_focus", read_only=True)
def set_focus(hub, connection, payload):
    node = _object(payload, "node")["node"]
    count = sum(connection.experiment.session.net.layer_sizes)
    if node is not None and not is_whole_number(node, 0, count - 1):
        raise EventError("node", f"must be null (the output) or a whole number from 0 to {count - 1}")
    node = None if node is None else int(node)
    hub.set_focus(connection.experiment, node, payer=connection)
    return {"node": node}


def _data_counts(session) -> dict:
    return {"trainCount": len(session.data.train_labels), "testCount": len(session.data.test_labels)}


@handles("add_point")
def add_point(hub, connection, payload):
    fields = _object(payload, "x", "y", "label", "set")
    rooms.refuse_locked(_locks(hub, connection), ["dataset"])  # own points replace the dataset the teacher locked

    def add(session):
        session.add_point(fields["x"], fields["y"], fields["label"], fields["set"])
        return _data_counts(session)

    return hub.trip(connection.experiment, add, payer=connection)


@handles("erase_points")
def erase_points(hub, connection, payload):
    fields = _object(payload, "x", "y", "radius")
    rooms.refuse_locked(_locks(hub, connection), ["dataset"])

    def erase(session):
        return {"removed": session.erase_points(fields["x"], fields["y"], fields["radius"]), **_data_counts(session)}

    return hub.trip(connection.experiment, erase, payer=connection)


@handles("upload_data")
def upload_data(hub, connection, payload):
    text = _object(payload, "csv")["csv"]
    rooms.refuse_locked(_locks(hub, connection), ["dataset"])

    def load(session):
        session.load_csv(text)
        return _data_counts(session)

    return hub.trip(connection.experiment, load, payer=connection)


@handles("download_data", read_only=True)
def download_data(hub, connection, payload):
    _no_payload(payload)
    return hub.trip(
        connection.experiment,
        lambda session: {"filename": "playground_data.csv", "csv": session.data_csv()},
        changes=False,
        payer=connection,
    )


@handles("export_script", read_only=True)
def export_script(hub, connection, payload):
    _no_payload(payload)
    return hub.trip(
        connection.experiment,
        lambda session: {"filename": "playground_run.py", "script": export.python_script(session)},
        changes=False,
        payer=connection,
    )


@handles("export_network", read_only=True)
def export_network(hub, connection, payload):
    _no_payload(payload)
    return hub.trip(
        connection.experiment,
        lambda session: {"filename": "playground_network.json", "network": session.export_json()},
        changes=False,
        payer=connection,
    )


@handles("import_network")
def import_network(hub, connection, payload):
    network = _object(payload, "network")["network"]
    locks = _locks(hub, connection)

    def load(session):
        if locks and isinstance(network, dict):
            try:
                config = validate_changes(network.get("config"))
            except ConfigError:
                config = {}  # import_json names what is wrong with it
            _refuse_locked(locks, session, config)
        try:
            session.import_json(network)
        except ConfigError as problem:
            raise EventError("network", "has a bad config: " + messages.error("", problem)["message"]) from None
        except ValueError as problem:
            raise EventError("network", str(problem)) from None
        return messages.config(session)

    return hub.trip(connection.experiment, load, payer=connection)


# --- many-seed runs (seeding.py, playground/seeds.py) ------------------------------------------------------------

SEED_RUN_OPTIONS = ("seedRuns", "seedData")


@handles("run_seeds")
def run_seeds(hub, connection, payload):
    """K runs of the current config; `seedRuns` and `seedData`, if given, are set first (the link keeps them)."""
    changes = {} if payload is None else payload
    if not isinstance(changes, dict):
        raise EventError("payload", "must be empty or an object with seedRuns and/or seedData")
    extra = sorted(set(changes) - set(SEED_RUN_OPTIONS), key=str)
    if extra:
        raise EventError(field_label(extra[0]), "is not a field of this event")
    return hub.seeds.start(connection.experiment, changes, payer=connection)


@handles("stop_seeds")
def stop_seeds(hub, connection, payload):
    _no_payload(payload)
    return {"seedStatus": hub.seeds.stop(connection.experiment)}


@handles("adopt_seed")
def adopt_seed(hub, connection, payload):
    member = _object(payload, "member")["member"]
    return hub.seeds.adopt(connection.experiment, member, payer=connection)


@handles("close_seeds")
def close_seeds(hub, connection, payload):
    _no_payload(payload)
    hub.seeds.close(connection.experiment)
    return {}


# --- time travel (playground/history.py) ------------------------------------------------------------------------


@handles("get_history", read_only=True)
def get_history(hub, connection, payload):
    _no_payload(payload)
    return hub.trip(connection.experiment, messages.history, changes=False, payer=connection)


@handles("scrub", read_only=True)
def scrub(hub, connection, payload):
    epoch = _object(payload, "epoch")["epoch"]
    experiment = connection.experiment

    def draw(session):
        view = session.at_epoch(epoch)
        return {"epoch": view.epoch, "frame": messages.frame(view, hub._valid_focus(experiment))}

    return hub.trip(experiment, draw, changes=False, payer=connection)


@handles("fork")
def fork(hub, connection, payload):
    fields = _object(payload, "epoch", "changes")

    def go_back(session):
        branch = session.fork(fields["epoch"], fields["changes"])
        return {**messages.config(session), "epoch": session.epoch, "branch": {"id": branch.id, "label": branch.label}}

    return hub.trip(connection.experiment, go_back, payer=connection)


# --- saved experiments and drafts (saving.py) --------------------------------------------------------------------


def _text(fields: dict, name: str, longest: int) -> str:
    value = fields[name]
    if not isinstance(value, str) or len(value) > longest:
        raise EventError(name, f"must be text of at most {longest} characters")
    return value


@handles("save_experiment", read_only=True)
def save_experiment(hub, connection, payload):
    fields = _object(payload, "title", "note")
    title, note = _text(fields, "title", saved.TITLE_LENGTH), _text(fields, "note", saved.NOTE_LENGTH)
    return hub.saves.save(hub, connection, title, note)


@handles("open_experiment")
def open_experiment(hub, connection, payload):
    key = _object(payload, "id")["id"]
    found = hub.saves.open(hub, connection, key)
    session = connection.experiment.session
    return {**messages.config(session), "epoch": session.epoch, "id": key, **found}


@handles("resume", read_only=True)
def resume(hub, connection, payload):
    draft = _object(payload, "draft")["draft"]
    if draft is not None and not isinstance(draft, str):
        raise EventError("draft", "must be null (a new draft) or the draft id this server gave")
    restored = hub.saves.resume(hub, connection, draft)
    session = connection.experiment.session
    return {**messages.config(session), "draft": hub.saves.drafts[connection.sid].key, "restored": restored}


def current_sid() -> str:
    """The Socket.IO id of the connection whose event is being handled (Flask-SocketIO sets it on the request)."""
    return request.sid  # pyright: ignore[reportAttributeAccessIssue] (added by Flask-SocketIO, undeclared)


def register(socketio, hub) -> None:
    @socketio.on("connect")
    def connect(auth=None):
        if len(hub.connections) >= hub.settings.max_connections:
            hub.send(
                current_sid(),
                "error",
                messages.error(
                    "connect",
                    {
                        "connection": (
                            "is refused: the server already has its maximum of "
                            f"{hub.settings.max_connections} connections; try again in a moment"
                        )
                    },
                ),
            )
            return False
        hub.connect(current_sid())
        return None

    @socketio.on("disconnect")
    def disconnect(reason=None):
        connection = hub.connections.get(current_sid())
        if connection is not None:
            hub.saves.closed(hub, connection)  # before the experiment goes: a reload finds its draft
        hub.disconnect(current_sid())

    for event, handler in HANDLERS.items():
        socketio.on_event(event, _replying(hub, event, handler))

    @socketio.on("*")
    def unknown(event, *args):
        connection = hub.connections.get(current_sid())
        if connection is None or not connection.events.take(time.monotonic()):
            return  # over the limit: not even an error, or floods would echo back
        hub.send(
            current_sid(),
            "error",
            messages.error(
                event, {"event": f"{str(event)[:40]!r} is not an event of this server (see docs/protocol.md)"}
            ),
        )


def _replying(hub, event, handler):
    @functools.wraps(handler)
    def reply(payload=None, *extra):
        connection = hub.connections.get(current_sid())
        try:
            if connection is None:
                raise EventError("connection", "has no session (it was refused or has closed)")
            if not connection.events.take(time.monotonic()):
                raise EventError(
                    "rate",
                    f"is too high: at most {hub.settings.events_per_second:g} events a second "
                    f"(bursts of {hub.settings.events_burst:g}); this one was ignored",
                )
            if extra:
                raise EventError("payload", "must be a single argument")
            reply = {"ok": True, **handler(hub, connection, payload)}
            if event not in READ_ONLY:
                hub.saves.changed(connection)
            return reply
        except (ConfigError, EventError, RoomError) as problem:
            failure = messages.error(event, problem.errors if isinstance(problem, ConfigError) else problem.fields)
        except Exception:  # never a stack trace on the wire, and the session goes on
            log.exception("event %s failed", event)
            failure = messages.error(event, {"server": "could not handle this event; the session is unchanged"})
        hub.send(current_sid(), "error", failure)
        return {"ok": False, "error": failure}

    return reply
