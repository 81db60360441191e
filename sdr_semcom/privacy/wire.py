"""What the transmitter says about removed regions, on the wire (an EMBEDDING message).

Layout, format 2::

    format u8 (2) | flags u8 (bit 0: sealed) | bits u8            clear
    key_id (8 B) | version_tag (8 B)                              clear, sealed messages only
    nonce (12 B) | AES-256-GCM(plaintext) | tag (16 B)            sealed messages only

    plaintext = count u8 | count x (x0 y0 x1 y1 (u16 each) | quantized embedding (EmbeddingQuantizer.nbytes))

The boxes, the embeddings and so any entry-specific words travel sealed under the database's
AEAD key (:class:`~sdr_semcom.privacy.keying.LinkKeys`). The associated data binds a message to
its clear header and to where it belongs on the link (:class:`Context`: codec id, stream,
message id), so it cannot be moved to another image or codec unnoticed. A receiver without the
key learns the clear header and the length, hence the region count (fixed size per region), and
nothing else: no boxes. An unsealed message (a transmitter without a database) carries no region.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .keying import KEY_ID_LEN, NONCE_LEN, TAG_LEN, VERSION_TAG_LEN, LinkKeys
from .quantize import EmbeddingQuantizer

FORMAT = 2
SEALED = 0x01
_CLEAR = struct.Struct(">BBB")
_KEYS = struct.Struct(f">{KEY_ID_LEN}s{VERSION_TAG_LEN}s")
_COUNT = struct.Struct(">B")
_BOX = struct.Struct(">HHHH")


@dataclass(frozen=True)
class Context:
    """Where an EMBEDDING message belongs: authenticated with it, never sent (both ends know it).

    Parameters
    ----------
    codec_id : str
        The codec whose features the message accompanies.
    stream : int
        The link's stream id (frame header).
    msg_id : int
        The message's id within the stream (frame header).
    """

    codec_id: str
    stream: int
    msg_id: int

    def associated(self, header: bytes) -> bytes:
        codec = self.codec_id.encode()
        return b"sdr-semcom/embedding|" + header + struct.pack(">BHB", self.stream & 0xFF, self.msg_id & 0xFFFF,
                                                               len(codec)) + codec


class Region(NamedTuple):
    box: tuple[int, int, int, int]
    vector: np.ndarray  # unit 384-d, dequantized


@dataclass(frozen=True)
class EmbeddingMessage:
    """A parsed EMBEDDING message: its clear fields and the (sealed) body."""

    header: bytes  # the clear bytes, authenticated as associated data
    bits: int
    key_id: bytes | None  # None: unsealed
    version_tag: bytes | None
    body: bytes

    @property
    def sealed(self) -> bool:
        return self.key_id is not None

    @property
    def region_count(self) -> int:
        """What anyone can tell from the length: how many regions the message describes."""
        size = len(self.body) - (NONCE_LEN + TAG_LEN if self.sealed else 0) - _COUNT.size
        return size // _step(self.bits)

    def open(self, keys: LinkKeys | None, context: Context) -> list[Region]:
        """The regions; :class:`~sdr_semcom.privacy.keying.AuthenticationFailed` when a sealed
        message does not verify under ``keys``, ValueError when a verified one is malformed."""
        if not self.sealed:
            plain = self.body
        elif keys is None:
            raise ValueError("the message is sealed: opening it needs the database")
        else:
            plain = keys.open(self.body, context.associated(self.header))
        (count,) = _COUNT.unpack_from(plain)
        step = _step(self.bits)
        if len(plain) != _COUNT.size + count * step:
            raise ValueError(f"findings plaintext has {len(plain)} B, expected {_COUNT.size + count * step}")
        if count and not self.sealed:
            raise ValueError("an unsealed findings message must not describe regions")
        q = EmbeddingQuantizer(self.bits)
        out = []
        for i in range(count):
            off = _COUNT.size + i * step
            out.append(Region(_BOX.unpack_from(plain, off), q.decode(plain[off + _BOX.size : off + step])))
        return out


def _step(bits: int) -> int:
    return _BOX.size + EmbeddingQuantizer(bits).nbytes


def pack_findings(boxes: list[tuple[float, float, float, float]], vectors: np.ndarray, keys: LinkKeys | None,
                  context: Context, bits: int = 8) -> bytes:
    """One EMBEDDING message: sealed under ``keys``; unsealed (and then empty) when ``keys`` is None."""
    if len(boxes) > 255:
        raise ValueError("at most 255 regions per image")
    if len(boxes) != len(vectors):
        raise ValueError(f"{len(boxes)} boxes but {len(vectors)} vectors")
    if boxes and keys is None:
        raise ValueError("removed regions are only sent sealed: give the transmitter the privacy database")
    q = EmbeddingQuantizer(bits)
    plain = [_COUNT.pack(len(boxes))]
    for box, vec in zip(boxes, vectors):
        plain.append(_BOX.pack(*(int(np.clip(round(v), 0, 0xFFFF)) for v in box)))
        plain.append(q.encode(vec))
    if keys is None:
        return _CLEAR.pack(FORMAT, 0, bits) + b"".join(plain)
    header = _CLEAR.pack(FORMAT, SEALED, bits) + _KEYS.pack(keys.key_id, keys.version_tag)
    return header + keys.seal(b"".join(plain), context.associated(header))


def parse_findings(data: bytes) -> EmbeddingMessage:
    """Clear fields and body; ValueError when the message is malformed (short, unknown format, bad length)."""
    if data and data[0] != FORMAT:
        raise ValueError(f"findings message format {data[0]}, this receiver reads format {FORMAT} (update both ends)")
    if len(data) < _CLEAR.size:
        raise ValueError("findings message too short")
    _, flags, bits = _CLEAR.unpack_from(data)
    if not 1 <= bits <= 16:
        raise ValueError(f"findings message says {bits} bits per coordinate (1..16)")
    if flags & SEALED:
        head = _CLEAR.size + _KEYS.size
        if len(data) < head + NONCE_LEN + TAG_LEN + _COUNT.size:
            raise ValueError("sealed findings message too short")
        key_id, tag = _KEYS.unpack_from(data, _CLEAR.size)
        msg = EmbeddingMessage(data[:head], bits, key_id, tag, data[head:])
        extra = len(msg.body) - NONCE_LEN - TAG_LEN - _COUNT.size
    else:
        msg = EmbeddingMessage(data[: _CLEAR.size], bits, None, None, data[_CLEAR.size :])
        extra = len(msg.body) - _COUNT.size
    if extra < 0 or extra % _step(bits):
        raise ValueError(f"findings message of {len(data)} B is not a whole number of {_step(bits)}-byte regions")
    return msg


def unpack_findings(data: bytes, keys: LinkKeys | None, context: Context) -> list[Region]:
    """:func:`parse_findings` then :meth:`EmbeddingMessage.open`."""
    return parse_findings(data).open(keys, context)
