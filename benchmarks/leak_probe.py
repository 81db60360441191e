"""What carries the residual identity around a removed face? (issue #10, privacy targets)

For every face of the evaluation set (``eval.run.default_images``) and both judges, the similarity to
the original (aligned at the original's landmarks, as ``sdr-semcom eval`` scores) of:

- ``all_grey``: the whole image grey (what the judges give "nothing at all");
- ``ring_only``: the image grey everywhere except a ring around the removed region (what the
  eavesdropper sees near the face: hair, ears, outline, clothes), the region itself grey;
- ``<geometry>`` / ``<geometry>+telea``: the original with that geometry's region removed (grey fill),
  then the same filled by Telea (a public filler the eavesdropper has); with ``--fills`` also
  ``+eve`` (the null network's fill) and ``+eve_face_prior`` (the DCGAN face prior on every region), in
  the regions the eavesdropper finds in the grey (``find_grey``), as ``sdr-semcom eval`` does;

and top-1 re-identification against the gallery of the 7 originals. Columns: each face's similarity,
their mean, ``leak`` (similarity above the impostor median, >= 0: the eval's leakage), ``idm`` (the
identity margin: similarity to the true face minus the mean similarity to the other gallery faces),
``idm+`` (the identity margin's positive part: leakage the judge's grey-crop bias does not inflate),
``reid`` (top-1 re-identifications). Geometries: the guard's box
(``box0.15``: YuNet/CenterFace box grown by the margin on every side) and head regions
(``masking.head_box``).

    PYTHONPATH=$PWD python benchmarks/leak_probe.py [--geometries box0,box0.15,box0.3,head] [--fills]

The ring attack: the gallery is every original masked by the same geometry and the probe the
eavesdropper's grey view (no channel): a judge that matches what is left around the removed region.
"""

from __future__ import annotations

import argparse
import numpy as np


def main(argv: list[str] | None = None) -> None:
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    from sdr_semcom.eval.identity import find_faces, judges
    from sdr_semcom.eval.run import default_images
    from sdr_semcom.images import read_rgb
    from sdr_semcom.privacy import default_backends
    from sdr_semcom.privacy.masking import HEAD_GROWTH, apply_mask, head_box, removed_box

    ap = argparse.ArgumentParser()
    ap.add_argument("--geometries", default="box0,box0.15,box0.3,head",
                    help="boxM (the box grown by M on every side), head (HEAD_GROWTH), head:S/U/D (growth)")
    ap.add_argument("--fills", action="store_true", help="also the eavesdropper's fills (eval.attacks.eve_fills)")
    ap.add_argument("--ring", type=float, default=0.5, help="ring width, fraction of the box size")
    args = ap.parse_args(argv)
    js = judges()
    images = {p.name: read_rgb(p) for p in default_images()}
    faces, dets = {}, {}
    backend = default_backends(text=False)[0]
    for name, img in images.items():
        faces[name] = find_faces(name, img)
        dets[name] = backend.detect(img)
    gallery = {j.name: {f.key: j.embed(images[f.image], f) for fs in faces.values() for f in fs} for j in js}

    def masks(name, geom):
        img = images[name]
        shape = img.shape[:2]
        m = np.zeros(shape, bool)
        for d in dets[name]:
            if geom.startswith("box"):
                xa, ya, xb, yb = removed_box(d.box, shape, float(geom[3:]), False)
            else:
                growth = HEAD_GROWTH if geom == "head" else tuple(float(v) for v in geom[5:].split("/"))
                xa, ya, xb, yb = head_box(d.box, shape, growth)
            m[ya:yb, xa:xb] = True
        return m

    ring_rows = {}
    for g in args.geometries.split(","):  # the ring attack: the gallery masked as the probe is
        grey = {name: apply_mask(img, masks(name, g)) for name, img in images.items()}
        for j in js:
            gal = {f.key: j.embed(grey[f.image], f) for fs in faces.values() for f in fs}
            hits = 0
            for fs in faces.values():
                for f in fs:
                    probe = j.embed(grey[f.image], f)
                    hits += max(gal, key=lambda k: j.similarity(probe, gal[k])) == f.key
            ring_rows[(g, j.name)] = hits
    rows = []
    for name, img in images.items():
        variants = {"all_grey": np.full_like(img, 127)}
        for g in args.geometries.split(","):
            m = masks(name, g)
            variants[g] = apply_mask(img, m)
            variants[g + "+telea"] = cv2.inpaint(variants[g], m.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
            if args.fills:
                from sdr_semcom.eval.attacks import eve_fills
                from sdr_semcom.generative import removed_mask
                from sdr_semcom.generative.receiver import find_grey

                found = find_grey(variants[g], len(dets[name]))  # as the eval's eavesdropper (no channel here)
                em = removed_mask(m.shape, found, margin=0.0)
                for k, v in eve_fills(variants[g], em, [r.box for r in found], ("eve", "eve_face_prior")).items():
                    variants[f"{g}+{k}"] = v
            if g == "box0.15":  # the ring around the guard's box only
                ring = np.zeros_like(m)
                for d in dets[name]:
                    xa, ya, xb, yb = removed_box(d.box, m.shape, 0.15 + args.ring, False)
                    ring[ya:yb, xa:xb] = True
                variants["ring_only"] = apply_mask(variants[g], ~ring)
            variants[g + "_frac"] = float(m.mean())
        for f in faces[name]:
            row = {"face": f.key}
            for v, vi in variants.items():
                if isinstance(vi, float):
                    row[v] = round(vi, 4)
                    continue
                for j in js:
                    probe = j.embed(vi, f)
                    sim = j.similarity(probe, gallery[j.name][f.key])
                    best = max(gallery[j.name], key=lambda k: j.similarity(probe, gallery[j.name][k]))
                    others = [j.similarity(probe, e) for k, e in gallery[j.name].items() if k != f.key]
                    row[f"{v}|{j.name}"] = (round(sim, 3), best == f.key, sim - float(np.mean(others)))
            rows.append(row)
    keys = [k for k in rows[0] if "|" in k]
    for j in js:
        imp = [j.similarity(gallery[j.name][a], gallery[j.name][b]) for a in gallery[j.name] for b in gallery[j.name]
               if a < b]
        print(f"\n{j.name}: impostor median {np.median(imp):+.3f}, max {np.max(imp):+.3f}, threshold {j.threshold}")
        print(f"{'variant':<26}" + "".join(f"{r['face'][:12]:>13}" for r in rows)
              + f"{'mean':>8}{'leak':>7}{'idm':>7}{'idm+':>7}{'reid':>6}")
        for k in keys:
            if not k.endswith("|" + j.name):
                continue
            sims = [r[k][0] for r in rows]
            reid = sum(r[k][1] for r in rows)
            leak = np.mean([max(0.0, x - np.median(imp)) for x in sims])
            idm = [r[k][2] for r in rows]
            print(f"{k.split('|')[0]:<26}" + "".join(f"{x:>13.3f}" for x in sims)
                  + f"{np.mean(sims):>8.3f}{leak:>7.3f}{np.mean(idm):>7.3f}{np.mean(np.maximum(idm, 0)):>7.3f}"
                  + f"{reid:>4}/{len(rows)}")
    print("\nring attack (gallery = the originals masked by the same geometry; probe = the eavesdropper's grey "
          "view, no channel): top-1 re-identifications "
          + ", ".join(f"{g}/{j}: {n}/{len(rows)}" for (g, j), n in ring_rows.items()))
    print("\nremoved share of the image: " + ", ".join(f"{k}={rows[0][k]}" for k in rows[0] if k.endswith("_frac")))


if __name__ == "__main__":
    main()
