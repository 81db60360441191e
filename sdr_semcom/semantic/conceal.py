"""Classical loss concealment for the separation baselines: what a receiver without a learned
decoder does with the pixels of a lost packet.

:func:`fill` is push-pull interpolation (normalised averaging on an image pyramid): every
missing pixel takes a smooth blend of the received pixels around it, the nearest weighing most.
It is the same kind of neighbour filling as the first stage of codec v2's decoder
(:func:`~.dct.restore.prefill`), without the network after it.
"""

from __future__ import annotations

import numpy as np


def _down(x: np.ndarray) -> np.ndarray:
    h, w = x.shape[:2]
    x = np.pad(x, ((0, h % 2), (0, w % 2)) + ((0, 0),) * (x.ndim - 2), mode="edge")
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


def _up(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear 2x upsampling (half-pixel centres, edges replicated), cropped to ``shape``."""
    p = np.pad(x, ((1, 1), (1, 1)) + ((0, 0),) * (x.ndim - 2), mode="edge")
    rows = np.empty((2 * x.shape[0],) + p.shape[1:])
    rows[0::2] = 0.75 * p[1:-1] + 0.25 * p[:-2]
    rows[1::2] = 0.75 * p[1:-1] + 0.25 * p[2:]
    out = np.empty((rows.shape[0], 2 * x.shape[1]) + x.shape[2:])
    out[:, 0::2] = 0.75 * rows[:, 1:-1] + 0.25 * rows[:, :-2]
    out[:, 1::2] = 0.75 * rows[:, 1:-1] + 0.25 * rows[:, 2:]
    return out[: shape[0], : shape[1]]


def fill(img: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Missing pixels (``known`` False) filled by push-pull interpolation from the known ones.

    Parameters
    ----------
    img : ndarray
        (H, W, C) image (any dtype; the values of unknown pixels are ignored).
    known : ndarray
        (H, W) bool, True where the pixel arrived.

    Output
    ------
    ndarray
        The image with known pixels unchanged, same dtype; all grey (127) when nothing is known.
    """
    known = np.asarray(known, bool)
    if known.all():
        return img
    if not known.any():
        return np.full_like(img, 127)
    x = img.astype(np.float64) * known[..., None]
    levels = [(x, known.astype(np.float64))]
    while min(levels[-1][1].shape) > 1 and levels[-1][1].min() <= 0:
        v, w = levels[-1]
        levels.append((_down(v), _down(w)))
    v, w = levels[-1]
    est = v / np.maximum(w, 1e-12)[..., None]
    for v, w in reversed(levels[:-1]):
        up = _up(est, w.shape)
        a = np.minimum(w, 1.0)[..., None]  # pull: where a level is partly known, blend with the coarser estimate
        est = v / np.maximum(w, 1e-12)[..., None] * a + up * (1 - a)
    out = np.where(known[..., None], img.astype(np.float64), est)
    if np.issubdtype(img.dtype, np.integer):
        out = np.clip(np.round(out), np.iinfo(img.dtype).min, np.iinfo(img.dtype).max)
    return out.astype(img.dtype)
