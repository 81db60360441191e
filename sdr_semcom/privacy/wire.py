"""What the transmitter says about removed regions, on the wire (an EMBEDDING message).

Layout: ``count u8 | bits u8`` then per removed region ``x0 y0 x1 y1 (u16 each) | keyed
embedding (KeyedEmbedding.nbytes)``. Boxes tell the receiver where pixels were removed; the
keyed embedding says what was there only to a holder of the database secret.
"""

from __future__ import annotations

import struct

import numpy as np

from .keying import KeyedEmbedding

_HEAD = struct.Struct(">BB")
_BOX = struct.Struct(">HHHH")


def pack_findings(boxes: list[tuple[float, float, float, float]], vectors: np.ndarray, keyed: KeyedEmbedding) -> bytes:
    if len(boxes) > 255:
        raise ValueError("at most 255 regions per image")
    out = [_HEAD.pack(len(boxes), keyed.bits)]
    for box, vec in zip(boxes, vectors):
        out.append(_BOX.pack(*(int(np.clip(round(v), 0, 0xFFFF)) for v in box)))
        out.append(keyed.encode(vec))
    return b"".join(out)


def unpack_findings(data: bytes, keyed: KeyedEmbedding) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
    """Boxes and received (un-keyed when ``keyed`` has the secret) vectors; ValueError if malformed."""
    if len(data) < _HEAD.size:
        raise ValueError("findings message too short")
    count, bits = _HEAD.unpack_from(data)
    if bits != keyed.bits:
        raise ValueError(f"findings use {bits} bits per coordinate, receiver expects {keyed.bits}")
    step = _BOX.size + keyed.nbytes
    if len(data) != _HEAD.size + count * step:
        raise ValueError(f"findings message has {len(data)} B, expected {_HEAD.size + count * step}")
    out = []
    for i in range(count):
        off = _HEAD.size + i * step
        box = _BOX.unpack_from(data, off)
        out.append((box, keyed.received_vector(data[off + _BOX.size : off + step])))
    return out
