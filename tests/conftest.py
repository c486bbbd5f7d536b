"""Shared fixtures: the app (built with each module's settings), its Socket.IO and hub, waiting for the test client,
and the real eventlet server started as `python app.py` (tests/live_server.py)."""

from __future__ import annotations

import functools

import pytest

from playground.web.factory import create_app
from playground.web.settings import Settings
from tests.live_server import LiveServer
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


@pytest.fixture(scope="module")
def app(make_app, app_settings):
    return make_app(**app_settings)


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


@pytest.fixture(scope="module")
def live_server():
    server = LiveServer()
    yield server
    server.stop()


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
