"""Link-layer framing: header, CRC32, fragmentation and reassembly.

A *message* (an application payload of any size: an image, a feature tensor,
a text embedding) is cut into *fragments*; each fragment travels as one
*frame* inside one radio burst::

    frame = header (16 B) | fragment bytes | CRC32 (4 B, over header + fragment)

Header fields (big endian)::

    version  u8   FRAME_VERSION
    ptype    u8   PayloadType
    stream   u8   stream id (several transfers can share a link)
    flags    u8   bit 0: last fragment of the message
    seq      u32  per-transmitter packet sequence number (losses are counted on it)
    msg_id   u16  message number within the stream
    frag     u16  fragment index
    nfrag    u16  number of fragments of the message
    length   u16  fragment length in bytes

:func:`parse_frame` never raises on arbitrary input: it returns ``None`` for
anything that is not a valid frame (wrong length, CRC mismatch, unknown version).
"""

from __future__ import annotations

import enum
import logging
import struct
import zlib
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

FRAME_VERSION = 1
_HEADER = struct.Struct(">BBBBIHHHH")
HEADER_LEN = _HEADER.size
CRC_LEN = 4
#: Largest fragment a frame carries by default (bytes).
DEFAULT_MTU = 1024


class PayloadType(enum.IntEnum):
    """What a frame carries."""

    RAW = 0
    FEATURES = 1
    EMBEDDING = 2
    METADATA = 3
    END = 15  # end of transmission marker


@dataclass(frozen=True)
class Frame:
    """One fragment of a message, as carried by one burst."""

    ptype: PayloadType
    stream: int
    seq: int
    msg_id: int
    frag: int
    nfrag: int
    payload: bytes

    @property
    def last(self) -> bool:
        return self.frag == self.nfrag - 1


def build_frame(frame: Frame) -> bytes:
    """Serialise a :class:`Frame` to bytes (header, payload, CRC32)."""
    if len(frame.payload) > 0xFFFF:
        raise ValueError(f"fragment of {len(frame.payload)} B exceeds 65535 B")
    head = _HEADER.pack(
        FRAME_VERSION,
        int(frame.ptype),
        frame.stream & 0xFF,
        1 if frame.last else 0,
        frame.seq & 0xFFFFFFFF,
        frame.msg_id & 0xFFFF,
        frame.frag,
        frame.nfrag,
        len(frame.payload),
    )
    body = head + frame.payload
    return body + struct.pack(">I", zlib.crc32(body))


def parse_frame(data: bytes) -> Frame | None:
    """Parse bytes into a :class:`Frame`; ``None`` if they are not a valid frame."""
    if len(data) < HEADER_LEN + CRC_LEN:
        return None
    version, ptype, stream, _flags, seq, msg_id, frag, nfrag, length = _HEADER.unpack_from(data)
    if version != FRAME_VERSION or len(data) != HEADER_LEN + length + CRC_LEN:
        return None
    (crc,) = struct.unpack_from(">I", data, HEADER_LEN + length)
    if zlib.crc32(data[: HEADER_LEN + length]) != crc:
        return None
    if nfrag == 0 or frag >= nfrag:
        return None
    try:
        ptype = PayloadType(ptype)
    except ValueError:
        return None
    return Frame(ptype, stream, seq, msg_id, frag, nfrag, bytes(data[HEADER_LEN : HEADER_LEN + length]))


class Fragmenter:
    """Cuts messages into frames and numbers them.

    Parameters
    ----------
    mtu : int
        Largest fragment per frame, in bytes.
    stream : int
        Stream id written into every frame.
    """

    def __init__(self, mtu: int = DEFAULT_MTU, stream: int = 0) -> None:
        if not 1 <= mtu <= 0xFFFF:
            raise ValueError(f"mtu must be 1..65535, got {mtu}")
        self.mtu = mtu
        self.stream = stream
        self._seq = 0
        self._msg = 0

    def split(self, payload: bytes, ptype: PayloadType = PayloadType.RAW) -> list[Frame]:
        """Input: one message. Output: its frames, in order (one frame for an empty message)."""
        chunks = [payload[i : i + self.mtu] for i in range(0, len(payload), self.mtu)] or [b""]
        return self.split_chunks(chunks, ptype)

    def split_chunks(self, chunks: list[bytes], ptype: PayloadType = PayloadType.RAW) -> list[Frame]:
        """A message made of given chunks (each at most ``mtu`` bytes): chunk i is fragment i.

        This is how packets that must decode on their own (semantic features) keep their
        boundaries: the receiver's loss map is then the packet map.
        """
        if any(len(c) > self.mtu for c in chunks):
            raise ValueError(f"a chunk exceeds the mtu of {self.mtu} B")
        if len(chunks) > 0xFFFF:
            raise ValueError(f"a message cannot have more than 65535 fragments (mtu {self.mtu})")
        frames = []
        for i, chunk in enumerate(chunks):
            frames.append(Frame(ptype, self.stream, self._seq, self._msg, i, len(chunks), chunk))
            self._seq += 1
        self._msg = (self._msg + 1) & 0xFFFF
        return frames


@dataclass
class Message:
    """A reassembled (possibly incomplete) message.

    ``fragments[i]`` is the bytes of fragment i, or ``None`` where it was lost.
    """

    stream: int
    msg_id: int
    ptype: PayloadType
    fragments: list[bytes | None]

    @property
    def complete(self) -> bool:
        return all(f is not None for f in self.fragments)

    @property
    def missing(self) -> list[int]:
        return [i for i, f in enumerate(self.fragments) if f is None]

    @property
    def data(self) -> bytes:
        """The message bytes; raises if fragments are missing (use :attr:`fragments`)."""
        if not self.complete:
            raise ValueError(f"message {self.msg_id}: fragments {self.missing} lost")
        return b"".join(self.fragments)  # type: ignore[arg-type]


@dataclass
class Reassembler:
    """Collects frames into messages and counts what was lost.

    Frames may arrive in any order; duplicates are ignored.  A message is
    returned by :meth:`push` as soon as it is complete, and incomplete ones by
    :meth:`flush` with their loss map.
    """

    _open: dict[tuple[int, int], Message] = field(default_factory=dict)
    duplicates: int = 0

    def push(self, frame: Frame) -> Message | None:
        key = (frame.stream, frame.msg_id)
        msg = self._open.get(key)
        if msg is None or len(msg.fragments) != frame.nfrag:
            if msg is not None:
                log.warning("stream %d message %d: fragment count changed, restarting", *key)
            msg = Message(frame.stream, frame.msg_id, frame.ptype, [None] * frame.nfrag)
            self._open[key] = msg
        if msg.fragments[frame.frag] is not None:
            self.duplicates += 1
            return None
        msg.fragments[frame.frag] = frame.payload
        if msg.complete:
            del self._open[key]
            return msg
        return None

    def flush(self) -> list[Message]:
        """Return (and forget) every incomplete message."""
        msgs = list(self._open.values())
        self._open.clear()
        return msgs
