"""Where rooms and saved experiments outlive the process: one small document store, several back ends.

A document is a JSON object (or bytes) under a `kind` ("room", "member", "experiment", ...) and a `key`, with an
optional expiry time (seconds since the epoch). The interface is what rooms and saved runs need and what every back
end does atomically: `add` (insert unless the key exists: a join code or a display name is claimed once, even by two
processes at the same moment), `put` (insert or replace), `get`, `delete`, `scan` (every document of a kind whose
key starts with a prefix) and `purge` (drop the expired). Back ends: SQLite through the standard library's
`sqlite3` (the embedded default, one file created on first use) and, when the project is scaled out, PostgreSQL
through psycopg 3, shared by every process (see `open_store`). The schema is versioned: `MIGRATIONS[i]` takes the
database from version i to i + 1, and opening a store applies the missing ones in one transaction; the statements
are written once for both back ends, with the two column types they name differently left as `{bytes}` and
`{float}`.

Pure Python and blocking: a call takes well under a millisecond on a local file, so the web layer calls it from
green threads directly (never from the native training thread). Under eventlet, psycopg must wait for the server
through the monkey-patched `select`, not its C poll, or a query would block every green thread of the process:
`concurrency.monkey_patch()` chooses that (tests/test_store.py checks it).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, LiteralString, Protocol, cast

Document = dict | bytes

MIGRATIONS: list[list[str]] = [
    [
        "CREATE TABLE documents (kind TEXT NOT NULL, key TEXT NOT NULL, value {bytes} NOT NULL,"
        " is_json INTEGER NOT NULL, expires_at {float}, PRIMARY KEY (kind, key))",
        "CREATE INDEX documents_expiry ON documents (expires_at)",
    ],
]


class StoreError(Exception):
    """The store cannot be reached or used (the server says so and does not serve half a room)."""


class Store(Protocol):
    def add(self, kind: str, key: str, value: Document, expires_at: float | None = None) -> bool: ...
    def put(self, kind: str, key: str, value: Document, expires_at: float | None = None) -> None: ...
    def get(self, kind: str, key: str) -> Document | None: ...
    def delete(self, kind: str, key: str) -> bool: ...
    def scan(self, kind: str, prefix: str = "") -> dict[str, Document]: ...
    def purge(self, now: float | None = None) -> int: ...
    def close(self) -> None: ...


def encode(value: Document) -> tuple[bytes, bool]:
    if isinstance(value, bytes):
        return value, False
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode(), True


def decode(raw: bytes, is_json: bool) -> Document:
    return json.loads(raw) if is_json else bytes(raw)


def _storable(key: str) -> bool:
    """Text the databases can hold: UTF-8, so no lone surrogate (which a client's JSON may carry)."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_key(key: str) -> None:
    if not _storable(key):
        raise ValueError("a key must be text without lone surrogates (UTF-8)")


class _SqlStore(ABC):
    """The documents in one SQL table, the same statements for both back ends: written with `?` for parameters
    (PostgreSQL's driver takes `%s`: its `_run` swaps them) and `KEY_ORDER` for the byte order of keys."""

    TYPES: ClassVar[dict[str, str]]
    KEY_ORDER: ClassVar[str]

    @abstractmethod
    def _run(self, sql: str, parameters: tuple = ()) -> list:
        """Run one statement: its rows, or [the number of rows it changed]."""

    def add(self, kind: str, key: str, value: Document, expires_at: float | None = None) -> bool:
        _check_key(key)
        # One statement: inserted, or it replaced an expired document; a live one is left as it is.
        raw, is_json = encode(value)
        changed = self._run(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET"
            " value = excluded.value, is_json = excluded.is_json, expires_at = excluded.expires_at"
            " WHERE documents.expires_at <= ?",
            (kind, key, raw, int(is_json), expires_at, time.time()),
        )
        return changed[0] == 1

    def put(self, kind: str, key: str, value: Document, expires_at: float | None = None) -> None:
        _check_key(key)
        raw, is_json = encode(value)
        self._run(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET"
            " value = excluded.value, is_json = excluded.is_json, expires_at = excluded.expires_at",
            (kind, key, raw, int(is_json), expires_at),
        )

    def get(self, kind: str, key: str) -> Document | None:
        if not _storable(key):
            return None  # never stored
        rows = self._run(
            "SELECT value, is_json FROM documents WHERE kind = ? AND key = ?"
            " AND (expires_at IS NULL OR expires_at > ?)",
            (kind, key, time.time()),
        )
        return decode(rows[0][0], bool(rows[0][1])) if rows else None

    def delete(self, kind: str, key: str) -> bool:
        if not _storable(key):
            return False
        return self._run("DELETE FROM documents WHERE kind = ? AND key = ?", (kind, key))[0] == 1

    def scan(self, kind: str, prefix: str = "") -> dict[str, Document]:
        if not _storable(prefix):
            return {}
        rows = self._run(
            "SELECT key, value, is_json FROM documents WHERE kind = ? AND substr(key, 1, ?) = ?"
            f" AND (expires_at IS NULL OR expires_at > ?) ORDER BY {self.KEY_ORDER}",
            (kind, len(prefix), prefix, time.time()),
        )
        return {key: decode(raw, bool(is_json)) for key, raw, is_json in rows}

    def purge(self, now: float | None = None) -> int:
        return self._run("DELETE FROM documents WHERE expires_at <= ?", (time.time() if now is None else now,))[0]


class SqliteStore(_SqlStore):
    """The embedded store: one SQLite file (`:memory:` for a throwaway one). One connection, guarded by a lock, so
    that any thread may call it; WAL mode lets another process read while this one writes."""

    TYPES: ClassVar[dict[str, str]] = {"bytes": "BLOB", "float": "REAL"}  # SQLite's REAL is 8 bytes
    KEY_ORDER = "key"  # SQLite compares text byte by byte

    def __init__(self, path: str | Path):
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=5.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._lock = threading.Lock()
            self._migrate()
        except sqlite3.Error as problem:
            raise StoreError(f"cannot open the SQLite store at {path}: {problem}") from problem

    def _migrate(self) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                if version > len(MIGRATIONS):
                    raise StoreError(f"the store's schema is version {version}, newer than this server's")
                for statements in MIGRATIONS[version:]:
                    for statement in statements:
                        self._db.execute(statement.format(**self.TYPES))
                self._db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        return self._run("PRAGMA user_version")[0][0]

    def _run(self, sql: str, parameters: tuple = ()) -> list:
        try:
            with self._lock:
                cursor = self._db.execute(sql, parameters)
                return cursor.fetchall() if cursor.description else [cursor.rowcount]
        except sqlite3.Error as problem:
            raise StoreError(f"the SQLite store failed: {problem}") from problem

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresStore(_SqlStore):
    """The shared store: one PostgreSQL database for every process of a deployment. One connection in autocommit
    (each statement is its own transaction, and each operation is one statement), which psycopg lets any thread
    use; a broken connection is opened again on the next call. The schema version is kept in a table of its own,
    and two processes starting together migrate one after the other (an advisory lock)."""

    # PostgreSQL's REAL is 4 bytes: an expiry time would be off by minutes.
    TYPES: ClassVar[dict[str, str]] = {"bytes": "BYTEA", "float": "DOUBLE PRECISION"}
    KEY_ORDER = 'key COLLATE "C"'  # byte order, as SQLite's, whatever the database's locale
    MIGRATION_LOCK = 7_413_001  # any number, the same in every process

    def __init__(self, url: str):
        import psycopg  # only a deployment that names PostgreSQL needs the package

        self._psycopg = psycopg
        self._url = url
        self._lock = threading.Lock()
        self._db = None
        try:
            self._migrate()
        except psycopg.Error as problem:
            raise StoreError(f"cannot open the PostgreSQL store at {_without_password(url)}: {problem}") from problem

    def _connection(self):
        if self._db is None or self._db.closed:
            self._db = self._psycopg.connect(self._url, autocommit=True, connect_timeout=5)
        return self._db

    def _migrate(self) -> None:
        with self._lock, self._connection().transaction():
            db = self._connection()
            db.execute("SELECT pg_advisory_xact_lock(%s)", (self.MIGRATION_LOCK,))
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            version = row[0] if row else 0
            if version > len(MIGRATIONS):
                raise StoreError(f"the store's schema is version {version}, newer than this server's")
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    db.execute(cast(LiteralString, statement.format(**self.TYPES)))  # our own SQL
            db.execute("DELETE FROM schema_version")
            db.execute("INSERT INTO schema_version VALUES (%s)", (len(MIGRATIONS),))

    @property
    def schema_version(self) -> int:
        return self._run("SELECT version FROM schema_version")[0][0]

    def _run(self, sql: str, parameters: tuple = ()) -> list:
        try:
            with self._lock:
                cursor = self._connection().execute(cast(LiteralString, sql.replace("?", "%s")), parameters)
                return cursor.fetchall() if cursor.description else [cursor.rowcount]
        except self._psycopg.Error as problem:
            raise StoreError(f"the PostgreSQL store failed: {problem}") from problem

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()


def _without_password(url: str) -> str:
    scheme, _, rest = url.partition("://")
    credentials, at, place = rest.rpartition("@")
    return f"{scheme}://{credentials.split(':')[0]}{at}{place}" if at else url


def open_store(url: str) -> Store:
    """The store a setting names: a file path or `sqlite:///PATH` (the default), `:memory:` for tests, or
    `postgresql://USER:PASSWORD@HOST:PORT/DATABASE` (also `postgres://`, as Heroku writes it) for a shared one."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    if "://" in path:
        raise StoreError(
            f"DATABASE_URL {url.split('://')[0]}:// is not a store this server knows"
            " (sqlite:///PATH or postgresql://...)"
        )
    return SqliteStore(path)
