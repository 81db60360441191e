"""Text regions (signs, plates, documents, screens' text) with rapidocr's PP-OCR detector.

Plate or text: PP-OCR finds text lines, it does not say what they are on. A detection is a
``license_plate`` when (documented rule, :func:`plate_category`) its box is plate-shaped (width /
height in :data:`PLATE_ASPECT`) and the recogniser reads it as a plate-like string: 4 to 10
capital letters and digits, at least 2 of them digits, with single spaces, dashes or dots
between groups ("AB 123 CD", "B-MW 1234", "7ABC123"); lower case makes it text. Every other
detection is ``text``. Only plate-shaped boxes are read, and what is read decides the category
and is then dropped: it is never stored or reported.
"""

from __future__ import annotations

import logging
import re

import numpy as np

from .base import Detection, ModelMissing


#: Width / height of a plate's text line (EU plates ~4.7, US ~2; sign lines are usually longer).
PLATE_ASPECT = (1.5, 6.5)
_PLATE = re.compile(r"[A-Z0-9]{1,4}(?:[ .-]?[A-Z0-9]{1,4}){0,3}")


def plate_shaped(box) -> bool:
    """Whether a text box has a plate's proportions."""
    w, h = box[2] - box[0], box[3] - box[1]
    return h > 0 and PLATE_ASPECT[0] <= w / h <= PLATE_ASPECT[1]


def plate_category(box, text: str) -> str:
    """``license_plate`` for a plate-shaped box read as a plate-like string, else ``text``."""
    s = text.strip()
    chars = re.sub(r"[ .-]", "", s)
    plate = (plate_shaped(box) and _PLATE.fullmatch(s) is not None and 4 <= len(chars) <= 10
             and sum(c.isdigit() for c in chars) >= 2)
    return "license_plate" if plate else "text"


class TextRegions:
    """PP-OCR text detection; recognition only of plate-shaped boxes, to tell plates from text.

    Output: :class:`Detection` with ``category`` ``license_plate`` or ``text`` (see the module).
    """

    name = "ocr-text"
    finds = ("printed text", "street sign", "license plate", "document page", "written words")

    def __init__(self, min_score: float = 0.7, max_side: int = 960) -> None:
        self.min_score = min_score
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise ModelMissing("the text detector ships in the package rapidocr (pip install rapidocr==3.10.0)") from exc
        # the detector sees the image with its long side at most max_side (rapidocr's default
        # scales the *short* side up to 736, which costs ~6x the time on a 640 x 360 image)
        self._engine = RapidOCR(params={"Det.limit_side_len": max_side, "Det.limit_type": "max"})
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)  # it logs model paths and empty results

    def detect(self, rgb: np.ndarray, prompts=None) -> list[Detection]:
        import cv2

        res = self._engine(np.ascontiguousarray(rgb), use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(res, "boxes", None)
        if boxes is None:
            return []
        scores = getattr(res, "scores", None) or [1.0] * len(boxes)
        out = []
        h, w = rgb.shape[:2]
        for poly, score in zip(boxes, scores):
            if score < self.min_score:
                continue
            poly = np.asarray(poly, np.float32)
            mask = np.zeros((h, w), np.uint8)
            cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
            x0, y0 = poly.min(axis=0)
            x1, y1 = poly.max(axis=0)
            box = (float(x0), float(y0), float(x1), float(y1))
            category = plate_category(box, self._read(rgb, box)) if plate_shaped(box) else "text"
            out.append(Detection(box, float(score), category.replace("_", " "), mask=mask.astype(bool),
                                 sources=(self.name,), category=category))
        return out

    def _read(self, rgb: np.ndarray, box) -> str:
        """The recogniser's reading of one box (kept only as long as :func:`plate_category` needs it)."""
        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = (int(np.floor(box[0])), int(np.floor(box[1])), int(np.ceil(box[2])), int(np.ceil(box[3])))
        crop = rgb[max(y0, 0) : min(y1, h), max(x0, 0) : min(x1, w)]
        if crop.size == 0:
            return ""
        res = self._engine(np.ascontiguousarray(crop), use_det=False, use_cls=False, use_rec=True)
        return " ".join(getattr(res, "txts", None) or ())
