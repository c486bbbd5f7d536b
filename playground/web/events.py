"""Socket.IO events -> session calls -> replies and messages. Thin on purpose: the rules live in `playground`.

Each handler takes the connection's client and the event's payload and returns the fields of its success reply;
`register` wraps it so that every failure becomes `{"ok": false, "error": ...}` plus an `error` event, and a bad
payload never changes the session (docs/protocol.md).
"""
from __future__ import annotations

import functools
import logging
import time

from flask import request

from .. import export
from ..options import ConfigError, field_label, parse_url_hash_leniently
from ..session import DIVERGED
from . import messages

log = logging.getLogger(__name__)
HANDLERS = {}


class EventError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.fields = {field: message}


def handles(event: str):
    def register(function):
        HANDLERS[event] = function
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


def after_change(hub, client, state_before: dict, data_changed: bool = False) -> None:
    """Tell the client what a change did: new data, a new status, and a frame of the new state."""
    if data_changed:
        hub.socketio.emit("dataset", client.call(messages.dataset, client.session), to=client.sid)
    state = messages.state(client.session)
    if (state["status"], state["reason"]) != (state_before["status"], state_before["reason"]):
        hub.state_changed(client)
    hub.publish(client)


@handles("update_config")
def update_config(hub, client, payload):
    before = messages.state(client.session)
    result = client.call(client.session.update_config, payload)
    if result["reset"]:
        client.focus = None                     # a new network: the focused index may name another node
    after_change(hub, client, before, result["regenerated"])
    return {**messages.config_reply(client.session, client.link_extras), "changed": result["changed"],
            "reset": result["reset"]}


MAX_LINK_CHARACTERS = 4000


@handles("open_link")
def open_link(hub, client, payload):
    link = _object(payload, "hash")["hash"]
    if not isinstance(link, str) or len(link) > MAX_LINK_CHARACTERS:
        raise EventError("hash", f"must be the page's URL hash, a text of at most {MAX_LINK_CHARACTERS:,} characters")
    changes, extras, notices = parse_url_hash_leniently(link)
    before = messages.state(client.session)
    result = client.call(client.session.update_config, changes)
    if result["reset"]:
        client.focus = None
    client.link_extras = extras
    after_change(hub, client, before, result["regenerated"])
    hidden = [name.removesuffix("_hide") for name, value in extras.items() if name.endswith("_hide") and value == "true"]
    return {**messages.config_reply(client.session, extras), "notices": notices, "hidden": hidden}


@handles("start_training")
def start_training(hub, client, payload):
    _no_payload(payload)
    if client.session.status == DIVERGED:
        raise EventError("status", "the network diverged (its loss is not finite): reset it or change the config")
    if not client.running and hub.training_count() >= hub.settings.max_training_sessions:
        raise EventError("session", f"the server is already training its maximum of "
                                    f"{hub.settings.max_training_sessions} sessions; try again in a moment")
    hub.start(client)
    return {"status": client.session.status}


@handles("stop_training")
def stop_training(hub, client, payload):
    _no_payload(payload)
    hub.stop(client)
    return {"status": client.session.status}


@handles("step")
def step(hub, client, payload):
    _no_payload(payload)
    hub.stop(client)
    before = messages.state(client.session)
    client.call(client.session.step)
    after_change(hub, client, before)
    return {"status": client.session.status, "epoch": client.session.epoch}


@handles("reset")
def reset(hub, client, payload):
    same_weights = False
    if payload not in (None, {}):
        same_weights = _object(payload, "sameWeights")["sameWeights"]
        if not isinstance(same_weights, bool):
            raise EventError("sameWeights", "must be true (the initial weights again) or false (new weights)")
    before = messages.state(client.session)
    client.call(client.session.reset, same_weights)
    after_change(hub, client, before)
    return {**messages.config_reply(client.session, client.link_extras), "epoch": client.session.epoch}


@handles("regenerate")
def regenerate(hub, client, payload):
    _no_payload(payload)
    client.call(client.session.regenerate)
    after_change(hub, client, messages.state(client.session), data_changed=True)
    return messages.config_reply(client.session, client.link_extras)


@handles("set_weight")
def set_weight(hub, client, payload):
    fields = _object(payload, "layer", "node", "source", "value")
    client.call(client.session.set_parameter, fields["layer"], fields["node"], fields["source"], fields["value"])
    after_change(hub, client, messages.state(client.session))
    return fields


