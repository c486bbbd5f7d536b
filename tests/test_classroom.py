"""The classroom's events and errors through the Flask-SocketIO test client: a teacher, several learners, the wall."""

import time

import pytest

from playground import rooms, wire
from playground.wall import Part
from tests.configs import DIVERGING
from tests.test_wall import entry as wall_entry


@pytest.fixture(scope="module")
def app_settings():
    # The test client never acknowledges frames: keep its runs trained anyway, and send the newest frame again
    # after half a second instead of five (a test that waits for a later frame waits for that).
    return {"stall_seconds": 1000.0, "ack_timeout": 0.5, "max_connections": 40}


@pytest.fixture
def connect(app, socketio):
    clients = []

    def new_client():
        clients.append(socketio.test_client(app))
        return clients[-1]

    yield new_client
    for client in clients:
        if client.is_connected():
            client.disconnect()


def sid_of(socketio, client) -> str:
    return socketio.server.manager.sid_from_eio_sid(client.eio_sid, "/")


def session_of(hub, socketio, client):
    return hub.connections[sid_of(socketio, client)].experiment.session


def call(client, event, payload=None):
    return client.emit(event, payload, callback=True) if payload is not None else client.emit(event, callback=True)


def received(client, name):
    return [message["args"][0] for message in client.get_received() if message["name"] == name]


class Inbox:
    """Every message a client got, kept across polls (get_received empties the client's queue)."""

    def __init__(self, client):
        self.client, self.messages = client, []

    def of(self, name) -> list:
        self.messages.extend(self.client.get_received())
        return [message["args"][0] for message in self.messages if message["name"] == name]


@pytest.fixture
def teacher(connect):
    client = connect()
    reply = call(client, "start_class")
    assert reply["ok"], reply
    client.code, client.key = reply["room"]["code"], reply["key"]
    wall = connect()
    assert call(wall, "teach", {"code": client.code, "key": client.key, "page": "wall"})["ok"]
    client.wall = wall
    return client


def join(client, code, name):
    reply = call(client, "join_class", {"code": code, "name": name})
    assert reply["ok"], reply
    return reply


def test_start_class_gives_a_readable_code_a_link_and_a_qr_code(connect):
    reply = call(connect(), "start_class")
    room = reply["room"]
    assert len(room["code"]) == rooms.CODE_LENGTH and set(room["code"]) <= set(rooms.CODE_ALPHABET)
    assert room["link"].endswith(f"/join/{room['code']}")
    assert room["qr"].startswith("data:image/svg+xml")
    assert room["members"] == [] and room["locks"] == [] and not room["paused"]


def test_a_learner_joins_by_code_and_the_wall_shows_a_tile(teacher, connect, wait):
    learner = connect()
    reply = join(learner, teacher.code.lower(), "  Ada   Lovelace ")  # any case; spaces collapse
    assert reply["code"] == teacher.code and reply["name"] == "Ada Lovelace"
    assert reply["key"].startswith(reply["member"] + ".")
    states = received(learner, "class_state")
    assert states[-1]["inClass"] and states[-1]["code"] == teacher.code
    inbox = Inbox(teacher.wall)
    wall = wait(lambda: [w for w in inbox.of("wall") if w["tiles"]], message="a wall with a tile")[-1]
    (tile,) = wall["tiles"]
    assert tile["name"] == "Ada Lovelace" and tile["status"] == "stopped" and tile["epoch"] == 0
    assert len(wall["maps"]) == 100 and wall["summary"]["runs"] == 1
    assert inbox.of("roster")[-1]["members"][0]["name"] == "Ada Lovelace"


def test_a_wrong_or_malformed_code_is_refused_clearly(connect):
    learner = connect()
    reply = call(learner, "join_class", {"code": "ZZZZZZ", "name": "Bo"})
    assert not reply["ok"] and reply["error"]["field"] == "code" and "not an open class" in reply["error"]["message"]
    reply = call(learner, "join_class", {"code": "AB0", "name": "Bo"})
    assert reply["error"]["field"] == "code" and "no 0, O, 1, I or L" in reply["error"]["message"]
    assert received(learner, "error")[-1]["event"] == "join_class"


