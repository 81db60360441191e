"""Inpainting benchmark: each backend of the receiver's generative stage, per category of hole.

Held-out images (never trained on; ``sdr_semcom.semantic.data.HELD_OUT``), longer side scaled to 384.
Holes: the faces YuNet finds (the guard's removed box: detection grown by 15 %) and random boxes
(category ``custom``), stored in the default network's manifest (``models/inpainter_v2.json``) plus
seeded extra random boxes. Each hole is filled alone (the rest of the image known). Backends: Telea
(classical floor), the DCGAN face prior (face holes), the default conditional network with the hole's
true embedding (the guard's description with the appearance words of the removed pixels,
``privacy.descriptions``: the authorized receiver) and with its null embedding (eavesdropper), and a
local diffusers pipeline with ``--generator-dir``. The embedding's gain is printed paired per hole:
true minus null (PSNR, SSIM) and ``1 - true / null`` (ST-LPIPS), mean and median per category. Metrics inside the hole: PSNR, SSIM (hole's bounding box), ST-LPIPS
(AlexNet, shift-tolerant, bounding box at 128 x 128; lower is better), CPU time per region
(one torch thread). Pixel metrics reward the mean, not a plausible new face: read them with the
example strip.

``--text-dir DIR`` adds held-out scene-text images with holes where the guard's text detector
(PP-OCR, ``TextRegions``) finds text (category ``text``; at most 3 per image, the largest), e.g. the
``scenetext0*.jpg`` of Debian's ``opencv-doc`` (``apt-get download opencv-doc``, ``dpkg -x``,
``usr/share/doc/opencv-doc/examples/text/``).

Usage: ``python benchmarks/inpaint_bench.py [--out DIR] [--quick] [--generator-dir DIR] [--text-dir DIR]``.
Writes ``inpaint_bench.json`` (flat rows), ``inpaint_bench.png`` and ``inpaint_bench_examples.png``;
prints median [min - max] per backend and category.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import save  # noqa: E402
from sdr_semcom.generative.classical import ClassicalInpainter  # noqa: E402
from sdr_semcom.generative.metrics import hole_psnr_ssim, st_lpips  # noqa: E402
from sdr_semcom.generative.network import DEFAULT_NAME, MODELS_DIR, NetworkInpainter, load_network  # noqa: E402
from sdr_semcom.generative.train import eval_cases, face_boxes, held_out_holes, scaled  # noqa: E402

METRICS = (("psnr_db", "PSNR (dB)"), ("ssim", "SSIM"), ("st_lpips", "ST-LPIPS"), ("seconds", "s/region"))


def holes(images: dict[str, np.ndarray], extra: int, seed: int = 11) -> list[dict]:
    """The manifest's held-out holes plus ``extra`` seeded random boxes per image clear of the faces."""
    path = MODELS_DIR / f"{DEFAULT_NAME}.json"
    base = json.loads(path.read_text())["data"]["held_out_holes"] if path.exists() else \
        held_out_holes(images, face_boxes(images))
    rng = np.random.default_rng(seed)
    out = list(base)
    for name in sorted(images):
        h, w = images[name].shape[:2]
        taken = [c["box"] for c in out if c["image"] == name]
        n = 0
        for _ in range(200):
            if n == extra:
                break
            bw, bh = rng.uniform(0.08, 0.2) * w, rng.uniform(0.08, 0.2) * h
            x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            b = [x0, y0, x0 + bw, y0 + bh]
            if all(b[2] < t[0] - 20 or b[0] > t[2] + 20 or b[3] < t[1] - 20 or b[1] > t[3] + 20 for t in taken):
                out.append({"image": name, "box": [round(float(v), 1) for v in b], "category": "custom"})
                taken.append(b)
                n += 1
    return out


