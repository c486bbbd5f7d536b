"""Bytes of `map_update` on the wire, the JSON-and-raw-bytes encoding before playground/wire.py against it, and the
CPU of encoding. Prints one JSON object.

    .venv/bin/python bench/frames.py [--frames 90]

One training run per case (bench/engine.py's default and largest networks, fixed seeds), a frame taken every
`epochsPerFrame` epochs, about what 30 frames a second see at the engine's speed. Each frame's `map_update` is
encoded by python-socketio's own packet encoder and counted as it travels on a WebSocket: the Engine.IO text
message (its type digit and the Socket.IO packet with the placeholders) and one binary message per attachment,
each with its WebSocket frame header. CPU times are this thread's (time.thread_time), so other load on the
machine inflates them little. Bytes per second per client are 30 frames: a `map_update` now (which carries its
step's result), against the old `map_update` and the `step_result` event that went with it. `alternatives` measures the
other ways to pack the maps (zlib level and strategy, Up filter or
none, one zlib stream or two) on the same frames: bytes and µs per frame, to show why wire.py packs as it does.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import zlib

import numpy as np
import torch
from socketio import packet

from bench.engine import CASES
from bench.load import _websocket_bytes
from playground import wire
from playground.frames import GRID_SIZE, THUMBNAIL_SIZE
from playground.session import TrainingSession
from playground.web import messages

RUNS = {"default": (CASES["a_default"], 50), "largest": (CASES["b_6x8_all_features"], 20)}
TARGET_MEDIAN_BYTES = {"default": 2048, "largest": 6144}
FRAMES_PER_SECOND = 30
ACK_ID = 1000  # the server numbers the acknowledgements of its emits; a long session's ids have 4-6 digits


def wire_bytes(event: str, payload: dict) -> int:
    """Bytes on a WebSocket of one server -> client Socket.IO event that asks for an acknowledgement."""
    encoded = packet.Packet(packet.EVENT, [event, payload], id=ACK_ID).encode()
    text, *attachments = encoded if isinstance(encoded, list) else [encoded]
    return _websocket_bytes(1 + len(text.encode())) + sum(_websocket_bytes(len(part)) for part in attachments)


def old_payload(session: TrainingSession, payload: dict) -> dict:
    """The same frame as it went before wire.py: raw codes, weights as JSON numbers of 6 significant digits."""

    def rounded(values):
        if isinstance(values, list):
            return [rounded(v) for v in values]
        return float(f"{values:.6g}") if math.isfinite(values) else None

    frame = session.frame(payload["focus"])
    weights, biases = session.net.get_parameters()
    dead = session.trainer.dead_links()
    compact = ("packed", "dead")
    return {
        **{k: v for k, v in payload.items() if k not in compact},
        "heatmap": frame.heatmap,
        "thumbnails": frame.thumbnails,
        "weights": rounded(weights),
        "biases": rounded(biases),
        "dead": dead if any(d for layer in dead for row in layer for d in row) else None,
    }


def maps_variant(frame, level: int, strategy: int, up_filter: bool, streams: int) -> bytes:
    symbols = [
        wire.up_filtered(codes, width) if up_filter else wire.SYMBOL_OF_CODE[np.frombuffer(codes, np.uint8)]
        for codes, width in ((frame.heatmap, GRID_SIZE), (frame.thumbnails, THUMBNAIL_SIZE))
    ]
    chunks = [np.concatenate(symbols)] if streams == 1 else symbols
    encoded = b""
    for chunk in chunks:
        deflate = zlib.compressobj(level, strategy=strategy)
        encoded += deflate.compress(chunk.tobytes()) + deflate.flush()
    return encoded


ALTERNATIVES = {
    f"level{level}_{name}_{'up' if up else 'nofilter'}_{streams}stream": (level, strategy, up, streams)
    for level in (1, 6, 9)
    for name, strategy in (("default", zlib.Z_DEFAULT_STRATEGY), ("rle", zlib.Z_RLE))
    for up in (True, False)
    for streams in (1, 2)
}


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max": ordered[-1],
    }


def old_step_result(payload: dict, epochs_per_second: float) -> dict:
    """The event that went with every frame before the frame carried its step's result itself."""
    fields = ("epoch", "trainLoss", "testLoss", "trainAccuracy", "testAccuracy", "loss")
    return {**{name: payload[name] for name in fields}, "epochsPerSecond": epochs_per_second}


def run(changes: dict, epochs_per_frame: int, frame_count: int) -> dict:
    session = TrainingSession(changes)
    new, old, steps, encode_us, frames = [], [], [], [], []
    for _ in range(frame_count):
        session.train_for(60, max_epochs=epochs_per_frame)
        payload = messages.frame(session, None)
        payload["seq"] = len(new) + 1
        new.append(wire_bytes("map_update", messages.as_sent(payload, 1500.0)))
        old.append(wire_bytes("map_update", old_payload(session, payload)))
        steps.append(wire_bytes("step_result", old_step_result(payload, 1500.0)))
        rendered = session.frame()
        started = time.thread_time()
        wire.encode(rendered, session.net.flat, session.trainer.dead)
        encode_us.append((time.thread_time() - started) * 1e6)
        frames.append(rendered)
    alternatives = {}
    for name, variant in ALTERNATIVES.items():
        started = time.thread_time()
        sizes = [len(maps_variant(frame, *variant)) for frame in frames]
        alternatives[name] = {
            "mapsBytesMedian": statistics.median(sizes),
            "cpuMicrosecondsPerFrame": round((time.thread_time() - started) / len(frames) * 1e6, 1),
        }
    step_median = statistics.median(steps)
    return {
        "layerSizes": session.net.layer_sizes,
        "epochsPerFrame": epochs_per_frame,
        "frames": frame_count,
        "finalEpoch": session.epoch,
        "status": session.status,
        "mapUpdateWireBytes": {"new": summary(new), "old": summary(old)},
        "oldOverNewMedian": round(statistics.median(old) / statistics.median(new), 2),
        "oldStepResultWireBytesMedian": step_median,
        "bytesPerSecondPerClient": {
            "new": FRAMES_PER_SECOND * statistics.median(new),
            "old": FRAMES_PER_SECOND * (statistics.median(old) + step_median),
        },
        "encodeCpuMicrosecondsPerFrame": summary(encode_us),
        "alternatives": alternatives,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--frames", type=int, default=90, help="frames per case")
    arguments = parser.parse_args()
    torch.set_num_threads(1)  # as the server trains and encodes: one native thread
    report = {name: run(changes, epochs, arguments.frames) for name, (changes, epochs) in RUNS.items()}
    report["targets"] = {
        name: {"medianBytesAtMost": target, "passed": report[name]["mapUpdateWireBytes"]["new"]["median"] <= target}
        for name, target in TARGET_MEDIAN_BYTES.items()
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
