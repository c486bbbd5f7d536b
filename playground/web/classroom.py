"""The classroom's events (docs/protocol.md, "Classroom"), the bus handler that applies a teacher's actions to this
process's learners, and the wall's emitter. Thin: the rules are in `playground.rooms`, the room's state in the store.

- A teacher's action is checked here (the teacher key's hash, in the store), written to the store, then published
  on the bus (`hub.bus.publish("room", ...)`); the handler subscribed at start applies it to this process's
  experiments of that room. With a bus that spans processes, every process applies it to its own learners.
- The wall (`playground.wall`): one green loop builds this process's part of each class's wall, a few times a
  second: an entry per local learner from the newest frame the scheduler already rendered (its output thumbnail,
  no extra native call), and which learners this process's pages view on other processes. It publishes the part on
  the bus (`publish_newest`, topic "wall"); every process keeps the newest part of each process and sends the wall
  merged from them to its own wall pages (`teach:<code>`, a local emit: each part crosses Redis once per process,
  never once per page). The challenge is checked here too, on the server's own numbers.
- A page viewing a learner of another process (the wall's detail, the projector's spotlight) joins the Socket.IO
  room `watch:<code>:<member>` and says so in its process's part; the learner's process sends that run's `dataset`,
  `state` and frames to the room through the message queue, once a wall period at most, while someone views it.
- Learners in a room are this process's connections; names and keys stay in the store, so a restart loses no room.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

import segno
from flask import request

from .. import rooms, wall, wire
from ..options import ConfigError, config_to_json, read_link
from ..rooms import MEMBER, NAME, REACHED, ROOM, RoomError
from ..session import DIVERGED, STOPPED, TrainingSession, link_changes
from ..tokens import TokenBucket
from . import concurrency, messages
from .events import EventError, _no_payload, _object, handles
from .hub import same_picture

log = logging.getLogger(__name__)
WALL_SECONDS = 0.25  # the wall's parts and the merged wall, four times a second; frames to other processes as often
PURGE_SECONDS = 60.0  # expired rooms leave the store and the learners are told
GALLERY_WAIT_SECONDS = 5.0  # for the other processes' saved runs: a class's runs pack in well under a second
MAX_ADDRESSES = 10_000  # join buckets of addresses kept; beyond, they start again


@dataclass
class Learner:
    code: str
    member: str
    name: str
    joined_at: float


@dataclass
class Teaching:
    code: str
    page: str  # playground | wall | projector


@dataclass
class Relay:
    """What this process sent last of one of its learners' runs to the pages that view it from other processes."""

    viewers: set[tuple[str, str]] = field(default_factory=set)  # (process, connection id)
    frame: dict | None = None
    data: object = None
    state: tuple | None = None  # (status, reason)


PAGES = ("playground", "wall", "projector")


def relay_room(code: str, member: str) -> str:
    """The Socket.IO room of the pages of any process that view this learner's run from another process."""
    return f"watch:{code}:{member}"