def test_join_attempts_are_rate_limited(connect):
    learner = connect()
    replies = [call(learner, "join_class", {"code": "ZZZZZZ", "name": "Bo"}) for _ in range(int(rooms.JOIN_BURST) + 1)]
    assert [reply["error"]["field"] for reply in replies][-1] == "attempts"


def test_a_taken_name_is_refused_with_a_suggestion(teacher, connect):
    join(connect(), teacher.code, "Ada")
    reply = call(connect(), "join_class", {"code": teacher.code, "name": "ada"})
    assert reply["error"]["field"] == "name" and "'ada 2'" in reply["error"]["message"]
    bad = call(connect(), "join_class", {"code": teacher.code, "name": "<script>"})
    assert bad["error"]["field"] == "name"


def test_only_the_teacher_acts_as_teacher(teacher, connect):
    learner = connect()
    join(learner, teacher.code, "Eve")
    for event, payload in [("pause_all", None), ("push_config", {"hash": "", "fixSeed": False})]:
        reply = call(learner, event, payload)
        assert reply["error"]["field"] == "teacher", event
    reply = call(learner, "teach", {"code": teacher.code, "key": "guess", "page": "wall"})
    assert reply["error"]["field"] == "key"
    reply = call(connect(), "teach", {"code": teacher.code, "key": teacher.key, "page": "kitchen"})
    assert reply["error"]["field"] == "page"


def test_push_config_resets_every_run_to_it_with_their_own_seed_unless_fixed(teacher, connect, hub, socketio):
    learners = [connect() for _ in range(3)]
    for number, learner in enumerate(learners):
        join(learner, teacher.code, f"L{number}")
        assert call(learner, "update_config", {"networkShape": [3]})["ok"]
    seeds = {session_of(hub, socketio, learner).config["seed"] for learner in learners}
    link = "#activation=relu&learningRate=0.3&networkShape=5,5"
    reply = call(teacher, "push_config", {"hash": link, "fixSeed": False})
    assert reply["ok"] and reply["config"]["activation"] == "relu"
    for learner in learners:
        session = session_of(hub, socketio, learner)
        assert session.config["activation"] == "relu" and session.config["networkShape"] == (5, 5)
        assert session.epoch == 0
        state = received(learner, "class_state")[-1]
        assert state["config"]["learningRate"] == 0.3 and state["hash"].startswith("#activation=relu")
    assert {session_of(hub, socketio, learner).config["seed"] for learner in learners} == seeds
    assert call(teacher, "push_config", {"hash": "#seed=0.12345", "fixSeed": True})["ok"]
    assert {session_of(hub, socketio, learner).config["seed"] for learner in learners} == {"0.12345"}
    late = connect()
    join(late, teacher.code, "Late")  # joins after the push: gets the pushed config
    assert session_of(hub, socketio, late).config["seed"] == "0.12345"


def test_a_locked_setting_is_refused_and_names_the_lock(teacher, connect, hub, socketio):
    learner = connect()
    join(learner, teacher.code, "Kim")
    reply = call(teacher, "lock_settings", {"locks": ["learningRate", "seed"]})
    assert reply["ok"] and reply["locks"] == ["learningRate", "seed"]
    assert received(learner, "class_state")[-1]["locks"] == ["learningRate", "seed"]
    refused = call(learner, "update_config", {"learningRate": 0.3, "noise": 10})
    assert refused["error"]["field"] == "learningRate" and "locked by the teacher" in refused["error"]["message"]
    assert session_of(hub, socketio, learner).config["noise"] == 0  # a refused change changes nothing
    assert call(learner, "update_config", {"learningRate": 0.03, "noise": 10})["ok"]  # the same value is no change
    assert call(learner, "open_link", {"hash": "#learningRate=1"})["error"]["field"] == "learningRate"
    assert call(learner, "regenerate")["error"]["field"] == "seed"
    assert call(teacher, "lock_settings", {"locks": ["dataset"]})["ok"]
    point = {"x": 1, "y": 1, "label": 1, "set": "train"}
    for event, payload in [("add_point", point), ("upload_data", {"csv": "1,1,1\n"})]:
        assert call(learner, event, payload)["error"]["field"] == "dataset", event
    assert call(teacher, "lock_settings", {"locks": ["nonsense"]})["error"]["field"] == "locks"
    assert call(teacher, "lock_settings", {"locks": []})["ok"]
    assert call(learner, "update_config", {"learningRate": 0.3})["ok"]


