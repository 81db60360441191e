"""Plain (uncompressed) image payloads: what the demo sends before the semantic codec.

Payload layout: ``height u16 | width u16 | channels u8 | pixel bytes (row major)``.
Uncompressed pixels make losses visible: a lost fragment is a band of missing rows.
"""

from __future__ import annotations

import struct

import numpy as np

from ..phy.framing import Message

_HEAD = struct.Struct(">HHB")


def encode(img: np.ndarray) -> bytes:
    img = np.asarray(img, dtype=np.uint8)
    if img.ndim == 2:
        img = img[..., None]
    h, w, c = img.shape
    return _HEAD.pack(h, w, c) + img.tobytes()


def decode(msg: Message, mtu: int) -> tuple[np.ndarray, float] | None:
    """Rebuild an image from a (possibly incomplete) message.

    Output: the image with lost bytes set to 0, and the fraction of bytes received;
    None if the first fragment (the header) was lost, or if the message is not a raw image
    (its header does not match the message's size).
    """
    if not msg.fragments or msg.fragments[0] is None or len(msg.fragments[0]) < _HEAD.size:
        return None
    h, w, c = _HEAD.unpack_from(msg.fragments[0])
    size = _HEAD.size + h * w * c
    if h == 0 or w == 0 or c not in (1, 3, 4) or -(-size // mtu) != len(msg.fragments):
        return None
    if msg.complete and len(msg.data) != size:
        return None
    buf = np.zeros(size, np.uint8)
    got = 0
    for i, frag in enumerate(msg.fragments):
        if frag is not None:
            chunk = np.frombuffer(frag, np.uint8)[: max(size - i * mtu, 0)]
            buf[i * mtu : i * mtu + chunk.size] = chunk
            got += chunk.size
    img = buf[_HEAD.size :].reshape(h, w, c)
    return (img[..., 0] if c == 1 else img), got / size
