"""Reference-guided restore for enrolled persons (authorized receiver only).

An enrolled entry of the privacy database lists reference photos of the person
(``enrolled.references``). The removed face's box (what the transmitter sent) is matched to the
reference's YuNet box: the reference face is warped by the similarity that maps its box onto the
target box (a box fixes scale and position; YuNet's 5 landmarks choose the reference's face and
its centre), its colours are matched in Lab to the ring of known pixels around the hole, and it is
Poisson-cloned in. It restores *that person*: the policy uses it only for regions aligned with an
enrolled entry that has references, and never at an eavesdropper.
"""

from __future__ import annotations

import numpy as np

from .faceprior import poisson_blend
from .region import Region


class ReferenceRestore:
    """Backend: paste an enrolled person's reference face into the hole of a region aligned with it.

    Parameters
    ----------
    references : dict of str to list of Path or numpy.ndarray
        ``entry id -> reference photos`` (paths or RGB uint8 arrays).
    detector : object, optional
        Something with ``detect_rows(rgb) -> (N, 15)`` YuNet rows (default: the guard's YuNet).
    """

    name = "reference"

    def __init__(self, references: dict, detector=None) -> None:
        if detector is None:
            from ..privacy.detectors.faces import YuNet

            detector = YuNet()
        self.faces: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for eid, refs in references.items():
            for ref in refs:
                img = ref if isinstance(ref, np.ndarray) else _read(eid, ref)
                rows = detector.detect_rows(img)
                if len(rows):
                    best = rows[np.argmax(rows[:, 2] * rows[:, 3])]
                    self.faces[eid] = (img, best)
                    break
            else:
                raise ValueError(f"no face found in the references of entry {eid!r} "
                                 f"({', '.join(str(r) for r in refs if not isinstance(r, np.ndarray)) or 'arrays'}): "
                                 "enrol a photo where YuNet finds it")

    def has(self, region: Region) -> bool:
        return region.entry_id is not None and region.entry_id in self.faces

    def fill(self, image: np.ndarray, hole: np.ndarray, unknown: np.ndarray, region: Region) -> np.ndarray:
        import cv2

        if not self.has(region):
            raise KeyError(f"no reference face for entry {region.entry_id!r}")
        ref, row = self.faces[region.entry_id]
        rx, ry, rw, rh = row[:4]
        x0, y0, x1, y1 = region.box
        s = np.sqrt((x1 - x0) * (y1 - y0) / max(rw * rh, 1.0))
        # similarity: reference box centre -> target box centre, scale by the box sizes
        m = np.array([[s, 0, (x0 + x1) / 2 - s * (rx + rw / 2)], [0, s, (y0 + y1) / 2 - s * (ry + rh / 2)]], np.float32)
        h, w = hole.shape
        warped = cv2.warpAffine(ref, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        dst = cv2.inpaint(np.ascontiguousarray(image), unknown.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
        ring = cv2.dilate(hole.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool) & ~unknown
        if ring.sum() > 20:
            warped = _match_colours(warped, image, ring)
        clone = cv2.dilate(hole.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        return poisson_blend(dst, warped, clone)


def _read(eid: str, path) -> np.ndarray:
    """A reference photo as RGB uint8; ``ValueError`` naming the entry and the file when it cannot be read: missing,
    not an image, or more than :data:`~sdr_semcom.images.REFERENCE_MAX_PIXELS` pixels (refused before decoding)."""
    from ..images import REFERENCE_MAX_PIXELS, ImageError, read_rgb

    try:
        return read_rgb(path, max_pixels=REFERENCE_MAX_PIXELS)
    except ImageError as exc:
        raise ValueError(f"entry {eid!r}: reference photo {path} cannot be read ({exc})") from exc


def _match_colours(src: np.ndarray, dst: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Shift and scale ``src``'s Lab channels so that its ring matches ``dst``'s ring."""
    import cv2

    a = cv2.cvtColor(src, cv2.COLOR_RGB2LAB).astype(np.float32)
    b = cv2.cvtColor(dst, cv2.COLOR_RGB2LAB).astype(np.float32)
    sa, sb = a[ring], b[ring]
    g = (sb.std(0) + 1) / (sa.std(0) + 1)
    out = (a - sa.mean(0)) * np.clip(g, 0.5, 2.0) + sb.mean(0)
    return cv2.cvtColor(out.clip(0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
