"""Entry point: `python app.py` serves the playground on 0.0.0.0:$PORT (default 5000) with eventlet's server."""

from playground.web import concurrency

concurrency.monkey_patch()  # before Flask and the rest are imported

from playground.web.factory import create_app  # noqa: E402
from playground.web.settings import Settings  # noqa: E402

settings = Settings.from_env()
app = create_app(settings)

if __name__ == "__main__":
    print(f"Neural Network Playground on http://localhost:{settings.port}", flush=True)
    concurrency.serve(app, settings.host, settings.port)
