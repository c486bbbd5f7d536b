"""The document store: the same tests for every back end (`store` is parametrised over them)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from playground import store as store_module
from playground.store import MIGRATIONS, PostgresStore, SqliteStore, StoreError, open_store
from tests.live_server import ROOT, free_port


@pytest.fixture
def postgres_url(postgres):
    """A new database of the run's PostgreSQL (tests/conftest.py): each test starts from one no store has opened."""
    return postgres.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = str(tmp_path / "rooms.sqlite3") if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    opened = open_store(url)
    yield opened
    opened.close()


def test_a_document_comes_back_as_it_was_put(store):
    store.put("room", "K7QX", {"locks": ["learningRate"], "pushed": None, "count": 3})
    store.put("experiment", "abc", b"\x00\xffbinary")
    assert store.get("room", "K7QX") == {"locks": ["learningRate"], "pushed": None, "count": 3}
    assert store.get("experiment", "abc") == b"\x00\xffbinary"
    assert store.get("room", "NONE") is None
    assert store.get("member", "K7QX") is None  # kinds are apart


def test_add_claims_a_key_once_and_put_replaces(store):
    assert store.add("member", "K7QX/ana", {"n": 1})
    assert not store.add("member", "K7QX/ana", {"n": 2})
    assert store.get("member", "K7QX/ana") == {"n": 1}
    store.put("member", "K7QX/ana", {"n": 3})
    assert store.get("member", "K7QX/ana") == {"n": 3}


def test_add_from_many_threads_lets_exactly_one_win(store):
    winners = []
    barrier = threading.Barrier(8)

    def claim(number):
        barrier.wait()
        if store.add("room", "SAME", {"by": number}):
            winners.append(number)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert store.get("room", "SAME") == {"by": winners[0]}


def test_scan_finds_a_kind_by_literal_prefix(store):
    for key in ("K7QX/ana", "K7QX/bo", "K7QY/cy", "k7qx/lower", "K7Q%/odd", "K7Q_/odd"):
        store.put("member", key, {"key": key})
    store.put("room", "K7QX/ana", {"other": "kind"})
    assert list(store.scan("member", "K7QX/")) == ["K7QX/ana", "K7QX/bo"]
    assert list(store.scan("member", "K7Q%")) == ["K7Q%/odd"]
    assert list(store.scan("member", "K7Q_")) == ["K7Q_/odd"]
    assert len(store.scan("member")) == 6


def test_expired_documents_are_gone_and_purged(store):
    now = time.time()
    store.put("room", "OLD", {"a": 1}, expires_at=now - 1)
    store.put("room", "NEW", {"a": 2}, expires_at=now + 3600)
    store.put("room", "FOREVER", {"a": 3})
    assert store.get("room", "OLD") is None
    assert list(store.scan("room")) == ["FOREVER", "NEW"]
    assert store.add("room", "OLD", {"a": 4})  # an expired key may be claimed again
    store.put("room", "OLD", {"a": 4}, expires_at=now - 1)
    assert store.purge() == 1
    assert store.purge(now + 7200) == 1  # NEW, an hour later
    assert list(store.scan("room")) == ["FOREVER"]


def test_a_key_with_a_lone_surrogate_is_never_stored_and_never_found(store):
    odd = "K7QX:\ud800"  # a client's JSON may carry one; UTF-8 cannot
    assert store.get("member", odd) is None and not store.delete("member", odd) and store.scan("member", odd) == {}
    for write in (store.put, store.add):
        with pytest.raises(ValueError, match="lone surrogates"):
            write("member", odd, {"a": 1})


def test_delete_says_whether_there_was_something(store):
    store.put("room", "K7QX", {"a": 1})
    assert store.delete("room", "K7QX")
    assert not store.delete("room", "K7QX")
    assert store.get("room", "K7QX") is None


def test_nan_is_refused_before_it_is_stored(store):
    with pytest.raises(ValueError):
        store.put("room", "K7QX", {"loss": float("nan")})
    assert store.get("room", "K7QX") is None


def test_the_sqlite_file_is_created_on_first_use_and_keeps_its_documents(tmp_path):
    path = tmp_path / "deeper" / "playground.sqlite3"
    first = open_store(f"sqlite:///{path}")
    first.put("room", "K7QX", {"a": 1})
    first.close()
    again = SqliteStore(path)
    assert again.get("room", "K7QX") == {"a": 1}
    assert again.schema_version == len(MIGRATIONS)
    again.close()


