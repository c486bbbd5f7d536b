"""Payloads of the wire protocol (docs/protocol.md), built from a session. Pure functions: the frame builders run in
the native training thread."""
from __future__ import annotations

import math

import numpy as np

from .. import wire
from ..options import ConfigError
from ..session import RUNNING, STOPPED, TrainingSession


def frame(session: TrainingSession, focus: int | None) -> dict:
    """A `map_update` payload (its `seq` is set by the hub); maps and parameters travel compact (playground/wire.py)."""
    if focus is not None and focus >= sum(session.net.layer_sizes):
        focus = None                                 # the focused node went with a smaller network
    rendered = session.frame(focus)
    return {"seq": 0, "epoch": session.epoch, "status": session.status,
            "trainLoss": _finite(session.train_loss), "testLoss": _finite(session.test_loss),
            "trainAccuracy": session.train_accuracy, "testAccuracy": session.test_accuracy,
            "loss": session.loss_name, "focus": focus,
            "layerSizes": session.net.layer_sizes, "features": session.feature_names,
            **wire.encode(rendered, session.net.flat, session.trainer.dead)}


def train_turn(session: TrainingSession, seconds: float, max_epochs: int | None, render: bool,
               focus: int | None) -> dict | None:
    """One scheduler turn (native thread): train for `seconds` (or `max_epochs`), and return a frame when one is
    due or training ended. A session stopped since the turn was scheduled is left alone."""
    if session.status != RUNNING:
        return None
    session.train_for(seconds, max_epochs)
    return frame(session, focus) if render or session.status != RUNNING else None


STEP_RESULT_FIELDS = ("epoch", "trainLoss", "testLoss", "trainAccuracy", "testAccuracy", "loss")


def step_result(frame_payload: dict, epochs_per_second: float) -> dict:
    return {**{name: frame_payload[name] for name in STEP_RESULT_FIELDS}, "epochsPerSecond": epochs_per_second}


def state(session: TrainingSession) -> dict:
    reason = session.stop_reason if session.status == STOPPED else None
    return {"status": session.status, "epoch": session.epoch, "reason": reason or None}


def dataset(session: TrainingSession) -> dict:
    data = session.data
    triples = np.concatenate([
        np.column_stack([data.train_points, data.train_labels]),
        np.column_stack([data.test_points, data.test_labels])]).astype(np.float32)
    return {"trainCount": len(data.train_labels), "testCount": len(data.test_labels),
            "points": triples.tobytes(), "problem": session.config["problem"]}


def config(session: TrainingSession) -> dict:
    return dict(session.config, networkShape=list(session.config["networkShape"]))


def error(event: str, problem: Exception | dict) -> dict:
    """An `error` payload: which field, and a sentence that says what is allowed."""
    fields = problem.errors if isinstance(problem, ConfigError) else problem
    first = next(iter(fields))
    return {"event": event, "field": first, "message": f"{first} {fields[first]}", "fields": fields}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None

