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

_WIDTH = 256
_MASK = _WIDTH - 1
_CHUNKS = 6
_BLOCK = 1024  # keystream bytes made at a time
_START_DENOM = _WIDTH**_CHUNKS
_SIGNIFICANCE = 2**52
_OVERFLOW = 2**53

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
    """seedrandom 2.4's ``Math.seedrandom(seed)`` for a string seed."""

    def __init__(self, seed: str) -> None:
        key = _mixkey(seed) or [0]
        s = list(range(_WIDTH))
        j = 0
        for i in range(_WIDTH):
            t = s[i]
            j = _MASK & (j + key[i % len(key)] + t)
            s[i] = s[j]
            s[j] = t
        self._s = s
        self._i = 0
        self._j = 0
        # The keystream is made ahead in blocks (a byte at a time through a method call cost three times as much:
        # a dataset draws some 2,500 numbers); what is handed out is the same bytes in the same order.
        self._stream = b""
        self._read = 0
        # RC4-drop[256]: the early keystream is biased, so seedrandom skips it.
        self._g(_WIDTH)

    def _more(self, count: int) -> None:
        """Make at least `count` more keystream bytes ready."""
        s, i, j = self._s, self._i, self._j
        block = bytearray(max(count, _BLOCK))
        for k in range(len(block)):
            i = (i + 1) & _MASK
            t = s[i]
            j = (j + t) & _MASK
            u = s[j]
            s[i] = u
            s[j] = t
            block[k] = s[(u + t) & _MASK]
        self._i, self._j = i, j
        self._stream = self._stream[self._read :] + block
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