def test_a_new_migration_is_applied_on_open_and_only_once(tmp_path, monkeypatch):
    path = tmp_path / "playground.sqlite3"
    SqliteStore(path).close()
    later = [*MIGRATIONS, ["CREATE TABLE later_feature (id TEXT PRIMARY KEY)"]]
    monkeypatch.setattr(store_module, "MIGRATIONS", later)
    for _ in range(2):  # a second open finds the table there and does not create it again
        opened = SqliteStore(path)
        assert opened.schema_version == len(later)
        opened.close()
    tables = sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert ("later_feature",) in tables


def test_a_store_newer_than_the_server_is_refused(tmp_path):
    path = tmp_path / "playground.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer than this server"):
        SqliteStore(path)


def test_an_unusable_store_says_so(tmp_path):
    (tmp_path / "not-a-db").write_bytes(b"this is no database" * 100)
    with pytest.raises(StoreError, match="cannot open the SQLite store"):
        SqliteStore(tmp_path / "not-a-db")
    with pytest.raises(StoreError, match="ftp:// is not a store"):
        open_store("ftp://example.org/db")


def test_postgresql_applies_a_new_migration_on_open_and_only_once(postgres_url, monkeypatch):
    PostgresStore(postgres_url).close()
    later = [*MIGRATIONS, ["CREATE TABLE later_feature (id TEXT PRIMARY KEY, payload {bytes})"]]
    monkeypatch.setattr(store_module, "MIGRATIONS", later)
    for _ in range(2):
        opened = PostgresStore(postgres_url)
        assert opened.schema_version == len(later)
        opened.close()
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS)
    with pytest.raises(StoreError, match="newer than this server"):
        PostgresStore(postgres_url)


def test_two_processes_share_the_postgresql_store(postgres_url):
    """What one process claims, the other sees and cannot claim: the store of a scaled-out deployment."""
    first, second = open_store(postgres_url), open_store(postgres_url)
    assert first.add("room", "K7QX", {"teacher": "first"})
    assert not second.add("room", "K7QX", {"teacher": "second"})
    assert second.get("room", "K7QX") == {"teacher": "first"}
    first.close()
    second.close()


def test_an_unreachable_postgresql_says_so_without_its_password():
    url = f"postgresql://playground:secret@127.0.0.1:{free_port()}/postgres?connect_timeout=2"
    with pytest.raises(StoreError) as failure:
        open_store(url)
    assert str(failure.value).startswith("cannot open the PostgreSQL store at postgresql://playground@127.0.0.1:")
    assert "secret" not in str(failure.value)


COOPERATIVE_PROBE = """
import sys, time
from playground.web import concurrency
concurrency.monkey_patch()
import eventlet
from playground.store import open_store
store = open_store(sys.argv[1])
ticks = []
def tick():
    while True:
        ticks.append(time.monotonic())
        eventlet.sleep(0.01)
ticker = eventlet.spawn(tick)
eventlet.sleep(0.05)
started = len(ticks)
store._run("SELECT pg_sleep(0.5)")
print(len(ticks) - started)
"""


def test_a_postgresql_query_lets_other_green_threads_run_under_eventlet(postgres_url):
    """The app's process is monkey-patched: while one green thread waits for PostgreSQL, the others (every client's
    frames) go on. With psycopg's default C wait the ticker would not tick once during the half-second query."""
    done = subprocess.run(
        [sys.executable, "-c", COOPERATIVE_PROBE, postgres_url], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 10  # a tick every 10 ms during 500 ms, with room for a loaded machine


def test_postgresql_opens_a_new_connection_after_losing_its_own(postgres_url):
    """A database restart or an idle timeout ends the connection: that one call fails (it is not retried: an add
    whose reply was lost could be claimed twice), and the next call works on a new connection."""
    import psycopg

    store = PostgresStore(postgres_url)
    store.put("room", "K7QX", {"a": 1})
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(  # this test's database only: the run's other tests share the server
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND datname = current_database()"
        )
    with pytest.raises(StoreError, match="the PostgreSQL store failed"):
        store.get("room", "K7QX")
    assert store.get("room", "K7QX") == {"a": 1}
    store.close()
