"""The privacy guard: database entries -> detector backends -> findings -> masked image.

Entries are aligned with backends by MiniLM similarity between the entry's words and what
each backend says it finds (threshold :data:`ALIGN_THRESHOLD`); an entry no backend can serve
is reported in :attr:`GuardResult.unserved`, never dropped silently. Enrolled persons are
recognised with SFace, so a finding names its entity; an enrolled entry with policy ``keep``
leaves that person visible.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np

from .database import Entry, PrivacyDatabase
from .detectors.base import Detection, Detector
from .descriptions import describe
from .masking import DEFAULT_MARGIN, HEAD_GROWTH, apply_mask, head_box, region_mask
from .text_encoder import text_encoder

log = logging.getLogger(__name__)
ALIGN_THRESHOLD = 0.45


@dataclass
class Finding:
    """One private region: which entry, where, and what is said about it."""

    entity_id: str
    category: str
    box: tuple[float, float, float, float]
    score: float
    description: str
    backend: str
    policy: str
    identity_score: float | None = None
    mask: np.ndarray | None = field(default=None, repr=False)
    pixel_mask: bool = False  # the removed pixels grew from the detection's pixel mask, not its box
    head: bool = False  # the removed pixels are the face's head region (masking.head_box), not the grown box

    @property
    def removed(self) -> list[int] | None:
        """The pixel bounds ``[x0, y0, x1, y1]`` (exclusive ends) of the removed pixels (None: no mask)."""
        if self.mask is None or not self.mask.any():
            return None
        ys, xs = np.nonzero(self.mask)
        return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("mask")
        d.pop("pixel_mask")
        d.pop("head")
        d["removed"] = self.removed
        d["box"] = [round(float(v), 1) for v in self.box]
        d["score"] = round(self.score, 3)
        if self.identity_score is not None:
            d["identity_score"] = round(self.identity_score, 3)
        return d


@dataclass
class GuardResult:
    findings: list[Finding]
    mask: np.ndarray = field(repr=False)  # union of the removed regions
    masked: np.ndarray = field(repr=False)  # what the encoder gets
    unserved: list[str]  # entry ids no backend could look for

    @property
    def removed(self) -> list[Finding]:
        return [f for f in self.findings if f.policy == "remove"]


class PrivacyGuard:
    """Finds and removes what a privacy database calls private.

    Parameters
    ----------
    db : PrivacyDatabase
    backends : list of Detector
        Typically ``default_backends()``; order does not matter.
    margin : float
        Removed region = detection grown by this fraction of its size on every side (text, plates,
        open-vocabulary regions; faces too when ``head`` is None).
    head : (float, float, float) or None
        A face's removed region is its head region (:func:`~.masking.head_box`): the face box grown
        by ``(side, up, down)`` fractions of its width / height, to take the hair and ears with the
        face (default :data:`~.masking.HEAD_GROWTH`); None: the face box grown by ``margin``.
    appearance : bool
        Add the coarse appearance words of the removed pixels to each description
        (:func:`~sdr_semcom.privacy.descriptions.appearance`; default). ``False``: category, size
        and position only.

    Input
    -----
    :meth:`process` takes an RGB uint8 (H, W, 3) image.

    Output
    ------
    :class:`GuardResult`: findings, the union mask, the masked image, unserved entries.
    """

    def __init__(self, db: PrivacyDatabase, backends: list[Detector], margin: float = DEFAULT_MARGIN, encoder=None,
                 recogniser=None, head: tuple[float, float, float] | None = HEAD_GROWTH,
                 appearance: bool = True) -> None:
        self.db = db
        self.appearance = appearance
        self.backends = {b.name: b for b in backends}
        self.margin = margin
        if head is not None and (len(head) != 3 or min(head) < 0):
            raise ValueError(f"head growth must be three fractions (side, up, down) >= 0, got {head}")
        self.head = None if head is None else tuple(float(g) for g in head)
        self._encoder = encoder
        self._recogniser = recogniser
        self.plan, self.unserved = self._align()
        for eid in self.unserved:
            log.warning("privacy entry '%s' (%s) has no detector backend: it will not be looked for",
                        eid, db.entry(eid).text)

    @property
    def encoder(self):
        if self._encoder is None:
            self._encoder = text_encoder()
        return self._encoder

    def _align(self) -> tuple[dict[str, list[Entry]], list[str]]:
        """Entry -> backend: enrolled persons to the face backend, others to the dedicated backend
        whose words are most similar (>= ALIGN_THRESHOLD), else to the open-vocabulary one."""
        plan: dict[str, list[Entry]] = {}
        unserved = []
        wanted = [e for e in self.db.entries if e.policy == "remove" or e.enrolled is not None]
        generic = [b.name for b in self.backends.values() if b.name == "clipseg"]
        dedicated = [b for b in self.backends.values() if b.name != "clipseg"]
        faces = [b.name for b in dedicated if "human face" in b.finds]
        phrases = [(b.name, p) for b in dedicated for p in b.finds]
        sims = np.zeros((len(wanted), len(phrases)))
        if wanted and phrases:
            sims = self.encoder([e.text for e in wanted]) @ self.encoder([p for _, p in phrases]).T
        for e, row in zip(wanted, sims):
            if e.enrolled is not None:
                best = faces[0] if faces else None
            elif phrases and row.max() >= ALIGN_THRESHOLD:
                best = phrases[int(row.argmax())][0]
            else:
                best = None
            if best is None and generic:
                best = generic[0]
            if best is None:
                unserved.append(e.id)
            else:
                plan.setdefault(best, []).append(e)
        return plan, unserved

    @property
    def recogniser(self):
        if self._recogniser is None:
            from .detectors.faces import SFace

            self._recogniser = SFace()
        return self._recogniser

    def _identify(self, rgb: np.ndarray, det: Detection, entries: list[Entry]) -> tuple[Entry | None, float | None]:
        """The enrolled entry this face belongs to, else the generic face entry."""
        enrolled = [e for e in entries if e.enrolled is not None]
        generic = next((e for e in entries if e.enrolled is None), None)
        if enrolled:
            feat = self.recogniser.feature(rgb, det)
            if feat is not None:
                scored = [(e, max(float(np.dot(feat, np.asarray(v) / np.linalg.norm(v))) for v in e.enrolled.embeddings))
                          for e in enrolled]
                best, s = max(scored, key=lambda t: t[1])
                if s >= self.recogniser.THRESHOLD:
                    return best, s
        if generic is None:  # only enrolled entries want faces, and this one is nobody enrolled
            return None, None
        return generic, None

    def process(self, rgb: np.ndarray) -> GuardResult:
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"guard takes RGB uint8 (H, W, 3) images, got {rgb.dtype} {rgb.shape}")
        shape = rgb.shape[:2]
        findings: list[Finding] = []
        for name, entries in self.plan.items():
            backend = self.backends[name]
            prompts = [e.description for e in entries] if name == "clipseg" else None
            for det in backend.detect(rgb, prompts):
                if name == "clipseg":
                    entry, ident = next(e for e in entries if e.description == det.label), None
                elif "human face" in backend.finds:
                    entry, ident = self._identify(rgb, det, entries)
                    if entry is None:
                        continue
                else:
                    entry, ident = _entry_for(det, entries), None
                head = self.head is not None and "human face" in backend.finds and det.mask is None
                if head:
                    m = np.zeros(shape, bool)
                    xa, ya, xb, yb = head_box(det.box, shape, self.head)
                    m[ya:yb, xa:xb] = True
                else:
                    m = region_mask(shape, det, self.margin)
                findings.append(Finding(entry.id, entry.category, det.box, det.score,
                                        describe(entry.category, det.box, shape, entry,
                                                 rgb if self.appearance else None, det.landmarks),
                                        "+".join(det.sources) or name,
                                        entry.policy, ident, m, det.mask is not None and not head, head))
        union = np.zeros(shape, bool)
        for f in findings:
            if f.policy == "remove":
                union |= f.mask
        return GuardResult(findings, union, apply_mask(rgb, union), list(self.unserved))


def _entry_for(det: Detection, entries: list[Entry]) -> Entry:
    """The entry a detection is reported under: the one of the detection's category when the
    backend says it (a plate under the plates entry, other text under the text entry), else the
    first entry the backend serves (a plate still goes when only a text entry asks for text)."""
    return next((e for e in entries if e.category == det.category), entries[0])


def default_backends(faces: bool = True, text: bool = True, open_vocab_dir: str | None = None) -> list[Detector]:
    """The shipped backends (fused YuNet + CenterFace, PP-OCR text) and, given a directory, CLIPSeg."""
    out: list[Detector] = []
    if faces:
        from .detectors.faces import FusedFaces

        out.append(FusedFaces())
    if text:
        from .detectors.text import TextRegions

        out.append(TextRegions())
    if open_vocab_dir:
        from .detectors.openvocab import ClipSeg

        out.append(ClipSeg(open_vocab_dir))
    return out
