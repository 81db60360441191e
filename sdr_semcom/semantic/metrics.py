"""Image quality of a codec: PSNR, SSIM and both measured over packet losses."""

from __future__ import annotations

import numpy as np

from .api import ImageCodec


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio (dB) of two uint8 images of the same shape (finite when they are equal)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity of two (H, W, 3) uint8 images (scikit-image's, data range 255)."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


def evaluate(codec: ImageCodec, images: dict[str, np.ndarray], loss_rates=(0.0, 0.1, 0.3), seed: int = 0) -> dict:
    """Mean PSNR / SSIM of ``images`` at several packet-loss rates (real packetization).

    Output
    ------
    dict
        ``{"loss_0.1": {"psnr_db": ..., "ssim": ...}, ...}``, as the manifests record it.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for rate in loss_rates:
        ps, ss = [], []
        for img in images.values():
            header, packets = codec.encode(img)
            lost = rng.random(len(packets)) < rate
            rec, _ = codec.decode(header, [None if x else p for x, p in zip(lost, packets)])
            ps.append(psnr(img, rec))
            ss.append(ssim(img, rec))
        out[f"loss_{rate:.1f}"] = {"psnr_db": round(float(np.mean(ps)), 3), "ssim": round(float(np.mean(ss)), 4)}
    return out