class Classroom:
    def __init__(self, hub, socketio):
        self.hub, self.socketio, self.store = hub, socketio, hub.store
        self.hours = hub.settings.room_hours
        self.learners: dict[str, Learner] = {}  # sid -> learner, of this process
        self.teachers: dict[str, Teaching] = {}
        self.rooms: dict[str, dict] = {}  # code -> the room's document, for the rooms with someone here
        self.join_limits: dict[str, TokenBucket] = {}  # sid -> join attempts
        self.wrong_codes: dict[str, TokenBucket] = {}  # address -> wrong codes
        self.thumbnails: dict[str, tuple[int, bytes]] = {}  # experiment id -> (seq, output thumbnail)
        self.histories: dict[str, deque] = {}  # member -> (time, epoch, test loss) while running
        self.best: dict[str, dict | None] = {}  # "<code>:<member>" -> the leaderboard entry stored last
        self.origin = uuid.uuid4().hex  # this process, in the parts of walls it publishes
        self.parts = wall.Parts()  # every process's part of each class's wall
        self.remote: dict[str, tuple[str, str]] = {}  # sid -> (code, member) it views on another process
        self.relays: dict[tuple[str, str], Relay] = {}  # (code, member) of a learner here viewed from elsewhere
        self.started = False
        hub.classroom = self
        hub.leaving.append(self.forget)
        hub.bus.subscribe("room", self.on_bus)
        hub.bus.subscribe("wall", self.on_part)
        hub.bus.subscribe("gallery", self.on_gallery)
        self.gallery_answers: dict[str, tuple[concurrency.Wakeup, dict]] = {}  # request -> (wake-up, origin -> answer)

    # --- who is who -----------------------------------------------------------------------------------------------

    def rules(self, sid: str) -> rooms.ClassRules | None:
        learner = self.learners.get(sid)
        room = self.rooms.get(learner.code) if learner else None
        return None if room is None else rooms.ClassRules(tuple(room["locks"]), room["paused"])

    def room(self, code: str) -> dict:
        """The room's document, fresh from the store, or RoomError when it expired or was closed."""
        room = self.store.get(ROOM, code)
        if not isinstance(room, dict):
            self.rooms.pop(code, None)
            raise RoomError("code", "is not an open class: check the code (the class may have ended)")
        self.rooms[code] = room
        return room

    def save(self, room: dict) -> None:
        self.store.put(ROOM, room["code"], room, room["expiresAt"])
        self.rooms[room["code"]] = room

    def teacher_room(self, sid: str) -> dict:
        teaching = self.teachers.get(sid)
        if teaching is None:
            raise RoomError("teacher", "only the class's teacher can do this (send teach with the teacher key first)")
        return self.room(teaching.code)

    def local_learners(self, code: str) -> list[tuple[str, Learner]]:
        return [(sid, learner) for sid, learner in list(self.learners.items()) if learner.code == code]

    def experiment_of(self, code: str, member: str):
        for sid, learner in self.local_learners(code):
            if learner.member == member and sid in self.hub.connections:
                return self.hub.connections[sid].experiment
        return None

    def members(self, code: str) -> list[dict]:
        found = self.store.scan(MEMBER, f"{code}:")
        return sorted(
            ({"member": m["member"], "name": m["name"], "joinedAt": m["joinedAt"]} for m in found.values()),
            key=lambda member: member["joinedAt"],
        )

    def forget(self, connection) -> None:
        """A connection closed. Its own run goes too if it was viewing another (the hub frees what it watches)."""
        sid = connection.sid
        if connection.experiment.id not in connection.watching:
            self.hub.lab.remove(connection.experiment)
        learner = self.learners.pop(sid, None)
        self.teachers.pop(sid, None)
        self.join_limits.pop(sid, None)
        self._stop_remote(sid, leave_room=False)  # a closed connection is out of its rooms already
        if learner is not None:
            self.histories.pop(learner.member, None)
            self._roster(learner.code)

    # --- joining ----------------------------------------------------------------------------------------------

    def allow_attempt(self, sid: str) -> None:
        now = time.monotonic()
        bucket = self.join_limits.setdefault(sid, TokenBucket(rooms.JOINS_PER_MINUTE / 60, rooms.JOIN_BURST, now))
        address = request.remote_addr or ""
        wrong = self.wrong_codes.get(address)
        if not bucket.take(now) or (wrong is not None and wrong.refill(now) < 1):
            raise RoomError("attempts", "are too many: wait a minute and try again to join or to open the class")

    def wrong_code(self) -> None:
        now = time.monotonic()
        if len(self.wrong_codes) > MAX_ADDRESSES:
            self.wrong_codes.clear()
        per_minute = rooms.WRONG_CODES_PER_MINUTE_PER_ADDRESS
        bucket = self.wrong_codes.setdefault(request.remote_addr or "", TokenBucket(per_minute / 60, per_minute, now))
        bucket.take(now)

    def open_room(self, code_text) -> dict:
        try:
            return self.room(rooms.read_code(code_text))
        except RoomError:
            self.wrong_code()
            raise

    def enter(self, connection, room: dict, member: dict, fresh: bool) -> None:
        """Put a connection in the room as this member: a fresh member's run takes the pushed config, a returning
        one's the locked settings of it; a paused class pauses it."""
        code = room["code"]
        for sid, learner in self.local_learners(code):
            if learner.member == member["member"] and sid != connection.sid:  # the same member in another tab
                self.learners.pop(sid, None)
                self._tell(sid, code, False, "You joined this class from another tab or window.")
        self.leave_current(connection.sid)
        self.learners[connection.sid] = Learner(code, member["member"], member["name"], member["joinedAt"])
        self.rooms[code] = room
        pushed = room["config"]
        changes = {}
        if pushed is not None:
            changes = rooms.pushed_changes(pushed, room["fixSeed"])
            if not fresh:
                changes = {name: value for name, value in changes.items() if name in room["locks"]}
        experiment = connection.experiment

        def apply(session):
            reply = None
            if changes and rooms.changed_names(session.config, changes):
                if session.update_config(changes)["reset"]:
                    experiment.focus = None
                reply = messages.config(session)
            if room["paused"]:
                session.stop()
            return reply

        config = self.hub.trip(experiment, apply, payer=connection)
        self._tell(connection.sid, code, True, f"You are in class {code} as {member['name']}.", config)
        self._roster(code)

    def leave_current(self, sid: str) -> None:
        learner = self.learners.pop(sid, None)
        if learner is not None:
            self._roster(learner.code)

    # --- the gallery: every learner's run, wherever it trains -----------------------------------------------------

    def save_gallery(self, teacher, code: str, names: bool) -> dict:
        """Save the run of every learner of the class connected to any process, and a gallery listing them by time
        joined (docs/protocol.md, `save_gallery`). This process saves its own learners' runs; each other process
        with learners of the class (its part of the wall says so) is asked on the bus, saves theirs in the shared
        store and answers with their entries. A process that has not answered within GALLERY_WAIT_SECONDS leaves
        its learners out, named in `missing`."""
        connections = self.hub.connections
        local = {
            learner.member: (learner.joined_at, learner.name)
            for sid, learner in self.local_learners(code)
            if sid in connections
        }
        remote: dict[str, tuple[str, wall.Entry]] = {}  # member -> (the process it trains on, its wall entry)
        for part in self.parts.fresh(code, time.monotonic()):
            for entry in part.entries:
                if part.origin != self.origin and entry.run.member not in local:
                    remote[entry.run.member] = (part.origin, entry)
        order = sorted(
            [(joined_at, member, name) for member, (joined_at, name) in local.items()]
            + [(entry.joined_at, member, entry.name) for member, (_, entry) in remote.items()]
        )
        titles = {member: name if names else f"Learner {n}" for n, (_, member, name) in enumerate(order, 1)}
        if not titles:
            raise ConfigError({"gallery": "is refused: no learner of this class is connected"})
        self.hub.saves.allow(teacher, "gallery")
        request, origins = uuid.uuid4().hex, {origin for origin, _ in remote.values()}
        answers: dict[str, dict] = {}
        wakeup = concurrency.Wakeup()
        if origins:
            self.gallery_answers[request] = (wakeup, answers)
            asked = {member: titles[member] for member in remote}
            self.hub.bus.publish(
                "gallery", {"type": "ask", "code": code, "request": request, "origin": self.origin, "titles": asked}
            )
        try:
            entries = self._save_runs_here(code, titles, teacher)
            deadline = time.monotonic() + GALLERY_WAIT_SECONDS
            while origins - set(answers) and time.monotonic() < deadline:
                wakeup.wait(deadline - time.monotonic())
        finally:
            self.gallery_answers.pop(request, None)
        for answer in answers.values():
            if answer["error"]:
                raise ConfigError({"gallery": answer["error"]})
            entries.update(answer["entries"])
        reply = self.hub.saves.save_gallery([entries[member] for member in titles if member in entries])
        reply["missing"] = [title for member, title in titles.items() if member not in entries]
        return reply

    def _save_runs_here(self, code: str, titles: dict[str, str], payer) -> dict[str, dict]:
        """Save the runs of this process's learners of the class that `titles` names (member -> title); member ->
        gallery entry. `payer` pays the native trip (None: asked on the bus)."""
        connections = self.hub.connections
        runs = [
            (learner.member, titles[learner.member], connections[sid].experiment)
            for sid, learner in self.local_learners(code)
            if sid in connections and learner.member in titles
        ]
        saved = self.hub.saves.save_runs(self.hub, payer, [(title, e) for _, title, e in runs]) if runs else []
        return {member: entry for (member, _, _), entry in zip(runs, saved, strict=True)}

    def on_gallery(self, message: dict) -> None:
        """Another process's teacher asks this one to save its learners' runs; or answers this one's asking."""
        if message["type"] == "answer":
            waiting = self.gallery_answers.get(message["request"]) if message["to"] == self.origin else None
            if waiting is not None:
                waiting[1][message["origin"]] = message
                waiting[0].set()
            return
        if message["origin"] == self.origin:
            return
        answer = {"type": "answer", "request": message["request"], "origin": self.origin, "to": message["origin"]}
        try:
            answer |= {"entries": self._save_runs_here(message["code"], message["titles"], None), "error": None}
        except ConfigError as error:
            answer |= {"entries": {}, "error": next(iter(error.errors.values()))}
        self.hub.bus.publish("gallery", answer)

    # --- the bus: a teacher's action reaches this process's learners -------------------------------------------

    def on_bus(self, message: dict) -> None:
        code, kind = message["code"], message["type"]
        if kind == "close":
            self.rooms.pop(code, None)
            self.parts.forget(code)
            for sid, (watched, _) in list(self.remote.items()):
                if watched == code:
                    self._stop_remote(sid)
            for sid, _ in self.local_learners(code):
                self.learners.pop(sid, None)
                self._tell(sid, code, False, "The teacher closed the class.")
            return
        room = self.store.get(ROOM, code)
        if not isinstance(room, dict):
            return
        self.rooms[code] = room
        learners = self.local_learners(code)
        connections = self.hub.connections
        experiments = [(sid, connections[sid].experiment) for sid, _ in learners if sid in connections]
        if kind == "push":
            changes = rooms.pushed_changes(room["config"], room["fixSeed"])
            replies = self.hub.trip_all([(e, self._pusher(e, changes)) for _, e in experiments], payer=None)
            for (sid, _), reply in zip(experiments, replies, strict=True):
                config = None if isinstance(reply, Exception) else reply
                self._tell(sid, code, True, "The teacher sent a config to everyone: your run starts again.", config)
        elif kind in ("pause", "resume"):
            if kind == "pause":
                self.hub.trip_all([(e, lambda session: session.stop()) for _, e in experiments], payer=None)
            else:
                self.hub.trip_all([(e, self.hub.starter(e)) for _, e in experiments], payer=None, renders=False)
                self.hub.work.set()
            words = "paused everyone's training" if kind == "pause" else "started everyone's training again"
            for sid, _ in experiments:
                self._tell(sid, code, True, f"The teacher {words}.")
        elif kind == "rules":
            for sid, _ in experiments:
                self._tell(sid, code, True, "The teacher changed the class's locked settings.")
        elif kind == "remove":
            for sid, learner in learners:
                if learner.member == message["member"]:
                    self.learners.pop(sid, None)
                    self._tell(sid, code, False, "The teacher removed you from the class.")
        elif kind == "spotlight":
            self._spotlight(code, room["spotlight"])

    @staticmethod
    def _pusher(experiment, changes: dict):
        def push(session):
            if not session.update_config(changes)["reset"]:
                session.reset()
            experiment.focus = None
            return messages.config(session)

        return push

    def _tell(self, sid: str, code: str, in_class: bool, message: str, config: dict | None = None) -> None:
        room = self.rooms.get(code) if in_class else None
        self.hub.send(
            sid,
            "class_state",
            {
                "code": code,
                "inClass": in_class,
                "locks": room["locks"] if room else [],
                "paused": bool(room and room["paused"]),
                "message": message,
                "config": config["config"] if config else None,
                "hash": config["hash"] if config else None,
            },
        )

    def _roster(self, code: str) -> None:
        self.socketio.emit("roster", {"members": self.members(code)}, to=f"teach:{code}")

    def _spotlight(self, code: str, member: str | None) -> None:
        """This process's projector pages of the room view the spotlit run, here or on another process."""
        for sid, teaching in list(self.teachers.items()):
            if teaching.code == code and teaching.page == "projector" and sid in self.hub.connections:
                self.view(self.hub.connections[sid], code, member)

    def view(self, connection, code: str, member: str | None) -> None:
        """The connection views that learner's run wherever it trains (None: its own run again)."""
        target = None if member is None else self.experiment_of(code, member)
        if member is not None and target is None:
            self.watch_remote(connection, code, member)
        else:
            self.watch(connection, target)

    def connected_elsewhere(self, code: str, member: str) -> bool:
        return any(entry.run.member == member for entry in self.parts.entries(code, time.monotonic()))

    def _unwatch_all(self, connection, keep=None) -> None:
        """The connection stops viewing every experiment but `keep`; those nobody views any more go (its own run
        waits, unviewed and so untrained, for its return)."""
        for other in list(connection.watching.values()):
            if other is not keep:
                other.unwatch(connection.sid)
                connection.watching.pop(other.id, None)
                connection.last_sent.pop(other.id, None)
                if not other.viewers and other is not connection.experiment:
                    self.hub.lab.remove(other)

    def watch(self, connection, experiment) -> None:
        """The connection views this experiment (read-only) instead of whatever it viewed, its own run included,
        so the frames it receives are that run's only; None: its own run again. Its own run, unviewed meanwhile,
        is not trained (nobody reads it) and stays for its return."""
        experiment = experiment or connection.experiment
        self._stop_remote(connection.sid)
        self._unwatch_all(connection, keep=experiment)
        connection.watching[experiment.id] = experiment
        experiment.watch(connection.sid)
        session = experiment.session
        self.hub.trip(experiment, lambda _: None, payer=connection)  # a frame for its viewers, the new one too
        self.hub.send(connection.sid, "dataset", messages.dataset(session))
        self.hub.send(connection.sid, "state", messages.state(session))

    def watch_remote(self, connection, code: str, member: str) -> None:
        """The connection views a learner's run on another process: it joins the run's relay room and this
        process's part says so at once, so that the learner's process sends the run's data, state and frames."""
        self._stop_remote(connection.sid)
        self._unwatch_all(connection)
        self.remote[connection.sid] = (code, member)
        self.socketio.server.enter_room(connection.sid, relay_room(code, member), namespace="/")
        self._publish_part(code)

    def _stop_remote(self, sid: str, leave_room: bool = True) -> None:
        watched = self.remote.pop(sid, None)
        if watched is None:
            return
        if leave_room:  # at once: frames already on their way to the room no longer reach it
            self.socketio.server.leave_room(sid, relay_room(*watched), namespace="/")
        self._publish_part(watched[0])  # the learner's process stops sending when nobody views the run

    # --- the wall -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        if not self.started:
            self.started = True
            self.socketio.start_background_task(self._wall_loop)

    def _wall_loop(self) -> None:
        purged_at = time.monotonic()
        while True:
            self.socketio.sleep(WALL_SECONDS)
            try:
                if time.monotonic() - purged_at > PURGE_SECONDS:
                    purged_at = time.monotonic()
                    self._purge()
                codes = {learner.code for learner in list(self.learners.values())}
                for code in codes | {code for code, _ in self.remote.values()}:
                    self._publish_part(code)
                now = time.monotonic()
                for code in {teaching.code for teaching in list(self.teachers.values()) if teaching.page == "wall"}:
                    self._send_wall(code, now)
                for code in codes:
                    self._relay(code, now)
            except Exception:  # the wall must outlive any one bad room
                log.exception("the classroom wall failed")

    def _purge(self) -> None:
        self.store.purge()
        for code in list(self.rooms):
            if self.store.get(ROOM, code) is None:
                self.on_bus({"type": "close", "code": code})

    def _publish_part(self, code: str) -> None:
        """This process's part of the class's wall, on the bus (this process's own handler keeps it too)."""
        room = self.rooms.get(code)
        watching: dict[str, list[str]] = {}
        for sid, (watched, member) in list(self.remote.items()):
            if watched == code:
                watching.setdefault(member, []).append(sid)
        entries = self._entries(code, room) if room is not None else []
        part = wall.Part(self.origin, code, tuple(entries), {m: tuple(sids) for m, sids in watching.items()})
        self.hub.bus.publish_newest("wall", f"{self.origin}:{code}", part.to_json())

    def _entries(self, code: str, room: dict) -> list[wall.Entry]:
        challenge = rooms.Challenge.read(room["challenge"]) if room["challenge"] else None
        now, entries = time.monotonic(), []
        for sid, learner in self.local_learners(code):
            connection = self.hub.connections.get(sid)
            frame = connection.experiment.newest if connection else None
            if frame is None:
                continue
            experiment = connection.experiment
            run = self._run(learner, experiment, frame)
            history = self.histories.setdefault(learner.member, deque(maxlen=64))
            if (history and frame["epoch"] < history[-1][1]) or run.status != "running":
                history.clear()
            if run.status == "running":
                history.append((now, frame["epoch"], frame["testLoss"]))
            reached = challenge is not None and challenge.reached(run)
            if reached:
                self._record(code, run, learner)
            thumbnail = self._thumbnail(experiment, frame)
            entries.append(wall.Entry(run, learner.name, learner.joined_at, reached, rooms.stuck(history), thumbnail))
        return entries

    def on_part(self, message: dict) -> None:
        """A process's part of a class's wall (this one's too): kept for the merged wall; a page of that process
        that starts viewing a learner here gets the run at once."""
        part = wall.Part.from_json(message)
        now = time.monotonic()
        self.parts.keep(part, now)
        new_viewer = any(
            (part.origin, sid) not in self.relays.get((part.code, member), Relay()).viewers
            for member, sids in part.watching.items()
            for sid in sids
        )
        if new_viewer:
            self._relay(part.code, now)

    def _send_wall(self, code: str, now: float) -> None:
        """The whole class's wall to this process's wall pages of it (not through the queue: every process sends
        its own pages the wall it merged)."""
        if code not in self.rooms:
            return
        board = rooms.leaderboard(self.store.scan(REACHED, f"{code}:").values())  # pyright: ignore[reportArgumentType]
        self.socketio.emit("wall", self.parts.wall(code, now, board), to=f"teach:{code}", ignore_queue=True)

    def _relay(self, code: str, now: float) -> None:
        """This process's learners of the class that pages of other processes view: their runs' news to the relay
        room (through the message queue), a frame at most each call; a learner nobody views any more is let go."""
        viewers = self.parts.watchers(code, now)
        relayed = set()
        for sid, learner in self.local_learners(code):
            connection = self.hub.connections.get(sid)
            key = (code, learner.member)
            if connection is None or not viewers.get(learner.member):
                continue
            relayed.add(key)
            relay = self.relays.setdefault(key, Relay())
            self._relay_run(relay, relay_room(*key), connection.experiment, viewers[learner.member])
        for key in [key for key in self.relays if key[0] == code and key not in relayed]:
            del self.relays[key]

    def _relay_run(self, relay: Relay, room: str, experiment, viewers: set[tuple[str, str]]) -> None:
        """What a viewer of this run on another process gets from the run's own process: the data and the state
        when they change (and for a new viewer), and the newest frame when it shows something new."""
        session: TrainingSession = experiment.session
        new_viewer = not viewers <= relay.viewers
        relay.viewers = viewers
        if new_viewer or session.data is not relay.data:
            relay.data = session.data
            self.socketio.emit("dataset", messages.dataset(session), to=room)
        state = messages.state(session)
        if new_viewer or (state["status"], state["reason"]) != relay.state:  # as the hub tells its own viewers
            relay.state = (state["status"], state["reason"])
            self.socketio.emit("state", state, to=room)
        frame = experiment.newest
        if frame is None or (not new_viewer and relay.frame is not None and same_picture(frame, relay.frame)):
            return
        relay.frame = frame
        payload = messages.as_sent(frame, experiment.epochs_per_second(time.monotonic()))
        self.socketio.emit("map_update", payload, to=room)

    @staticmethod
    def _run(learner: Learner, experiment, frame: dict) -> rooms.Run:
        session = experiment.session
        status = frame["status"]
        if status == STOPPED and session.stop_reason:
            status = "finished"
        config = session.config
        return rooms.Run(
            member=learner.member,
            epoch=frame["epoch"],
            status=status if status != DIVERGED else "diverged",
            test_loss=frame["testLoss"],
            test_accuracy=frame["testAccuracy"],
            hidden_neurons=sum(frame["layerSizes"][1:-1]),
            dataset=config["dataset"],
            problem=config["problem"],
            own_data=session.own_data,
            settings={name: config[name] for name in rooms.SUMMARY_SETTINGS},
        )

    def _thumbnail(self, experiment, frame: dict) -> bytes:
        cached = self.thumbnails.get(experiment.id)
        if cached is None or cached[0] != frame["seq"]:
            if len(self.thumbnails) > 4 * len(self.hub.lab.experiments) + 64:
                self.thumbnails.clear()
            cached = self.thumbnails[experiment.id] = (frame["seq"], wire.output_thumbnail(frame))
        return cached[1]

    def _record(self, code: str, run: rooms.Run, learner: Learner) -> None:
        key = f"{code}:{learner.member}"
        entry = rooms.leaderboard_entry(run, learner.name, time.time())
        if key not in self.best:
            stored = self.store.get(REACHED, key)
            self.best[key] = stored if isinstance(stored, dict) else None
        if rooms.better_entry(entry, self.best[key]):
            self.best[key] = entry
            self.store.put(REACHED, key, entry, self.rooms[code]["expiresAt"])


