"""The classical floor: OpenCV's Telea inpainting (no weights, always available)."""

from __future__ import annotations

import numpy as np

from .region import Region


class ClassicalInpainter:
    """``cv2.inpaint`` (Telea's fast marching method) over every unknown pixel.

    Parameters
    ----------
    radius : int
        Neighbourhood radius in pixels.
    """

    name = "telea"

    def __init__(self, radius: int = 5) -> None:
        import cv2

        self._cv2 = cv2
        self.radius = radius

    def fill(self, image: np.ndarray, hole: np.ndarray, unknown: np.ndarray, region: Region) -> np.ndarray:
        """Fill ``unknown`` from the known pixels (``hole`` is a subset); returns the whole image."""
        m = np.asarray(unknown | hole, np.uint8) * 255
        return self._cv2.inpaint(np.ascontiguousarray(image), m, self.radius, self._cv2.INPAINT_TELEA)
