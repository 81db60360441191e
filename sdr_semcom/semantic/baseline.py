"""Separation baseline: JPEG sized to the codec's byte budget, cut into the same packets.

Over the same PHY and FEC, a lost packet leaves a hole in the JPEG stream. The receiver
zero-fills the hole and decodes what it can (a classical decoder has no way to conceal it);
when the stream does not decode at all, the output is the same grey image the codec gives
when everything is lost.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image, ImageFile

from .api import GREY
_HEAD = struct.Struct(">HHI")  # height, width, jpeg length


def jpeg_for_budget(img: np.ndarray, budget: int) -> tuple[bytes, int]:
    """Largest-quality JPEG of ``img`` whose bytes (plus an 8-byte header) fit ``budget``.

    Returns the bytes and the quality; quality 1 is returned even when it is over budget.
    """
    pil = Image.fromarray(np.asarray(img, np.uint8)).convert("RGB")
    best = None
    lo, hi = 1, 95
    while lo <= hi:
        q = (lo + hi) // 2
        buf = io.BytesIO()
        pil.save(buf, "JPEG", quality=q, optimize=True)
        if len(buf.getvalue()) + _HEAD.size <= budget:
            best, lo = (buf.getvalue(), q), q + 1
        else:
            hi = q - 1
    if best is None:
        buf = io.BytesIO()
        pil.save(buf, "JPEG", quality=1, optimize=True)
        best = (buf.getvalue(), 1)
    return best


def packets_for(img: np.ndarray, budget: int, n_packets: int) -> list[bytes]:
    """The baseline's packets: header + JPEG, split into ``n_packets`` near-equal chunks."""
    jpeg, _ = jpeg_for_budget(img, budget)
    h, w = np.asarray(img).shape[:2]
    data = _HEAD.pack(h, w, len(jpeg)) + jpeg
    size = -(-len(data) // n_packets)
    return [data[i * size : (i + 1) * size] for i in range(n_packets)]


def decode_packets(packets: list[bytes | None], shape: tuple[int, int], packet_size: int) -> np.ndarray:
    """Rebuild from packets (None where lost); holes are zero-filled, undecodable -> grey."""
    h, w = shape
    grey = np.full((h, w, 3), GREY, np.uint8)
    if not packets or packets[0] is None:
        return grey
    data = bytearray(b"".join(p if p is not None else bytes(packet_size) for p in packets))
    _, _, n = _HEAD.unpack_from(data)
    jpeg = bytes(data[_HEAD.size : _HEAD.size + n])
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        with Image.open(io.BytesIO(jpeg)) as im:
            out = np.asarray(im.convert("RGB"))
    except Exception:  # noqa: BLE001 - any decoder failure means the image is lost
        return grey
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False
    if out.shape[:2] != (h, w):
        return grey
    return out
