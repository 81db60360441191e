"""Claim 1 split "enrolled vs not" (issue #10): what the authorized receiver rebuilds of a face whose
person its database enrols with a reference photo, against what it does for a face it does not know.

Every face of the evaluation set is enrolled in a database of its own (``faces`` + one entry per
face, policy ``remove``) with **a reference made from the same photo transformed**
(:func:`transformed_reference`: the face with its surroundings, mirrored, scaled by 1.4, rotated by
6 degrees, relit with a gamma and a colour cast): no second photo of these people ships, so the
figures are an upper bound on what a different photo of the person gives. With identity labels
(:mod:`.labels`: ``labels.csv`` beside the images, as ``--set pkgfaces`` has), a face whose person has
another photo in the set is enrolled with **another photo of them** instead (:func:`photo_reference`:
that photo's face with the same surroundings, untransformed), one entry per person, in two databases so
that no face is restored from its own photo (the first enrols each such person with their first photo
and scores their other photos, the second with a second photo and scores the first; ``db.yaml``,
``db2.yaml``); each row says which (``reference``: ``other_photo`` or ``transformed``) and the summary
has both splits (``by_reference``). The guard (YuNet +
CenterFace) recognises each face as its entry by SFace; the sealed messages travel without channel
(the sent messages as received: the claims table's links are error-free above their threshold SNR);
the authorized receiver opens and aligns them and fills each face three ways, on the same regions:

- ``reference``: the receiver with its database's reference photos (``receiver_inpainter('auth',
  generator, db)``: the enrolled person restored, :class:`~sdr_semcom.generative.reference.ReferenceRestore`);
- ``generic``: the same receiver without reference photos (``make_inpainter('authorized',
  generator)``): what a face nobody enrolled gets (the face prior, or the network with the embedding, or a
  lab's diffusion pipeline with ``generator_dir``);
- ``null``: the same generators as ``generic`` without the aligned description (``make_inpainter('authorized',
  generator, conditioned=False)``): the receiver still knows each region's category and box, so a face still gets
  the face prior (fitted to the ring only, backend ``face_prior_null``), the network (its null embedding,
  ``network_null``) or the lab's pipeline (no prompt, ``diffusers_noprompt``); ``generic - null`` is the words
  alone (the claims table's ``prior_true`` / ``prior_null`` and ``diff_true`` / ``diff_null`` comparison). With
  ``classical`` (Telea, no words to take away) ``null`` is ``generic``.

Per face and fill: PSNR, SSIM and ST-LPIPS inside the removed pixels of that face, and the SFace
similarity of the reconstruction to the original face (aligned at the original's landmarks, as the
identity figures of the claims table: :class:`~sdr_semcom.eval.identity.SFaceJudge`). Paired differences
``reference - generic``, ``reference - null`` and ``generic - null`` (the description's own gain) with bootstrap
95 % intervals.
"""

from __future__ import annotations

import logging
import random
import re
from pathlib import Path

import numpy as np

from .identity import SFaceJudge, find_faces
from .quality import hole_quality
from .stats import bootstrap_mean, paired_bootstrap

log = logging.getLogger(__name__)
FILLS = ("reference", "generic", "null")
#: The paired differences: the reference photo's gain over each fill, and the description's (``generic - null``).
DIFFS = (("reference", "generic"), ("reference", "null"), ("generic", "null"))


def transformed_reference(img: np.ndarray, box) -> np.ndarray:
    """A reference photo of the face in ``box`` made from ``img`` itself: the face with its surroundings
    (one box width each side, one height above, 0.8 below), mirrored, scaled by 1.4, rotated by 6
    degrees, gamma 0.8 and a warm colour cast (R x1.08, B x0.9)."""
    import cv2

    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    crop = img[max(int(y0 - h), 0): int(y1 + 0.8 * h), max(int(x0 - w), 0): int(x1 + w)][:, ::-1]
    ref = cv2.resize(np.ascontiguousarray(crop), None, fx=1.4, fy=1.4, interpolation=cv2.INTER_CUBIC)
    rot = cv2.getRotationMatrix2D((ref.shape[1] / 2, ref.shape[0] / 2), 6, 1.0)
    ref = cv2.warpAffine(ref, rot, (ref.shape[1], ref.shape[0]), borderMode=cv2.BORDER_REFLECT)
    return np.clip((ref / 255.0) ** 0.8 * np.array([1.08, 1.0, 0.9]) * 255, 0, 255).astype(np.uint8)


