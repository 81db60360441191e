"""Text regions (signs, plates, documents, screens' text) with rapidocr's PP-OCR detector.

Plate or text: PP-OCR finds text lines, it does not say what they are on. A detection is a
``license_plate`` when (documented rule, :func:`plate_category`) its box is plate-shaped (width /
height in :data:`PLATE_ASPECT`) and the recogniser reads it as a plate-like string: 4 to 10
capital letters and digits, at least 2 of them digits, with single spaces, dashes or dots
between groups ("AB 123 CD", "B-MW 1234", "7ABC123"); lower case makes it text. Every other
detection is ``text``. Only plate-shaped and doubtful boxes are read (see :class:`TextRegions`),
and what is read decides the category and the second check and is then dropped: it is never
stored or reported.
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


#: The second check (:func:`verified`): a line the detector scores below ``min_score`` (or a
#: line taller than :data:`TALL` of the image's short side) is kept when the recogniser reads at
#: least this many letters or digits in it with at least ``check_score`` confidence.
CHECK_CHARS = 3
#: Text lines this tall (share of the image's short side) are rarely text: whole-image boxes on
#: textures (retina, rows of coins); they must pass the second check too.
TALL = 0.2
#: At most this many lines per image are read for the second check (the highest-scoring ones).
MAX_CHECKS = 24


def verified(text: str, confidence: float, check_score: float) -> bool:
    """The second check: a confident reading of :data:`CHECK_CHARS` or more letters / digits
    (flag stars, medal ribbons and textures read as symbols or nothing)."""
    return confidence >= check_score and sum(c.isalnum() for c in text) >= CHECK_CHARS


class TextRegions:
    """PP-OCR text detection; recognition of plate-shaped and doubtful lines only.

    Two stages: the detector keeps lines scored at least ``low_score``; those scored at least
    ``min_score`` are text, those in between (small low-contrast text such as a name tag,
    blurred plates) and implausibly tall ones are read by the recogniser and kept when
    :func:`verified`. The recogniser's reading also decides plate or text (module docstring);
    it is then dropped.

    Parameters
    ----------
    min_score : float
        A line the detector scores at least this high is text without a second check.
    max_side : int
        The detector sees the whole image with its long side at most this many pixels.
    low_score : float or None
        First-stage threshold of the detector; None: ``min_score``, no second check.
    check_score : float
        The recogniser's confidence the second check asks for.
    tall : float or None
        Lines taller than this share of the image's short side go through the second check
        whatever their score (default :data:`TALL`); None: no such check.

    Output: :class:`Detection` with ``category`` ``license_plate`` or ``text`` (see the module).
    """

    name = "ocr-text"
    finds = ("printed text", "street sign", "license plate", "document page", "written words")

    def __init__(self, min_score: float = 0.7, max_side: int = 960, low_score: float | None = 0.35,
                 check_score: float = 0.5, tall: float | None = TALL) -> None:
        self.min_score = min_score
        self.tall = tall
        self.low_score = min_score if low_score is None else min(low_score, min_score)
        self.check_score = check_score
        self.max_side = max_side
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise ModelMissing("the text detector ships in the package rapidocr (pip install rapidocr==3.10.0)") from exc
        # the detector sees the image with its long side at most max_side (rapidocr's default
        # scales the *short* side up to 736, which costs ~6x the time on a 640 x 360 image)
        self._engine = RapidOCR(params={"Det.limit_side_len": max_side, "Det.limit_type": "max",
                                        "Det.box_thresh": float(self.low_score)})
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
        checks = 0
        for poly, score in sorted(zip(boxes, scores), key=lambda t: -t[1]):
            if score < self.low_score:
                continue
            poly = np.asarray(poly, np.float32)
            x0, y0 = poly.min(axis=0)
            x1, y1 = poly.max(axis=0)
            box = (float(max(x0, 0)), float(max(y0, 0)), float(min(x1, w)), float(min(y1, h)))
            reading = None
            if score < self.min_score or (self.tall is not None and box[3] - box[1] > self.tall * min(h, w)):
                checks += 1
                if checks > MAX_CHECKS:
                    continue
                reading, confidence = self._read(rgb, box)
                if not verified(reading, confidence, self.check_score):
                    continue
            category = "text"
            if plate_shaped(box):
                category = plate_category(box, reading if reading is not None else self._read(rgb, box)[0])
            mask = np.zeros((h, w), np.uint8)
            cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
            out.append(Detection(box, float(score), category.replace("_", " "), mask=mask.astype(bool),
                                 sources=(self.name,), category=category))
        return out

    def _read(self, rgb: np.ndarray, box) -> tuple[str, float]:
        """The recogniser's reading of one box and its lowest confidence (kept only as long as the
        category and the second check need it)."""
        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = (int(np.floor(box[0])), int(np.floor(box[1])), int(np.ceil(box[2])), int(np.ceil(box[3])))
        crop = rgb[max(y0, 0) : min(y1, h), max(x0, 0) : min(x1, w)]
        if crop.size == 0:
            return "", 0.0
        res = self._engine(np.ascontiguousarray(crop), use_det=False, use_cls=False, use_rec=True)
        txts = getattr(res, "txts", None) or ()
        scores = getattr(res, "scores", None) or ()
        return " ".join(txts), float(min(scores)) if scores else 0.0