def text_holes(folder: Path, pattern: str = "scenetext0*.jpg", per_image: int = 3) -> tuple[dict, list[dict]]:
    """Images of ``folder`` (scaled like the others) and holes at their largest detected text boxes."""
    from PIL import Image

    from sdr_semcom.privacy.detectors.text import TextRegions

    det = TextRegions()
    images, cases = {}, []
    for p in sorted(Path(folder).glob(pattern)):
        img = scaled(np.asarray(Image.open(p).convert("RGB")))
        boxes = sorted((d.box for d in det.detect(img)), key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
        kept = []
        for b in boxes:
            if (b[2] - b[0]) < 12 or (b[3] - b[1]) < 8:
                continue
            if all(b[2] < k[0] - 8 or b[0] > k[2] + 8 or b[3] < k[1] - 8 or b[1] > k[3] + 8 for k in kept):
                kept.append(b)
            if len(kept) == per_image:
                break
        if kept:
            images[p.name] = img
            cases += [{"image": p.name, "box": [round(float(v), 1) for v in b], "category": "text"} for b in kept]
    if not cases:
        raise ValueError(f"no text found in {folder}/{pattern}")
    return images, cases


def backends(generator_dir: Path | None, quick: bool) -> dict:
    net = load_network()
    out = {"telea": ClassicalInpainter(), "network": NetworkInpainter(net, True),
           "network_null": NetworkInpainter(net, False)}
    try:
        from sdr_semcom.generative.faceprior import FacePrior

        out["face_prior"] = FacePrior(steps=10 if quick else 25, candidates=64 if quick else 128)
    except FileNotFoundError as exc:
        print(f"face prior skipped: {exc}")
    if generator_dir is not None:
        from sdr_semcom.generative.diffusion import DiffusersInpainter

        out["diffusers"] = DiffusersInpainter(generator_dir)
        out["diffusers_noprompt"] = DiffusersInpainter(generator_dir, use_description=False)
    return out


def run(images, cases, bks) -> tuple[list[dict], list]:
    rows, examples = [], []
    for i, (name, img, hole, region, cat) in enumerate(eval_cases(images, cases)):
        masked = img.copy()
        masked[hole] = 127
        outs = {}
        for bname, b in bks.items():
            if bname == "face_prior" and cat != "face":
                continue
            t = time.process_time()
            filled = b.fill(masked, hole, hole, region)
            sec = time.process_time() - t
            out = masked.copy()
            out[hole] = filled[hole]
            p, s = hole_psnr_ssim(img, out, hole)
            rows.append({"backend": bname, "category": cat, "image": name, "hole": i, "box": list(region.box),
                         "psnr_db": round(p, 3), "ssim": round(s, 4), "st_lpips": round(st_lpips(img, out, hole), 4),
                         "seconds": round(sec, 3)})
            outs[bname] = out
        if cat == "face" and len(examples) < 4:
            examples.append((img, masked, hole, outs))
    return rows, examples


def summary(rows: list[dict]) -> list[dict]:
    out = []
    for b in dict.fromkeys(r["backend"] for r in rows):
        for c in dict.fromkeys(r["category"] for r in rows):
            sel = [r for r in rows if r["backend"] == b and r["category"] == c]
            if sel:
                d = {"backend": b, "category": c, "n": len(sel)}
                for k, _ in METRICS:
                    v = [r[k] for r in sel]
                    d[k] = (float(np.median(v)), float(np.min(v)), float(np.max(v)))
                out.append(d)
    return out


def embedding_gain(rows: list[dict]) -> list[dict]:
    """Per category, the network's true embedding vs its null one, paired by hole: PSNR / SSIM differences
    (true - null) and the ST-LPIPS gain ``1 - true / null`` (mean and median over the holes)."""
    out = []
    for c in dict.fromkeys(r["category"] for r in rows):
        t = {r["hole"]: r for r in rows if r["backend"] == "network" and r["category"] == c}
        n = {r["hole"]: r for r in rows if r["backend"] == "network_null" and r["category"] == c}
        keys = sorted(set(t) & set(n))
        if not keys:
            continue
        dp = np.array([t[k]["psnr_db"] - n[k]["psnr_db"] for k in keys])
        ds = np.array([t[k]["ssim"] - n[k]["ssim"] for k in keys])
        lt, ln = np.array([t[k]["st_lpips"] for k in keys]), np.array([n[k]["st_lpips"] for k in keys])
        out.append({"category": c, "n": len(keys), "psnr_db_mean": float(dp.mean()), "psnr_db_median": float(np.median(dp)),
                    "ssim_mean": float(ds.mean()), "st_lpips_gain_pct": float(100 * (1 - lt.mean() / ln.mean())),
                    "st_lpips_gain_median_pct": float(100 * np.median(1 - lt / ln)),
                    "holes_better_st_lpips": int((lt < ln).sum())})
    return out


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = summary(rows)
    cats = list(dict.fromkeys(d["category"] for d in s))
    bks = list(dict.fromkeys(d["backend"] for d in s))
    fig, axes = plt.subplots(1, len(METRICS), figsize=(4.2 * len(METRICS), 3.8))
    width = 0.8 / len(bks)
    for ax, (k, label) in zip(axes, METRICS):
        for j, b in enumerate(bks):
            xs, med, lo, hi = [], [], [], []
            for ci, c in enumerate(cats):
                d = next((d for d in s if d["backend"] == b and d["category"] == c), None)
                if d:
                    xs.append(ci + (j - (len(bks) - 1) / 2) * width)
                    med.append(d[k][0])
                    lo.append(d[k][0] - d[k][1])
                    hi.append(d[k][2] - d[k][0])
            ax.bar(xs, med, width, yerr=[lo, hi], capsize=2, label=b)
        ax.set_xticks(range(len(cats)), cats)
        ax.set_title(label + (" (lower is better)" if k in ("st_lpips", "seconds") else ""))
        ax.grid(alpha=0.3, axis="y")
        if k == "seconds":
            ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    fig.suptitle("inpainting inside the removed regions, held-out images (median, bars: min-max)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_examples(examples, path: Path) -> None:
    import cv2
    from PIL import Image

    tiles = []
    for img, masked, hole, outs in examples:
        ys, xs = np.nonzero(hole)
        cy, cx, side = (ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2, int(1.8 * max(np.ptp(ys), np.ptp(xs)))
        y0, x0 = max(cy - side // 2, 0), max(cx - side // 2, 0)
        crop = lambda a: cv2.resize(np.ascontiguousarray(a[y0 : y0 + side, x0 : x0 + side]), (128, 128))  # noqa: E731
        tiles.append(np.concatenate([crop(img), crop(masked)] + [crop(o) for o in outs.values()], axis=1))
    names = ["original", "removed"] + list(examples[0][3])
    grid = np.concatenate(tiles, axis=0)
    Image.fromarray(grid).save(path)
    print(f"wrote {path} (columns: {', '.join(names)})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("--quick", action="store_true", help="3 face holes + 2 others, a shorter face-prior fit")
    ap.add_argument("--generator-dir", type=Path, default=None, help="a saved StableDiffusionInpaintPipeline")
    ap.add_argument("--text-dir", type=Path, default=None, help="held-out scene-text images (scenetext0*.jpg)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from sdr_semcom.semantic.data import held_out_images

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images = {k: scaled(v) for k, v in held_out_images().items()}
    cases = holes(images, extra=0 if args.quick else 3)
    if args.text_dir is not None:
        text_images, text_cases = text_holes(args.text_dir)
        images.update(text_images)
        cases += text_cases
    if args.quick:
        by = {k: [c for c in cases if c["category"] == k] for k in ("face", "custom", "text")}
        cases = by["face"][:3] + by["custom"][:2] + by["text"][:2]
    rows, examples = run(images, cases, backends(args.generator_dir, args.quick))
    print(f"{len(cases)} holes on {len(images)} held-out images")
    print(f"{'backend':<20}{'category':<10}{'n':>3}" + "".join(f"{label:>24}" for _, label in METRICS))
    for d in summary(rows):
        cells = "".join(f"{d[k][0]:>10.3f} [{d[k][1]:.2f}-{d[k][2]:.2f}]".rjust(24) for k, _ in METRICS)
        print(f"{d['backend']:<20}{d['category']:<10}{d['n']:>3}{cells}")
    gains = embedding_gain(rows)
    if gains:
        print("embedding gain, network true vs null embedding, paired by hole:")
        for g in gains:
            print(f"  {g['category']:<8} n={g['n']:<3} PSNR {g['psnr_db_mean']:+.2f} dB (median {g['psnr_db_median']:+.2f}), "
                  f"SSIM {g['ssim_mean']:+.4f}, ST-LPIPS gain {g['st_lpips_gain_pct']:+.1f} % of the mean "
                  f"(median per hole {g['st_lpips_gain_median_pct']:+.1f} %), "
                  f"true better on {g['holes_better_st_lpips']}/{g['n']} holes")
        (out / "inpaint_bench_gain.json").write_text(json.dumps(gains, indent=1) + "\n")
    if examples:
        plot_examples(examples, out / "inpaint_bench_examples.png")
    save(rows, out, "inpaint_bench", plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
