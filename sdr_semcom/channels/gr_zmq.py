"""GNU Radio's ZeroMQ stream messages with tags (``pass_tags=True``), read and written with plain Python.

GNU Radio 3.10's ``zeromq.push_sink`` sends each chunk as one ZeroMQ frame: a header, then the
samples (complex64, native byte order). The header (gr-zeromq ``tag_headers.cc``), little-endian::

    uint16 magic 0x5FF0, uint8 version 1, uint64 offset of the first sample, uint64 number of tags,
    per tag: uint64 offset, then key, value and source id as serialised PMTs.

Serialised PMTs are big-endian and typed by their first byte (``pmt_serial_tags.h``). Only their
lengths matter here: a tag is forwarded as its raw bytes with a new offset, and its key is read
when it is a symbol (``eot``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAGIC = 0x5FF0
VERSION = 1
_HEAD = struct.Struct("<HBQQ")
_U64 = struct.Struct("<Q")
#: PMT serial type -> fixed payload length (bytes after the type byte); symbols, vectors and pairs are parsed
_FIXED = {0x00: 0, 0x01: 0, 0x03: 4, 0x04: 8, 0x05: 16, 0x06: 0, 0x0B: 8, 0x0D: 8}
_UNIFORM_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 8, 7: 8, 8: 4, 9: 8, 10: 8, 11: 16}


class HeaderError(ValueError):
    """A message that is not a GNU Radio ZeroMQ tagged-stream message (wrong magic, truncated)."""


@dataclass(frozen=True)
class Tag:
    """A stream tag as it travels: absolute ``offset``, the serialised key, value and source id, the key's name."""

    offset: int
    pmts: bytes
    key: str | None


def _pmt_end(buf: bytes, i: int) -> int:
    """Index just past the serialised PMT starting at ``buf[i]``."""
    t = buf[i]
    i += 1
    if t in _FIXED:
        return i + _FIXED[t]
    if t == 0x02:  # symbol: uint16 length, bytes
        (n,) = struct.unpack_from(">H", buf, i)
        return i + 2 + n
    if t == 0x07:  # pair: car, cdr
        return _pmt_end(buf, _pmt_end(buf, i))
    if t in (0x08, 0x0C):  # vector / tuple: uint32 count (tuple: uint8 count), items
        if t == 0x08:
            (n,) = struct.unpack_from(">I", buf, i)
            i += 4
        else:
            n = buf[i]
            i += 1
        for _ in range(n):
            i = _pmt_end(buf, i)
        return i
    if t == 0x0A:  # uniform vector: uint8 item type, uint32 count, uint8 npad, pad, items
        itype, n, npad = buf[i], *struct.unpack_from(">IB", buf, i + 1)
        return i + 6 + npad + n * _UNIFORM_SIZES[itype]
    raise HeaderError(f"unsupported PMT type 0x{t:02x} in a stream tag")


def parse(msg: bytes) -> tuple[int, list[Tag], memoryview]:
    """A tagged message -> (offset of its first sample, its tags, the sample bytes).

    Raises
    ------
    HeaderError
        Not a tagged message (a sender with ``pass_tags=False``), or a truncated one.
    """
    if len(msg) < _HEAD.size:
        raise HeaderError(f"a {len(msg)}-byte message has no room for a tag header")
    magic, version, offset, ntags = _HEAD.unpack_from(msg, 0)
    if magic != MAGIC or version != VERSION:
        raise HeaderError(f"not a GNU Radio ZeroMQ tag header (magic 0x{magic:04x}, version {version}): "
                          "the sender must pass tags (pass_tags=True)")
    i, tags = _HEAD.size, []
    try:
        for _ in range(ntags):
            (t_off,) = _U64.unpack_from(msg, i)
            start = i + 8
            key_end = _pmt_end(msg, start)
            key = msg[start + 3: key_end].decode("utf-8", "replace") if msg[start] == 0x02 else None
            i = _pmt_end(msg, _pmt_end(msg, key_end))
            tags.append(Tag(t_off, bytes(msg[start:i]), key))
    except (struct.error, IndexError) as exc:
        raise HeaderError(f"truncated tag header: {exc}") from None
    if i > len(msg):
        raise HeaderError("truncated tag header")
    return offset, tags, memoryview(msg)[i:]


def build(offset: int, tags: list[Tag], samples: bytes) -> bytes:
    """A tagged message: header for ``offset`` and ``tags`` (absolute offsets), then ``samples``."""
    parts = [_HEAD.pack(MAGIC, VERSION, offset, len(tags))]
    for t in tags:
        parts += [_U64.pack(t.offset), t.pmts]
    parts.append(bytes(samples))
    return b"".join(parts)
