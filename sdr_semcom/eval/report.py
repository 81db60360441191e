"""The claims table, CSV, plots and mosaics of an evaluation (from its rows, so ``--resume`` rebuilds them).

Claims are measured at the sweep's highest SNR (the operating point; the plots show every point):

1. **The embedding helps the generator**: the same network with the true embedding vs its null embedding
   and vs an embedding from another image; paired over the removed regions (same boxes, same weights),
   mean difference with its bootstrap 95 % CI, per category and over all regions.
2. **The eavesdropper learns less than without privacy**: per judge, the leakage (similarity to the
   original above the impostor floor) of the eavesdropper's strongest fill and of the authorized
   receiver, against the baselines; reduction = 1 - ours / no privacy; top-1 re-identification rates;
   and the identity leakage (the identity margin's positive part, ``identity.identity_margin``), which
   a judge's response to a content-free crop does not bias (the ``blank`` baseline shows that response).
3. **The reconstruction keeps its utility**: faces YuNet still finds in place (IoU >= 0.5) and mean IoU.

The claims are taken at one guard margin (the guard's default, 0.15, when the sweep has it, else its
first margin). A sweep of several margins (``--margins``) adds the table "leakage vs guard margin"
(:func:`margin_sweep`): per margin, the share of pixels removed, the eavesdropper's strongest fill's
leakage reduction vs no privacy and its top-1 re-identification rate per judge, and the authorized
receiver's PSNR inside the removed regions: the privacy / utility trade-off (and ``margin.png``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from .cells import report_margin, row_margin
from .stats import Estimate, bootstrap_mean, paired_bootstrap, ratio_bootstrap, relative_change

#: the paper's figures (its abstract: arXiv 2509.08142); its tables' per-metric values are not quoted here
PAPER = {
    "embedding": "> 10 % better reconstruction with the text embedding",
    "leakage": "> 50 % less identity leakage to the eavesdropper",
    "utility": "generalises to unseen image tasks (no figure)",
}
EVE_VARIANTS = ("eve", "eve_telea", "eve_face_prior")


def _num(v) -> float:
    return float("nan") if v is None else float(v)


def claim_snr(rows: list[dict]):
    snrs = sorted({r["snr"] for r in rows if isinstance(r.get("snr"), (int, float))})
    return snrs[-1] if snrs else None


def claims(rows: list[dict], seed: int = 0) -> dict:
    """Every claim's figures from the rows (see the module's docstring)."""
    snr = claim_snr(rows)
    out: dict = {"snr": snr, "embedding": {}, "leakage": {}, "utility": {}, "message": {}}
    floors = {r["judge"]: r for r in rows if r["kind"] == "floor"}
    out["floors"] = floors
    # 1. embedding gain, paired by (image, region)
    reg = {}
    for r in rows:
        if r["kind"] == "region" and r["snr"] == snr:
            reg.setdefault(r["receiver"], {})[(r["image"], r["region"])] = r
    true = reg.get("net_true", {})
    for other in ("net_null", "net_other"):
        o = reg.get(other, {})
        keys = sorted(set(true) & set(o))
        for cat in ["all"] + sorted({true[k]["category"] for k in keys}):
            ks = [k for k in keys if cat == "all" or true[k]["category"] == cat]
            col = lambda d, m: np.array([_num(d[k][m]) for k in ks])  # noqa: E731
            lp = relative_change(col(true, "hole_lpips"), col(o, "hole_lpips"), seed=seed)
            out["embedding"][f"{other.split('_')[1]}|{cat}"] = {
                "d_psnr": paired_bootstrap(col(true, "hole_psnr"), col(o, "hole_psnr"), seed=seed),
                "rel_psnr": relative_change(col(true, "hole_psnr"), col(o, "hole_psnr"), seed=seed),
                "rel_ssim": relative_change(col(true, "hole_ssim"), col(o, "hole_ssim"), seed=seed),
                "red_lpips": Estimate(-lp.mean, -lp.hi, -lp.lo, lp.n)}
    # 2. leakage per judge
    faces = [r for r in rows if r["kind"] == "face"]
    judges = sorted(floors)
    by = {}
    for r in faces:
        if r["snr"] in (snr, "baselines"):
            by.setdefault(r["receiver"], {})[r["face"]] = r
    eve_strong = {}
    for v in EVE_VARIANTS:
        for k, r in by.get(v, {}).items():
            cur = eve_strong.setdefault(k, {"face": k})
            for j in judges:
                cur[f"{j}_leak"] = max(cur.get(f"{j}_leak", 0.0), _num(r.get(f"{j}_leak")) if r.get(f"{j}_leak") is not None else 0.0)
                if r.get(f"{j}_idleak") is not None:
                    cur[f"{j}_idleak"] = max(cur.get(f"{j}_idleak", 0.0), _num(r.get(f"{j}_idleak")))
                cur[f"{j}_reid"] = bool(cur.get(f"{j}_reid", False) or r.get(f"{j}_reid"))
                cur[f"{j}_same"] = bool(cur.get(f"{j}_same", False) or r.get(f"{j}_same"))
                s = r.get(f"{j}_sim")
                if s is not None:
                    cur[f"{j}_sim"] = max(cur.get(f"{j}_sim", -np.inf), s)
            cur["iou"] = max(cur.get("iou", 0.0), r.get("iou") or 0.0)
    by["eve_strongest"] = eve_strong
    base = by.get("no_privacy", {})
    for j in judges:
        gal = floors[j]["gallery"]
        for rx in ("no_privacy", "blur", "pixelate", "grey_box", "blank", "auth", "net_null", "eve", "eve_strongest"):
            d = by.get(rx, {})
            ks = sorted(set(d) & set(base))
            if not ks:
                continue
            lk = np.array([_num(d[k].get(f"{j}_leak")) for k in ks])
            entry = {"leak": bootstrap_mean(lk, seed=seed),
                     "reid": bootstrap_mean([float(d[k].get(f"{j}_reid", False)) for k in ks], seed=seed),
                     "same": bootstrap_mean([float(d[k].get(f"{j}_same", False)) for k in ks], seed=seed),
                     "sim": bootstrap_mean([_num(d[k].get(f"{j}_sim")) for k in ks], seed=seed),
                     "chance": 1 / gal if gal else float("nan")}
            if rx != "no_privacy":
                entry["reduction"] = ratio_bootstrap(lk, [_num(base[k].get(f"{j}_leak")) for k in ks], seed=seed)
            if all(d[k].get(f"{j}_idleak") is not None for k in ks):  # rows of runs before it have none
                idl = np.array([_num(d[k].get(f"{j}_idleak")) for k in ks])
                entry["idleak"] = bootstrap_mean(idl, seed=seed)
                if rx != "no_privacy":
                    entry["id_reduction"] = ratio_bootstrap(idl, [_num(base[k].get(f"{j}_idleak")) for k in ks],
                                                            seed=seed)
            out["leakage"][f"{j}|{rx}"] = entry
    # 3. utility
    imgs = [r for r in rows if r["kind"] == "image" and r["snr"] in (snr, "baselines") and r.get("received")]
    for rx in ("no_privacy", "blur", "pixelate", "grey_box", "auth", "net_true", "eve", "eve_strongest"):
        d = by.get(rx, {})
        ks = sorted(d)
        mine = [r for r in imgs if r["receiver"] == rx]
        out["utility"][rx] = {"detected": f"{sum(r['detected'] for r in mine)}/{sum(r['faces'] for r in mine)}"
                              if mine else "n/a","found": bootstrap_mean([float((d[k].get("iou") or 0) >= 0.5) for k in ks], seed=seed),
                              "iou": bootstrap_mean([_num(d[k].get("iou")) for k in ks], seed=seed)}
    # one row per image and margin: the eval seeds each image's transmission, so every SNR point sends the
    # same ciphertext, and counting it at each point would count one record's (un)lucky guess many times
    distinct: dict = {}
    for r in rows:
        if r["kind"] == "message":
            distinct.setdefault((r["image"], row_margin(r)), r)
    msgs = list(distinct.values())
    if msgs:
        hits = sum(r["desc_hits"] for r in msgs)
        n = sum(min(r["region_count"], r["true_count"]) for r in msgs)
        out["message"] = {"count_exact": f"{sum(r['region_count'] == r['true_count'] for r in msgs)}/{len(msgs)}",
                          "desc_hits": f"{hits}/{n}", "desc_chance": 1 / msgs[0]["desc_candidates"],
                          "id_chance": 1 / max(floors[judges[0]]["gallery"], 1) if judges else None}
    return out


def table(c: dict) -> list[str]:
    """The claims table (markdown)."""
    lines = [f"Claims at {c['snr']} dB (authorized and eavesdropper links), mean [bootstrap 95 % CI] (n)", "",
             "| claim | paper | measure | ours |", "| --- | --- | --- | --- |"]
    for key, e in c["embedding"].items():
        other, cat = key.split("|")
        first = cat == "all" and other == "null"
        pct = lambda x: x.format(100, 1, "%")  # noqa: E731
        lines.append(f"| 1 embedding, {cat} regions | {PAPER['embedding'] if first else ''} | true vs {other} embedding, "
                     f"inside the region: PSNR change, dB; relative PSNR; relative SSIM; ST-LPIPS reduction | "
                     f"{e['d_psnr'].format(digits=2)}; {pct(e['rel_psnr'])}; {pct(e['rel_ssim'])}; {pct(e['red_lpips'])} |")
    judges = sorted({k.split("|")[0] for k in c["leakage"]})
    for key, e in c["leakage"].items():
        j, rx = key.split("|")
        if rx not in ("no_privacy", "blur", "pixelate", "grey_box", "blank", "auth", "eve_strongest"):
            continue
        red = f"; reduction {e['reduction'].format(100, 1, '%')}" if "reduction" in e else ""
        paper = PAPER["leakage"] if rx == "eve_strongest" and j == judges[0] else ""
        lines.append(f"| 2 leakage, {j} | {paper} | {rx}: leak above the impostor floor; top-1 re-id rate (chance "
                     f"{e['chance']:.2f}); reduction vs no privacy | {e['leak']}; re-id {e['reid'].mean:.2f}{red} |")
        if "idleak" in e:
            idr = f"; reduction {e['id_reduction'].format(100, 1, '%')}" if "id_reduction" in e else ""
            lines.append(f"| 2 identity leakage, {j} | | {rx}: identity margin (similarity to the own face minus "
                         f"the mean to the others), positive part; reduction vs no privacy | {e['idleak']}{idr} |")
    if c["message"]:
        m = c["message"]
        lines.append(f"| 2 sealed message | | eve, each distinct message once: region count right / "
                     f"nearest-description hits (chance {m['desc_chance']:.3f}) / id chance | {m['count_exact']} / {m['desc_hits']} / {m['id_chance']:.2f} |")
    for rx, u in c["utility"].items():
        lines.append(f"| 3 utility | {PAPER['utility'] if rx == 'auth' else ''} | {rx}: YuNet detections / faces; "
                     f"faces found in place (IoU >= 0.5); mean IoU | {u['detected']}; {u['found'].mean:.2f}; "
                     f"{u['iou'].format(digits=2)} |")
    fl = c.get("floors", {})
    if fl:
        lines.append("")
        lines.append("Judges' floors (impostor pairs of the evaluation set): " + "; ".join(
            f"{j} threshold {f['threshold']}, impostor median {f['impostor_median']:.3f}, max {f['impostor_max']:.3f} "
            f"({f['pairs']} pairs, gallery {f['gallery']})" for j, f in fl.items()))
    return lines


def _jsonable(o):
    if isinstance(o, Estimate):
        return o.to_json()
    if isinstance(o, dict):
        return {k: _jsonable(v) for k, v in o.items()}
    if isinstance(o, float) and not np.isfinite(o):
        return None
    return o


def write_csv(rows: list[dict], path: Path) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in r.items()})


def plot(rows: list[dict], path: Path) -> None:
    """Hole PSNR and SFace leakage / re-identification against SNR, baselines as horizontal lines."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)  # SNR points where every image was lost
        _plot(rows, path)


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    snrs = sorted({r["snr"] for r in rows if isinstance(r.get("snr"), (int, float))})
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    for rx in ("auth", "net_true", "net_null", "net_other", "eve", "eve_telea", "eve_face_prior"):
        y = [np.nanmedian([_num(r["hole_psnr"]) for r in rows if r["kind"] == "region" and r["receiver"] == rx
                           and r["snr"] == s] or [np.nan]) for s in snrs]
        ax[0].plot(snrs, y, marker="o", label=rx)
    ax[0].set(xlabel="SNR (dB)", ylabel="hole PSNR (dB), median over regions", title="claim 1: fill quality")
    judge = "sface"
    for k, (metric, title) in enumerate(((f"{judge}_sim", "SFace similarity to the original (median)"),
                                         (f"{judge}_reid", "SFace top-1 re-identification rate"))):
        a = ax[1 + k]
        for rx in ("auth", "eve", "eve_telea", "eve_face_prior"):
            y = []
            for s in snrs:
                v = [_num(r.get(metric)) for r in rows if r["kind"] == "face" and r["receiver"] == rx and r["snr"] == s]
                y.append(np.nanmedian(v) if v and metric.endswith("sim") else np.nanmean(v) if v else np.nan)
            a.plot(snrs, y, marker="o", label=rx)
        for b, ls in (("no_privacy", "-"), ("blur", "--"), ("pixelate", ":"), ("grey_box", "-.")):
            v = [_num(r.get(metric)) for r in rows if r["kind"] == "face" and r["receiver"] == b]
            if v:
                a.axhline(np.nanmedian(v) if metric.endswith("sim") else np.nanmean(v), color="grey", ls=ls, label=b)
        if metric.endswith("sim"):
            a.axhline(0.363, color="red", lw=0.8, label="same-person threshold")
        a.set(xlabel="SNR (dB)", title=title)
    for a in ax:
        a.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def mosaics(out: Path, names: list[str]) -> Path | None:
    """One row per image: original, sent, then each receiver and baseline at the highest SNR."""
    from PIL import Image

    from ..report import mosaic

    rec = out / "recon"
    cols = ["no_privacy", "grey_box", "auth", "net_true", "net_null", "eve", "eve_face_prior", "blur", "pixelate"]
    rows = []
    for n in names:
        cells = []
        for c in cols:
            p = rec / c / f"{n}.png"
            cells.append(("original" if c == "no_privacy" else "sent" if c == "grey_box" else c,
                          np.asarray(Image.open(p).convert("RGB")) if p.exists() else None))
        rows.append((n, cells))
    if not rows:
        return None
    path = out / "mosaic.png"
    mosaic(rows, path, cell=200)
    return path


