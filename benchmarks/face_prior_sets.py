"""The face prior's word gain on three disjoint face sets, its parameters' choice, and the generator's bound.

Each set's photos go through the eval's own transmitter (guard, codec, sealed EMBEDDING message) and the
GNU Radio loopback at 20 dB; the authorized receiver's regions and removed pixels are filled with the
DCGAN face prior (:class:`~sdr_semcom.generative.faceprior.FacePrior`, Telea for non-face regions) with
the aligned words (``true``) and without (``null``, the embedding's null: the frame's periphery only).
ST-LPIPS (the eval's: the region's bounding box at 128 px) and PSNR inside each removed head region.

Sets (no face in two of them):

- ``train``: the training photos' 8 faces (``semantic.data.FACES_TRAIN``): where the word weight is
  chosen (``--word-weights``); never in an eval figure;
- ``eval``: the eval's default set (t1.jpg, grace_hopper: 7 faces);
- ``pkgfaces``: ``sdr-semcom eval --set pkgfaces`` (19 faces of 13 people).

``--bound``: the generator's bound: the same frame fitted (200 Adam steps, no words) to the *original*
pixels of the whole frame, i.e. the closest this DCGAN can come to the removed face given everything;
compared with the null as the words are. ``--frame``: re-measure
:data:`~sdr_semcom.generative.faceprior.FRAME_FACE` (YuNet's median box over the bank's faces).

Usage: ``python benchmarks/face_prior_sets.py [--sets train,eval,pkgfaces] [--word-weights 0.3,0.5,1,2]
[--bound] [--frame] [--out out/bench]`` (one torch thread; ~1 min a set and weight).
Writes ``face_prior_sets.json`` (a row per face and fill) and ``face_prior_sets.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import save  # noqa: E402

SETS = ("train", "eval", "pkgfaces")


def set_paths(name: str) -> list[Path]:
    """The photos of a set (see the module's docstring)."""
    if name == "train":
        from sdr_semcom.samples import fetch_face_samples
        from sdr_semcom.semantic.data import FACES_TRAIN

        return [fetch_face_samples() / n for n in FACES_TRAIN]
    if name == "eval":
        from sdr_semcom.eval.run import default_images

        return default_images(True)[:2]
    from sdr_semcom.faceset import set_folder

    return sorted(p for p in set_folder("pkgfaces").iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))


def received(paths: list[Path]) -> list[dict]:
    """Per photo, what the authorized receiver has at 20 dB: decoded image, regions, removed pixels."""
    from sdr_semcom.config import DEMO_LINK
    from sdr_semcom.eval.cells import CellLink, CellSettings, Models, _opened_vectors, over_link, seeded_link
    from sdr_semcom.generative import regions_from_rows
    from sdr_semcom.generative.receiver import removed_pixels
    from sdr_semcom.pipeline import SemanticReceiver
    from sdr_semcom.privacy import PrivacyDatabase

    db = PrivacyDatabase.default()
    models = Models(CellSettings(judge_names=(), generator="network"), db)
    link = DEMO_LINK.with_overrides(snr_db=20, eve_snr_db=20)
    out = []
    for path in paths:
        prep, _ = models.prepare(path.stem, path, 512)
        res = over_link(prep.send("", 0), CellLink(seeded_link(link, 0)))
        items = {it.index: it for it in SemanticReceiver(models.codec, db=db).decode(res.rx["auth"].messages)}
        item = items.get(0)
        if item is None or item.image is None:
            print(f"{path.name}: not received at 20 dB, left out")
            continue
        regions = regions_from_rows(item.regions, _opened_vectors(res.rx["auth"].messages, db, models.codec),
                                    categories=models.categories)
        out.append({"name": path.stem, "orig": prep.original, "image": item.image, "regions": regions,
                    "mask": removed_pixels(prep.original.shape[:2], item.regions, regions),
                    "heads": [f["removed"] for f in prep.sent.findings if f["category"] == "face"]})
    return out


