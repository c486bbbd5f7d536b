"""Shared fixtures: the real eventlet server started as `python app.py` (tests/live_server.py)."""
from __future__ import annotations

import pytest

from tests.live_server import LiveServer


@pytest.fixture
def socketio(app):
    """The Flask-SocketIO of the test module's `app` fixture (each module builds the app with its settings)."""
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
