"""Images <-> link messages: what the transmitter sends and the receiver rebuilds.

An image travels as two messages: a METADATA message holding the :class:`~.api.ImageHeader`,
then a FEATURES message whose fragments are the codec's packets (one per radio burst). The
receiver pairs them (consecutive message ids of one stream) and decodes with the packet map it got.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..phy.framing import Message, PayloadType
from .api import DecodeInfo, ImageCodec, ImageHeader


def image_messages(codec: ImageCodec, img: np.ndarray) -> list[tuple[bytes | list[bytes], PayloadType]]:
    """The messages that carry ``img``: ``[(header bytes, METADATA), (packets, FEATURES)]``."""
    header, packets = codec.encode(img)
    return [(header.to_bytes(), PayloadType.METADATA), (packets, PayloadType.FEATURES)]


@dataclass
class ReceivedImage:
    """An image the receiver rebuilt, what it got of it, and the id of its header message."""

    image: np.ndarray
    info: DecodeInfo
    msg_id: int


def received_images(codec: ImageCodec, messages: list[Message]) -> tuple[list[ReceivedImage], int]:
    """Decode every image whose header arrived; returns the images and how many were lost whole.

    An image whose header was lost cannot be placed and counts as lost; one whose features were
    all lost decodes to the defined grey image (``info.all_lost``).
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
        img, info = codec.decode(header, packets)
        out.append(ReceivedImage(img, info, m.msg_id))
    return out, lost