# --- events ---------------------------------------------------------------------------------------------------------


def _classroom(hub) -> Classroom:
    return hub.classroom


def _room_view(classroom: Classroom, room: dict) -> dict:
    link = room["link"]
    return {
        "code": room["code"],
        "link": link,
        "qr": segno.make(link, error="m").svg_data_uri(scale=4, border=2),
        "expiresAt": room["expiresAt"],
        "config": room["config"],
        "fixSeed": room["fixSeed"],
        "locks": room["locks"],
        "lockable": list(rooms.LOCKABLE),
        "paused": room["paused"],
        "challenge": room["challenge"],
        "spotlight": room["spotlight"],
        "members": classroom.members(room["code"]),
    }


@handles("start_class")
def start_class(hub, connection, payload):
    _no_payload(payload)
    classroom = _classroom(hub)
    classroom.allow_attempt(connection.sid)
    key, now = rooms.new_key(), time.time()
    while True:
        room = rooms.new_room(rooms.new_code(), key, now, classroom.hours)
        room["link"] = f"{request.host_url}join/{room['code']}"
        if classroom.store.add(ROOM, room["code"], room, room["expiresAt"]):
            break
    classroom.rooms[room["code"]] = room
    classroom.teachers[connection.sid] = Teaching(room["code"], "playground")
    classroom.start()
    return {"key": key, "room": _room_view(classroom, room)}


