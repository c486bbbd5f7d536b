"""JavaScript's Math.sin, Math.cos and Math.log, bit for bit.

Python's math module uses the platform libm, which differs from V8's Math.sin/cos/log in the last bit for a few
percent of arguments. V8 (as in node 20, and the Chrome that TF Playground was built for) runs fdlibm for these, so
they are ported here from V8's src/base/ieee754.cc (fdlibm, Copyright (C) 1993 by Sun Microsystems, Inc.; freely
usable with this notice preserved). The datasets use them so that a TF Playground seed gives the same points.
"""

from __future__ import annotations

import math
import re
import struct
from decimal import Decimal


def _bits(x: float) -> int:
    return struct.unpack("<q", struct.pack("<d", x))[0]


def _high_word(x: float) -> int:
    return _bits(x) >> 32  # signed, as fdlibm's int32_t


def _from_words(high: int, low: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", ((high & 0xFFFFFFFF) << 32) | low))[0]


_INVPIO2 = 6.36619772367581382433e-01
_PIO2_1 = 1.57079632673412561417e00
_PIO2_1T = 6.07710050650619224932e-11
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_2T = 2.02226624879595063154e-21
_PIO2_3 = 2.02226624871116645580e-21
_PIO2_3T = 8.47842766036889956997e-32
_NPIO2_HW = (
    0x3FF921FB, 0x400921FB, 0x4012D97C, 0x401921FB, 0x401F6A7A, 0x4022D97C,
    0x4025FDBB, 0x402921FB, 0x402C463A, 0x402F6A7A, 0x4031475C, 0x4032D97C,
    0x40346B9C, 0x4035FDBB, 0x40378FDB, 0x403921FB, 0x403AB41B, 0x403C463A,
    0x403DD85A, 0x403F6A7A, 0x40407E4C, 0x4041475C, 0x4042106C, 0x4042D97C,
    0x4043A28C, 0x40446B9C, 0x404534AC, 0x4045FDBB, 0x4046C6CB, 0x40478FDB,
    0x404858EB, 0x404921FB,
)  # fmt: skip
# Arguments up to 2**19 * pi/2 reduce with the Cody-Waite steps below; the
# generators stay far below that, so fdlibm's long reduction is not ported.
_MAX_REDUCIBLE_HIGH_WORD = 0x413921FB


def _rem_pio2(x: float, hx: int) -> tuple[int, float, float]:
    """x = n*pi/2 + (y0 + y1), for pi/4 < |x| <= 2**19 * pi/2."""
    ix = hx & 0x7FFFFFFF
    if ix < 0x4002D97C:  # |x| < 3pi/4: n is +-1
        # For negative x fdlibm adds where this subtracts; x - (-c) == x + c exactly.
        sign = 1.0 if hx > 0 else -1.0
        z = x - sign * _PIO2_1
        if ix != 0x3FF921FB:
            y0 = z - sign * _PIO2_1T
            return int(sign), y0, (z - y0) - sign * _PIO2_1T
        z -= sign * _PIO2_2  # near pi/2 the 33+53-bit pi is not enough
        y0 = z - sign * _PIO2_2T
        return int(sign), y0, (z - y0) - sign * _PIO2_2T
    t = abs(x)
    n = int(t * _INVPIO2 + 0.5)
    fn = float(n)
    r = t - fn * _PIO2_1
    w = fn * _PIO2_1T
    y0 = r - w
    if not (n < 32 and ix != _NPIO2_HW[n - 1]):
        # Possible cancellation: refine with more bits of pi/2 as needed.
        j = ix >> 20
        if j - ((_high_word(y0) >> 20) & 0x7FF) > 16:
            t = r
            w = fn * _PIO2_2
            r = t - w
            w = fn * _PIO2_2T - ((t - r) - w)
            y0 = r - w
            if j - ((_high_word(y0) >> 20) & 0x7FF) > 49:
                t = r
                w = fn * _PIO2_3
                r = t - w
                w = fn * _PIO2_3T - ((t - r) - w)
                y0 = r - w
    y1 = (r - y0) - w
    return (-n, -y0, -y1) if hx < 0 else (n, y0, y1)


# fdlibm's minimax polynomial coefficients for sin and cos on [-pi/4, pi/4].
_S1, _S2, _S3, _S4, _S5, _S6 = (
    -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04,
    2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10,
)  # fmt: skip
_C1, _C2, _C3, _C4, _C5, _C6 = (
    4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05,
    -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11,
)  # fmt: skip


def _kernel_sin(x: float, y: float, has_tail: bool) -> float:
    if (_high_word(x) & 0x7FFFFFFF) < 0x3E400000:  # |x| < 2**-27
        return x
    z = x * x
    v = z * x
    r = _S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))
    if not has_tail:
        return x + v * (_S1 + z * r)
    return x - ((z * (0.5 * y - v * r) - y) - v * _S1)


