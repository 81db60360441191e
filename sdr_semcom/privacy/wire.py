"""What the transmitter says about removed regions, on the wire (an EMBEDDING message).

Layout, format 4::

    format u8 (4) | flags u8 (bit 0: sealed) | bits u8 | packets u16   clear
    key_id (8 B) | version_tag (8 B)                                   clear, sealed messages only
    nonce (12 B) | AES-256-GCM(plaintext) | tag (16 B)                 sealed messages only

    plaintext = margin u16 (thousandths) | dilate u8 | head side, up, down (u16 thousandths each) | count u8
                | packets x packet tag (8 B: truncated SHA-256 of the packet's index and bytes)
                | count x (x0 y0 x1 y1 (u16 each) | drawn u8 | quantized embedding (EmbeddingQuantizer.nbytes))

``margin``, ``dilate`` and ``head`` say how the guard drew the removed pixels around each box (``drawn``:
0, the box grown by ``margin`` of its size; 1, a pixel mask dilated by ``dilate`` + ``margin`` x its
longer side / 2, see :func:`~sdr_semcom.privacy.masking.removed_box`; 2, a face's head region, the
box grown by the ``head`` growth: side x its width left and right, up / down x its height, see
:func:`~sdr_semcom.privacy.masking.head_box`), so the authorized receiver rebuilds them whatever
the transmitter ran with (:meth:`Drawing.removed`).

The boxes, the embeddings and so any entry-specific words travel sealed under the database's
AEAD key (:class:`~sdr_semcom.privacy.keying.LinkKeys`). The associated data (:class:`Context`)
binds a message to its clear header, to where it belongs on the link (codec id, stream, message
id) and to its image: the SHA-256 of the image's METADATA message, which carries the
transmitter's random session id (:attr:`~sdr_semcom.semantic.api.ImageHeader.session`, fresh
per run). A message moved to another image, replayed from an earlier run, or sent for another
codec or stream fails authentication.

The FEATURES message cannot be bound as a whole: its packets may be lost on the air, and the
codec decodes any subset. Instead the sealed plaintext lists a tag per FEATURES packet
(:func:`packet_tag`): the authorized receiver checks each packet that arrived against it and
decodes one that does not match as lost, so the codec stays loss-tolerant and the packets are
authenticated whenever the EMBEDDING message itself arrived and verified.

A receiver without the key learns the clear header (with the packet count, which the METADATA
message says anyway) and the length, hence the region count (fixed size per region), and nothing
else: no boxes. An unsealed message (a transmitter without a database) carries no region, no
packet tag and a zero margin.

Formats 2 (no session, no image binding, no margin) and 3 (no head growth) are refused with a message
naming both formats.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from typing import Callable
from typing import NamedTuple

import numpy as np

from .keying import KEY_ID_LEN, NONCE_LEN, TAG_LEN, VERSION_TAG_LEN, LinkKeys
from .masking import DEFAULT_MARGIN, DILATE_PX, HEAD_GROWTH, head_box, removed_box
from .quantize import EmbeddingQuantizer

FORMAT = 4
SEALED = 0x01
#: ``drawn`` values: how the guard drew a region's removed pixels around its box
DRAWN_BOX, DRAWN_MASK, DRAWN_HEAD = 0, 1, 2
_DRAWN = (DRAWN_BOX, DRAWN_MASK, DRAWN_HEAD)
_CLEAR = struct.Struct(">BBBH")  # format, flags, bits, packets
_KEYS = struct.Struct(f">{KEY_ID_LEN}s{VERSION_TAG_LEN}s")
_HEAD = struct.Struct(">HBHHHB")  # margin (thousandths), dilate (px), head side / up / down (thousandths), count
_BOX = struct.Struct(">HHHHB")  # x0 y0 x1 y1, drawn
_AD_LABEL = b"sdr-semcom/embedding/v3|"
PACKET_TAG_LEN = 8


def packet_tag(index: int, packet: bytes) -> bytes:
    """The tag of FEATURES packet ``index`` listed in the sealed message: 8 bytes of SHA-256 over the
    index and the bytes (a packet moved to another place in the image does not match either)."""
    return hashlib.sha256(b"sdr-semcom/packet|" + struct.pack(">I", index) + bytes(packet)).digest()[:PACKET_TAG_LEN]


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
    image_header : bytes
        The image's METADATA message as sent (it carries the transmitter's session id): the
        message is bound to its SHA-256.
    """

    codec_id: str
    stream: int
    msg_id: int
    image_header: bytes

    def associated(self, header: bytes) -> bytes:
        codec = self.codec_id.encode()
        return (_AD_LABEL + header + struct.pack(">BHB", self.stream & 0xFF, self.msg_id & 0xFFFF, len(codec)) + codec
                + hashlib.sha256(self.image_header).digest())


