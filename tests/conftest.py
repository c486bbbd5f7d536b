"""Shared fixtures: the app (built with each module's settings, on the module's store back end), its Socket.IO and
hub, waiting for the test client, the real eventlet server started as `python app.py` (tests/live_server.py) and the
run's one PostgreSQL server (tests/services.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from playground.web.factory import create_app
from playground.web.settings import Settings
from tests.live_server import LiveServer
from tests.services import PostgresServer
from tests.waiting import wait_until


@pytest.fixture(scope="session")
def make_app():
    """make_app(**settings): a new app with these Settings fields over the defaults (the environment is not read)."""

    def make(**settings):
        return create_app(Settings.from_env(environ={}, **{"database_url": ":memory:", **settings}))

    return make


@pytest.fixture(scope="module")
def app_settings() -> dict:
    """The settings of the module's `app`; a test module overrides this fixture to change them."""
    return {}


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the whole run, started when a test first needs it (where PostgreSQL is not
    installed the test skips with the reason, except in CI, where that is a failure: tests/services.py)."""
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def back_end(request) -> str:
    """The store back end of the module's `app`: "sqlite", unless tests/services.py's `on_both_back_ends`
    parametrises it (then the tests of each back end share their own app)."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="module")
def new_database(request, back_end) -> Callable[[], str]:
    """new_database(): the DATABASE_URL of a store nobody has used yet, on the back end: SQLite in memory, or a new
    database of the run's PostgreSQL server."""
    if back_end == "sqlite":
        return lambda: ":memory:"
    return request.getfixturevalue("postgres").new_database


@pytest.fixture(scope="module")
def app(make_app, app_settings, new_database):
    return make_app(**{"database_url": new_database(), **app_settings})


@pytest.fixture
def socketio(app):
    return app.extensions["socketio"]


@pytest.fixture
def hub(app):
    return app.extensions["playground_hub"]


@pytest.fixture
def client(app, socketio):
    """A Socket.IO test client of the module's `app`, one session per test (modules may define their own)."""
    test_client = socketio.test_client(app)
    yield test_client
    if test_client.is_connected():
        test_client.disconnect()


@pytest.fixture
def wait(socketio):
    """wait_until for the Flask-SocketIO test client: between polls it yields to the app's green threads."""
    return functools.partial(wait_until, pause=socketio.sleep)


@pytest.fixture
def other_session_trains(app, socketio, hub, wait):
    """other_session_trains(turns): returns once another session of `app` was given `turns` training turns.

    The barrier for "nothing happens" checks: by then the scheduler has had every chance to do what the test says
    it must not (train a stopped session, send a held frame, outrun a pace).
    """

    def train(turns: int = 2) -> None:
        other = socketio.test_client(app)
        try:
            assert other.emit("start_training", callback=True)["ok"]
            session = hub.connections[socketio.server.manager.sid_from_eio_sid(other.eio_sid, "/")].experiment.session
            seen = [session.epoch]

            def another_turn() -> bool:
                if session.epoch != seen[-1]:
                    seen.append(session.epoch)
                return len(seen) > turns

            wait(another_turn, message=f"{turns} training turns of another session")
        finally:
            other.disconnect()

    return train


@pytest.fixture(scope="session")
def live_server():
    """One real server with the default settings for the whole run (each start costs seconds): its tests open and
    close connections of their own. A module that needs other settings, or whose tests leave the server in a state
    others must not meet, defines its own `live_server`."""
    server = LiveServer()
    yield server
    server.stop()


@pytest.fixture
def restartable_server(live_server):
    """The run's live server, for a test that stops or restarts it (as a deploy or a crash would): whatever
    happened, it runs again for the next test."""
    yield live_server
    if live_server.process.poll() is not None:
        live_server.start()


@pytest.fixture
def start_server():
    """Start servers with custom settings (environment variables); all are stopped after the test."""
    servers = []

    def start(**environment) -> LiveServer:
        servers.append(LiveServer(**environment))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