def photo_reference(img: np.ndarray, box) -> np.ndarray:
    """A reference photo of the face in ``box`` of *another* photo ``img`` of the person: the face with
    the surroundings :func:`transformed_reference` keeps, untransformed."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return np.ascontiguousarray(img[max(int(y0 - h), 0): int(y1 + 0.8 * h), max(int(x0 - w), 0): int(x1 + w)])


def enrolled_study(images: list[tuple[str, np.ndarray]], out: Path, generator: str = "auto", size: int = 256,
                   seed: int = 0, labels: dict[str, str] | None = None, generator_dir: Path | None = None) -> dict:
    """Enrol every face of ``images`` (with a transformed reference, or another photo of the person) and
    score the three fills.

    Parameters
    ----------
    images : list of (str, numpy.ndarray)
        Name and RGB uint8 image (as the sweep prepared it: scaled to its ``max_side``).
    out : Path
        Writes ``enrolled/db.yaml`` (+ ``db.references/``, owner only), ``enrolled_rows.jsonl`` and
        ``enrolled.json`` (the summary) there.
    generator : str
        The authorized receiver's generator (all three fills; ``null`` without the description).
    size : int
        Long side of the image sent.
    seed : int
        Seeds the transmitter's nonces and the bootstrap.
    labels : dict or None
        Image name -> identity of its largest face (:func:`.labels.read_labels`): a person with faces in
        several images is enrolled once, with one of their *other* photos (two databases: the first
        holds their first photo and scores the others, the second a second photo and scores the first).
    generator_dir : Path or None
        A saved diffusion inpainting pipeline (``--generator-dir``) for the receivers' generator.

    Output
    ------
    dict
        ``{"rows": [...], "summary": {...}, "table": [lines], "files": [...], "skipped": {...}}``.
    """
    import json
    import shutil

    from ..semantic.weights import load_codec
    from .labels import face_identities, other_photos

    out = Path(out)
    folder = out / "enrolled"
    private_folder(folder)  # the references are photos of people: owner only, an earlier run's folder too
    for old in ("db.references", "db2.references"):
        shutil.rmtree(folder / old, ignore_errors=True)  # a rerun's photos replace the last run's
    found = {name: find_faces(name, img) for name, img in images}
    pixels = dict(images)
    by_key = {f.key: (name, f) for name, fs in found.items() for f in fs}
    idents = face_identities(list(by_key), labels) if labels else {}
    others = other_photos(idents) if labels else {}
    # Two databases. The first enrols every labelled person who has another photo once, with their
    # first photo, and scores their other photos; the second enrols them with a second photo and
    # scores the first: no face is ever restored from its own photo. Every other face is enrolled
    # (in both) with its own photo transformed, and scored in the first.
    refs: list[dict] = [{}, {}]  # entry id -> reference photo
    plans: list[dict] = [{}, {}]  # face key -> (entry id, reference kind): the faces each database scores
    firsts: dict[str, str] = {}
    for key in by_key:  # images order
        name, f = by_key[key]
        if others.get(key):
            person = idents[key]
            eid = _entry_id(person, 0).replace("-face0", "-person")
            first = firsts.setdefault(person, key)
            if key == first:
                oname, of = by_key[others[key][0]]
                refs[1][eid] = photo_reference(pixels[oname], of.box)
                plans[1][key] = (eid, "other_photo")
                fname, ff = by_key[key]
                refs[0][eid] = photo_reference(pixels[fname], ff.box)
            else:
                plans[0][key] = (eid, "other_photo")
        else:
            eid = _entry_id(name, f.index)
            refs[0][eid] = refs[1][eid] = transformed_reference(pixels[name], f.box)
            plans[0][key] = (eid, "transformed")
    skipped = {"no_reference_face": 0, "not_removed": 0, "wrong_entry": 0}
    codec, judge, rows = load_codec(), SFaceJudge(), []
    for n, (ref, plan) in enumerate(zip(refs, plans)):
        if plan:
            rows += _study_pass(images, found, ref, plan, folder / ("db.yaml" if n == 0 else "db2.yaml"), codec,
                                judge, generator, size, seed, skipped, generator_dir)
    summary = summarize(rows, seed)
    summary["by_reference"] = {k: summarize([r for r in rows if r["reference"] == k], seed)
                               for k in ("other_photo", "transformed") if any(r["reference"] == k for r in rows)}
    summary["skipped"] = skipped
    with (out / "enrolled_rows.jsonl").open("w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    (out / "enrolled.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = table(summary)
    if "other_photo" in summary["by_reference"]:  # with labels: the honest split on its own
        lines += table(summary["by_reference"]["other_photo"], "another photo of the person")
    return {"rows": rows, "summary": summary, "table": lines,
            "files": ["enrolled_rows.jsonl", "enrolled.json", "enrolled/"]}


def _study_pass(images, found, refs: dict, plan: dict, dbfile: Path, codec, judge, generator: str, size: int,
                seed: int, skipped: dict, generator_dir: Path | None = None) -> list[dict]:
    """One database of the study: enrol ``refs`` (entry id -> reference photo), send the images holding a
    face of ``plan`` (face key -> (entry id, reference kind)) and score those faces' three fills."""
    from ..generative import make_inpainter, receiver_inpainter, regions_from_rows
    from ..generative.receiver import removed_pixels
    from ..phy.framing import Message
    from ..pipeline import SemanticReceiver, SemanticTransmitter
    from ..privacy import Entry, PrivacyDatabase, PrivacyGuard, default_backends
    from ..privacy.detectors.faces import SFace

    db = PrivacyDatabase([Entry("faces", "face", "human face")], PrivacyDatabase.default().secret, "eval-enrolled")
    db.save(dbfile)
    sface, folder, enrolled = SFace(), dbfile.parent, set()
    for eid, ref in refs.items():
        feat = sface.largest_face_feature(ref)
        if feat is None:
            skipped["no_reference_face"] += 1
            log.warning("enrolled study: no face in the reference of entry %s: its faces left out", eid)
            continue
        write_private_png(folder / f"{eid}.png", ref)
        db.enroll(eid, [feat.tolist()], [])
        db.add_reference(eid, folder / f"{eid}.png")
        (folder / f"{eid}.png").unlink()
        enrolled.add(eid)
    db.save()
    guard = PrivacyGuard(db, default_backends(text=False))
    fills = {"reference": receiver_inpainter("auth", generator, generator_dir, db=db),
             "generic": make_inpainter("authorized", generator, generator_dir),
             "null": make_inpainter("authorized", generator, generator_dir, conditioned=False)}
    categories = {e.id: e.category for e in db.entries}
    rows: list[dict] = []
    for name, img in images:
        faces = [(f, *plan[f.key]) for f in found[name] if f.key in plan and plan[f.key][0] in enrolled]
        if not faces:
            continue
        tx = SemanticTransmitter(codec, guard, db, randbytes=random.Random(f"{seed}/enrolled/{name}").randbytes)
        msgs, sent = tx.messages(img, size)
        wire = [Message(0, i, pt, data if isinstance(data, list) else [data]) for i, (data, pt) in enumerate(msgs)]
        item = SemanticReceiver(codec, db=db).decode(wire)[0]
        vectors = item.vectors if len(item.vectors) == len(item.regions) else None  # the opened, aligned ones
        regions = regions_from_rows(item.regions, vectors, categories=categories)
        for f, eid, kind in faces:
            k = _region_of(f.box, [r.box for r in regions])
            if k is None:
                skipped["not_removed"] += 1
                log.warning("enrolled study: the guard removed no region over %s: left out", f.key)
                continue
            if regions[k].entry_id != eid:
                skipped["wrong_entry"] += 1  # scored all the same: a wrong person restored is a finding
                log.warning("enrolled study: %s aligned with entry %s, not %s", f.key, regions[k].entry_id, eid)
            hole = removed_pixels(item.image.shape[:2], [item.regions[k]], [regions[k]])  # this face's removed pixels
            mask = removed_pixels(item.image.shape[:2], item.regions, regions)
            original = judge.embed(img, f)
            for fill in FILLS:
                res = fills[fill].fill(item.image, mask, regions)
                q = hole_quality(img, res.image, hole, perceptual=True)
                sim = judge.similarity(judge.embed(res.image, f), original)
                rows.append({"kind": "enrolled", "image": name, "face": f.key, "entry": eid, "reference": kind,
                             "aligned": regions[k].entry_id, "fill": fill, "backend": res.backends[k], **q,
                             "sface_sim": round(sim, 4), "sface_same": bool(sim >= judge.threshold)})
    return rows


