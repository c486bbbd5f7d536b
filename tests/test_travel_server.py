"""Saved experiments and drafts on the real server (`python app.py`): a restart keeps both, on SQLite and on
PostgreSQL."""

import urllib.error
import urllib.request

import socketio

from playground.store import open_store
from playground.web import saving
from tests.services import on_both_back_ends
from tests.test_server import call, in_order
from tests.waiting import wait_until


def connected(server) -> socketio.Client:
    client = in_order(socketio.Client(reconnection=False))
    client.connect(server.url, transports=["websocket"])
    return client


def status_of(server, path: str) -> int:
    try:
        with urllib.request.urlopen(server.url + path, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as problem:
        return problem.code


@on_both_back_ends
def test_a_restart_keeps_saved_experiments_and_the_learners_draft(
    restartable_server, start_server, back_end, new_database
):
    # On SQLite the server's own file (tests/live_server.py: in memory, nothing would outlive the restart)
    server = start_server(database_url=new_database()) if back_end == "postgresql" else restartable_server
    client = connected(server)
    try:
        draft = call(client, "resume", {"draft": None})["draft"]
        assert call(client, "add_point", {"x": 0.5, "y": -0.5, "label": 1, "set": "train"})["ok"]
        for _ in range(12):
            assert call(client, "step")["ok"]
        saved = call(client, "save_experiment", {"title": "before the restart", "note": ""})
        history = call(client, "get_history")
    finally:
        client.disconnect()
    store = open_store(server.environment["DATABASE_URL"])  # whichever back end the server was given
    try:
        wait_until(lambda: store.get(saving.DRAFT, draft) is not None, 10, "the draft written at disconnect")
    finally:
        store.close()
    server.restart()
    assert status_of(server, saved["url"]) == 200
    assert status_of(server, "/e/" + "x" * 16) == 404
    client = connected(server)
    try:
        opened = call(client, "open_experiment", {"id": saved["id"]})
        assert (opened["title"], opened["epoch"]) == ("before the restart", 12)
        assert call(client, "get_history") == history
        resumed = call(client, "resume", {"draft": draft})
        assert resumed["restored"] and resumed["draft"] == draft
        assert call(client, "download_data")["csv"].count("\n") == 501 + 1  # the header, 250 + 1 + 250 points
    finally:
        client.disconnect()
