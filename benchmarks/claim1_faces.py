"""Claim 1 on faces, bisected between the inpainting bench's setting and the eval's.

The eval's (``sdr-semcom eval --quick``) two images (t1.jpg, grace_hopper; 7 faces) at a long side of
``--side`` px, through the eval's own transmitter (guard, codec, sealed EMBEDDING message) and the GNU Radio
loopback at 20 dB. For every face, the network with its true embedding vs its null one, PSNR inside the
hole (true minus null, dB), under each combination of:

- hole: ``face015`` (the face box grown by 0.15: how ``inpainter_v2`` was first trained) or ``head`` (the
  guard's removed head region, ``privacy.masking.head_box``);
- context: ``orig`` (the original's pixels around the hole: the bench) or ``codec`` (the decoded image);
- vector: ``guard`` (``embed_descriptions`` of the guard's description) or ``opened`` (what the authorized
  receiver opened from the sealed message); the cosine between the two is printed;

each face filled alone, and then as the eval fills (``make_inpainter`` of each role, every region of the
image at once). ``--boxes yunet`` also fills the face015 / orig holes at YuNet's own boxes and their
descriptions (the manifest's held-out holes come from YuNet; the guard fuses YuNet and CenterFace).

Each line also gives ST-LPIPS inside the hole (the eval's: the hole's bounding box at 128 px), true vs
null, and the relative gain ``1 - true / null`` of the means (issue #10's claim-1 measure).

``--fill face_prior``: the same with the DCGAN face prior (:class:`~sdr_semcom.generative.faceprior.FacePrior`)
fitted to the ring and to the appearance words the authorized receiver aligned (``words=True``) vs the same
fit without words (``words=False``, the null), on the face box grown by 0.2 alone, and as the receiver fills
(the face prior on the whole head region). ``benchmarks/face_prior_sets.py`` compares the two on three face sets.

``--stability``: instead, how often each face word changes when the box moves by ``--shift`` px in x and y
and scales by 0.95 / 1.05 (27 boxes a face) on the shipped photos' 17 YuNet faces (longer side 384), with
YuNet's landmarks kept (the guard's case) and without landmarks.

Usage: ``python benchmarks/claim1_faces.py [--side 512] [--network inpainter_v2] [--models-dir DIR]
[--fill network|face_prior] [--stability [--shift 2]]`` (one torch thread).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--side", type=int, default=512)
    p.add_argument("--network", default="inpainter_v2")
    p.add_argument("--models-dir", type=Path, default=None)
    p.add_argument("--boxes", choices=("guard", "yunet"), default="guard")
    p.add_argument("--fill", choices=("network", "face_prior"), default="network")
    p.add_argument("--word-weight", type=float, default=None, help="FacePrior's word_weight (--fill face_prior)")
    p.add_argument("--candidates", type=int, default=None, help="FacePrior's bank of starts (--fill face_prior)")
    p.add_argument("--stability", action="store_true", help="word changes under box shifts, then exit")
    p.add_argument("--shift", type=float, default=2.0)
    a = p.parse_args(argv)
    if a.stability:
        return stability(a.shift)

    import torch

    torch.set_num_threads(1)
    from sdr_semcom.config import DEMO_LINK
    from sdr_semcom.eval.cells import CellLink, CellSettings, Models, _opened_vectors, over_link, seeded_link
    from sdr_semcom.eval.run import default_images
    from sdr_semcom.generative import Inpainter, Region, regions_from_rows
    from sdr_semcom.generative.classical import ClassicalInpainter
    from sdr_semcom.generative.factory import policy_for
    from sdr_semcom.generative.metrics import hole_psnr_ssim
    from sdr_semcom.generative.network import MODELS_DIR, NetworkInpainter, load_network
    from sdr_semcom.generative.receiver import removed_pixels
    from sdr_semcom.generative.train import describe, face_boxes, grown
    from sdr_semcom.pipeline import SemanticReceiver
    from sdr_semcom.privacy import PrivacyDatabase
    from sdr_semcom.eval.quality import lpips
    from sdr_semcom.privacy.descriptions import embed_descriptions

    db = PrivacyDatabase.default()
    models = Models(CellSettings(judge_names=(), generator="network"), db)
    if a.fill == "network":
        net = load_network(a.network, a.models_dir or MODELS_DIR)
        true, null = NetworkInpainter(net, True), NetworkInpainter(net, False)
        # as make_inpainter(role, "network") builds them, with this network
        whole = {role: Inpainter({"telea": ClassicalInpainter(), b.name: b}, policy_for(role, "network", {}))
                 for role, b in (("authorized", true), ("eavesdropper", null))}
        geos = ("face015", "head")
    else:
        from sdr_semcom.generative.faceprior import FacePrior

        kw = {} if a.word_weight is None else {"word_weight": a.word_weight}
        cand = {} if a.candidates is None else {"candidates": a.candidates}
        true, null = FacePrior(words=True, **kw, **cand), FacePrior(words=False, **cand)
        null.g = true.g
        whole = {role: Inpainter({"telea": ClassicalInpainter(), "face_prior": b}, {"face": ("face_prior", "telea"),
                                                                                   "*": ("telea",)})
                 for role, b in (("authorized", true), ("eavesdropper", null))}
        geos = ("face020",)
    gains: dict[str, list[float]] = {}
    lp: dict[str, list[tuple[float, float]]] = {}

    def score(key, original, ft, fn, hole):
        gains.setdefault(key, []).append(hole_psnr_ssim(original, ft, hole)[0] - hole_psnr_ssim(original, fn, hole)[0])
        lp.setdefault(key, []).append((lpips(original, ft, hole, 128), lpips(original, fn, hole, 128)))

    def alone(ctx, hole, region):
        masked = ctx.copy()
        masked[hole] = 127
        out = []
        for b in (true, null):
            o = masked.copy()
            o[hole] = b.fill(masked, hole, hole, region)[hole]
            out.append(o)
        return out

    for path in default_images(True)[:2]:
        prep, _ = models.prepare(path.stem, path, a.side)
        orig, shape = prep.original, prep.original.shape[:2]
        res = over_link(prep.send("", 0), CellLink(seeded_link(DEMO_LINK.with_overrides(snr_db=20, eve_snr_db=20), 0)))
        item = {it.index: it for it in SemanticReceiver(models.codec, db=db).decode(res.rx["auth"].messages)}[0]
        opened = _opened_vectors(res.rx["auth"].messages, db, models.codec)
        found = prep.sent.findings
        guard_vecs = embed_descriptions([f["description"] for f in found])
        print(f"{prep.name} {orig.shape[1]}x{orig.shape[0]}: cos(opened, guard) "
              f"{[round(float(u @ v), 4) for u, v in zip(opened, guard_vecs)]}")
        yb, ylm = face_boxes({"x": orig}, True) if a.boxes == "yunet" else ({"x": []}, {"x": []})
        for k, f in enumerate(found):
            if f["category"] != "face":
                continue
            print(f"  face {[round(v) for v in f['box']]} removed {f['removed']}: {f['description']}")
            for geo in geos:
                g = (grown(f["box"], shape) if geo == "face015" else grown(f["box"], shape, 0.2) if geo == "face020"
                     else f["removed"])
                hole = np.zeros(shape, bool)
                hole[g[1] : g[3], g[0] : g[2]] = True
                for cname, ctx in (("orig", orig), ("codec", item.image)):
                    for vname, v in (("guard", guard_vecs[k]), ("opened", opened[k])):
                        box = tuple(g) if a.fill == "network" else tuple(f["box"])  # the prior models the face box
                        ft, fn = alone(ctx, hole, Region(box, "face", None, f["description"], v))
                        score(f"{geo:7s} {cname:5s} {vname:6s} alone", orig, ft, fn, hole)
            if yb["x"]:
                j = int(np.argmin(np.abs(np.array(yb["x"]) - np.array(f["box"])).sum(1)))
                d = describe("face", yb["x"][j], shape, orig, ylm["x"][j])
                g = grown(yb["x"][j], shape)
                hole = np.zeros(shape, bool)
                hole[g[1] : g[3], g[0] : g[2]] = True
                ft, fn = alone(orig, hole, Region(tuple(g), "face", None, d, embed_descriptions([d])[0]))
                score("face015 orig  yunet  alone (YuNet box + its words)", orig, ft, fn, hole)
        regions = regions_from_rows(item.regions, opened, categories=models.categories)
        mask = removed_pixels(shape, item.regions, regions)
        ft = whole["authorized"].fill(item.image, mask, regions).image
        fn = whole["eavesdropper"].fill(item.image, mask, regions).image
        for f in found:
            if f["category"] == "face":
                g = f["removed"]
                hole = np.zeros(shape, bool)
                hole[g[1] : g[3], g[0] : g[2]] = True
                score("head    codec opened all regions (the eval)", orig, ft, fn, hole & mask)
    what = f"{a.network} ({a.models_dir or MODELS_DIR})" if a.fill == "network" else \
        f"face_prior words vs none (word_weight {true.word_weight})"
    print(f"\n{what}, side {a.side}: true - null PSNR inside the hole, dB; ST-LPIPS true / null, gain 1 - true/null")
    for k, v in gains.items():
        t, n = np.array(lp[k]).T
        print(f"{k:52s} mean {np.mean(v):+.2f}  faces true > null {int(np.sum(np.array(v) > 0))}/{len(v)}  "
              f"per face {np.round(v, 2).tolist()}")
        print(f"{'':52s} ST-LPIPS {t.mean():.3f} / {n.mean():.3f}  gain {1 - t.mean() / n.mean():+.1%}  "
              f"faces true < null {int(np.sum(t < n))}/{len(t)}")
    return 0


def stability(shift: float) -> int:
    """Print word changes per group (skin, hair, light, pose) under box shifts on the shipped faces."""
    import itertools

    from sdr_semcom.generative.train import face_boxes, scaled
    from sdr_semcom.privacy.descriptions import appearance
    from sdr_semcom.semantic.data import held_out_images, training_images

    imgs = {k: scaled(v) for k, v in {**training_images(), **held_out_images()}.items()}
    boxes, marks = face_boxes(imgs, True)
    faces = [(n, b, np.array(lm)) for n in sorted(boxes) for b, lm in zip(boxes[n], marks[n])]
    for with_lm in (True, False):
        flips, faces_flipped, n = np.zeros(4, int), np.zeros(4, int), 0
        for name, b, lm in faces:
            lm = lm if with_lm else None
            base = appearance(imgs[name], b, "face", lm).split(", ")
            cx, cy, w, h = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1]
            changed = np.zeros(4, bool)
            for dx, dy, sc in itertools.product((-shift, 0, shift), (-shift, 0, shift), (0.95, 1.0, 1.05)):
                bb = (cx + dx - sc * w / 2, cy + dy - sc * h / 2, cx + dx + sc * w / 2, cy + dy + sc * h / 2)
                words = appearance(imgs[name], bb, "face", lm).split(", ")
                n += 1
                for g, (u, v) in enumerate(zip(base, words)):
                    flips[g] += u != v
                    changed[g] |= u != v
            faces_flipped += changed
        print(f"{'with' if with_lm else 'without'} landmarks, shift {shift:g} px, scale 0.95/1.05: {len(faces)} faces, "
              f"{n} boxes; word changes skin/hair/light/pose {flips.tolist()}; faces with a change "
              f"{faces_flipped.tolist()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