def test_pause_all_and_resume_all(teacher, connect, hub, socketio, wait):
    learners = [connect() for _ in range(2)]
    for number, learner in enumerate(learners):
        join(learner, teacher.code, f"P{number}")
        assert call(learner, "start_training")["ok"]
    assert call(teacher, "pause_all")["paused"] is True
    assert all(session_of(hub, socketio, learner).status == "stopped" for learner in learners)
    refused = call(learners[0], "start_training")
    assert refused["error"]["field"] == "status" and "paused by the teacher" in refused["error"]["message"]
    assert call(teacher, "resume_all")["paused"] is False
    assert all(session_of(hub, socketio, learner).status == "running" for learner in learners)
    wait(lambda: all(session_of(hub, socketio, learner).epoch > 0 for learner in learners), message="training")


def test_a_returning_learner_rejoins_with_the_member_key(teacher, connect, hub, socketio):
    first = connect()
    reply = join(first, teacher.code, "Ren")
    first.disconnect()
    again = connect()
    back = call(again, "rejoin_class", {"code": teacher.code, "key": reply["key"]})
    assert back["ok"] and back["name"] == "Ren" and back["member"] == reply["member"]
    forged = call(again, "rejoin_class", {"code": teacher.code, "key": reply["member"] + ".forged"})
    assert forged["error"]["field"] == "key"


def test_a_removed_learner_is_told_and_cannot_come_back_with_the_old_key(teacher, connect):
    learner = connect()
    reply = join(learner, teacher.code, "Max")
    assert call(teacher, "remove_member", {"member": reply["member"]})["removed"] == reply["member"]
    state = received(learner, "class_state")[-1]
    assert not state["inClass"] and "removed" in state["message"]
    assert call(learner, "rejoin_class", {"code": teacher.code, "key": reply["key"]})["error"]["field"] == "key"
    assert call(learner, "update_config", {"learningRate": 0.3})["ok"]  # the run goes on, outside the class
    join(connect(), teacher.code, "Max")  # the name is free again
    assert call(teacher, "remove_member", {"member": "nobody"})["error"]["field"] == "member"


def test_close_class_deletes_the_names_at_once(teacher, connect, hub):
    learner = connect()
    join(learner, teacher.code, "Zoe")
    assert call(teacher, "close_class")["closed"] == teacher.code
    assert not received(learner, "class_state")[-1]["inClass"]
    for kind in (rooms.ROOM, rooms.MEMBER, rooms.NAME):
        assert hub.store.scan(kind, teacher.code) == {}
    assert call(connect(), "join_class", {"code": teacher.code, "name": "Zoe"})["error"]["field"] == "code"
    assert call(teacher, "pause_all")["error"]["field"] == "teacher"