def run_enrolled(paths: list[Path], out: Path, generator: str = "auto", size: int = 256, max_side: int | None = None,
                 seed: int = 0, generator_dir: Path | None = None) -> dict:
    """:func:`enrolled_study` on image files, read and scaled as the sweep prepares them (long side
    ``max_side`` when larger); an unreadable file is skipped with a warning. Adds ``wall_s``."""
    import time

    from ..images import ImageError, fit, image_files, read_rgb

    t0 = time.time()
    images = []
    for p in image_files(paths):
        try:
            img = read_rgb(p)
        except ImageError as exc:
            log.warning("enrolled study: skipping %s", exc)
            continue
        images.append((p.stem, fit(img, max_side) if max_side and max(img.shape[:2]) > max_side else img))
    from .labels import read_labels

    res = enrolled_study(images, out, generator, size, seed, labels=read_labels(image_files(paths)),
                         generator_dir=generator_dir)
    res["summary"]["wall_s"] = round(time.time() - t0, 1)
    res["table"].append(f"(enrolled study: {res['summary']['wall_s']:.0f} s; rows in enrolled_rows.jsonl)")
    return res


def summarize(rows: list[dict], seed: int = 0) -> dict:
    """Per fill: means (bootstrap 95 % intervals) of the in-mask figures and the SFace similarity; the
    paired differences :data:`DIFFS` (``reference - generic``, ``reference - null``, ``generic - null``; pairs: the
    same face)."""
    by = {fill: {r["face"]: r for r in rows if r["fill"] == fill} for fill in FILLS}
    keys = sorted(set.intersection(*(set(v) for v in by.values()))) if rows else []
    metrics = ("hole_psnr", "hole_ssim", "hole_lpips", "sface_sim")
    col = lambda fill, m: [np.nan if by[fill][k][m] is None else by[fill][k][m] for k in keys]  # noqa: E731
    out = {"faces": len(keys), "fills": {}, "diff": {}}
    for fill in FILLS:
        out["fills"][fill] = {m: bootstrap_mean(col(fill, m), seed=seed).to_json() for m in metrics}
        out["fills"][fill]["sface_same"] = float(np.mean([by[fill][k]["sface_same"] for k in keys])) if keys else None
        out["fills"][fill]["backends"] = sorted({by[fill][k]["backend"] for k in keys})
    for a, b in DIFFS:
        out["diff"][f"{a}-{b}"] = {m: paired_bootstrap(col(a, m), col(b, m), seed=seed).to_json() for m in metrics}
    return out


