"""Image quality against the original: PSNR, SSIM, MS-SSIM and ST-LPIPS, on the whole image and inside a mask.

Inside a mask: PSNR over the masked pixels, SSIM and ST-LPIPS over the mask's bounding box (the
functions of :mod:`sdr_semcom.generative.metrics`, shared with the inpainting benchmark).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


def psnr(ref: np.ndarray, out: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB of RGB uint8 images (over ``mask``'s pixels when given); ``inf`` when identical."""
    ref, out = np.asarray(ref, np.float64), np.asarray(out, np.float64)
    if ref.shape != out.shape:
        raise ValueError(f"psnr: shapes differ, {ref.shape} vs {out.shape}")
    d = (ref - out) if mask is None else (ref[mask] - out[mask])
    if d.size == 0:
        raise ValueError("psnr: empty mask")
    mse = float(np.mean(d ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def ssim(ref: np.ndarray, out: np.ndarray, mask: np.ndarray | None = None) -> float:
    """SSIM (RGB, data range 255) over the whole image or ``mask``'s bounding box."""
    from skimage.metrics import structural_similarity

    from ..generative.metrics import hole_bbox

    if mask is not None:
        sl = hole_bbox(mask)
        ref, out = ref[sl], out[sl]
    side = min(ref.shape[:2])
    win = max(3, min(7, side - (1 - side % 2)))
    return float(structural_similarity(ref, out, channel_axis=2, data_range=255, win_size=win))


def ms_ssim(ref: np.ndarray, out: np.ndarray) -> float:
    """MS-SSIM (``pytorch_msssim``, 5 scales) of the whole image; NaN when a side is under 161 px."""
    import torch
    from pytorch_msssim import ms_ssim as _ms

    if min(ref.shape[:2]) < 161:
        return float("nan")
    t = lambda a: torch.from_numpy(np.array(a, copy=True)).permute(2, 0, 1)[None].float()  # noqa: E731
    with torch.no_grad():
        return float(_ms(t(ref), t(out), data_range=255))


def lpips(ref: np.ndarray, out: np.ndarray, mask: np.ndarray | None = None, size: int = 256) -> float:
    """ST-LPIPS (AlexNet, shift tolerant) of the whole image or ``mask``'s bounding box, resized to ``size``²."""
    from ..generative.metrics import st_lpips

    return st_lpips(ref, out, np.ones(ref.shape[:2], bool) if mask is None else mask, size)


@dataclass
class QualityScores:
    """Whole-image and inside-mask quality of a reconstruction (``hole_*``: NaN without a mask)."""

    psnr: float
    ssim: float
    ms_ssim: float
    lpips: float
    hole_psnr: float = float("nan")
    hole_ssim: float = float("nan")
    hole_lpips: float = float("nan")

    def to_json(self) -> dict:
        return {k: (None if not np.isfinite(v) and not np.isinf(v) else round(float(v), 4)) for k, v in asdict(self).items()}


def quality(ref: np.ndarray, out: np.ndarray, mask: np.ndarray | None = None, perceptual: bool = True) -> QualityScores:
    """Every quality figure of ``out`` against ``ref`` (``perceptual=False`` skips ST-LPIPS, the slow one)."""
    if ref.shape != out.shape:
        raise ValueError(f"quality: the reconstruction is {out.shape}, the original {ref.shape}")
    nan = float("nan")
    q = QualityScores(psnr(ref, out), ssim(ref, out), ms_ssim(ref, out), lpips(ref, out) if perceptual else nan)
    if mask is not None and mask.any():
        q.hole_psnr, q.hole_ssim = psnr(ref, out, mask), ssim(ref, out, mask)
        q.hole_lpips = lpips(ref, out, mask, 128) if perceptual else nan
    return q


def hole_quality(ref: np.ndarray, out: np.ndarray, hole: np.ndarray, perceptual: bool = True) -> dict:
    """``{"hole_psnr", "hole_ssim", "hole_lpips"}`` of one region (LPIPS None when ``perceptual`` is off)."""
    return {"hole_psnr": round(psnr(ref, out, hole), 4), "hole_ssim": round(ssim(ref, out, hole), 4),
            "hole_lpips": round(lpips(ref, out, hole, 128), 4) if perceptual else None}