@handles("teach")
def teach(hub, connection, payload):
    fields = _object(payload, "code", "key", "page")
    classroom = _classroom(hub)
    classroom.allow_attempt(connection.sid)
    room = classroom.open_room(fields["code"])
    if not rooms.key_matches(fields["key"], room["teacherKeyHash"]):
        classroom.wrong_code()
        raise RoomError("key", "is not this class's teacher key: only the teacher can open the teacher's pages")
    if fields["page"] not in PAGES:
        raise RoomError("page", f"must be one of {', '.join(PAGES)}")
    code = room["code"]
    classroom.teachers[connection.sid] = Teaching(code, fields["page"])
    classroom.start()
    if fields["page"] == "wall":
        classroom.socketio.server.enter_room(connection.sid, f"teach:{code}", namespace="/")
    if fields["page"] == "projector":
        classroom.socketio.server.enter_room(connection.sid, f"project:{code}", namespace="/")
        classroom._spotlight(code, room["spotlight"])
    return {"room": _room_view(classroom, room)}


@handles("join_class")
def join_class(hub, connection, payload):
    fields = _object(payload, "code", "name")
    classroom = _classroom(hub)
    classroom.allow_attempt(connection.sid)
    room = classroom.open_room(fields["code"])
    code, name = room["code"], rooms.read_name(fields["name"])
    member = secrets.token_hex(6)
    if not classroom.store.add(NAME, rooms.name_slot(code, name), {"member": member}, room["expiresAt"]):
        suggestion = rooms.suggest_name(
            name, lambda candidate: classroom.store.get(NAME, rooms.name_slot(code, candidate)) is not None
        )
        raise RoomError("name", f"is already taken in this class; try {suggestion!r}")
    key = f"{member}.{rooms.new_key()}"
    document = rooms.new_member(member, name, key, time.time())
    classroom.store.put(MEMBER, f"{code}:{member}", document, room["expiresAt"])
    classroom.start()
    classroom.enter(connection, room, document, fresh=True)
    return {"code": code, "member": member, "name": name, "key": key}


