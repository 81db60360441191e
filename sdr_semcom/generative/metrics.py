"""Quality inside the filled holes: PSNR, SSIM and ST-LPIPS (shift-tolerant LPIPS, AlexNet)."""

from __future__ import annotations

import importlib.util
import sys
import types
from functools import lru_cache
from pathlib import Path

import numpy as np


def hole_psnr_ssim(ref: np.ndarray, out: np.ndarray, hole: np.ndarray) -> tuple[float, float]:
    """PSNR (dB) over the hole's pixels and SSIM over its bounding box (RGB uint8 images)."""
    from skimage.metrics import structural_similarity

    d = ref[hole].astype(np.float64) - out[hole].astype(np.float64)
    mse = max(float(np.mean(d ** 2)), 1e-10)
    sl = hole_bbox(hole)
    side = min(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start)
    win = max(3, min(7, side - (1 - side % 2)))
    ssim = structural_similarity(ref[sl], out[sl], channel_axis=2, data_range=255, win_size=win)
    return float(10 * np.log10(255.0 ** 2 / mse)), float(ssim)


def hole_bbox(hole: np.ndarray) -> tuple[slice, slice]:
    ys, xs = np.nonzero(hole)
    return np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _placeholder(name: str, attrs: dict) -> bool:
    """Register a module that ``stlpips_pytorch`` imports but never uses for AlexNet (see :func:`st_lpips_model`)."""
    if name in sys.modules or importlib.util.find_spec(name) is not None:
        return False
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    mod.__sdr_semcom_placeholder__ = True
    sys.modules[name] = mod
    return True


@lru_cache(maxsize=1)
def st_lpips_model():
    """``stlpips_pytorch.LPIPS(net='alex', variant='shift_tolerant')`` with its shipped weights, checked.

    ``stlpips-pytorch`` 0.0.2 imports ``torchvision`` (which breaks our CPU torch), ``IPython`` and
    ``torchsummary`` at module level but uses none of them for the shift-tolerant AlexNet; where they are
    not installed, empty placeholder modules stand in (any use of them raises ``AttributeError``). The
    package loads its weights with ``strict=False``; they are loaded again here and checked:
    every weight but the ``lins.i`` aliases of ``lin{i}`` must come from the file: a missing or renamed
    one is an error instead of a randomly initialised layer.
    """
    import torch

    try:
        spec = importlib.util.find_spec("stlpips_pytorch")
    except ValueError:
        spec = None
    if spec is None:
        raise RuntimeError("ST-LPIPS needs stlpips-pytorch (pip install stlpips-pytorch==0.0.2)")

    def unused(*_a, **_k):
        raise RuntimeError("placeholder: stlpips_pytorch called a module it does not need for AlexNet")

    tv = types.ModuleType("torchvision.models")
    added = [n for n, attrs in (("torchvision", {"models": tv}), ("IPython", {"embed": unused}),
                                ("torchsummary", {"summary": unused})) if _placeholder(n, attrs)]
    if "torchvision" in added:
        sys.modules["torchvision.models"] = tv
        added.append("torchvision.models")
    try:
        from stlpips_pytorch import stlpips
    finally:  # other libraries (matplotlib looks for IPython) must not see the placeholders
        for n in added:
            sys.modules.pop(n, None)

    model = stlpips.LPIPS(net="alex", variant="shift_tolerant", verbose=False)
    path = Path(stlpips.__file__).parent / "weights" / "vST0.0" / "alex_shift_tolerant.pth"
    res = model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=False)
    # ``lins.i`` is the same module as ``lin{i}`` (a ModuleList of them): only those aliases may be missing
    missing = [k for k in res.missing_keys if not (k.startswith("lins.") and f"lin{k.split('.')[1]}" in dict(model.named_children()))]
    if missing or res.unexpected_keys:
        raise RuntimeError(f"{path} does not fit stlpips' AlexNet: missing {missing}, unexpected {res.unexpected_keys}; "
                           "reinstall stlpips-pytorch==0.0.2")
    return model.eval()


def st_lpips(ref: np.ndarray, out: np.ndarray, hole: np.ndarray, size: int = 128) -> float:
    """ST-LPIPS distance between the hole's bounding boxes, both resized to ``size`` x ``size`` (lower is better)."""
    import cv2
    import torch

    sl = hole_bbox(hole)
    t = lambda a: torch.from_numpy(cv2.resize(np.ascontiguousarray(a[sl]), (size, size),  # noqa: E731
                                              interpolation=cv2.INTER_CUBIC)).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        return float(st_lpips_model()(t(ref), t(out), normalize=True))
