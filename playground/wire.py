"""Frames on the wire: the compact binary field of `map_update` (docs/protocol.md, "map_update on the wire").

Pure numpy + zlib: `encode` runs in the native training thread for every frame sent (zlib releases the GIL while
it deflates), so it is a few array operations and one deflate. Every frame decodes on its own (no reference to an
earlier frame): the ack gate drops frames and a reconnection starts from nothing.

`packed`, the one binary attachment (each attachment is a WebSocket message of its own, and a frame's sends are most
of the event loop's work in a class): `parameters`, then `dead` when the frame's `dead` is true, then `maps`; the
first two have lengths that `layerSizes` gives.

`maps`: the heat map and the thumbnails as symbols, one byte each, then PNG's "Up" filter, then one zlib stream.
    symbol = (q >> 3) + (q >= 124) for a frame code q (playground/frames.py): TF Playground's 31 shades, with the
    grey middle shade 15 split at v = 0 (so that "discretize output", q >= 124, survives), and NaN (q = 255) as
    symbol 32. A decoder turns each symbol back into the middle code of its range (`SYMBOL_CODES`).
    Up filter: each byte minus the byte one row above it (mod 256); rows are 100 bytes for the heat map and 10 for
    the thumbnails. A smooth map becomes long runs of zeros, which zlib's run-length strategy packs at level 1
    (bench/frames.py measures the alternatives: levels 6 and 9 save under 10% for 3 to 30 times the CPU).
`parameters`: every weight and bias as little-endian float32, layer by layer, each node's weights (from every
    node of the layer before) followed by its bias: the network's flat [W | b] buffer. The page shows 6 digits.
`dead`: one bit per parameter in the same order, least significant bit first (bias bits are 0); left out when no
    link is dead (the JSON field `dead` says whether it is there).
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np

from .frames import GRID_SIZE, NAN_CODE, THUMBNAIL_SIZE, Frame

SHADE_BITS = 3  # q >> 3 is TF Playground's shade index
POSITIVE_CODE = 124  # the first code of v >= 0
NAN_SYMBOL = (NAN_CODE >> SHADE_BITS) + 1
ZLIB_LEVEL = 1
HEATMAP_BYTES = GRID_SIZE * GRID_SIZE


def _symbol_of_codes() -> np.ndarray:
    codes = np.arange(256)
    return ((codes >> SHADE_BITS) + (codes >= POSITIVE_CODE)).astype(np.uint8)


SYMBOL_OF_CODE = _symbol_of_codes()
# The middle code of each symbol's range (rounded up): 8s + 4 for a whole shade s, 122 and 126 for the halves of
# the grey shade, 255 for NaN. The page draws these codes exactly as it draws the server's own.
SYMBOL_CODES = np.array(
    [int(np.flatnonzero(SYMBOL_OF_CODE[:NAN_CODE] == symbol).mean() + 0.5) for symbol in range(NAN_SYMBOL)]
    + [NAN_CODE],
    dtype=np.uint8,
)


def encode(frame: Frame, parameters, dead) -> dict:
    """The compact fields of a `map_update`: `dead` (whether a link is dead) and `packed` (see the module docstring).

    `parameters` is the network's flat [W | b] buffer (float64, any array-like) and `dead` the trainer's mask of
    dead links over the same buffer (or None)."""
    dead_bits = encode_dead(dead)
    return {
        "dead": dead_bits is not None,
        "packed": encode_parameters(parameters) + (dead_bits or b"") + encode_maps(frame),
    }


def encode_maps(frame: Frame) -> bytes:
    deflate = zlib.compressobj(ZLIB_LEVEL, strategy=zlib.Z_RLE)
    heatmap = deflate.compress(up_filtered(frame.heatmap, GRID_SIZE).tobytes())
    return heatmap + deflate.compress(up_filtered(frame.thumbnails, THUMBNAIL_SIZE).tobytes()) + deflate.flush()


def up_filtered(codes: bytes, width: int) -> np.ndarray:
    symbols = SYMBOL_OF_CODE[np.frombuffer(codes, np.uint8)]
    filtered = symbols.copy()
    filtered[width:] -= symbols[:-width]  # uint8 arithmetic wraps: mod 256, as the decoder adds it back
    return filtered


def encode_parameters(parameters) -> bytes:
    with np.errstate(over="ignore"):  # beyond float32's range is infinite, shown as not finite
        return np.asarray(parameters, dtype="<f4").tobytes()


def encode_dead(dead) -> bytes | None:
    mask = None if dead is None else np.asarray(dead, dtype=bool)
    return np.packbits(mask, bitorder="little").tobytes() if mask is not None and mask.any() else None


# --- the small multiples of a many-seed run: every member's output map, small --------------------------------------

SMALL_MAP_SIZE = 25  # pixels a side: the heat map's 4×4 blocks
_BLOCK = GRID_SIZE // SMALL_MAP_SIZE


def small_maps(heatmaps: list[bytes]) -> np.ndarray:
    """Heat maps (codes, 100×100) -> [count, 25, 25] codes of their 4×4 block means (NaN where a block has one)."""
    codes = np.frombuffer(b"".join(heatmaps), np.uint8).reshape(-1, SMALL_MAP_SIZE, _BLOCK, SMALL_MAP_SIZE, _BLOCK)
    means = codes.mean(axis=(2, 4), dtype=np.float64).astype(np.uint8)
    means[(codes == NAN_CODE).any(axis=(2, 4))] = NAN_CODE
    return means


def encode_small_maps(heatmaps: list[bytes]) -> bytes:
    """`seed_update.maps`: the members' small maps, one after another, as `maps` of a frame is encoded (symbols,
    Up-filtered in rows of 25, one zlib stream)."""
    deflate = zlib.compressobj(ZLIB_LEVEL, strategy=zlib.Z_RLE)
    return deflate.compress(up_filtered(small_maps(heatmaps).tobytes(), SMALL_MAP_SIZE).tobytes()) + deflate.flush()


def decode_small_maps(maps: bytes) -> list[bytes]:
    """The inverse of `encode_small_maps`, as the page decodes it: each member's 625 codes (symbols' middle codes)."""
    codes = _unfiltered(np.frombuffer(zlib.decompress(maps), np.uint8), SMALL_MAP_SIZE)
    size = SMALL_MAP_SIZE * SMALL_MAP_SIZE
    return [codes[start : start + size] for start in range(0, len(codes), size)]


def output_thumbnail(payload: dict) -> bytes:
    """The output node's 10×10 thumbnail of a `map_update` payload, as codes (a classroom wall's tile): its
    last 100 symbols, unfiltered with the thumbnails above it."""
    symbols = _symbols(payload)
    return _unfiltered(symbols[HEATMAP_BYTES:], THUMBNAIL_SIZE)[-THUMBNAIL_SIZE * THUMBNAIL_SIZE :]


# --- the inverse, as the page decodes it (static/js/frames.js), for tests and the protocol's examples ------------


def decode(payload: dict) -> dict:
    """A `map_update`'s compact fields -> the frame as the server rendered it: `heatmap` and `thumbnails` as codes
    (each symbol's middle code), `weights[layer][to][from]`, `biases[layer][to]` (float32 values, None where not
    finite) and `dead[layer][to][from]` (or None)."""
    sizes, packed = payload["layerSizes"], payload["packed"]
    count, dead_bytes = _packed_lengths(payload)
    values = np.frombuffer(packed[: 4 * count], "<f4").astype(float)
    bits = (
        np.unpackbits(
            np.frombuffer(packed[4 * count : 4 * count + dead_bytes], np.uint8), count=count, bitorder="little"
        )
        if dead_bytes
        else np.zeros(count, bool)
    )
    symbols = _symbols(payload)
    heatmap = _unfiltered(symbols[:HEATMAP_BYTES], GRID_SIZE)
    thumbnails = _unfiltered(symbols[HEATMAP_BYTES:], THUMBNAIL_SIZE)
    weights, biases, dead, offset = [], [], [], 0
    for inputs, outputs in itertools.pairwise(sizes):
        block = slice(offset, offset + outputs * (inputs + 1))
        rows = [[None if not np.isfinite(v) else float(v) for v in row] for row in values[block].reshape(outputs, -1)]
        weights.append([row[:-1] for row in rows])
        biases.append([row[-1] for row in rows])
        dead.append([[bool(b) for b in row[:-1]] for row in bits[block].reshape(outputs, -1)])
        offset = block.stop
    return {
        "heatmap": heatmap,
        "thumbnails": thumbnails,
        "weights": weights,
        "biases": biases,
        "dead": dead if payload["dead"] else None,
    }


def _packed_lengths(payload: dict) -> tuple[int, int]:
    """How many parameters `packed` starts with, and how many bytes of dead-link bits follow them."""
    count = sum(outputs * (inputs + 1) for inputs, outputs in itertools.pairwise(payload["layerSizes"]))
    return count, (count + 7) // 8 if payload["dead"] else 0


def _symbols(payload: dict) -> np.ndarray:
    """The maps' symbols (Up-filtered): the zlib stream at the end of `packed`, inflated."""
    count, dead_bytes = _packed_lengths(payload)
    return np.frombuffer(zlib.decompress(payload["packed"][4 * count + dead_bytes :]), np.uint8)


def _unfiltered(filtered: np.ndarray, width: int) -> bytes:
    symbols = np.cumsum(filtered.reshape(-1, width), axis=0, dtype=np.uint8)  # sums wrap mod 256
    return SYMBOL_CODES[symbols].tobytes()