def margin_sweep(rows: list[dict], seed: int = 0) -> dict:
    """Per guard margin of ``rows`` (``{margin: figures}``, margins in increasing order): ``removed``, the
    mean share of the image's pixels the guard removed; per judge ``{j}_reduction`` (the eavesdropper's
    strongest fill's leakage reduction vs no privacy), ``{j}_leak`` and ``{j}_reid`` (its top-1
    re-identification rate); ``auth_hole_psnr``, the authorized receiver's PSNR inside the removed regions
    (all at the claims' SNR, bootstrap 95 % CIs); ``snr``."""
    floors = [r for r in rows if r["kind"] == "floor"]
    out: dict = {}
    for m in sorted({row_margin(r) for r in rows if r["kind"] != "floor"}):
        mine = floors + [r for r in rows if r["kind"] != "floor" and row_margin(r) == m]
        c = claims(mine, seed)
        snr = c["snr"]
        fig: dict = {"snr": snr, "removed": bootstrap_mean(
            [_num(r.get("removed_frac")) for r in mine if r["kind"] == "image" and r.get("receiver") == "no_privacy"],
            seed=seed)}
        for j in sorted(c["floors"]):
            e = c["leakage"].get(f"{j}|eve_strongest", {})
            fig.update({f"{j}_reduction": e.get("reduction"), f"{j}_leak": e.get("leak"), f"{j}_reid": e.get("reid")})
        fig["auth_hole_psnr"] = bootstrap_mean([_num(r.get("hole_psnr")) for r in mine if r["kind"] == "region"
                                                and r.get("receiver") == "auth" and r.get("snr") == snr], seed=seed)
        out[m] = fig
    return out