@handles("rejoin_class")
def rejoin_class(hub, connection, payload):
    fields = _object(payload, "code", "key")
    classroom = _classroom(hub)
    classroom.allow_attempt(connection.sid)
    room = classroom.open_room(fields["code"])
    key = fields["key"]
    member_id = key.split(".", 1)[0] if isinstance(key, str) else ""
    document = classroom.store.get(MEMBER, f"{room['code']}:{member_id[:20]}")
    if not isinstance(document, dict) or not rooms.key_matches(key, document["keyHash"]):
        classroom.wrong_code()
        raise RoomError("key", "is not a member key of this class (the teacher may have removed you): join again")
    classroom.start()
    classroom.enter(connection, room, document, fresh=False)
    return {"code": room["code"], "member": document["member"], "name": document["name"]}


@handles("leave_class")
def leave_class(hub, connection, payload):
    _no_payload(payload)
    classroom = _classroom(hub)
    learner = classroom.learners.get(connection.sid)
    if learner is None:
        raise RoomError("class", "you are not in a class")
    _delete_member(classroom, learner.code, learner.member, learner.name)
    classroom.leave_current(connection.sid)
    return {"left": True}


def _delete_member(classroom: Classroom, code: str, member: str, name: str) -> None:
    classroom.best.pop(f"{code}:{member}", None)
    for kind, key in ((MEMBER, f"{code}:{member}"), (NAME, rooms.name_slot(code, name)), (REACHED, f"{code}:{member}")):
        classroom.store.delete(kind, key)