def test_the_teacher_watches_a_learners_run_read_only(teacher, connect, hub, socketio, wait):
    learner = connect()
    reply = join(learner, teacher.code, "Sam")
    assert call(learner, "update_config", {"networkShape": [7]})["ok"]
    watched = call(teacher.wall, "watch_member", {"member": reply["member"]})
    assert watched["ok"] and watched["name"] == "Sam"
    inbox = Inbox(teacher.wall)
    wait(lambda: any(f["layerSizes"] == [2, 7, 1] for f in inbox.of("map_update")), message="the learner's frame")
    assert inbox.of("dataset")
    # Read-only: the wall's own events change its own (unseen) run, never the learner's.
    assert call(teacher.wall, "update_config", {"networkShape": [1]})["ok"]
    assert session_of(hub, socketio, learner).config["networkShape"] == (7,)
    # The wall's own run waits unviewed (so untrained) for its return; when the wall leaves, it goes, and the
    # learner's run stays.
    wall_run = hub.connections[sid_of(socketio, teacher.wall)].experiment
    assert not wall_run.viewers and wall_run.id in hub.lab.experiments
    learner_run = hub.connections[sid_of(socketio, learner)].experiment
    teacher.wall.disconnect()
    assert wall_run.id not in hub.lab.experiments
    assert learner_run.id in hub.lab.experiments and sid_of(socketio, learner) in learner_run.viewers


def test_watching_nobody_shows_the_own_run_again(teacher, connect, hub, socketio, wait):
    learner = connect()
    member = join(learner, teacher.code, "Bea")["member"]
    assert call(teacher.wall, "watch_member", {"member": member})["ok"]
    assert call(teacher.wall, "watch_member", {"member": None}) == {"ok": True, "member": None, "name": None}
    wall_run = hub.connections[sid_of(socketio, teacher.wall)].experiment
    assert set(hub.connections[sid_of(socketio, teacher.wall)].watching) == {wall_run.id}
    assert call(teacher.wall, "update_config", {"networkShape": [3]})["ok"]
    inbox = Inbox(teacher.wall)
    wait(lambda: any(f["layerSizes"] == [2, 3, 1] for f in inbox.of("map_update")), message="its own run's frame")


def test_spotlight_reaches_the_projector_with_the_run(teacher, connect, wait):
    learner = connect()
    reply = join(learner, teacher.code, "Lu")
    projector = connect()
    assert call(projector, "teach", {"code": teacher.code, "key": teacher.key, "page": "projector"})["ok"]
    assert call(learner, "update_config", {"networkShape": [6, 3]})["ok"]
    assert call(teacher, "spotlight", {"member": reply["member"]})["name"] == "Lu"
    inbox = Inbox(projector)
    wait(lambda: inbox.of("spotlight"), message="the spotlight event")
    assert inbox.of("spotlight")[-1] == {"member": reply["member"], "name": "Lu"}
    wait(lambda: any(f["layerSizes"] == [2, 6, 3, 1] for f in inbox.of("map_update")), message="the spotlit frames")


def test_a_challenge_is_checked_on_the_server_and_fills_the_leaderboard(teacher, connect, wait):
    fast, diverging = connect(), connect()
    reply = join(fast, teacher.code, "Fast")
    join(diverging, teacher.code, "Wild")
    two_targets = {"dataset": "circle", "belowTestLoss": 0.1, "aboveTestAccuracy": 0.9}
    bad = call(teacher, "set_challenge", {"challenge": two_targets})
    assert bad["error"]["field"] == "belowTestLoss"
    challenge = {"dataset": "circle", "maxHiddenNeurons": 8, "aboveTestAccuracy": 0.9}
    assert call(teacher, "set_challenge", {"challenge": challenge})["challenge"]["aboveTestAccuracy"] == 0.9
    assert call(fast, "update_config", {"learningRate": 0.3, "activation": "relu", "networkShape": [4, 2]})["ok"]
    assert call(diverging, "update_config", DIVERGING)["ok"]
    assert call(fast, "start_training")["ok"] and call(diverging, "start_training")["ok"]
    inbox = Inbox(teacher.wall)

    def reached_and_diverged():
        walls = inbox.of("wall")
        return walls and walls[-1]["leaderboard"] and walls[-1]["summary"]["diverged"] == 1 and walls[-1]

    wall = wait(reached_and_diverged, timeout=30, message="the challenge reached and a diverged run")
    (entry,) = wall["leaderboard"]
    assert entry["member"] == reply["member"] and entry["name"] == "Fast" and entry["hiddenNeurons"] == 6
    assert entry["epochs"] > 0
    tiles = {tile["name"]: tile for tile in wall["tiles"]}
    assert tiles["Wild"]["status"] == "diverged" and not tiles["Wild"]["reached"]
    assert wall["summary"]["triedMost"]["activation"]["runs"] >= 1


