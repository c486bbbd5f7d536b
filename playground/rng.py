"""Bit-exact port of the seedrandom 2.4 PRNG that TF Playground uses.

TF Playground calls ``Math.seedrandom(state.seed)`` with a seed string from
the URL and then draws every data point from ``Math.random``.  Reproducing
that generator exactly (ARC4 keyed by the string, RC4-drop[256], 52-bit
doubles) makes a Playground URL yield the very same data set here.
"""

from __future__ import annotations

import random
import struct
from decimal import ROUND_HALF_UP, Context, Decimal

from Crypto.Cipher import ARC4

_WIDTH = 256
_MASK = _WIDTH - 1
_CHUNKS = 6
_BLOCK = 4096  # keystream bytes made at a time
_SHORTEST_KEY = 5  # bytes: pycryptodome's ARC4 refuses shorter keys
_SKIP = 2**20
_MOST_HANDED = 2**32  # bytes a restored stream may have handed out (a dataset takes about 17 KB)
_START_DENOM = _WIDTH**_CHUNKS
_SIGNIFICANCE = 2**52
_OVERFLOW = 2**53
# A first byte from this up (the 6 bytes times 256 are then at least 2**52): seedrandom's loop in `random` runs once.
_ONE_LOOP = _SIGNIFICANCE // _WIDTH >> 8 * (_CHUNKS - 1)

# Enough digits for toFixed's full range (values below 1e21, up to 100
# decimals), so quantize never trips over the default 28-digit precision.
_DECIMAL_CONTEXT = Context(prec=200, rounding=ROUND_HALF_UP)


def _utf16_code_units(text: str) -> list[int]:
    # JS strings are sequences of UTF-16 code units, and charCodeAt reads them.
    raw = text.encode("utf-16-le", errors="surrogatepass")
    return list(struct.unpack(f"<{len(raw) // 2}H", raw))


def _mixkey(seed: str) -> list[int]:
    key: list[int] = []
    smear = 0
    for j, code in enumerate(_utf16_code_units(seed)):
        i = j & _MASK
        if i < len(key):
            # On the first pass key[i] is undefined in JS: undefined * 19 is
            # NaN and NaN ^ smear == smear, so only later passes mix it in.
            # smear stays below 2**13, so it never leaves int32 range.
            smear ^= key[i] * 19
            key[i] = _MASK & (smear + code)
        else:
            key.append(_MASK & (smear + code))
    return key


class SeedRandom:
    """seedrandom 2.4's ``Math.seedrandom(seed)`` for a string seed.

    Its generator is ARC4 keyed by the mixed seed, with the first 256 bytes dropped (RC4-drop[256]: the early
    keystream is biased); the keystream comes from pycryptodome's ARC4, made ahead in blocks (a byte at a time in
    Python was a third of a new session's time: a dataset draws some 2,500 numbers, 17 KB). Its state is the seed and
    how many bytes were handed out (`state`, `from_state`)."""

    def __init__(self, seed: str) -> None:
        key = bytes(_mixkey(seed) or [0])
        # ARC4's key schedule reads key[i % len(key)], so a key repeated is the same key: pycryptodome wants 5 bytes.
        self._cipher = ARC4.new(key * -(-_SHORTEST_KEY // len(key)), drop=_WIDTH)
        self.seed = seed
        self._stream = b""
        self._read = 0
        self._handed_before = 0  # bytes handed out before the current stream

    def state(self) -> list:
        return [self.seed, self._handed_before + self._read]

    @classmethod
    def from_state(cls, state: list) -> SeedRandom:
        """The generator `state()` described, about to hand out its next byte."""
        seed, handed = state
        if not isinstance(seed, str) or not isinstance(handed, int) or not 0 <= handed <= _MOST_HANDED:
            raise ValueError(f"not a random stream's state: {str(state)[:80]}")
        rng = cls(seed)
        while handed - rng._handed_before > _SKIP:  # skipped a megabyte at a time, not kept
            rng._cipher.encrypt(bytes(_SKIP))
            rng._handed_before += _SKIP
        rest = handed - rng._handed_before
        rng._more(rest)
        rng._read = rest
        return rng

    def _more(self, count: int) -> None:
        """Make at least `count` more keystream bytes ready."""
        self._handed_before += self._read
        self._stream = self._stream[self._read :] + self._cipher.encrypt(bytes(max(count, _BLOCK)))
        self._read = 0

    def _g(self, count: int) -> int:
        """The next ``count`` ARC4 bytes, big-endian, as one integer."""
        if self._read + count > len(self._stream):
            self._more(count)
        start = self._read
        self._read = start + count
        return int.from_bytes(self._stream[start : start + count], "big")

    def random(self) -> float:
        """A double in [0, 1) with all 52 mantissa bits random, like JS."""
        if self._read + _CHUNKS + 1 > len(self._stream):
            self._more(_CHUNKS + 1)
        start = self._read
        if self._stream[start] >= _ONE_LOOP:
            # seedrandom's loop below runs once: n is the 7 bytes as one 56-bit number, halved until under 2**53
            # with its low bits dropped. The same number in one step (15 draws in 16).
            self._read = start + _CHUNKS + 1
            n = int.from_bytes(self._stream[start : self._read], "big")
            shift = n.bit_length() - 53
            return (n >> shift) / (1 << (8 * (_CHUNKS + 1) - shift))
        # JS does this in doubles, but every intermediate is an integer below
        # 2**53 (or a power-of-two scaling of one), so exact ints agree.
        n = self._g(_CHUNKS)
        d = _START_DENOM
        x = 0
        while n < _SIGNIFICANCE:
            n = (n + x) * _WIDTH
            d *= _WIDTH
            x = self._g(1)
        while n >= _OVERFLOW:
            n //= 2
            d //= 2
            x >>= 1
        return (n + x) / d

    def quick(self) -> float:
        """seedrandom's ``prng.quick()``: 32 random bits as a float."""
        return self._g(4) / 0x100000000

    def int32(self) -> int:
        """seedrandom's ``prng.int32()``: a signed 32-bit integer."""
        value = self._g(4)
        return value - 0x100000000 if value >= 0x80000000 else value


def to_fixed(x: float, digits: int) -> str:
    """JS ``Number.prototype.toFixed``: rounds the exact binary value, ties up."""
    if not 0 <= digits <= 100:
        raise ValueError("digits must be between 0 and 100")
    if x != x:
        return "NaN"
    if abs(x) >= 1e21:
        if abs(x) == float("inf"):
            return "Infinity" if x > 0 else "-Infinity"
        return repr(x)
    if x == 0:
        x = 0.0  # (-0).toFixed() has no minus sign
    quantum = Decimal(1).scaleb(-digits)
    return f"{Decimal(x).quantize(quantum, context=_DECIMAL_CONTEXT):f}"


def new_seed(rng: SeedRandom) -> str:
    """A fresh seed drawn the way TF Playground does: ``random().toFixed(5)``."""
    return to_fixed(rng.random(), 5)


def random_seed() -> str:
    """A fresh seed from OS entropy, for URLs that name no seed."""
    return to_fixed(random.SystemRandom().random(), 5)