def bound_prior():
    """A :class:`FacePrior` whose frame is fitted to the original's own pixels (set ``.original`` first)."""
    import cv2
    import torch

    from sdr_semcom.generative.faceprior import FacePrior, clone_face, frame_maps

    class Bound(FacePrior):
        original: np.ndarray | None = None

        def fill(self, image, hole, unknown, region):
            to_frame, to_image = frame_maps(region.box)
            base = cv2.inpaint(np.ascontiguousarray(image), unknown.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
            crop = cv2.warpAffine(self.original, to_frame, (64, 64), flags=cv2.INTER_AREA,
                                  borderMode=cv2.BORDER_REFLECT)
            target = torch.from_numpy(crop.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
            return clone_face(base, self._fit(target, torch.ones(1, 1, 64, 64)), hole, to_image)

    return Bound(words=False, steps=200)


def score(d: dict, filled: np.ndarray) -> list[tuple[float, float]]:
    """(ST-LPIPS, PSNR) inside each removed head region."""
    from sdr_semcom.eval.quality import lpips, psnr

    out = []
    for x0, y0, x1, y1 in d["heads"]:
        hole = np.zeros(d["mask"].shape, bool)
        hole[y0:y1, x0:x1] = True
        hole &= d["mask"]
        out.append((lpips(d["orig"], filled, hole, 128), psnr(d["orig"], filled, hole)))
    return out


def frame_box() -> None:
    from sdr_semcom.generative.faceprior import FRAME_FACE, FacePrior, frame_face_boxes

    faces = FacePrior(words=False).bank()[1]
    boxes = frame_face_boxes(((faces.permute(0, 2, 3, 1).numpy() + 1) * 127.5).clip(0, 255).round().astype(np.uint8))
    found = boxes[~np.isnan(boxes[:, 0])]
    print(f"FRAME_FACE: YuNet found {len(found)} of {len(faces)} bank faces; median box "
          f"{np.round(np.median(found, 0), 1).tolist()} (in the code: {list(FRAME_FACE)})")


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fills = list(dict.fromkeys(r["fill"] for r in rows))
    sets = list(dict.fromkeys(r["set"] for r in rows))
    fig, ax = plt.subplots(figsize=(1.8 + 1.4 * len(sets) * len(fills) / 2, 3.6))
    width = 0.8 / len(fills)
    for i, f in enumerate(fills):
        vals = [np.mean([r["lpips"] for r in rows if r["set"] == s and r["fill"] == f] or [np.nan]) for s in sets]
        ax.bar(np.arange(len(sets)) + i * width, vals, width, label=f)
    ax.set_xticks(np.arange(len(sets)) + 0.4 - width / 2, sets)
    ax.set_ylabel("ST-LPIPS inside the head regions (lower is better)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--word-weights", default=None, help="comma-separated weights (default: the code's WORD_WEIGHT)")
    p.add_argument("--bound", action="store_true", help="also the generator's bound (fitted to the original)")
    p.add_argument("--frame", action="store_true", help="re-measure FRAME_FACE, then exit")
    p.add_argument("--out", type=Path, default=Path("out/bench"))
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    if a.frame:
        frame_box()
        return 0
    from sdr_semcom.generative import Inpainter
    from sdr_semcom.generative.classical import ClassicalInpainter
    from sdr_semcom.generative.faceprior import WORD_WEIGHT, FacePrior

    sets = a.sets.split(",")
    if set(sets) - set(SETS):
        p.error(f"--sets: choose from {', '.join(SETS)}")
    weights = [float(w) for w in a.word_weights.split(",")] if a.word_weights else [WORD_WEIGHT]
    wrap = lambda b: Inpainter({"telea": ClassicalInpainter(), "face_prior": b},  # noqa: E731
                               {"face": ("face_prior", "telea"), "*": ("telea",)})
    fills = {"null": wrap(FacePrior(words=False))}
    fills.update({f"words {w:g}": wrap(FacePrior(words=True, word_weight=w)) for w in weights})
    if a.bound:
        fills["bound"] = wrap(bound_prior())
    rows = []
    for s in sets:
        for d in received(set_paths(s)):
            for name, inp in fills.items():
                if name == "bound":
                    inp.backends["face_prior"].original = d["orig"]
                filled = inp.fill(d["image"], d["mask"], d["regions"]).image
                for k, (lp, ps) in enumerate(score(d, filled)):
                    rows.append({"set": s, "image": d["name"], "face": k, "fill": name, "lpips": round(lp, 4),
                                 "psnr": round(ps, 3)})
    print("\nST-LPIPS inside the removed head regions (mean over faces); gain = 1 - fill / null; PSNR dB")
    print(f"{'set':10s} {'n':>3s} " + " ".join(f"{f:>24s}" for f in fills))
    for s in sets:
        line = f"{s:10s} "
        null = np.array([r["lpips"] for r in rows if r["set"] == s and r["fill"] == "null"])
        line += f"{len(null):3d} "
        for f in fills:
            lp = np.array([r["lpips"] for r in rows if r["set"] == s and r["fill"] == f])
            ps = np.mean([r["psnr"] for r in rows if r["set"] == s and r["fill"] == f])
            line += f"{lp.mean():7.3f} {1 - lp.mean() / null.mean():+6.1%} {ps:5.2f} dB  "
        print(line)
    a.out.mkdir(parents=True, exist_ok=True)
    save(rows, a.out, "face_prior_sets", plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
