"""`python app.py` on a free loopback port, as production runs it: used by the integration and browser tests and by
the benchmarks in bench/ (one launcher, so they all measure the same thing)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "test-results"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    """Settings come as keyword arguments, e.g. LiveServer(max_training_sessions=2) sets MAX_TRAINING_SESSIONS."""

    def __init__(self, **settings):
        self._configure(settings, port=free_port())
        self.start()

    @classmethod
    def several(cls, count: int, **settings) -> list[LiveServer]:
        """`count` servers with these settings, launched at once and then each waited for: their start-ups (mostly
        imports) overlap instead of queueing on a machine of more than one core."""
        servers: list[LiveServer] = []
        for _ in range(count):
            server = cls.__new__(cls)
            port = free_port()
            while port in {other.port for other in servers}:  # none is bound yet: a port may come up twice
                port = free_port()
            server._configure(settings, port)
            server.process = server._launch()
            servers.append(server)
        try:
            for server in servers:
                server._wait_healthy()
        except RuntimeError:
            for server in servers:
                server.stop()
            raise
        return servers

    def _configure(self, settings: dict, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}"
        self.environment = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATABASE_URL": str(LOGS / f"store-{self.port}.sqlite3"),  # kept across restart(), apart from others
            **{key.upper(): str(value) for key, value in settings.items()},  # database_url=... names another store
        }
        LOGS.mkdir(exist_ok=True)
        self.log_path = LOGS / f"server-{self.port}.log"

    def _launch(self) -> subprocess.Popen:
        with open(self.log_path, "a") as log:
            return subprocess.Popen(
                [sys.executable, "app.py"], cwd=ROOT, env=self.environment, stdout=log, stderr=subprocess.STDOUT
            )

    def start(self) -> None:
        self.process = self._launch()
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        try:
            wait_until(self._healthy, timeout=60, message=f"the server to answer /healthz (log: {self.log_path})")
        except (AssertionError, RuntimeError) as failure:
            self.stop()
            raise RuntimeError(f"the server did not start; see {self.log_path}") from failure

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError("the server process exited")
        try:
            return self.get("/healthz", timeout=1)["ok"]
        except OSError:
            return False

    def get(self, path: str, timeout: float = 5.0) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
            return json.loads(response.read())

    def health(self) -> dict:
        return self.get("/healthz")

    def counts(self) -> dict:
        """The server's connections and training sessions (from /metrics: /healthz tells strangers nothing)."""
        metrics = self.metrics()
        return {"connections": metrics["connections"], "training": metrics["training"]}

    def metrics(self, clear: bool = False) -> dict:
        """Event-loop lag (with measure_lag=1), sessions and memory; `clear` starts a new lag window."""
        return self.get("/metrics?clear=1" if clear else "/metrics")

    def wait_connections(self, count: int, timeout: float = 10.0) -> None:
        wait_until(lambda: self.counts()["connections"] == count, timeout, f"the server to have {count} connections")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def restart(self) -> None:
        """Stop the process and start a new one on the same port, as a deploy or a crash would."""
        self.stop()
        self.start()
