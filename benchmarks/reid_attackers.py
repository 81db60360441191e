"""Stronger top-1 re-identification attackers on a finished sweep's rows (read-only; no eval rerun).

The report's hub-corrected re-id (:func:`sdr_semcom.eval.identity.centred_top1`) takes each gallery face's mean
similarity to the attacker's other probes off. This script tries attackers an eavesdropper could as well run on
the same similarity vectors (``<judge>_simv`` of the face rows, gallery order: the floor row's ``faces``):

- ``plain``: top-1 (the report's ``reid``);
- ``centred``: the report's ``hreid`` (leave-one-out cohort mean; seeded random tie break);
- ``znorm``: full Z-norm, ``(s - mean) / std`` over the same cohort;
- ``csls3``: CSLS with k = 3 (``2 s - mean of the 3 highest cohort similarities``);
- ``trim1``: the cohort mean without each gallery face's most similar cohort probe (a probe likely of that
  person: the attacker knows no identities, but a probe that carries one is its gallery face's nearest);
- ``centred_all``: the report's centring with a cohort of every seed's probes of the other faces (an attacker
  that pools its sessions; a face's own other-seed fills left out, as they carry its identity if any).

Per receiver (the eavesdropper's fills, the oracle ``eve_strongest``: any of a seed's fills, and the blank
floor) and attacker: hits among the (face, seed) picks; the report's one-try chance (``mates / gallery`` per
pick) and its Poisson-binomial p; and the report's permutation p (:func:`~sdr_semcom.eval.report.reid_permutation`),
which needs no chance model: the picks are kept and the faces they are scored against are shuffled (2000 seeded
shuffles, one per shuffle for every seed), so a judge's hubs (picks piled on one person's photos) and the
oracle's several fills count as they should. Trying six attackers is six tests: read a p-value near 0.05 with
that in mind.

Usage (from the repository root)::

    python -m benchmarks.reid_attackers out/eval-new/rows.jsonl [--judge sface] [--perms 2000] [--out out/bench]

Writes ``OUT/reid_attackers.json`` (one row per rows file, judge, receiver and attacker) and
``OUT/reid_attackers.png`` (the oracle's hits against the shuffles' mean, per attacker), and prints the table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sdr_semcom.eval.attacks import poisson_binomial_sf
from sdr_semcom.eval.cells import report_margin, row_margin, row_seed
from sdr_semcom.eval.identity import centred_top1, tie_seed, top1
from sdr_semcom.eval.report import EVE_VARIANTS, claim_snr, link_rows, reid_permutation

from .common import save

RECEIVERS = EVE_VARIANTS + ("blank", "grey_box", "no_privacy")


def _loo(sims: np.ndarray, i: int) -> np.ndarray:
    return np.delete(sims, i, axis=0)


def pick(attacker: str, sims: np.ndarray, i: int, seed: int = 0) -> int:
    """The gallery index ``attacker`` picks for probe ``i`` of ``sims`` (probes x gallery; the others: its cohort);
    ``seed`` breaks ties (``tie_seed(judge, face)`` for ``plain``, as the rows' reid)."""
    s, c = sims[i], _loo(sims, i)
    if attacker == "plain" or len(c) == 0:
        return top1(s, seed)
    if attacker == "centred":
        return centred_top1(s, c, seed)
    if attacker == "znorm":
        sd = c.std(axis=0)
        return top1(np.where(sd > 1e-9, (s - c.mean(axis=0)) / np.where(sd > 1e-9, sd, 1.0), 0.0), seed)
    if attacker == "csls3":
        top = np.sort(c, axis=0)[-min(3, len(c)):]
        return top1(2 * s - top.mean(axis=0), seed)
    if attacker == "trim1":
        return top1(s - (np.sort(c, axis=0)[:-1] if len(c) > 1 else c).mean(axis=0), seed)
    raise ValueError(attacker)


ATTACKERS = ("plain", "centred", "znorm", "csls3", "trim1", "centred_all")


def load(path: Path, judge: str):
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    floor = next(r for r in rows if r["kind"] == "floor" and r["judge"] == judge)
    keys, persons = floor["faces"], floor["persons"]
    margins = sorted({row_margin(r) for r in rows if r["kind"] != "floor"})
    m = report_margin(margins)
    rows = [r for r in link_rows(rows) if r["kind"] == "face" and row_margin(r) == m]
    snr = claim_snr(rows)
    rows = [r for r in rows if r["snr"] in (snr, "baselines")]
    return rows, keys, persons, snr


def picks_of(rows, keys, judge: str, attacker: str) -> dict:
    """receiver -> seed -> face -> picked gallery index (lost images left out)."""
    out: dict = {}
    groups: dict = {}
    for r in rows:
        if r.get(f"{judge}_simv") is not None and len(r[f"{judge}_simv"]) == len(keys):
            groups.setdefault((r["receiver"], row_seed(r)), []).append(r)
    for (rx, seed), g in groups.items():
        sims = np.array([r[f"{judge}_simv"] for r in g], float)
        if attacker == "centred_all":  # every seed's probes of the other faces
            for i, r in enumerate(g):
                c = np.array([q[f"{judge}_simv"] for (rx2, _), g2 in groups.items() if rx2 == rx for q in g2
                              if q["face"] != r["face"]], float).reshape(-1, len(keys))
                out.setdefault(rx, {}).setdefault(seed, {})[r["face"]] = centred_top1(sims[i], c,
                                                                                      tie_seed(judge, r["face"], seed))
            continue
        for i, r in enumerate(g):
            ts = tie_seed(judge, r["face"]) if attacker == "plain" else tie_seed(judge, r["face"], seed)
            out.setdefault(rx, {}).setdefault(seed, {})[r["face"]] = pick(attacker, sims, i, ts)
    return out


def score(per_seed: dict, keys, persons, perms: int) -> dict:
    """``per_seed``: seed -> face -> the list of its picks (gallery indices; one per fill the oracle tries)."""
    who = dict(zip(keys, persons))
    mates = {k: persons.count(who[k]) for k in keys}
    hits, chance = 0, []
    seeds_of: dict = {}
    for seed, picks in sorted(per_seed.items()):
        for f in sorted(picks):
            named = sorted({who[keys[p]] for p in picks[f]})
            hits += who[f] in named
            chance.append(mates[f] / len(keys))
            seeds_of.setdefault(f, []).append({"seed": seed, "x_pick": named})
    perm = reid_permutation(seeds_of, sorted(seeds_of), "x", who, "pick", perms=perms)
    return {"hits": hits, "trials": len(chance), "expected_one": round(float(np.sum(chance)), 2),
            "p_one": round(poisson_binomial_sf(chance, hits), 3),
            "perm_mean": round(perm["pick_perm_mean"], 2), "p_perm": round(perm["pick_p_perm"], 3)}


def plot(rows: list[dict], path: Path) -> None:
    """The oracle ``eve_strongest``: hits per attacker beside what the shuffled faces give, one panel per rows file
    and judge."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mine = [r for r in rows if r["receiver"] == "eve_strongest"]
    panels = list(dict.fromkeys((r["rows"], r["judge"]) for r in mine))
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(3.2 * max(len(panels), 1), 3.4), squeeze=False)
    for ax, (src, judge) in zip(axes[0], panels):
        got = [r for r in mine if (r["rows"], r["judge"]) == (src, judge)]
        x = np.arange(len(got))
        ax.bar(x - 0.2, [r["hits"] for r in got], 0.4, label="hits")
        ax.bar(x + 0.2, [r["perm_mean"] for r in got], 0.4, label="shuffled faces (mean)")
        ax.set_xticks(x, [r["attacker"] for r in got], rotation=45, fontsize=7)
        ax.set_title(f"{Path(src).parent.name}, {judge} ({got[0]['trials']} picks)", fontsize=8)
    axes[0][0].set_ylabel("eve_strongest top-1 hits")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", type=Path, nargs="+")
    ap.add_argument("--judge", action="append", default=None)
    ap.add_argument("--perms", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=Path("out/bench"))
    a = ap.parse_args(argv)
    table: list[dict] = []
    for path in a.rows:
        for judge in a.judge or ["sface", "dlib"]:
            rows, keys, persons, snr = load(path, judge)
            print(f"\n{path} judge {judge}: {len(keys)} gallery faces, {len(set(persons))} persons, SNR {snr}")
            print("| receiver | attacker | hits / picks | expected (one try) | p one try | permutation mean | p perm |")
            print("|---|---|---|---|---|---|---|")
            for attacker in ATTACKERS:
                pk = picks_of(rows, keys, judge, attacker)
                for rx in RECEIVERS + ("eve_strongest",):
                    if rx == "eve_strongest":
                        per: dict = {}
                        for v in EVE_VARIANTS:
                            for seed, d in pk.get(v, {}).items():
                                for f, p in d.items():
                                    per.setdefault(seed, {}).setdefault(f, []).append(p)
                    elif rx in pk:
                        per = {seed: {f: [p] for f, p in d.items()} for seed, d in pk[rx].items()}
                    else:
                        continue
                    e = score(per, keys, persons, a.perms)
                    table.append({"rows": str(path), "judge": judge, "snr": snr, "receiver": rx, "attacker": attacker,
                                  **e})
                    print(f"| {rx} | {attacker} | {e['hits']}/{e['trials']} | {e['expected_one']} | {e['p_one']} | "
                          f"{e['perm_mean']} | {e['p_perm']} |")

    a.out.mkdir(parents=True, exist_ok=True)
    save(table, a.out, "reid_attackers", plot)


if __name__ == "__main__":
    main()