@dataclass(frozen=True)
class Drawing:
    """How the guard drew the removed pixels around its boxes (sent sealed).

    Parameters
    ----------
    margin : float
        Fraction of a box's size it was grown by on every side (``PrivacyGuard(margin=...)``).
    dilate_px : int
        Pixels a pixel mask was dilated by before the margin (``masking.DILATE_PX``).
    head : (float, float, float)
        A face's head region around its box (``drawn`` :data:`DRAWN_HEAD`): growth side, up, down as
        fractions of the box's width / height (``masking.HEAD_GROWTH``).
    """

    margin: float = DEFAULT_MARGIN
    dilate_px: int = DILATE_PX
    head: tuple[float, float, float] = HEAD_GROWTH

    def removed(self, box: tuple[float, float, float, float], shape: tuple[int, int], drawn: int
                ) -> tuple[int, int, int, int]:
        """The pixel bounds ``(x0, y0, x1, y1)`` (exclusive ends) holding every pixel the guard removed
        for ``box`` drawn as ``drawn`` in an image of ``shape`` (exactly them, but for a pixel mask)."""
        if drawn == DRAWN_HEAD:
            return head_box(box, shape, self.head)
        return removed_box(box, shape, self.margin, drawn == DRAWN_MASK, self.dilate_px)


class Region(NamedTuple):
    box: tuple[int, int, int, int]
    vector: np.ndarray  # unit 384-d, dequantized
    drawn: int = DRAWN_BOX  # DRAWN_BOX, DRAWN_MASK or DRAWN_HEAD


class Findings(NamedTuple):
    """An opened EMBEDDING message: the regions, how their pixels were drawn, and the tag of each
    FEATURES packet of the image (:func:`packet_tag`)."""

    regions: list[Region]
    drawing: Drawing
    packet_tags: list[bytes] = []

    def packet_ok(self, index: int, packet: bytes) -> bool:
        """Whether a received FEATURES packet is the one the transmitter sent at ``index``."""
        return 0 <= index < len(self.packet_tags) and hmac.compare_digest(packet_tag(index, packet),
                                                                           self.packet_tags[index])


@dataclass(frozen=True)
class EmbeddingMessage:
    """A parsed EMBEDDING message: its clear fields and the (sealed) body."""

    header: bytes  # the clear bytes, authenticated as associated data
    bits: int
    packets: int  # how many FEATURES packet tags the plaintext lists
    key_id: bytes | None  # None: unsealed
    version_tag: bytes | None
    body: bytes

    @property
    def sealed(self) -> bool:
        return self.key_id is not None

    @property
    def region_count(self) -> int:
        """What anyone can tell from the length: how many regions the message describes."""
        size = len(self.body) - (NONCE_LEN + TAG_LEN if self.sealed else 0) - _HEAD.size
        return (size - self.packets * PACKET_TAG_LEN) // _step(self.bits)

    def open(self, keys: LinkKeys | None, context: Context) -> Findings:
        """The regions and drawing; :class:`~sdr_semcom.privacy.keying.AuthenticationFailed` when a
        sealed message does not verify under ``keys``, ValueError when a verified one is malformed."""
        if not self.sealed:
            plain = self.body
        elif keys is None:
            raise ValueError("the message is sealed: opening it needs the database")
        else:
            plain = keys.open(self.body, context.associated(self.header))
        if len(plain) < _HEAD.size:
            raise ValueError(f"findings plaintext has {len(plain)} B, shorter than its {_HEAD.size}-byte head")
        margin, dilate, side, up, down, count = _HEAD.unpack_from(plain)
        step, tags_end = _step(self.bits), _HEAD.size + self.packets * PACKET_TAG_LEN
        if len(plain) != tags_end + count * step:
            raise ValueError(f"findings plaintext has {len(plain)} B, expected {tags_end + count * step}")
        if (count or self.packets) and not self.sealed:
            raise ValueError("an unsealed findings message must not describe regions or packets")
        tags = [plain[o : o + PACKET_TAG_LEN] for o in range(_HEAD.size, tags_end, PACKET_TAG_LEN)]
        q = EmbeddingQuantizer(self.bits)
        out = []
        for i in range(count):
            off = tags_end + i * step
            *box, drawn = _BOX.unpack_from(plain, off)
            if drawn not in _DRAWN:
                raise ValueError(f"region {i}: unknown drawing {drawn}")
            out.append(Region(tuple(box), q.decode(plain[off + _BOX.size : off + step]), drawn))
        return Findings(out, Drawing(margin / 1000, dilate, (side / 1000, up / 1000, down / 1000)), tags)


def _step(bits: int) -> int:
    return _BOX.size + EmbeddingQuantizer(bits).nbytes


def embedding_offset(index: int, bits: int, packets: int = 0) -> int:
    """Where region ``index``'s quantized embedding starts in the plaintext of a message listing
    ``packets`` packet tags (for attack studies that read ciphertext as if it were plaintext: GCM
    keeps offsets)."""
    return _HEAD.size + packets * PACKET_TAG_LEN + index * _step(bits) + _BOX.size


