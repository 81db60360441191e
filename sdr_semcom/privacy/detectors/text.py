"""Text regions (signs, plates, documents, screens' text) with rapidocr's PP-OCR detector."""

from __future__ import annotations

import logging

import numpy as np

from .base import Detection, ModelMissing


class TextRegions:
    """PP-OCR text detection only (no recognition: the guard never reads what it removes)."""

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
            out.append(Detection((float(x0), float(y0), float(x1), float(y1)), float(score), "text", mask=mask.astype(bool),
                                 sources=(self.name,)))
        return out
