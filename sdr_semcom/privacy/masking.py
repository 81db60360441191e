"""Region masks and their removal from the image (before anything is encoded)."""

from __future__ import annotations

import numpy as np

from .detectors.base import Detection

#: The value removed pixels get: mid grey, the same on both link ends.
FILL = (127, 127, 127)


def region_mask(shape: tuple[int, int], det: Detection, margin: float = 0.15, dilate_px: int = 2) -> np.ndarray:
    """Boolean (H, W) mask of one detection.

    A detection with a pixel mask is dilated by ``dilate_px`` plus ``margin`` x its box size;
    one without is its box grown by ``margin`` of its width/height on every side.
    """
    import cv2

    h, w = shape
    x0, y0, x1, y1 = det.box
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    if det.mask is None:
        out = np.zeros((h, w), bool)
        xa, ya = max(int(np.floor(x0 - mx)), 0), max(int(np.floor(y0 - my)), 0)
        xb, yb = min(int(np.ceil(x1 + mx)), w), min(int(np.ceil(y1 + my)), h)
        out[ya:yb, xa:xb] = True
        return out
    r = int(round(dilate_px + margin * max(x1 - x0, y1 - y0) / 2))
    if r <= 0:
        return det.mask.astype(bool)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(det.mask.astype(np.uint8), kernel).astype(bool)


def apply_mask(rgb: np.ndarray, mask: np.ndarray, fill=FILL) -> np.ndarray:
    """A copy of ``rgb`` whose masked pixels are ``fill``: nothing of them survives."""
    out = np.array(rgb, dtype=np.uint8, copy=True)
    out[mask] = fill
    return out
