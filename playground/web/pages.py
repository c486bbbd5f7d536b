"""HTTP: the playground page, the features' full-size maps, the Socket.IO browser client from npm, a health check, and
security headers."""

from __future__ import annotations

import base64
import functools
import hmac
import json
import os

from flask import Blueprint, abort, current_app, render_template, request, send_from_directory

from .. import datasets, features, frames, history, rooms, saved
from ..options import FEATURES, MAX_HIDDEN_LAYERS, MAX_NEURONS, OPTIONS
from . import guard, saving

blueprint = Blueprint("pages", __name__)

# On every response, Socket.IO's included (guard.Middleware adds them). The policy: only the page's own files, no
# inline script, no eval, nothing from other hosts.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@functools.cache
def feature_maps():
    """The seven input features over the map's 100×100 grid, in the options table's order."""
    grid = frames.grid_points()
    return features.feature_matrix(grid, list(FEATURES)).t().reshape(len(FEATURES), frames.GRID_SIZE, frames.GRID_SIZE)


@functools.cache
def feature_map_bytes() -> bytes:
    """The features' full-size maps in the frames' byte code: 10,000 bytes each, in the options table's order. The
    page shows one in the big map while an inactive feature is hovered (frames carry active nodes only)."""
    return frames.quantize(feature_maps())


def script_json(value) -> str:
    """JSON to put in a page's `<script type="application/json">` (a "</" in a string cannot close the element)."""
    return json.dumps(value).replace("</", "<\\/")


@functools.cache
def page_data() -> str:
    """What the page needs before it connects, as JSON: the options table (with the network's limits) and the
    static thumbnails."""
    return script_json(
        {
            "options": [option.to_json() for option in OPTIONS],
            "features": list(FEATURES),
            "limits": {"hiddenLayers": [0, MAX_HIDDEN_LAYERS], "neurons": [1, MAX_NEURONS]},
            "branchOptions": list(history.BRANCH_OPTIONS),
            "saving": {"title": saved.TITLE_LENGTH, "note": saved.NOTE_LENGTH},
            "featureThumbnails": base64.b64encode(frames.thumbnails(feature_maps())).decode(),
            "datasetThumbnails": {
                name: [[round(v, 3) for v in point] for point in datasets.thumbnail_points(name)]
                for name in datasets.GENERATORS
            },
        }
    )


@blueprint.route("/")
def index():
    return render_template("index.html", page_data=page_data())


@blueprint.route("/e/<experiment_id>")
def saved_experiment(experiment_id):
    """A saved experiment's link: the page, which opens it (`open_experiment`); an id that names none is a plain
    404 page that says so."""
    hub = current_app.extensions["playground_hub"]
    if hub.saves.find(saving.EXPERIMENT, experiment_id) is None:
        return missing()
    return render_template("index.html", page_data=page_data())


@blueprint.route("/g/<gallery_id>")
def gallery(gallery_id):
    """A class's saved wall (`save_gallery`): each run's output map, name, epoch and test loss, and its /e/ link."""
    found = current_app.extensions["playground_hub"].saves.find_gallery(gallery_id)
    if found is None:
        return missing()
    return render_template("gallery.html", gallery=found, gallery_data=script_json(found))


def missing():
    """The 404 page of a saved experiment's or a gallery's link that names none."""
    return current_app.response_class(render_template("missing.html"), status=404, mimetype="text/html")


def _class_code(code: str) -> str:
    try:
        return rooms.read_code(code)
    except rooms.RoomError:
        abort(404)


@blueprint.route("/join/<code>")
def join(code):
    """The playground, asking for a display name to join the class `code` (the page reads its address)."""
    _class_code(code)
    return render_template("index.html", page_data=page_data())


@blueprint.route("/teach/<code>")
def teach(code):
    """The teacher's wall: every learner's run, the class view and the teacher's controls."""
    return render_template("teach.html", page_data=page_data(), code=_class_code(code))


@blueprint.route("/project/<code>")
def project(code):
    """The projector: the run the teacher spotlights, full screen, read-only."""
    return render_template("project.html", page_data=page_data(), code=_class_code(code))


@blueprint.route("/feature-maps")
def feature_map_file():
    """`feature_map_bytes()`, the same for every client and every start, so browsers may keep it a day."""
    response = current_app.response_class(feature_map_bytes(), mimetype="application/octet-stream")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@blueprint.route("/vendor/<any('socket.io.esm.min.js', 'socket.io.esm.min.js.map'):name>")
def socketio_client(name):
    """The Socket.IO client (and its source map), served from the npm package that package-lock.json pins."""
    return send_from_directory(current_app.config["NODE_MODULES"] + "/socket.io-client/dist", name)


@blueprint.route("/healthz")
def health():
    """Healthy or not, for a load balancer: nothing about who is connected."""
    return {"ok": True}


@blueprint.route("/metrics")
def metrics():
    """Numbers for the benchmarks in bench/ and operators: event-loop lag (with MEASURE_LAG=1), sessions, memory,
    whether the cluster's shared services are out of reach.
    `?clear=1` starts a new lag window after reporting the current one. Only for loopback, or for the bearer of
    METRICS_TOKEN."""
    if not metrics_allowed():
        abort(404)
    hub = current_app.extensions["playground_hub"]
    lags = sorted(hub.lag_samples)
    if request.args.get("clear"):  # start a new measuring window
        hub.lag_samples.clear()
    quantile = (lambda q: round(lags[min(len(lags) - 1, int(q * len(lags)))] * 1000, 3)) if lags else (lambda q: None)
    return {
        "connections": len(hub.connections),
        "training": hub.training_count(),
        "lagMs": {"samples": len(lags), "p50": quantile(0.5), "p99": quantile(0.99), "max": quantile(1.0)},
        "rssBytes": resource_usage_rss(),
        "busDegraded": hub.bus.degraded,  # cluster mode: this process cannot reach Redis (never, alone)
    }


def metrics_allowed() -> bool:
    token = current_app.config["PLAYGROUND_SETTINGS"].metrics_token
    return request.remote_addr in guard.LOOPBACK or (
        bool(token) and hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}")
    )


def resource_usage_rss() -> int:
    """Resident memory of this process now (Linux /proc), in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
