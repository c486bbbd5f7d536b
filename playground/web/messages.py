"""Payloads of the wire protocol (docs/protocol.md), built from a session. Pure functions: the frame builders run in
the native training thread."""

from __future__ import annotations

import math

import numpy as np

from .. import wire
from ..options import ConfigError, config_to_json
from ..seeds import SeedRun
from ..session import STOPPED, TrainingSession, render_frames


def frames(sessions: list[TrainingSession], focuses: list[int | None]) -> list[dict]:
    """`map_update` payloads of several sessions (their `seq` is set when stored), rendered in one batched pass per
    frame signature. Native thread."""
    rendered: dict[int, object] = {}
    by_signature: dict = {}
    for index, session in enumerate(sessions):
        by_signature.setdefault(session.frame_signature, []).append(index)
    for indices in by_signature.values():
        for index, picture in zip(
            indices, render_frames([sessions[i] for i in indices], [focuses[i] for i in indices]), strict=True
        ):
            rendered[index] = picture
    return [_frame_payload(session, rendered[index], focuses[index]) for index, session in enumerate(sessions)]


def frame(session: TrainingSession, focus: int | None) -> dict:
    """One session's `map_update` payload. Native thread."""
    return frames([session], [focus])[0]


def _frame_payload(session: TrainingSession, rendered, focus: int | None) -> dict:
    """Maps and parameters travel compact (playground/wire.py)."""
    return {
        "seq": 0,
        "epoch": session.epoch,
        "status": session.status,
        "trainLoss": _finite(session.train_loss),
        "testLoss": _finite(session.test_loss),
        "trainAccuracy": session.train_accuracy,
        "testAccuracy": session.test_accuracy,
        "loss": session.loss_name,
        "focus": focus,
        "layerSizes": session.net.layer_sizes,
        "features": session.feature_names,
        **wire.encode(rendered, session.net.flat, session.trainer.dead),
    }


def as_sent(frame_payload: dict, epochs_per_second: float) -> dict:
    """A stored frame as it goes to a viewer: with the training speed now (kept out of the stored frame, so that
    two frames of the same picture stay equal)."""
    return {**frame_payload, "epochsPerSecond": epochs_per_second}


def seed_update(run: SeedRun) -> dict:
    """A `seed_update` payload (its `seq` is set when sent): the run's summary and its members' small maps, drawn in
    one batched pass. Native thread."""
    return {"seq": 0, **run.summary(), "maps": wire.encode_small_maps([frame.heatmap for frame in run.render()])}


def state(session: TrainingSession) -> dict:
    reason = session.stop_reason if session.status == STOPPED else None
    return {"status": session.status, "epoch": session.epoch, "reason": reason or None}


def dataset(session: TrainingSession) -> dict:
    data = session.data
    triples = np.concatenate(
        [np.column_stack([data.train_points, data.train_labels]), np.column_stack([data.test_points, data.test_labels])]
    ).astype(np.float32)
    return {
        "trainCount": len(data.train_labels),
        "testCount": len(data.test_labels),
        "points": triples.tobytes(),
        "problem": session.config["problem"],
    }


def config(session: TrainingSession) -> dict:
    """The `config` and `hash` fields of every reply that carries the config: the options and the session's link."""
    return {"config": config_to_json(session.config), "hash": session.url_hash()}


DEGRADED = (
    "The class connection is interrupted (this server cannot reach the message queue): your own training goes on,"
    " and the room catches up when it is back."
)


def service(degraded: bool) -> dict:
    """A `service` payload: whether the services shared by the processes of a cluster are out of reach."""
    return {"degraded": degraded, "message": DEGRADED if degraded else None}


def error(event: str, problem: ConfigError | dict) -> dict:
    """An `error` payload: which field, and a sentence that says what is allowed."""
    fields = problem.errors if isinstance(problem, ConfigError) else problem
    first = next(iter(fields))
    return {"event": event, "field": first, "message": f"{first} {fields[first]}", "fields": fields}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def history(session: TrainingSession) -> dict:
    """`get_history`'s reply: every branch's losses (the current one along its whole line, the others from where
    they forked) as Float64Array bytes [epochs..., train losses..., test losses...], and the checkpoints' epochs on
    the current line. Native thread."""
    run = session.history

    def losses(branch) -> bytes:
        curve = run.curve(branch)
        first = 0 if branch is run.current else next(i for i, e in enumerate(curve.epochs) if e >= branch.start)
        return np.array([curve.epochs[first:], curve.train[first:], curve.test[first:]], dtype=np.float64).tobytes()

    return {
        "epoch": session.epoch,
        "current": run.current.id,
        "branches": [
            {"id": b.id, "label": b.label, "parent": b.parent, "start": b.start, "losses": losses(b)}
            for b in run.branches.values()
        ],
        "checkpoints": np.array(sorted(run.checkpoints()), dtype=np.float64).tobytes(),
    }
