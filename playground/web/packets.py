"""What goes on the wire, at the one place every packet passes: the JSON module and the Socket.IO packet class of
the server (python-socketio's `json` and `serializer` arguments).

- No payload can carry NaN or Infinity: JSON has neither, and the page's socket.io-parser drops the connection on
  them. They are sent as null, whatever built the payload.
- Numbers beyond a float arrive as a float (infinite, so validation names the field) instead of failing the whole
  message: a 400-digit integer gets an error reply like any bad value.
- A big message is parsed in a native thread so that other clients' frames go on meanwhile.
- An event announces at most `max_attachments` binary attachments: python-socketio buffers every attachment until
  the announced count arrives, so a count of 100,000 let one client hold unbounded memory.
"""

from __future__ import annotations

import json
import math

from socketio import packet

from . import concurrency

LONGEST_INTEGER = 100  # digits; longer ones become floats (python-engineio refuses them outright)
NATIVE_PARSE_CHARACTERS = 64_000  # parse longer messages off the event loop


def _finite(value):
    """`value` with every non-finite float replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def dumps(value, **options) -> str:
    try:
        return json.dumps(value, allow_nan=False, **options)
    except ValueError:  # a NaN or an infinity somewhere: only then walk the payload
        return json.dumps(_finite(value), allow_nan=False, **options)


def _number(digits: str) -> int | float:
    return int(digits) if len(digits) <= LONGEST_INTEGER else float(digits)


def _parse(text: str | bytes):
    try:
        return json.loads(text, parse_int=_number)
    except RecursionError:  # deeper than the parser's stack: as malformed as any other bad JSON
        raise ValueError("JSON nested too deeply") from None


def loads(text: str | bytes, **_options):
    if len(text) > NATIVE_PARSE_CHARACTERS:
        return concurrency.run_native(_parse, text)
    return _parse(text)


def packet_class(max_attachments: int) -> type[packet.Packet]:
    """python-socketio's packet that refuses to wait for more than `max_attachments` attachments (python-socketio
    sets its `json` to this module)."""

    class GuardedPacket(packet.Packet):
        def decode(self, encoded_packet):
            attachments = super().decode(encoded_packet)
            if attachments > max_attachments:
                raise ValueError(f"{attachments} binary attachments announced, at most {max_attachments} allowed")
            return attachments

    return GuardedPacket