def table(s: dict, reference: str | None = None) -> list[str]:
    """The printed lines: claim 1 for enrolled faces (reference restore vs generic fill vs the same fill without the
    description);
    ``reference`` says what the reference photos were (None: from ``s['by_reference']``)."""
    from .stats import Estimate

    if reference is None:
        n = {k: v["faces"] for k, v in s.get("by_reference", {}).items()}
        reference = ("the same photo transformed" if not n.get("other_photo") else
                     f"another photo of the person for {n['other_photo']}, the same photo transformed for "
                     f"{n.get('transformed', 0)}")
    e = lambda d: Estimate(**d)  # noqa: E731
    lines = [f"\nClaim 1, enrolled faces ({s['faces']}; reference = {reference}, no channel): "
             "inside the face masks, and SFace similarity to the original (same person >= 0.363)",
             f"{'fill':<17} {'PSNR dB':>22} {'SSIM':>22} {'ST-LPIPS':>22} {'SFace sim':>22} {'same':>5}  backend"]
    for fill, f in s["fills"].items():
        same = "n/a" if f["sface_same"] is None else f"{f['sface_same']:.0%}"
        lines.append(f"{fill:<17} {e(f['hole_psnr']).format(digits=2):>22} {e(f['hole_ssim']).format():>22} "
                     f"{e(f['hole_lpips']).format():>22} {e(f['sface_sim']).format():>22} {same:>5}  "
                     f"{','.join(f['backends'])}")
    for name, d in s["diff"].items():
        lines.append(f"{name:<17} {e(d['hole_psnr']).format(digits=2):>22} {e(d['hole_ssim']).format():>22} "
                     f"{e(d['hole_lpips']).format():>22} {e(d['sface_sim']).format():>22}")
    return lines


def private_folder(folder: Path) -> None:
    """Make ``folder`` (and its parents) and set it to mode 0700, whatever the umask, also when an earlier run
    left it with a wider mode."""
    import os

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)


def write_private_png(path: Path, pixels: np.ndarray) -> None:
    """Write ``pixels`` (RGB uint8) as a PNG of mode 0600 (created so, whatever the umask; an earlier file there
    is set to 0600 before it is overwritten; a link there is refused)."""
    import os

    from PIL import Image

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "wb") as fh:
        Image.fromarray(pixels).save(fh, format="PNG")


_SLUG_CHARS = 40  # + "-" + 8 hex + "-face<i>" / "-person": within the database's 64 characters


def _entry_id(name: str, index: int) -> str:
    """The database entry id of face ``index`` of image (or person) ``name``: the name lower-cased, every run of
    other characters than ``a-z0-9_-`` one ``-``, at most 40 characters; when that changed the name (cut, or
    characters merged or lower-cased), a hash of the whole name follows, so two names that differ only at the
    end or in punctuation get different ids."""
    import hashlib

    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")[:_SLUG_CHARS] or "image"
    if slug != name:
        slug += "-" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{slug}-face{index}"


def _region_of(box, boxes: list) -> int | None:
    """Index of the box in ``boxes`` that overlaps ``box`` most (IoU > 0.1), else None."""
    best, k = 0.1, None
    for i, b in enumerate(boxes):
        ix = max(0.0, min(box[2], b[2]) - max(box[0], b[0]))
        iy = max(0.0, min(box[3], b[3]) - max(box[1], b[1]))
        inter = ix * iy
        union = (box[2] - box[0]) * (box[3] - box[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        if union > 0 and inter / union > best:
            best, k = inter / union, i
    return k
