"""Shared fixtures: the Flask-SocketIO test client, and the real eventlet server started as `python app.py`."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    """`python app.py` on a free loopback port, as production runs it."""

    def __init__(self, **environment):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.environment = dict(os.environ, HOST="127.0.0.1", PORT=str(self.port),
                                **{key.upper(): str(value) for key, value in environment.items()})
        self.start()

    def start(self) -> None:
        self.log = open(ROOT / "test-results" / f"server-{self.port}.log", "a")
        self.process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=self.environment, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not start; see {self.log.name}")
            time.sleep(0.1)

    def health(self) -> dict:
        return requests.get(self.url + "/healthz", timeout=5).json()

    def metrics(self) -> dict:
        return requests.get(self.url + "/metrics", timeout=5).json()

    def restart(self) -> None:
        """Stop the process and start a new one on the same port, as a deploy or a crash would."""
        self.stop()
        self.start()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture(scope="session", autouse=True)
def results_folder():
    (ROOT / "test-results").mkdir(exist_ok=True)


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
