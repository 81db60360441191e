"""Latent codes <-> packets that each decode on their own.

Latent position ``p`` (of ``h * w``) goes to packet ``perm[p] % n_packets`` (a fixed
pseudorandom interleaver), so a lost packet erases positions scattered over the whole image,
which the decoder was trained to fill. A packet holds all ``C`` values of its positions,
``bits`` each, bit-packed; it is one fragment of a FEATURES message, so the fragment index
is the packet index and the link's loss map is the packet map.

A small header message (METADATA) precedes the features: codec name, image size, latent
size, packet count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FeatureHeader:
    codec: str  # codec name + weights hash prefix: both ends must use the same weights
    height: int  # original image size
    width: int
    lat_h: int
    lat_w: int
    channels: int
    bits: int
    n_packets: int
    quant: int = 0  # codec v2: quantiser scale in thousandths (0 for the latent codec)
    orig_height: int = 0  # size of the image before the link resized it (0: height x width, not resized)
    orig_width: int = 0

    def to_bytes(self) -> bytes:
        return json.dumps(self.__dict__, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "FeatureHeader":
        try:
            d = json.loads(data.decode())
            return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a feature header: {exc}") from exc


def _assignment(n_pos: int, n_packets: int) -> list[np.ndarray]:
    perm = np.random.default_rng(20250908).permutation(n_pos)
    return [np.sort(np.nonzero(perm % n_packets == k)[0]) for k in range(n_packets)]


def packetize(codes: np.ndarray, bits: int, n_packets: int) -> list[bytes]:
    """(C, h, w) integer codes -> ``n_packets`` byte strings."""
    c, h, w = codes.shape
    flat = codes.reshape(c, h * w).T.astype(np.uint32)  # (positions, C)
    out = []
    for idx in _assignment(h * w, n_packets):
        vals = flat[idx].ravel()
        b = ((vals[:, None] >> np.arange(bits - 1, -1, -1)) & 1).astype(np.uint8).ravel()
        out.append(np.packbits(b).tobytes())
    return out


def depacketize(packets: list[bytes | None], header: FeatureHeader) -> tuple[np.ndarray, np.ndarray, int]:
    """Packets (None where lost) -> codes (C, h, w), received map (h, w) and the number dropped.

    A packet of the wrong length, or beyond ``n_packets``, is dropped and counted, never decoded.
    """
    c, h, w, bits = header.channels, header.lat_h, header.lat_w, header.bits
    codes = np.zeros((h * w, c), np.float32)
    received = np.zeros(h * w, np.float32)
    dropped = 0
    assign = _assignment(h * w, header.n_packets)
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
