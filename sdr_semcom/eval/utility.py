"""Utility of a reconstruction for a downstream task: are the faces still faces where they were?

YuNet is run on the reconstruction; each original face is matched with the detection of highest
IoU (0 when none overlaps). A privacy method that keeps a face-shaped face in place keeps its
utility (counting people, framing) without keeping the person.
"""

from __future__ import annotations

import numpy as np

from .identity import Face, _yunet


def iou(a, b) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def detection_utility(rgb: np.ndarray, faces: list[Face], min_score: float = 0.6) -> dict:
    """``{"detected": count, "found": originals matched at IoU >= 0.5, "iou": [best IoU per original face]}``."""
    boxes = [d.box for d in _yunet().detect(rgb) if d.score >= min_score]
    ious = [max((iou(f.box, b) for b in boxes), default=0.0) for f in faces]
    return {"detected": len(boxes), "found": int(sum(i >= 0.5 for i in ious)), "iou": [round(i, 3) for i in ious]}
