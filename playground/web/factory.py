"""The application factory: Flask for the page, Flask-SocketIO on eventlet for the live session."""

from __future__ import annotations

import gc
from pathlib import Path

from flask import Flask
from flask_socketio import SocketIO

from ..session import warm_up
from ..store import open_store
from . import classroom, concurrency, events, guard, memory, packets, pages
from .bus import LocalBus, RedisBus
from .hub import Hub
from .settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app; its SocketIO is `app.extensions["socketio"]`, its hub `app.extensions["playground_hub"]`.
    Raises store.StoreError when the store cannot be opened: better no server than one that serves half a room."""
    settings = settings or Settings.from_env()
    database = settings.database_url
    store = open_store(database if database == ":memory:" or "://" in database else str(ROOT / database))
    memory.configure_allocator()
    warm_up()
    pages.page_data()  # the page's thumbnails, computed once at start-up, not in a request
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.update(
        SECRET_KEY=settings.secret_key, PLAYGROUND_SETTINGS=settings, NODE_MODULES=str(ROOT / "node_modules")
    )
    app.register_blueprint(pages.blueprint)
    queue = settings.message_queue()
    socketio = SocketIO(
        app,
        async_mode=concurrency.ASYNC_MODE,
        message_queue=queue or None,  # cluster mode: emits to rooms reach the clients of every process
        cors_allowed_origins=settings.socketio_cors(),
        max_http_buffer_size=settings.max_http_buffer_size,
        json=packets,
        serializer=packets.packet_class(settings.max_attachments),  # pyright: ignore[reportCallIssue]
        always_connect=True,
    )  # lets the connect handler send the first frame
    server = socketio.server  # pyright: ignore[reportAttributeAccessIssue] (set by init_app, undeclared)
    guard.guard_socketio(server, settings)
    guard.guard_engineio(server.eio)
    app.wsgi_app = guard.Middleware(app.wsgi_app, pages.SECURITY_HEADERS, settings.proxies())
    bus = RedisBus(queue) if queue else LocalBus()
    hub = Hub(socketio, settings, store, bus)
    classroom.Classroom(hub, socketio)  # before events.register: its handlers are among events.HANDLERS
    events.register(socketio, hub)
    app.extensions["playground_hub"] = hub
    # Everything allocated so far (torch, Flask) lives as long as the process: keep it out of the garbage
    # collector's full passes, which otherwise scan ~325,000 objects and freeze every client for ~110 ms.
    gc.collect()
    gc.freeze()
    return app