def _teacher_action(hub, connection, change) -> tuple[Classroom, dict]:
    """Check the teacher, let `change(room)` edit the room's document, save it."""
    classroom = _classroom(hub)
    room = classroom.teacher_room(connection.sid)
    change(room)
    classroom.save(room)
    return classroom, room


@handles("push_config")
def push_config(hub, connection, payload):
    fields = _object(payload, "hash", "fixSeed")
    if not isinstance(fields["fixSeed"], bool):
        raise EventError("fixSeed", "must be true (everyone gets the teacher's seed) or false (each keeps their own)")
    config = config_to_json(link_changes(read_link(fields["hash"])))

    def change(room):
        room["config"], room["fixSeed"] = config, fields["fixSeed"]

    _, room = _teacher_action(hub, connection, change)
    hub.bus.publish("room", {"type": "push", "code": room["code"]})
    return {"config": config}


@handles("lock_settings")
def lock_settings(hub, connection, payload):
    locks = rooms.read_locks(_object(payload, "locks")["locks"])
    _, room = _teacher_action(hub, connection, lambda room: room.update(locks=locks))
    hub.bus.publish("room", {"type": "rules", "code": room["code"]})
    return {"locks": locks}


def _pause_class(hub, connection, payload, paused: bool) -> dict:
    _no_payload(payload)
    _, room = _teacher_action(hub, connection, lambda room: room.update(paused=paused))
    hub.bus.publish("room", {"type": "pause" if paused else "resume", "code": room["code"]})
    return {"paused": paused}