def _kernel_cos(x: float, y: float) -> float:
    ix = _high_word(x) & 0x7FFFFFFF
    if ix < 0x3E400000:  # |x| < 2**-27
        return 1.0
    z = x * x
    r = z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))
    if ix < 0x3FD33333:  # |x| < 0.3
        return 1.0 - (0.5 * z - (z * r - x * y))
    # Subtracting an exact x/4 first keeps the rounding error down.
    qx = 0.28125 if ix > 0x3FE90000 else _from_words(ix - 0x00200000, 0)
    return (1.0 - qx) - ((0.5 * z - qx) - (z * r - x * y))


def _trig(x: float, is_cos: bool) -> float:
    hx = _high_word(x)
    ix = hx & 0x7FFFFFFF
    if ix <= 0x3FE921FB:  # |x| <= pi/4
        return _kernel_cos(x, 0.0) if is_cos else _kernel_sin(x, 0.0, False)
    if ix >= 0x7FF00000:
        return math.nan
    if ix > _MAX_REDUCIBLE_HIGH_WORD:
        return math.cos(x) if is_cos else math.sin(x)
    n, y0, y1 = _rem_pio2(x, hx)
    quadrant = (n + is_cos) & 3  # cos(x) = sin(x + pi/2)
    value = _kernel_sin(y0, y1, True) if quadrant % 2 == 0 else _kernel_cos(y0, y1)
    return -value if quadrant >= 2 else value


def js_sin(x: float) -> float:
    """``Math.sin`` as V8's fdlibm computes it."""
    return _trig(x, is_cos=False)


def js_cos(x: float) -> float:
    """``Math.cos`` as V8's fdlibm computes it."""
    return _trig(x, is_cos=True)


_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LG = (
    6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
    2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
    1.479819860511658591e-01,
)  # fmt: skip


def js_log(x: float) -> float:
    """``Math.log`` as V8's fdlibm computes it."""
    bits = _bits(x)
    hx, lx = bits >> 32, bits & 0xFFFFFFFF
    k = 0
    if hx < 0x00100000:
        if ((hx & 0x7FFFFFFF) | lx) == 0:
            return -math.inf
        if hx < 0:
            return math.nan
        k -= 54
        x *= 1.80143985094819840000e16  # scale subnormals up by 2**54
        bits = _bits(x)
        hx, lx = bits >> 32, bits & 0xFFFFFFFF
    if hx >= 0x7FF00000:
        return x + x
    k += (hx >> 20) - 1023
    hx &= 0x000FFFFF
    i = (hx + 0x95F64) & 0x100000
    x = _from_words(hx | (i ^ 0x3FF00000), lx)  # x or x/2 into [sqrt(2)/2, sqrt(2))
    k += i >> 20
    f = x - 1.0
    dk = float(k)
    if (0x000FFFFF & (2 + hx)) < 3:  # -2**-20 <= f < 2**-20
        if f == 0.0:
            return 0.0 if k == 0 else dk * _LN2_HI + dk * _LN2_LO
        r = f * f * (0.5 - 0.33333333333333333 * f)
        return f - r if k == 0 else dk * _LN2_HI - ((r - dk * _LN2_LO) - f)
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG[1] + w * (_LG[3] + w * _LG[5]))
    t2 = z * (_LG[0] + w * (_LG[2] + w * (_LG[4] + w * _LG[6])))
    r = t2 + t1
    if ((hx - 0x6147A) | (0x6B851 - hx)) > 0:
        hfsq = 0.5 * f * f
        if k == 0:
            return f - (hfsq - s * (hfsq + r))
        return dk * _LN2_HI - ((hfsq - (s * (hfsq + r) + dk * _LN2_LO)) - f)
    if k == 0:
        return f - s * (f - r)
    return dk * _LN2_HI - ((s * (f - r) - dk * _LN2_LO) - f)


# --- Numbers and their text, as JavaScript reads and writes them ----------------------------------------------------

# ECMAScript's StrWhiteSpaceChar: WhiteSpace and LineTerminator (what String.prototype.trim removes).
_JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_JS_DECIMAL = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_JS_RADIX = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}
_JS_DIGITS = {16: re.compile(r"[0-9a-fA-F]+"), 8: re.compile(r"[0-7]+"), 2: re.compile(r"[01]+")}


def js_to_number(text: str) -> float:
    """JavaScript's unary `+` on a string (ToNumber): NaN where JavaScript gives NaN, never an exception."""
    text = text.strip(_JS_WHITESPACE)
    if text == "":
        return 0.0
    radix = _JS_RADIX.get(text[:2])
    if radix is not None:
        return float(int(text[2:], radix)) if _JS_DIGITS[radix].fullmatch(text[2:]) else math.nan
    if not _JS_DECIMAL.fullmatch(text):
        return math.nan
    try:
        return float(text.replace("Infinity", "inf"))
    except OverflowError:  # float() never overflows on text, but stay safe
        return math.inf


def js_number_to_string(value: float) -> str:
    """JavaScript's Number#toString(): the shortest digits that read back as the same double (Python's repr finds
    the same digits), laid out by ECMAScript's Number::toString rules (no exponent from 1e-6 up to 1e21)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    n = len(digits) + int(exponent)  # value = 0.<digits> × 10^n
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        exponent_text = f"e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + exponent_text
    return sign + text
