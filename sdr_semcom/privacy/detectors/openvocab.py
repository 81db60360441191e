"""Open-vocabulary segmentation (CLIPSeg) from a local model directory a lab provides.

No CLIPSeg weights ship in any package, so this backend exists only when a directory is
given (``--open-vocab DIR``, e.g. a local copy of ``CIDAS/clipseg-rd64-refined`` saved with
``save_pretrained``). It serves database entries that no dedicated backend matches, using each
entry's description as the text prompt.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .base import Detection, ModelMissing


class ClipSeg:
    name = "clipseg"
    finds = ("any object or region described in words",)

    def __init__(self, model_dir: str | Path, threshold: float = 0.5) -> None:
        model_dir = Path(model_dir)
        if not (model_dir / "config.json").exists():
            raise ModelMissing(f"no CLIPSeg model in {model_dir} (expected config.json, weights and processor "
                               "files saved with save_pretrained, e.g. from CIDAS/clipseg-rd64-refined)")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import CLIPSegForImageSegmentation, CLIPSegProcessor

        self._torch = torch
        self.processor = CLIPSegProcessor.from_pretrained(str(model_dir), local_files_only=True)
        self.model = CLIPSegForImageSegmentation.from_pretrained(str(model_dir), local_files_only=True).eval()
        self.threshold = threshold

    def heatmaps(self, rgb: np.ndarray, prompts: list[str]) -> np.ndarray:
        """(len(prompts), H, W) probabilities at the image's size."""
        import torch.nn.functional as F

        inputs = self.processor(text=prompts, images=[rgb] * len(prompts), padding=True, return_tensors="pt")
        with self._torch.no_grad():
            logits = self.model(**inputs).logits
        logits = logits.reshape(len(prompts), 1, *logits.shape[-2:])
        up = F.interpolate(logits, size=rgb.shape[:2], mode="bilinear", align_corners=False)[:, 0]
        return self._torch.sigmoid(up).numpy()

    def detect(self, rgb: np.ndarray, prompts: list[str] | None = None) -> list[Detection]:
        if not prompts:
            return []
        out = []
        for prompt, heat in zip(prompts, self.heatmaps(rgb, prompts)):
            mask = heat >= self.threshold
            if not mask.any():
                continue
            ys, xs = np.nonzero(mask)
            out.append(Detection((float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)),
                                 float(heat[mask].mean()), prompt, mask=mask, sources=(self.name,)))
        return out
