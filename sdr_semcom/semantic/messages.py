"""Images <-> link messages: what the transmitter sends and the receiver rebuilds.

An image travels as two messages: a METADATA message holding the :class:`~.api.ImageHeader`,
then a FEATURES message whose fragments are the codec's packets (one per radio burst). The
receiver pairs them (consecutive message ids of one stream) and decodes with the packet map it got.
An image resized for the link carries its original size in the header; the receiver restores it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..images import resize
from ..phy.framing import Message, PayloadType
from .api import DecodeInfo, ImageCodec, ImageHeader

log = logging.getLogger(__name__)


#: largest original side a header may ask the receiver to restore (larger: not restored)
MAX_RESTORED_SIDE = 1 << 14


def image_messages(codec: ImageCodec, img: np.ndarray, original_size: tuple[int, int] | None = None,
                   session: str = "") -> list[tuple[bytes | list[bytes], PayloadType]]:
    """``img`` -> METADATA and FEATURES messages; ``original_size`` (height, width) travels in the
    header when ``img`` was resized for the link, and the receiver restores it; ``session`` (the
    transmitter's session id, hex) travels in the header too."""
    header, packets = codec.encode(img)
    if original_size is not None and tuple(original_size) != tuple(img.shape[:2]):
        header = replace(header, orig_height=int(original_size[0]), orig_width=int(original_size[1]))
    if session:
        header = replace(header, session=session)
    return [(header.to_bytes(), PayloadType.METADATA), (packets, PayloadType.FEATURES)]


@dataclass
class ReceivedImage:
    """An image the receiver rebuilt, what it got of it, and the id of its header message.

    ``rejected``: packets that arrived but that ``accept`` refused (decoded as lost).
    """

    image: np.ndarray
    info: DecodeInfo
    msg_id: int
    rejected: int = 0


#: ``accept(header_msg_id, packet_index, packet) -> bool``: whether to decode a packet that arrived
PacketCheck = Callable[[int, int, bytes], bool]


def received_images(codec: ImageCodec, messages: list[Message], accept: PacketCheck | None = None
                    ) -> tuple[list[ReceivedImage], int]:
    """Decode every image whose header arrived; returns the images and how many were lost whole.

    An image whose header was lost cannot be placed and counts as lost, and so does one whose header
    the codec refuses (another codec's features, an unknown quantiser table set: logged); one whose features were
    all lost decodes to the defined grey image (``info.all_lost``). ``accept`` (the authorized
    receiver's check of each packet against its sealed tag) turns a packet it refuses into a lost one.
    """
    by_id = {(m.stream, m.msg_id): m for m in messages}
    out, lost = [], 0
    for m in messages:
        if m.ptype is not PayloadType.METADATA:
            continue
        if not m.complete:
            lost += 1
            continue
        try:
            header = ImageHeader.from_bytes(m.data)
        except ValueError:
            lost += 1
            continue
        feats = by_id.get((m.stream, (m.msg_id + 1) & 0xFFFF))
        packets = feats.fragments if feats is not None and feats.ptype is PayloadType.FEATURES else []
        packets = list(packets) + [None] * max(0, header.n_packets - len(packets))
        rejected = 0
        if accept is not None:
            for k, p in enumerate(packets):
                if p is not None and not accept(m.msg_id, k, p):
                    packets[k], rejected = None, rejected + 1
        try:
            img, info = codec.decode(header, packets)
        except ValueError as exc:  # a header this codec refuses (another codec's, an unknown table set)
            log.warning("image %d: not decoded, counted lost: %s", m.msg_id, exc)
            lost += 1
            continue
        if 0 < header.orig_height <= MAX_RESTORED_SIDE and 0 < header.orig_width <= MAX_RESTORED_SIDE:
            img = resize(img, (header.orig_height, header.orig_width))
        out.append(ReceivedImage(img, info, m.msg_id, rejected))
    return out, lost