@handles("set_focus")
def set_focus(hub, client, payload):
    node = _object(payload, "node")["node"]
    count = sum(client.session.net.layer_sizes)
    if node is not None and (not isinstance(node, int) or isinstance(node, bool) or not 0 <= node < count):
        raise EventError("node", f"must be null (the output) or a whole number from 0 to {count - 1}")
    client.focus = node
    hub.publish(client)
    return {"node": node}


def _data_counts(client) -> dict:
    data = client.session.data
    return {"trainCount": len(data.train_labels), "testCount": len(data.test_labels)}


@handles("add_point")
def add_point(hub, client, payload):
    fields = _object(payload, "x", "y", "label", "set")
    client.call(client.session.add_point, fields["x"], fields["y"], fields["label"], fields["set"])
    after_change(hub, client, messages.state(client.session), data_changed=True)
    return _data_counts(client)


@handles("erase_points")
def erase_points(hub, client, payload):
    fields = _object(payload, "x", "y", "radius")
    removed = client.call(client.session.erase_points, fields["x"], fields["y"], fields["radius"])
    if removed:
        after_change(hub, client, messages.state(client.session), data_changed=True)
    return {"removed": removed, **_data_counts(client)}


@handles("upload_data")
def upload_data(hub, client, payload):
    client.call(client.session.load_csv, _object(payload, "csv")["csv"])
    after_change(hub, client, messages.state(client.session), data_changed=True)
    return _data_counts(client)


@handles("download_data")
def download_data(hub, client, payload):
    _no_payload(payload)
    return {"filename": "playground_data.csv", "csv": client.call(client.session.data_csv)}


@handles("export_script")
def export_script(hub, client, payload):
    _no_payload(payload)
    return {"filename": "playground_run.py", "script": client.call(export.python_script, client.session)}


@handles("export_network")
def export_network(hub, client, payload):
    _no_payload(payload)
    return {"filename": "playground_network.json", "network": client.call(client.session.export_json)}


@handles("import_network")
def import_network(hub, client, payload):
    network = _object(payload, "network")["network"]
    before = messages.state(client.session)
    try:
        client.call(client.session.import_json, network)
    except ConfigError as problem:
        raise EventError("network", "has a bad config: " + messages.error("", problem)["message"]) from None
    except ValueError as problem:
        raise EventError("network", str(problem)) from None
    after_change(hub, client, before, data_changed=True)
    return messages.config_reply(client.session, client.link_extras)


def register(socketio, hub) -> None:
    @socketio.on("connect")
    def connect(auth=None):
        if len(hub.clients) >= hub.settings.max_connections:
            socketio.emit("error", messages.error("connect", {"connection": (
                f"is refused: the server already has its maximum of {hub.settings.max_connections} connections; "
                "try again in a moment")}), to=request.sid)
            return False
        client = hub.connect(request.sid)
        socketio.emit("dataset", messages.dataset(client.session), to=request.sid)
        hub.state_changed(client)
        hub.publish(client)
        return None

    @socketio.on("disconnect")
    def disconnect(reason=None):
        hub.disconnect(request.sid)

    for event, handler in HANDLERS.items():
        socketio.on_event(event, _replying(socketio, hub, event, handler))

    @socketio.on("*")
    def unknown(event, *args):
        client = hub.clients.get(request.sid)
        if client is None or not client.events.take(time.monotonic()):
            return                             # over the limit: not even an error, or floods would echo back
        socketio.emit("error", messages.error(event, {"event": f"{str(event)[:40]!r} is not an event of this "
                                                               "server (see docs/protocol.md)"}), to=request.sid)


def _replying(socketio, hub, event, handler):
    @functools.wraps(handler)
    def reply(payload=None, *extra):
        client = hub.clients.get(request.sid)
        try:
            if client is None:
                raise EventError("connection", "has no session (it was refused or has closed)")
            if not client.events.take(time.monotonic()):
                raise EventError("rate", f"is too high: at most {hub.settings.events_per_second:g} events a second "
                                         f"(bursts of {hub.settings.events_burst:g}); this one was ignored")
            if extra:
                raise EventError("payload", "must be a single argument")
            return {"ok": True, **handler(hub, client, payload)}
        except (ConfigError, EventError) as problem:
            failure = messages.error(event, problem.errors if isinstance(problem, ConfigError) else problem.fields)
        except Exception:                      # never a stack trace on the wire, and the session goes on
            log.exception("event %s failed", event)
            failure = messages.error(event, {"server": "could not handle this event; the session is unchanged"})
        socketio.emit("error", failure, to=request.sid)
        return {"ok": False, "error": failure}
    return reply