def test_the_wall_tile_is_the_output_thumbnail_of_the_newest_frame(teacher, connect, hub, socketio, wait):
    learner = connect()
    join(learner, teacher.code, "Io")
    assert call(learner, "step")["ok"]
    inbox = Inbox(teacher.wall)
    wall = wait(lambda: [w for w in inbox.of("wall") if w["tiles"] and w["tiles"][0]["epoch"] == 1], message="epoch 1")
    experiment = hub.connections[sid_of(socketio, learner)].experiment
    assert wall[-1]["maps"] == wire.decode(experiment.newest)["thumbnails"][-100:]


@pytest.fixture
def short_app(make_app):
    return make_app(room_hours=0.5 / 3600, stall_seconds=1000.0)  # a class of half a second


def test_an_expired_class_cannot_be_joined(short_app, wait):
    socketio = short_app.extensions["socketio"]
    teacher, learner = socketio.test_client(short_app), socketio.test_client(short_app)
    code = call(teacher, "start_class")["room"]["code"]

    attempts = []

    def refused():
        attempts.append(call(learner, "join_class", {"code": code, "name": f"Tim {len(attempts)}"}))
        return not attempts[-1]["ok"] and attempts[-1]["error"]["field"] == "code"

    wait(refused, pause=socketio.sleep, interval=0.2, message="the class to expire")  # within the join limit
    assert attempts[0]["ok"]
    teacher.disconnect()
    learner.disconnect()


def test_every_classroom_event_replies_and_sends_the_documented_fields(connect, wait):
    from tests.test_protocol_doc import CLASS_CLIENT_EVENTS, CLASS_SERVER_EVENTS, names

    teacher, wall, projector, learner, again = (connect() for _ in range(5))
    replies = {"start_class": call(teacher, "start_class")}
    code, key = replies["start_class"]["room"]["code"], replies["start_class"]["key"]
    replies["teach"] = call(wall, "teach", {"code": code, "key": key, "page": "wall"})
    assert call(projector, "teach", {"code": code, "key": key, "page": "projector"})["ok"]
    replies["join_class"] = call(learner, "join_class", {"code": code, "name": "Doc"})
    member = replies["join_class"]["member"]
    replies["rejoin_class"] = call(again, "rejoin_class", {"code": code, "key": replies["join_class"]["key"]})
    steps = [
        ("push_config", {"hash": "#learningRate=0.1", "fixSeed": False}),
        ("lock_settings", {"locks": ["activation"]}),
        ("pause_all", None),
        ("resume_all", None),
        ("set_challenge", {"challenge": {"dataset": "circle", "maxHiddenNeurons": None, "belowTestLoss": 0.1}}),
        ("spotlight", {"member": member}),
        ("watch_member", {"member": member}),
        ("save_gallery", {"names": True}),
    ]
    for event, payload in steps:
        replies[event] = call(wall if event == "watch_member" else teacher, event, payload)
    seen = {}
    inboxes = [Inbox(client) for client in (wall, projector, learner, again)]

    def every_event_seen():
        for inbox in inboxes:
            for name in CLASS_SERVER_EVENTS:
                for payload in inbox.of(name):
                    seen.setdefault(name, payload)
        return set(seen) == set(CLASS_SERVER_EVENTS)

    wait(every_event_seen, message=f"the events {sorted(CLASS_SERVER_EVENTS)}")
    replies["leave_class"] = call(again, "leave_class")
    other = connect()
    removed = call(other, "join_class", {"code": code, "name": "X"})["member"]
    replies["remove_member"] = call(teacher, "remove_member", {"member": removed})
    replies["close_class"] = call(teacher, "close_class")
    assert set(replies) == set(CLASS_CLIENT_EVENTS)
    for event, reply in replies.items():
        reply_cell = CLASS_CLIENT_EVENTS[event][1]
        assert reply["ok"], (event, reply)
        assert set(reply) - {"ok"} == names(reply_cell), event
    for event, payload in steps:
        cell = CLASS_CLIENT_EVENTS[event][0]
        assert cell == "none" if payload is None else set(payload) == names(cell), event
    for event, payload in seen.items():
        assert set(payload) == names(CLASS_SERVER_EVENTS[event][0]), event


