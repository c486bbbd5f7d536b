"""Entry point: `python app.py` serves the playground on 0.0.0.0:$PORT (default 5000) with eventlet's server."""

import sys

from playground.web import concurrency

concurrency.monkey_patch()  # before Flask and the rest are imported

from playground.store import StoreError  # noqa: E402
from playground.web.factory import create_app  # noqa: E402
from playground.web.settings import Settings  # noqa: E402

settings = Settings.from_env()
try:
    app = create_app(settings)
except StoreError as problem:  # no server rather than one that serves half a room
    print(f"Neural Network Playground cannot start: {problem}", file=sys.stderr, flush=True)
    sys.exit(1)

if __name__ == "__main__":
    print(f"Neural Network Playground on http://localhost:{settings.port}", flush=True)
    concurrency.serve(app, settings.host, settings.port)