@handles("pause_all")
def pause_all(hub, connection, payload):
    return _pause_class(hub, connection, payload, True)


@handles("resume_all")
def resume_all(hub, connection, payload):
    return _pause_class(hub, connection, payload, False)


def _member(classroom: Classroom, room: dict, member) -> dict:
    document = classroom.store.get(MEMBER, f"{room['code']}:{member}") if isinstance(member, str) else None
    if not isinstance(document, dict):
        raise RoomError("member", "is not a member of this class")
    return document


@handles("set_challenge")
def set_challenge(hub, connection, payload):
    challenge = _object(payload, "challenge")["challenge"]
    challenge = None if challenge is None else rooms.Challenge.read(challenge).to_json()
    classroom, room = _teacher_action(hub, connection, lambda room: room.update(challenge=challenge))
    for key in classroom.store.scan(REACHED, f"{room['code']}:"):  # a new goal, a new leaderboard
        classroom.store.delete(REACHED, key)
        classroom.best.pop(key, None)
    hub.bus.publish("room", {"type": "rules", "code": room["code"]})
    return {"challenge": challenge}


@handles("spotlight")
def spotlight(hub, connection, payload):
    member = _object(payload, "member")["member"]
    classroom = _classroom(hub)
    room = classroom.teacher_room(connection.sid)
    name = None if member is None else _member(classroom, room, member)["name"]
    _, room = _teacher_action(hub, connection, lambda room: room.update(spotlight=member))
    classroom.socketio.emit("spotlight", {"member": member, "name": name}, to=f"project:{room['code']}")
    hub.bus.publish("room", {"type": "spotlight", "code": room["code"]})  # then its frames
    return {"member": member, "name": name}


