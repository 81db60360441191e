"""Latent codes <-> packets that each decode on their own.

Latent positions are spread over the packets by the shared interleaver
(:func:`~..interleave.packet_cells`), so a lost packet erases positions scattered over the whole
image, which the decoder was trained to fill. A packet holds all ``C`` values of its positions,
``bits`` each, bit-packed; it is one fragment of a FEATURES message, so the fragment index
is the packet index and the link's loss map is the packet map.
"""

from __future__ import annotations

import numpy as np

from ..api import ImageHeader
from ..interleave import packet_cells


def packetize(codes: np.ndarray, bits: int, n_packets: int) -> list[bytes]:
    """(C, h, w) integer codes -> ``n_packets`` byte strings."""
    c, h, w = codes.shape
    flat = codes.reshape(c, h * w).T.astype(np.uint32)  # (positions, C)
    out = []
    for idx in packet_cells(h * w, n_packets):
        vals = flat[idx].ravel()
        b = ((vals[:, None] >> np.arange(bits - 1, -1, -1)) & 1).astype(np.uint8).ravel()
        out.append(np.packbits(b).tobytes())
    return out


def depacketize(packets: list[bytes | None], header: ImageHeader) -> tuple[np.ndarray, np.ndarray, int]:
    """Packets (None where lost) -> codes (C, h, w), received map (h, w) and the number dropped.

    The header gives the grid (``grid_h x grid_w`` positions, ``planes`` channels of ``bits``).
    A packet of the wrong length, or beyond ``n_packets``, is dropped and counted, never decoded.
    """
    c, h, w, bits = header.planes, header.grid_h, header.grid_w, header.bits
    codes = np.zeros((h * w, c), np.float32)
    received = np.zeros(h * w, np.float32)
    dropped = 0
    assign = packet_cells(h * w, header.n_packets)
    for k, pkt in enumerate(packets):
        if pkt is None:
            continue
        if k >= header.n_packets:
            dropped += 1
            continue
        idx = assign[k]
        nbits = idx.size * c * bits
        if len(pkt) != -(-nbits // 8):
            dropped += 1
            continue
        b = np.unpackbits(np.frombuffer(pkt, np.uint8))[:nbits].reshape(idx.size * c, bits)
        vals = b.astype(np.uint32) @ (1 << np.arange(bits - 1, -1, -1)).astype(np.uint32)
        codes[idx] = vals.reshape(idx.size, c)
        received[idx] = 1
    return codes.T.reshape(c, h, w), received.reshape(h, w), dropped
