"""Saved experiments: a whole session as compact bytes, and back, exactly.

What is kept: the config and the link's extra keys, the data trained on (own points included), the random stream's
state, the network with its whole training state (playground/history.py's checkpoint of now), the initial weights,
the stop rules' state, and the time travel history (every branch's losses and checkpoints, with the data each
trained on; a checkpoint without carried samples leaves out their summed gradient, which nothing reads).
Opening the bytes gives a session that trains on exactly as the saved one would have.

Layout: `MAGIC`, then a zlib stream of a 4-byte little-endian header length, a JSON header (everything small, and
where each array is) and the arrays' raw little-endian bytes one after the other. No pickle: opening untrusted
bytes runs no code, and bad bytes raise `SavedError`.
"""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import torch

from . import datasets, history
from .network import Evaluation
from .options import config_to_json
from .rng import SeedRandom
from .session import TrainingSession

MAGIC = b"NNPG\x02"
# Version 1 kept the ARC4 generator's inner state, which missed the keystream made ahead: it never restored the
# random stream exactly. Its experiments open with the stream of a new session of their config.
FIRST_VERSION_MAGIC = b"NNPG\x01"
TITLE_LENGTH, NOTE_LENGTH = 120, 2000


class SavedError(ValueError):
    """The bytes are not a saved experiment this server can open."""


class _Arrays:
    """Arrays written one after the other; the header names each by its position."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.specs: list[list] = []

    def add(self, array) -> int:
        array = np.ascontiguousarray(array.numpy() if isinstance(array, torch.Tensor) else array)
        self.specs.append([array.dtype.str, list(array.shape)])
        self.parts.append(array.tobytes())
        return len(self.specs) - 1


def pack(session: TrainingSession, title: str = "", note: str = "") -> bytes:
    """The session as bytes (see the module's docstring). Native thread: it reads the session."""
    arrays = _Arrays()
    data_index: dict[int, int] = {}

    def data(split: datasets.DataSplit) -> int:
        if id(split) not in data_index:
            data_index[id(split)] = arrays.add(
                np.concatenate(
                    [
                        np.column_stack([split.train_points, split.train_labels]),
                        np.column_stack([split.test_points, split.test_labels]),
                    ]
                )
            )
            arrays.add(np.array([len(split.train_labels)]))
        return data_index[id(split)]

    size = session.net.flat.numel()

    def checkpoint(c: history.Checkpoint) -> dict:
        # Without carried samples the summed gradient is never read (the next batch overwrites it): not kept.
        state = c.state if c.carried else torch.cat([c.state[:size], c.state[2 * size :]])
        return {
            "epoch": c.epoch,
            "state": arrays.add(state),
            "dead": None if c.dead is None else arrays.add(c.dead.numpy().astype(np.uint8)),
            "carried": c.carried,
            "steps": c.steps,
            "evaluation": list(c.evaluation),
            "rule": c.rule,
            "data": data(c.data),
        }

    run = session.history
    header = {
        "config": config_to_json(session.config),
        "extras": session.url_extras,
        "title": title,
        "note": note,
        "rng": session.rng.state(),
        "initial": session.initial_parameters,
        "stopRules": [session._started_at_epoch, session._stopped_below],
        "now": checkpoint(session.checkpoint()),
        "branches": [
            {
                "id": b.id,
                "label": b.label,
                "parent": b.parent,
                "start": b.start,
                "stride": b.losses.stride,
                "losses": arrays.add(np.array([b.losses.epochs, b.losses.train, b.losses.test], dtype=np.float64)),
                "checkpoints": [checkpoint(c) for c in b.checkpoints.values()],
            }
            for b in run.branches.values()
        ],
        "current": run.current.id,
    }
    header["arrays"] = arrays.specs
    head = json.dumps(header, separators=(",", ":")).encode()
    return MAGIC + zlib.compress(struct.pack("<I", len(head)) + head + b"".join(arrays.parts), 9)


def header(blob: bytes) -> dict:
    """The header alone (title, note, config), without building a session."""
    return _read(blob)[0]


def _read(blob: bytes) -> tuple[dict, list[np.ndarray]]:
    if not isinstance(blob, bytes) or not blob.startswith((MAGIC, FIRST_VERSION_MAGIC)):
        raise SavedError("not a saved experiment")
    try:
        raw = zlib.decompress(blob[len(MAGIC) :])
        (length,) = struct.unpack_from("<I", raw)
        head = json.loads(raw[4 : 4 + length])
        arrays, offset = [], 4 + length
        for dtype, shape in head["arrays"]:
            array = np.frombuffer(raw, dtype=np.dtype(dtype), count=int(np.prod(shape)), offset=offset)
            arrays.append(array.reshape(shape).copy())
            offset += array.nbytes
    except (zlib.error, struct.error, ValueError, KeyError, TypeError) as problem:
        raise SavedError(f"a damaged saved experiment ({problem})") from None
    return head, arrays


def unpack(blob: bytes) -> tuple[TrainingSession, dict]:
    """A stopped session exactly as saved, and the header (title, note). Raises SavedError on bad bytes."""
    head, arrays = _read(blob)
    try:
        return _session(head, arrays), head
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as problem:
        raise SavedError(f"a damaged saved experiment ({problem})") from None


def _session(head: dict, arrays: list[np.ndarray]) -> TrainingSession:
    session = TrainingSession(head["config"], head["extras"])
    splits: dict[int, datasets.DataSplit] = {}

    def data(index: int) -> datasets.DataSplit:
        if index not in splits:
            table, (train_count,) = arrays[index], arrays[index + 1]
            splits[index] = datasets.DataSplit(
                table[:train_count, :2].copy(), table[:train_count, 2].copy(),
                table[train_count:, :2].copy(), table[train_count:, 2].copy(),
            )  # fmt: skip
        return splits[index]

    size = session.net.flat.numel()

    def checkpoint(c: dict) -> history.Checkpoint:
        dead = None if c["dead"] is None else torch.from_numpy(arrays[c["dead"]].astype(bool))
        state = torch.from_numpy(arrays[c["state"]])
        if not c["carried"]:
            state = torch.cat([state[:size], torch.zeros(size, dtype=state.dtype), state[size:]])
        return history.Checkpoint(
            c["epoch"],
            state,
            dead,
            c["carried"],
            c["steps"],
            Evaluation(*c["evaluation"]),
            c["rule"],
            data(c["data"]),
        )

    now = checkpoint(head["now"])
    if len(head["rng"]) == 2:  # version 1's was three numbers (see FIRST_VERSION_MAGIC)
        session.rng = SeedRandom.from_state(head["rng"])
    session.initial_parameters = tuple(head["initial"])
    session.data = now.data
    session._attach_data()
    history.restore(now, session.trainer)
    session.epoch = now.epoch
    session._started_at_epoch, session._stopped_below = head["stopRules"]
    session._evaluate()
    branches = {}
    for b in head["branches"]:
        epochs, train, test = arrays[b["losses"]].tolist()
        losses = history.LossCurve([int(e) for e in epochs], train, test, b["stride"])
        kept = {c["epoch"]: checkpoint(c) for c in b["checkpoints"]}
        branches[b["id"]] = history.Branch(b["id"], b["label"], b["parent"], b["start"], losses, kept)
    session.history = history.History.restored(branches, head["current"])
    return session
