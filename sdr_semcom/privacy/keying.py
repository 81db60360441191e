"""Keying of the text embedding that goes on the air: a secret rotation, then quantization.

The 384-d unit MiniLM vector ``e`` is rotated by a secret orthogonal matrix ``R`` drawn from
the database secret (HMAC-SHA256 seeds a Gaussian matrix; its QR factor is ``R``), then each
coordinate is quantized to ``bits`` bits on ``[-CLIP, CLIP]``. Without the secret the received
vector ``R e`` is a rotated copy whose cosine with ``e`` (or with any MiniLM embedding) is about
``N(0, 1/384)``. The authorized receiver applies ``R^T`` and aligns the result with its own copy
of the database (:class:`~sdr_semcom.privacy.aligner.Aligner`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import numpy as np

from .text_encoder import DIM

CLIP = 4.0 / np.sqrt(DIM)  # 4 sigma of a rotated unit vector's coordinates


def _rotation(secret: bytes) -> np.ndarray:
    seed = int.from_bytes(hmac.new(secret, b"sdr-semcom/embedding-rotation/v1", hashlib.sha256).digest(), "big")
    g = np.random.default_rng(seed).standard_normal((DIM, DIM))
    q, r = np.linalg.qr(g)
    return (q * np.sign(np.diag(r))).astype(np.float64)  # unique, uniformly distributed


@dataclass
class KeyedEmbedding:
    """Quantize + key (transmitter) and unkey + align (receiver) text embeddings.

    Parameters
    ----------
    secret : bytes
        The database secret. ``None`` gives an eavesdropper's view: no rotation can be undone.
    bits : int
        Bits per coordinate (1..16).
    """

    secret: bytes | None
    bits: int = 8

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 16:
            raise ValueError(f"bits must be 1..16, got {self.bits}")
        self._r = _rotation(self.secret) if self.secret is not None else None

    @property
    def nbytes(self) -> int:
        return -(-DIM * self.bits // 8)

    def encode(self, vector: np.ndarray) -> bytes:
        """Unit 384-d vector -> keyed, quantized bytes (``nbytes`` long)."""
        if self._r is None:
            raise ValueError("encoding needs the database secret")
        y = self._r @ np.asarray(vector, dtype=np.float64)
        levels = (1 << self.bits) - 1
        q = np.round((np.clip(y, -CLIP, CLIP) + CLIP) / (2 * CLIP) * levels).astype(np.uint32)
        bits = ((q[:, None] >> np.arange(self.bits - 1, -1, -1)) & 1).astype(np.uint8).ravel()
        return np.packbits(bits).tobytes()

    def received_vector(self, data: bytes) -> np.ndarray:
        """Bytes -> dequantized vector, un-keyed when the secret is known (unit norm)."""
        if len(data) != self.nbytes:
            raise ValueError(f"keyed embedding must be {self.nbytes} bytes at {self.bits} bits, got {len(data)}")
        bits = np.unpackbits(np.frombuffer(data, np.uint8))[: DIM * self.bits].reshape(DIM, self.bits)
        q = bits.astype(np.uint32) @ (1 << np.arange(self.bits - 1, -1, -1)).astype(np.uint32)
        y = q / ((1 << self.bits) - 1) * 2 * CLIP - CLIP
        v = self._r.T @ y if self._r is not None else y
        return (v / max(np.linalg.norm(v), 1e-12)).astype(np.float32)