@handles("watch_member")
def watch_member(hub, connection, payload):
    member = _object(payload, "member")["member"]
    classroom = _classroom(hub)
    room = classroom.teacher_room(connection.sid)
    if member is None:
        classroom.view(connection, room["code"], None)
        return {"member": None, "name": None}
    name = _member(classroom, room, member)["name"]
    code = room["code"]
    if classroom.experiment_of(code, member) is None and not classroom.connected_elsewhere(code, member):
        raise RoomError("member", f"{name} is not connected now")
    classroom.view(connection, code, member)
    return {"member": member, "name": name}


@handles("remove_member")
def remove_member(hub, connection, payload):
    member = _object(payload, "member")["member"]
    classroom = _classroom(hub)
    room = classroom.teacher_room(connection.sid)
    document = _member(classroom, room, member)
    _delete_member(classroom, room["code"], member, document["name"])
    hub.bus.publish("room", {"type": "remove", "code": room["code"], "member": member})
    classroom._roster(room["code"])
    return {"removed": member}


@handles("save_gallery", read_only=True)
def save_gallery(hub, connection, payload):
    names = _object(payload, "names")["names"]
    if not isinstance(names, bool):
        raise EventError("names", "must be true (each run under its learner's name) or false (Learner 1, 2, ...)")
    classroom = _classroom(hub)
    return classroom.save_gallery(connection, classroom.teacher_room(connection.sid)["code"], names)


@handles("close_class")
def close_class(hub, connection, payload):
    _no_payload(payload)
    classroom = _classroom(hub)
    code = classroom.teacher_room(connection.sid)["code"]
    for kind in (MEMBER, NAME, REACHED):
        for key in classroom.store.scan(kind, f"{code}:"):
            classroom.store.delete(kind, key)
            classroom.best.pop(key, None)
    classroom.store.delete(ROOM, code)
    hub.bus.publish("room", {"type": "close", "code": code})
    classroom.socketio.emit("roster", {"members": []}, to=f"teach:{code}")
    for sid, teaching in list(classroom.teachers.items()):
        if teaching.code == code:
            classroom.teachers.pop(sid, None)
    return {"closed": code}
