"""A class on the real server (`python app.py`), through a restart: the room, its members and the wall come back."""

import socketio

from tests.test_server import call, in_order
from tests.waiting import wait_until


class Page(socketio.Client):
    """A page's connection: keeps what the server sends, acknowledges frames, and reconnects by itself."""

    def __init__(self):
        super().__init__(reconnection=True, reconnection_delay=1, reconnection_delay_max=1)
        in_order(self)
        self.walls, self.states, self.rosters = [], [], []
        self.on("wall", self.walls.append)
        self.on("class_state", self.states.append)
        self.on("roster", self.rosters.append)
        self.on("map_update", lambda payload: None)  # acknowledged when the handler returns


def test_a_restart_loses_no_class(restartable_server):
    pages = []
    try:
        teacher, wall, learners = Page(), Page(), [Page() for _ in range(2)]
        pages.extend([teacher, wall, *learners])
        for page in pages:
            page.connect(restartable_server.url, transports=["websocket"])
        started = call(teacher, "start_class")
        code, key = started["room"]["code"], started["key"]
        assert call(wall, "teach", {"code": code, "key": key, "page": "wall"})["ok"]
        assert call(teacher, "lock_settings", {"locks": ["learningRate"]})["ok"]
        members = [call(page, "join_class", {"code": code, "name": f"Pupil {n}"}) for n, page in enumerate(learners)]
        wait_until(lambda: wall.walls and len(wall.walls[-1]["tiles"]) == 2, message="two tiles on the wall")

        restartable_server.restart()
        wait_until(lambda: all(page.connected for page in pages), timeout=20, message="every page reconnected")
        # Each page does what the real page does on every connect: the learners rejoin, the teacher's wall claims
        # its class again; the server answers from the store.
        for page, member in zip(learners, members, strict=True):
            back = call(page, "rejoin_class", {"code": code, "key": member["key"]})
            assert back["ok"] and back["member"] == member["member"] and back["name"] == member["name"]
        room = call(wall, "teach", {"code": code, "key": key, "page": "wall"})["room"]
        assert room["locks"] == ["learningRate"]
        assert sorted(m["name"] for m in room["members"]) == ["Pupil 0", "Pupil 1"]
        wall.walls.clear()
        wait_until(lambda: wall.walls and len(wall.walls[-1]["tiles"]) == 2, message="the wall filled again")
        refused = call(learners[0], "update_config", {"learningRate": 0.3})
        assert refused["error"]["field"] == "learningRate"  # the lock came back too
        taken = call(teacher, "join_class", {"code": code, "name": "pupil 0"})
        assert taken["error"]["field"] == "name"
        assert call(teacher, "teach", {"code": code, "key": "not the key", "page": "wall"})["error"]["field"] == "key"
    finally:
        for page in pages:
            page.disconnect()
