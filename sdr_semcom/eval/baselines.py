"""Classical privacy baselines on the same removed regions: none, Gaussian blur, pixelation, grey box; and
``blank``, the whole image grey (nothing of anyone: what the judges give a content-free image)."""

from __future__ import annotations

import numpy as np

BASELINES = ("no_privacy", "blur", "pixelate", "grey_box", "blank")


def blur(img: np.ndarray, mask: np.ndarray, kernel: int = 31) -> np.ndarray:
    """Gaussian blur (odd ``kernel``) inside ``mask``; the rest untouched."""
    import cv2

    k = kernel | 1
    out = img.copy()
    out[mask] = cv2.GaussianBlur(img, (k, k), 0)[mask]
    return out


def pixelate(img: np.ndarray, mask: np.ndarray, block: int = 12) -> np.ndarray:
    """Blocks of ``block`` px (mean colour) inside ``mask``."""
    import cv2

    h, w = img.shape[:2]
    small = cv2.resize(img, (max(1, w // block), max(1, h // block)), interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    out = img.copy()
    out[mask] = big[mask]
    return out


def grey_box(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The guard's own masking (its fill colour), with nothing filled back."""
    from ..privacy.masking import apply_mask

    return apply_mask(img, mask)


def blank(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The whole image the guard's fill colour, whatever ``mask``: no pixel of anyone. The judges' scores
    of it are the leakage floor of a content-free image (not zero: SFace gives a grey crop a cosine of
    0.1-0.25 to any face)."""
    del mask
    return grey_box(img, np.ones(img.shape[:2], bool))


def baseline(name: str, img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The image ``name`` (one of :data:`BASELINES`) makes of ``img`` with the removed pixels ``mask``."""
    if name == "no_privacy":
        return img.copy()
    fn = {"blur": blur, "pixelate": pixelate, "grey_box": grey_box, "blank": blank}.get(name)
    if fn is None:
        raise ValueError(f"unknown baseline {name!r}: one of {BASELINES}")
    return fn(img, mask)