def margin_table(sweep: dict) -> list[str]:
    """The "leakage vs guard margin" table (markdown) of :func:`margin_sweep`'s figures."""
    judges = sorted({k[:-len("_reduction")] for f in sweep.values() for k in f if k.endswith("_reduction")})
    snr = next(iter(sweep.values()))["snr"] if sweep else None
    head = ["guard margin", "pixels removed"]
    for j in judges:
        head += [f"{j}: eve strongest fill, leakage reduction vs no privacy", f"{j}: eve top-1 re-id"]
    head.append("auth PSNR inside the removed regions, dB")
    lines = [f"Leakage vs guard margin at {snr} dB: the eavesdropper's strongest fill vs the authorized receiver's "
             "fill, mean [bootstrap 95 % CI] (n)", "", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for m, f in sweep.items():
        cells = [f"{m:g}", f["removed"].format(100, 1, "%")]
        for j in judges:
            red, reid = f.get(f"{j}_reduction"), f.get(f"{j}_reid")
            cells += [red.format(100, 1, "%") if red is not None else "n/a",
                      reid.format(digits=2) if reid is not None else "n/a"]
        cells.append(f["auth_hole_psnr"].format(digits=2))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def margin_plot(sweep: dict, path: Path) -> None:
    """Per guard margin: the eavesdropper's leakage reduction and re-id rate (per judge), and the authorized
    receiver's PSNR inside the removed regions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ms = list(sweep)
    judges = sorted({k[:-len("_reduction")] for f in sweep.values() for k in f if k.endswith("_reduction")})
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    for j in judges:
        for a, key, scale in ((ax[0], f"{j}_reduction", 100), (ax[1], f"{j}_reid", 1)):
            e = [sweep[m].get(key) for m in ms]
            y = np.array([scale * x.mean if x is not None else np.nan for x in e])
            lo = np.array([scale * x.lo if x is not None else np.nan for x in e])
            hi = np.array([scale * x.hi if x is not None else np.nan for x in e])
            a.plot(ms, y, marker="o", label=f"eve strongest, {j}")
            a.fill_between(ms, lo, hi, alpha=0.2)
    ax[0].set(xlabel="guard margin", ylabel="%", title="leakage reduction vs no privacy (eavesdropper)")
    ax[1].set(xlabel="guard margin", title="eavesdropper's top-1 re-identification rate")
    e = [sweep[m]["auth_hole_psnr"] for m in ms]
    ax[2].plot(ms, [x.mean for x in e], marker="o", label="auth")
    ax[2].fill_between(ms, [x.lo for x in e], [x.hi for x in e], alpha=0.2)
    ax[2].set(xlabel="guard margin", ylabel="dB", title="authorized receiver: PSNR inside the removed regions")
    for a in ax:
        a.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_all(rows: list[dict], out: Path, prepared_names: list[str], seed: int = 0, meta: dict | None = None) -> dict:
    """claims.json, rows.csv, plot.png, mosaic.png (and, for several guard margins, margin.png) into ``out``;
    returns ``{"claims", "table", "files"}`` (and ``"margins"``: :func:`margin_sweep`'s figures)."""
    margins = sorted({row_margin(r) for r in rows if r["kind"] != "floor"})
    ref = report_margin(margins)
    at_ref = [r for r in rows if r["kind"] == "floor" or row_margin(r) == ref]
    c = claims(at_ref, seed)
    lines = table(c)
    sweep = margin_sweep(rows, seed) if len(margins) > 1 else {}
    if sweep:
        lines[0] += f", guard margin {ref:g}"
        lines += [""] + margin_table(sweep)
        margin_plot(sweep, out / "margin.png")
    doc = {"meta": meta or {}, "claims": _jsonable(c)}
    if sweep:
        doc["margins"] = {f"{m:g}": _jsonable(f) for m, f in sweep.items()}
    (out / "claims.json").write_text(json.dumps(doc, indent=1, default=str))
    (out / "claims.md").write_text("\n".join(lines) + "\n")
    write_csv(rows, out / "rows.csv")
    plot(at_ref, out / "plot.png")
    mosaics(out, prepared_names)
    return {"claims": c, "table": lines, "meta": meta or {}, "margins": sweep,
            "files": sorted(str(p.name) for p in out.iterdir())}
