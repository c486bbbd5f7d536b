"""The real servers a scaled-out deployment runs on, started for tests and benchmarks on free loopback ports:
redis-server, PostgreSQL (initdb into a temporary folder) and HAProxy with the repository's own config.

Each is a Debian package (`make services` installs them as root). Where one is missing a test skips with the
reason, except in CI (`CI` set), where the missing server is a failure: CI must run these tests.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.live_server import LOGS, ROOT, free_port
from tests.waiting import wait_until

HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"


def require(program: str | None, package: str) -> str:
    """The path of a server's program; a missing one skips the test (fails it in CI)."""
    if program and Path(program).exists():
        return program
    reason = f"{package} is not installed (make services, or apt-get install {package})"
    if os.environ.get("CI"):
        raise RuntimeError(f"{reason}: CI must run the scale-out tests")
    pytest.skip(reason)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class RedisServer:
    """redis-server on a free port. `stop()` then `start()` is an outage on the same port. It keeps nothing on disk,
    unless `persistent`: then every write is in an append-only file that the restart reads back, so the outage is
    Redis away and not also Redis losing what it held (a restart without it drops entries written just before the
    stop that no reader had read yet: a bus test lost its message 7, written as its outage began)."""

    def __init__(self, persistent: bool = False):
        self.program = require(shutil.which("redis-server"), "redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        if persistent:
            LOGS.mkdir(exist_ok=True)
        self.directory = tempfile.mkdtemp(prefix=f"redis-{self.port}-", dir=LOGS) if persistent else None
        self.start()

    def start(self) -> None:
        arguments = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        if self.directory is None:
            arguments += ["--appendonly", "no"]
        else:
            arguments += ["--appendonly", "yes", "--appendfsync", "always", "--dir", self.directory]
        self.process = subprocess.Popen([self.program, *arguments], stdout=subprocess.DEVNULL)
        wait_until(lambda: self.command("PING") == "PONG", message="redis-server to answer PING")

    def command(self, *arguments: str) -> str:
        """One redis-cli command's output ('' while the server does not answer)."""
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), *arguments], capture_output=True, text=True, timeout=10, check=False
        )
        return done.stdout.strip() if done.returncode == 0 and "Could not connect" not in done.stdout else ""

    def info(self, section: str) -> dict[str, str]:
        lines = self.command("INFO", section).splitlines()
        return dict(line.split(":", 1) for line in lines if ":" in line and not line.startswith("#"))

    def stop(self) -> None:
        _stop(self.process)


def postgres_program(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class PostgresServer:
    """A PostgreSQL cluster of its own in a temporary folder, trusting loopback connections. initdb refuses to run
    as root, so as root it runs as the `postgres` user (which owns the folder)."""

    def __init__(self):
        initdb = require(postgres_program("initdb"), "postgresql")
        self.pg_ctl = require(postgres_program("pg_ctl"), "postgresql")
        self.folder = Path(tempfile.mkdtemp(prefix="playground-postgres-"))
        self.data = self.folder / "data"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        self.url = f"postgresql://playground@127.0.0.1:{self.port}/postgres"
        self._run(initdb, "-D", str(self.data), "-U", "playground", "--auth=trust", "--encoding=UTF8", "--no-sync")
        LOGS.mkdir(exist_ok=True)
        self.log_path = self.folder / "server.log"
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(self.pg_ctl, "start", "-w", "-D", str(self.data), "-l", str(self.log_path), "-o", options)
        self.databases = 0

    def new_database(self) -> str:
        """The URL of a new, empty database of this server: a store nobody has opened yet (creating one takes a few
        milliseconds, so every test or app that needs a fresh store gets its own, and none is dropped)."""
        import psycopg
        from psycopg import sql

        self.databases += 1
        name = f"store_{self.databases}"
        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_owner, *command], check=True, capture_output=True, timeout=120)

    def stop(self) -> None:
        self._run(self.pg_ctl, "stop", "-m", "fast", "-D", str(self.data))
        shutil.rmtree(self.folder, ignore_errors=True)


# For the tests the store matters to (saved experiments, drafts, galleries): the test, or a module's `pytestmark`, runs
# once on SQLite and once on the run's one PostgreSQL server; its `app` and `new_database()` (tests/conftest.py) are
# on that back end.
on_both_back_ends = pytest.mark.parametrize("back_end", ["sqlite", "postgresql"], indirect=True)


def cluster_settings(redis_url: str, front_port: int) -> dict:
    """An app process's settings in a cluster (LiveServer's keywords): the queue, HAProxy on loopback as the proxy
    whose X-Forwarded-For is believed, and the front's address as an origin (the page is served from there)."""
    return {
        "message_queue_url": redis_url,
        "trusted_proxies": "127.0.0.1",
        "cors_allowed_origins": f"http://127.0.0.1:{front_port}",
    }


class HAProxy:
    """HAProxy with deploy/haproxy.cfg in front of the given app servers' ports, listening on `port` (a free one
    unless given: the app processes must know the front's address, their pages' origin, before they start)."""

    def __init__(self, backends: list[int], port: int | None = None):
        program = require(shutil.which("haproxy"), "haproxy")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = dict(
            os.environ,
            FRONT_HOST="127.0.0.1",
            FRONT_PORT=str(self.port),
            **{f"APP{number}_PORT": str(port) for number, port in enumerate(backends, start=1)},
        )
        LOGS.mkdir(exist_ok=True)
        self.log_path = LOGS / f"haproxy-{self.port}.log"
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [program, "-db", "-f", str(HAPROXY_CONFIG)], env=environment, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(self._listening, message=f"HAProxy to listen (log: {self.log_path})")

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"HAProxy exited; see {self.log_path}")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        _stop(self.process)
