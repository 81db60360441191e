"""What every detector backend returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class ModelMissing(RuntimeError):
    """A model file is not where its package puts it; the message says which package provides it."""


@dataclass
class Detection:
    """One region found in an image.

    Attributes
    ----------
    box : (x0, y0, x1, y1) in pixels
    score : detector confidence in [0, 1]
    label : what was found, in words (the backend's vocabulary)
    mask : optional boolean (H, W) pixel mask; the box is used where None
    landmarks : optional (5, 2) face landmarks (eyes, nose, mouth corners)
    category : the database category the backend assigns (e.g. ``license_plate`` vs ``text``);
        None when the backend finds one kind only
    """

    box: tuple[float, float, float, float]
    score: float
    label: str
    mask: np.ndarray | None = field(default=None, repr=False)
    landmarks: np.ndarray | None = field(default=None, repr=False)
    sources: tuple[str, ...] = ()
    category: str | None = None


class Detector(Protocol):
    """A detector backend. ``detect`` takes an RGB uint8 (H, W, 3) image."""

    name: str
    finds: tuple[str, ...]

    def detect(self, rgb: np.ndarray, prompts: list[str] | None = None) -> list[Detection]: ...


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