def pack_findings(boxes: list[tuple[float, float, float, float]], vectors: np.ndarray, keys: LinkKeys | None,
                  context: Context, bits: int = 8, drawing: Drawing = Drawing(),
                  drawn: list[int] | None = None, packets: list[bytes] = (),
                  randbytes: Callable[[int], bytes] = os.urandom) -> bytes:
    """One EMBEDDING message: sealed under ``keys``; unsealed (and then empty) when ``keys`` is None.

    ``randbytes``: the nonce's source (:meth:`~sdr_semcom.privacy.keying.LinkKeys.seal`).

    ``drawn`` gives each box's :data:`DRAWN_BOX` / :data:`DRAWN_MASK` / :data:`DRAWN_HEAD` (default: all boxes);
    ``packets`` are the image's FEATURES packets, whose tags the sealed message lists (an
    unsealed message lists none).
    """
    if len(boxes) > 255:
        raise ValueError("at most 255 regions per image")
    if len(boxes) != len(vectors):
        raise ValueError(f"{len(boxes)} boxes but {len(vectors)} vectors")
    drawn = [DRAWN_BOX] * len(boxes) if drawn is None else list(drawn)
    if len(drawn) != len(boxes) or any(d not in _DRAWN for d in drawn):
        raise ValueError(f"drawn must give one of {_DRAWN} for each of the {len(boxes)} boxes")
    if boxes and keys is None:
        raise ValueError("removed regions are only sent sealed: give the transmitter the privacy database")
    if (not 0 <= drawing.margin <= 65.535 or not 0 <= drawing.dilate_px <= 255
            or len(drawing.head) != 3 or not all(0 <= g <= 65.535 for g in drawing.head)):
        raise ValueError(f"margin {drawing.margin} / dilate {drawing.dilate_px} px / head {drawing.head} out of the "
                         "wire's range")
    if keys is None:  # nothing was removed: nothing to say about how, and nothing to authenticate with
        drawing, packets = Drawing(0.0, 0, (0.0, 0.0, 0.0)), ()
    if len(packets) > 0xFFFF:
        raise ValueError(f"{len(packets)} packets: at most 65535 per image")
    q = EmbeddingQuantizer(bits)
    plain = [_HEAD.pack(int(round(drawing.margin * 1000)), int(drawing.dilate_px),
                        *(int(round(g * 1000)) for g in drawing.head), len(boxes))]
    plain += [packet_tag(i, p) for i, p in enumerate(packets)]
    for box, vec, d in zip(boxes, vectors, drawn):
        plain.append(_BOX.pack(*(int(np.clip(round(v), 0, 0xFFFF)) for v in box), d))
        plain.append(q.encode(vec))
    if keys is None:
        return _CLEAR.pack(FORMAT, 0, bits, 0) + b"".join(plain)
    header = _CLEAR.pack(FORMAT, SEALED, bits, len(packets)) + _KEYS.pack(keys.key_id, keys.version_tag)
    return header + keys.seal(b"".join(plain), context.associated(header), randbytes)


def parse_findings(data: bytes) -> EmbeddingMessage:
    """Clear fields and body; ValueError when the message is malformed (short, unknown format, bad length)."""
    if data and data[0] != FORMAT:
        raise ValueError(f"findings message format {data[0]}, this receiver reads format {FORMAT} (update both ends)")
    if len(data) < _CLEAR.size:
        raise ValueError("findings message too short")
    _, flags, bits, packets = _CLEAR.unpack_from(data)
    if not 1 <= bits <= 16:
        raise ValueError(f"findings message says {bits} bits per coordinate (1..16)")
    if flags & SEALED:
        head = _CLEAR.size + _KEYS.size
        if len(data) < head + NONCE_LEN + TAG_LEN + _HEAD.size:
            raise ValueError("sealed findings message too short")
        key_id, tag = _KEYS.unpack_from(data, _CLEAR.size)
        msg = EmbeddingMessage(data[:head], bits, packets, key_id, tag, data[head:])
        extra = len(msg.body) - NONCE_LEN - TAG_LEN - _HEAD.size - packets * PACKET_TAG_LEN
    else:
        msg = EmbeddingMessage(data[: _CLEAR.size], bits, packets, None, None, data[_CLEAR.size :])
        extra = len(msg.body) - _HEAD.size - packets * PACKET_TAG_LEN
    if extra < 0 or extra % _step(bits):
        raise ValueError(f"findings message of {len(data)} B is not a whole number of {_step(bits)}-byte regions")
    return msg


def unpack_findings(data: bytes, keys: LinkKeys | None, context: Context) -> Findings:
    """:func:`parse_findings` then :meth:`EmbeddingMessage.open`."""
    return parse_findings(data).open(keys, context)