FAR_JOINED = 2_000_000_000  # the other process's learners joined after this one's


def publish_other_part(hub, code: str, members: list[str], watching=None) -> None:
    """What another process of a cluster publishes on the bus: its part of the class's wall, with these learners."""
    entries = tuple(wall_entry(member, FAR_JOINED + number) for number, member in enumerate(members))
    hub.bus.publish_newest("wall", f"other:{code}", Part("other", code, entries, watching or {}).to_json())


def test_the_wall_merges_the_part_of_another_process_and_forgets_it_when_it_goes_silent(teacher, connect, hub, wait):
    join(connect(), teacher.code, "Here")
    inbox = Inbox(teacher.wall)
    wait(lambda: [w for w in inbox.of("wall") if len(w["tiles"]) == 1], message="the local learner's tile")
    publish_other_part(hub, teacher.code, ["far1", "far2"])
    merged = wait(lambda: [w for w in inbox.of("wall") if len(w["tiles"]) == 3], message="the merged wall")[-1]
    assert [tile["name"] for tile in merged["tiles"]] == ["Here", "Name far1", "Name far2"]  # by time joined
    assert merged["summary"]["runs"] == 3 and len(merged["maps"]) == 300
    assert (
        merged["maps"][100:] == wall_entry("far1", FAR_JOINED).thumbnail + wall_entry("far2", FAR_JOINED + 1).thumbnail
    )
    silent_from = len(inbox.of("wall"))  # the other process publishes no more: it died
    wait(
        lambda: [len(w["tiles"]) for w in inbox.of("wall")[silent_from:]][-1:] == [1],
        timeout=10,
        message="its tiles gone",
    )


def test_the_detail_view_of_a_learner_of_another_process_is_asked_of_it_on_the_bus(teacher, hub, socketio, wait):
    publish_other_part(hub, teacher.code, ["far1"])
    reply = call(teacher.wall, "watch_member", {"member": "far1"})
    assert reply["error"]["field"] == "member"  # no such member in the store: the part alone proves nothing
    classroom, wall_sid = hub.classroom, sid_of(socketio, teacher.wall)
    member = join(teacher, teacher.code, "Far")["member"]
    classroom.learners.pop(sid_of(socketio, teacher))  # now a member of the store whose run is elsewhere
    refused = call(teacher.wall, "watch_member", {"member": member})
    assert refused["error"]["field"] == "member" and "is not connected now" in refused["error"]["message"]
    publish_other_part(hub, teacher.code, [member])
    assert call(teacher.wall, "watch_member", {"member": member}) == {"ok": True, "member": member, "name": "Far"}
    assert classroom.parts.watchers(teacher.code, time.monotonic()) == {member: {(classroom.origin, wall_sid)}}
    assert not hub.connections[wall_sid].watching  # it gets that run's frames from the other process only
    assert call(teacher.wall, "watch_member", {"member": None})["ok"]
    assert classroom.parts.watchers(teacher.code, time.monotonic()) == {}
    wall_run = hub.connections[wall_sid].experiment
    assert set(hub.connections[wall_sid].watching) == {wall_run.id}
