"""Large generators from a local directory: Stable Diffusion inpainting via ``diffusers``.

Nothing is downloaded: the directory is what ``StableDiffusionInpaintPipeline.save_pretrained``
writes (e.g. a copy of ``stable-diffusion-2-inpainting`` brought to the lab machine), loaded with
``local_files_only=True``. The pipeline is prompted with the aligned description's words
(authorized receiver) or with an empty prompt (eavesdropper: it has no words).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from .network import cut_window, window_of
from .region import Region

log = logging.getLogger(__name__)
#: what every pipeline directory must hold besides the components' weights
REQUIRED = ("model_index.json",)
COMPONENT_FILES = {"unet": "config.json", "vae": "config.json", "text_encoder": "config.json",
                   "scheduler": "scheduler_config.json", "tokenizer": None}


def check_pipeline_dir(path: Path) -> Path:
    """Raise ``FileNotFoundError`` naming the first missing file of a saved inpainting pipeline (``ValueError``:
    its ``model_index.json`` is not a JSON object)."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"generator directory {path} " + ("is a file, not a directory" if path.exists() else
                                                                  "does not exist") +
                                ": point --generator-dir at a StableDiffusionInpaintPipeline saved with "
                                "save_pretrained()")
    for f in REQUIRED:
        if not (path / f).exists():
            raise FileNotFoundError(f"{path / f} missing: {path} is not a saved diffusers pipeline")
    try:
        index = json.loads((path / "model_index.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path / 'model_index.json'} is not JSON ({exc}): {path} is not a saved diffusers "
                         "pipeline") from exc
    if not isinstance(index, dict):
        raise ValueError(f"{path / 'model_index.json'} is not a JSON object: {path} is not a saved diffusers pipeline")
    for comp, cfg in COMPONENT_FILES.items():
        if comp not in index or index[comp] is None or index[comp] == [None, None]:
            if comp == "tokenizer":
                raise FileNotFoundError(f"{path / 'model_index.json'} names no tokenizer")
            raise FileNotFoundError(f"{path / 'model_index.json'} names no {comp}")
        d = path / comp
        if not d.is_dir():
            raise FileNotFoundError(f"{d} missing (model_index.json lists component {comp!r})")
        if cfg is not None and not (d / cfg).exists():
            raise FileNotFoundError(f"{d / cfg} missing")
        if comp in ("unet", "vae", "text_encoder"):
            weights = [p for p in d.iterdir() if p.suffix in (".safetensors", ".bin")]
            if not weights:
                raise FileNotFoundError(f"{d} has no weights (*.safetensors or *.bin): "
                                        "copy the component's weights there")
    return path


class DiffusersInpainter:
    """Backend running a local ``StableDiffusionInpaintPipeline`` on the window around each hole.

    Parameters
    ----------
    path : Path
        Directory written by ``save_pretrained`` (checked by :func:`check_pipeline_dir`).
    steps : int
        Denoising steps.
    guidance : float
        Classifier-free guidance scale.
    size : int or None
        Working resolution of the window (default: the UNet's ``sample_size`` x the VAE's scale factor).
    window : float
        The window around the hole, x its longer side.
    seed : int
        Seeds the noise: the same hole gives the same fill.
    use_description : bool
        ``False``: empty prompt whatever the region says (an eavesdropper's run).
    """

    def __init__(self, path: Path, steps: int = 25, guidance: float = 7.5, size: int | None = None,
                 window: float = 2.0, seed: int = 0, use_description: bool = True) -> None:
        check_pipeline_dir(path)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from diffusers import StableDiffusionInpaintPipeline
        except ImportError as exc:
            raise RuntimeError("DiffusersInpainter needs diffusers (pip install diffusers==0.39.0)") from exc
        self.pipe = StableDiffusionInpaintPipeline.from_pretrained(str(path), local_files_only=True)
        self.pipe.set_progress_bar_config(disable=True)
        if getattr(self.pipe, "safety_checker", None) is not None:
            log.info("the pipeline's safety checker stays on")
        self.steps, self.guidance, self.window, self.seed = steps, guidance, window, seed
        self.size = size or int(self.pipe.unet.config.sample_size * self.pipe.vae_scale_factor)
        self.use_description = use_description
        self.name = "diffusers" if use_description else "diffusers_noprompt"

    def prompt(self, region: Region) -> str:
        """The words the pipeline gets: the aligned description (without the database entry id)."""
        if not self.use_description or not region.description:
            return ""
        text = region.description
        if text.startswith("database entry ") and ":" in text:
            text = text.split(":", 1)[1].strip()  # the entry id says nothing to a generator
        return text

    def fill(self, image: np.ndarray, hole: np.ndarray, unknown: np.ndarray, region: Region) -> np.ndarray:
        import cv2
        import torch
        from PIL import Image

        ys, xs = np.nonzero(hole)
        win = window_of((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), self.window)
        ctx = image
        others = unknown & ~hole
        if others.any():
            ctx = cv2.inpaint(np.ascontiguousarray(image), others.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
        crop, m = cut_window(ctx, hole, win, self.size)
        gen = torch.Generator().manual_seed(self.seed)
        res = self.pipe(prompt=self.prompt(region), image=Image.fromarray(crop),
                        mask_image=Image.fromarray(m.astype(np.uint8) * 255), height=self.size, width=self.size,
                        num_inference_steps=self.steps, guidance_scale=self.guidance, generator=gen,
                        output_type="np")
        y = np.asarray(res.images[0], dtype=np.float32) * 255
        x0, y0, side = win
        patch = cv2.resize(y, (side, side), interpolation=cv2.INTER_CUBIC).round().clip(0, 255).astype(np.uint8)
        h, w = hole.shape
        out = image.copy()
        ya, yb, xa, xb = max(y0, 0), min(y0 + side, h), max(x0, 0), min(x0 + side, w)
        sub = patch[ya - y0 : yb - y0, xa - x0 : xb - x0]
        out[ya:yb, xa:xb][hole[ya:yb, xa:xb]] = sub[hole[ya:yb, xa:xb]]
        return out
