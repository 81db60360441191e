"""The claims table, CSV, plots and mosaics of an evaluation (from its rows, so ``--resume`` rebuilds them).

The claims are measured at every SNR point of the sweep (:func:`per_snr`, ``claims.json``'s ``per_snr``
and the compact per-SNR table of ``claims.md``); the full table is printed at the headline SNR, the
sweep's highest (the operating point; the plots show every point):

1. **The embedding helps the generator**: the same network with the true embedding vs its null embedding
   and vs an embedding from another image; paired over the removed regions (same boxes, same weights),
   mean difference with its bootstrap 95 % CI, per category and over all regions.
2. **The eavesdropper learns less than without privacy**: per judge, the leakage (similarity to the
   original above the impostor floor) of the eavesdropper's strongest fill and of the authorized
   receiver, against the baselines; reduction = 1 - ours / no privacy; top-1 re-identification rates;
   and the identity leakage (the identity margin's positive part, ``identity.identity_margin``), which
   a judge's response to a content-free crop does not bias (the ``blank`` baseline shows that response).
3. **The reconstruction keeps its utility**: faces YuNet still finds in place (IoU >= 0.5) and mean IoU.

Seeds (``--seeds``): each face and each region is averaged over its seeds first (a rate, such as top-1
re-identification, becomes the share of its seeds), then the bootstrap resamples faces / regions as with
one seed: the seeds of one face are never counted as independent samples, and ``n`` stays the number of
faces / regions. The blur and pixelation sent through the link (``blur_link``, ``pixelate_link``) are
compared with the same no-privacy original as the other receivers. The rows of the separation codecs
(``--codec-baselines``) are left out of the claims and get their own per-SNR table
(:func:`codec_table`): the authorized receiver's and the eavesdropper's figures per codec.

The claims are taken at one guard margin (the guard's default, 0.15, when the sweep has it, else its
first margin). A sweep of several margins (``--margins``) adds the table "leakage vs guard margin"
(:func:`margin_sweep`): per margin, the share of pixels removed, the eavesdropper's strongest fill's
leakage reduction vs no privacy and its top-1 re-identification rate per judge, and the authorized
receiver's PSNR inside the removed regions: the privacy / utility trade-off (and ``margin.png``).
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import numpy as np

from .cells import BASELINE_CELL, codec_baseline, headline_snr, report_margin, row_margin, row_seed
from .attacks import poisson_binomial_sf
from .identity import centred_top1, tie_seed, top1
from .stats import Estimate, bootstrap_mean, paired_bootstrap, ratio_bootstrap, relative_change

log = logging.getLogger(__name__)

#: the paper's figures (its abstract: arXiv 2509.08142); its tables' per-metric values are not quoted here
PAPER = {
    "embedding": "> 10 % better reconstruction with the text embedding",
    "leakage": "> 50 % less identity leakage to the eavesdropper",
    "utility": "generalises to unseen image tasks (no figure)",
}
EVE_VARIANTS = ("eve", "eve_telea", "eve_face_prior")
LEAK_RECEIVERS = ("no_privacy", "blur", "pixelate", "grey_box", "blank", "blur_link", "pixelate_link", "auth",
                  "net_null", "eve", "eve_strongest")
UTILITY_RECEIVERS = ("no_privacy", "blur", "pixelate", "grey_box", "blur_link", "pixelate_link", "auth", "net_true",
                     "eve", "eve_strongest")
#: a row's fields that name what it measured (never averaged over seeds)
_IDS = frozenset({"kind", "image", "face", "region", "category", "receiver", "snr", "eve_snr", "margin", "seed",
                  "codec", "backends", "channel"})


def _num(v) -> float:
    return float("nan") if v is None else float(v)


def claim_snr(rows: list[dict]) -> float | None:
    """The headline SNR of ``rows``: their highest SNR point (:func:`~sdr_semcom.eval.cells.headline_snr`)."""
    return headline_snr(r.get("snr") for r in rows)


def channel_label(rows: list[dict], snr) -> str:
    """The channel of the rows at ``snr`` (``tdl-a at 0.83 m/s``; ``standard``: the loopback's 3-tap
    multipath, CFO and clock error, also for rows written before the channel was recorded)."""
    names = set()
    for r in rows:
        if r.get("snr") == snr and r["kind"] not in ("floor", "done"):
            speed = r.get("speed_mps")
            names.add(r.get("channel", "standard") + (f" at {speed:g} m/s" if speed is not None else ""))
    return ", ".join(sorted(names)) or "standard"


def link_rows(rows: list[dict], codec: str | None = None) -> list[dict]:
    """The rows of one link codec: ``None``, ours (the separation codecs' rows left out); a separation
    codec's name: its rows, with the floors and the baselines cell's rows (no link, no codec)."""
    if codec is None:
        return [r for r in rows if not codec_baseline(r)]
    return [r for r in rows if r["kind"] == "floor" or r.get("snr") == "baselines" or r.get("codec") == codec]


def pool_seeds(group: list[dict]) -> dict:
    """One face's or region's rows (one per seed) -> one row: each measure averaged over the seeds that have
    it (booleans as rates; ``None`` left out, ``None`` when no seed has it); the naming fields of the first."""
    if len(group) == 1:
        return group[0]
    out = dict(group[0])
    for k in {k for r in group for k in r} - _IDS:
        vals = [r.get(k) for r in group]
        nums = [float(v) for v in vals if isinstance(v, (bool, int, float))]
        if len(nums) == sum(v is not None for v in vals):  # numbers (or bools) only: averaged
            out[k] = float(np.mean(nums)) if nums else None
    return out


def _strongest(group: list[dict], judges: list[str]) -> dict:
    """Per judge, the eavesdropper's fill (of one face, one seed) most similar to the original."""
    cur: dict = {"face": group[0]["face"]}
    for r in group:
        for j in judges:
            lk = r.get(f"{j}_leak")
            cur[f"{j}_leak"] = max(cur.get(f"{j}_leak", 0.0), _num(lk) if lk is not None else 0.0)
            if r.get(f"{j}_idleak") is not None:
                cur[f"{j}_idleak"] = max(cur.get(f"{j}_idleak", 0.0), _num(r.get(f"{j}_idleak")))
            cur[f"{j}_reid"] = bool(cur.get(f"{j}_reid", False) or r.get(f"{j}_reid"))
            if f"{j}_hreid" in r:
                cur[f"{j}_hreid"] = bool(cur.get(f"{j}_hreid", False) or r[f"{j}_hreid"])
            for f in (f"{j}_pick", f"{j}_hpick"):  # the persons any of its fills picked
                if f in r:
                    cur[f] = sorted(set(cur.get(f, [])) | set(r[f]))
            cur[f"{j}_same"] = bool(cur.get(f"{j}_same", False) or r.get(f"{j}_same"))
            s = r.get(f"{j}_sim")
            if s is not None:
                cur[f"{j}_sim"] = max(cur.get(f"{j}_sim", -np.inf), s)
        cur["iou"] = max(cur.get("iou", 0.0), r.get("iou") or 0.0)
    return cur


def _picked(r: dict, j: str) -> bool:
    """Whether judge ``j`` made a top-1 pick for face row ``r``: a lost image shows nobody (its ``<j>_sim`` is
    None, its re-identification False), so no pick and no chance of a hit."""
    return r.get(f"{j}_sim") is not None if f"{j}_sim" in r else bool(r.get("received", True))


def reid_chance(seeds_of: dict, ks: list, j: str, chance: dict, oracle: bool = False, field: str = "reid") -> dict:
    """Top-1 re-identification of judge ``j`` against chance, counted over every (face, seed) pick.

    Parameters
    ----------
    seeds_of : dict
        Face key -> its rows of one receiver, one per seed (for the oracle, :func:`_strongest`'s rows with
        ``<j>_tries``, its distinct fills of that seed).
    ks : list
        The faces to count.
    j : str
        The judge.
    chance : dict
        Face key -> the chance of one random top-1 pick hitting the face's person (``mates / gallery``).
    oracle : bool
        Rows of ``eve_strongest``: a hit when any of a seed's ``t`` distinct fills re-identifies, chance
        ``1 - (1 - p)^t`` if the fills were independent; fills of one received image are alike, so the true
        chance lies between ``p`` (one try) and that.

    Output
    ------
    dict
        ``chance`` (per face, its seeds' chances averaged; then averaged over the faces, as ``reid`` is),
        ``reid_hits`` / ``reid_trials`` (hits among the (face, seed) picks: integers, however many seeds),
        ``reid_expected`` (their chances summed) and ``reid_p`` (the one-sided Poisson-binomial p-value of
        the hits); for the oracle also ``chance_one``, ``reid_expected_one`` and ``reid_p_one``, the same
        against one try per seed: the lower chance, the one a privacy claim must pass. ``field``: the rows'
        hit (``<j>_<field>``, ``reid`` or the hub-corrected ``hreid``), which also names the output's
        ``<field>_hits``, ``<field>_trials``, ``<field>_expected*`` and ``<field>_p*``. A lost image
        (:func:`_picked`) has chance 0. The p-value takes seeds as independent; one face's seeds are alike,
        which makes it smaller than it should be: it errs towards calling a leak, never towards hiding one.
    """
    out: dict = {}
    for tag, one in (("", False), ("_one", True)) if oracle else (("", False),):
        per_face, trials, hits = [], [], 0
        for k in ks:
            mine = []
            for r in seeds_of[k]:
                if oracle:  # t distinct fills (0: the image was lost): t tries, or one when they count as one
                    t = int(r.get(f"{j}_tries", 1))
                    mine.append(1 - (1 - chance[k]) ** (min(t, 1) if one else t))
                else:
                    mine.append(chance[k] if _picked(r, j) else 0.0)
                hits += bool(r.get(f"{j}_{field}"))
            per_face.append(float(np.mean(mine)) if mine else 0.0)
            trials += mine
        out[f"chance{tag}"] = float(np.mean(per_face)) if per_face else float("nan")
        out[f"{field}_expected{tag}"] = float(np.sum(trials))
        out[f"{field}_p{tag}"] = poisson_binomial_sf(trials, hits)
        out[f"{field}_hits"], out[f"{field}_trials"] = hits, len(trials)
    return out


def reid_permutation(seeds_of: dict, ks: list, j: str, who: dict, field: str = "pick", perms: int = 2000,
                     seed: int = 0) -> dict | None:
    """Top-1 re-identification against a permutation null: no chance model needed.

    Under "the fills carry nothing of whose face they are", which face a probe came from is exchangeable among
    the faces ``ks`` (the pick of each probe, with or without the hub correction, is a function of the
    receiver's probes that permuting them permutes). So the picks are kept and the faces they are scored
    against are shuffled (``perms`` seeded shuffles, each one applied to every seed: one face's seeds are alike,
    and shuffling them apart would make the null too narrow): the hits of the shuffles are the null. A lost
    image is no pick (no hit, shuffled or not). It takes the judge's hubs into account (plain picks piled on one
    person's photos hit that person's faces under every shuffle too), and the oracle's several fills (a hit
    when any of a seed's picks names the face's person), where ``mates / gallery`` one try is too low a chance
    and independent tries too high.

    Parameters
    ----------
    seeds_of : dict
        Face key -> its rows of one receiver (one per seed), each with ``<j>_<field>``: the persons picked
        (plain ``pick``, hub-corrected ``hpick``; one per fill for the oracle); a lost image has none.
    ks : list
        The faces to count.
    j : str
        The judge.
    who : dict
        Face key -> person (the floor row's ``faces`` and ``persons``).
    field, perms, seed
        The picks' field; the number of shuffles and their seed.

    Output
    ------
    dict or None
        ``<field>_perm_hits`` (the picks' hits), ``<field>_perm_mean`` (the shuffles' mean: what chance gives these
        picks) and ``<field>_p_perm`` (one-sided, ``(1 + #shuffles with as many hits) / (1 + perms)``); None when a
        face's rows carry no picks (rows of older runs).
    """
    faces = [k for k in ks if k in who]
    m = np.zeros((len(faces), len(faces)))  # m[i, f]: how many of face i's seeds picked face f's person
    for i, k in enumerate(faces):
        for r in seeds_of[k]:
            if f"{j}_{field}" not in r:
                return None
            picked = set(r[f"{j}_{field}"] or ())
            m[i] += [who[f] in picked for f in faces]
    rng = np.random.default_rng(seed)
    order = rng.permuted(np.tile(np.arange(len(faces)), (perms, 1)), axis=1)
    null = m[np.arange(len(faces)), order].sum(axis=1) if faces else np.zeros(perms)
    hits = int(np.trace(m))
    return {f"{field}_perm_hits": hits, f"{field}_perm_mean": float(null.mean()),
            f"{field}_p_perm": float((1 + np.sum(null >= hits)) / (1 + perms))}


def hub_corrected(raw: dict, floors: dict, judges: list[str]) -> None:
    """Set ``<j>_hreid`` on the face rows of ``raw`` (receiver -> face -> its rows): the top-1 re-identification
    of an attacker that corrects the judge's hubs (:func:`~sdr_semcom.eval.identity.centred_top1`); and the
    persons picked, ``<j>_hpick`` (centred) and ``<j>_pick`` (plain top-1 of the rounded ``<j>_simv``, as the row's
    ``<j>_reid`` picks it), lists (empty: no pick) that :func:`reid_permutation` shuffles the faces against. The
    row's ``<j>_reid`` is set from that plain pick too: the same for rows of this code, and rows of runs before
    :func:`~sdr_semcom.eval.identity.score_probe` (a ``--resume``), whose ``reid`` gave a tie to the first face in
    gallery order, are counted with the pick the shuffled faces are scored on.

    Each receiver is its own attacker: a face's probe is scored against the gallery after taking off each
    gallery face's mean similarity to the same receiver's probes of the *other* faces of the run at the same
    margin and seed (what an eavesdropper holds after a session: its fills of every transmission; it knows no
    identities, so a cohort may hold other photos of the same person). Tied scores (identical probes: a blank fill)
    are broken at random, seeded by the judge, face and seed, not the receiver: two receivers whose fills are the
    same (``eve`` and ``eve_telea``) pick the same face, so the oracle's best of its fills gets one try of them.
    A hit names any photo of the person (the floor row's ``persons``). A lost image is no pick (False). Rows written before the face rows carried
    ``<j>_simv`` (or a floor without ``faces`` and ``persons``) get none, and the report leaves the measure out.
    """
    for j in judges:
        keys, persons = floors[j].get("faces"), floors[j].get("persons")
        if not keys or not persons:
            continue
        who = dict(zip(keys, persons))
        for rx, faces in raw.items():
            groups: dict = {}
            for k, g in faces.items():
                for r in g:
                    if f"{j}_simv" not in r:
                        continue
                    if r[f"{j}_simv"] is None or k not in who or len(r[f"{j}_simv"]) != len(keys):
                        r[f"{j}_hreid"], r[f"{j}_hpick"], r[f"{j}_pick"] = False, [], []
                    else:
                        groups.setdefault((row_margin(r), row_seed(r)), []).append(r)
            for group in groups.values():
                sims = np.array([r[f"{j}_simv"] for r in group], dtype=np.float64)
                for i, r in enumerate(group):
                    pick = centred_top1(sims[i], np.delete(sims, i, axis=0), tie_seed(j, r["face"], row_seed(r)))
                    r[f"{j}_hreid"] = who[keys[pick]] == who[r["face"]]
                    r[f"{j}_hpick"] = [who[keys[pick]]]  # the persons picked: what reid_permutation shuffles against
                    plain = top1(sims[i], tie_seed(j, r["face"]))  # as cells.Scorer picks the row's reid
                    r[f"{j}_pick"] = [who[keys[plain]]]
                    r[f"{j}_reid"] = who[keys[plain]] == who[r["face"]]  # rows of older runs: theirs broke ties


def claims(rows: list[dict], seed: int = 0, snr=None, codec: str | None = None) -> dict:
    """Every claim's figures from the rows (see the module's docstring) at ``snr`` (None: the highest), over
    the rows of ``codec``'s link (None: ours; :func:`link_rows`), each face / region pooled over its seeds."""
    rows = link_rows(rows, codec)
    snr = claim_snr(rows) if snr is None else snr
    out: dict = {"snr": snr, "channel": channel_label(rows, snr), "embedding": {}, "leakage": {}, "utility": {},
                 "message": {}}
    floors = {r["judge"]: r for r in rows if r["kind"] == "floor"}
    out["floors"] = floors
    # 1. embedding gain, paired by (image, region), each region's seeds pooled first
    reg = {}
    for r in rows:
        if r["kind"] == "region" and r["snr"] == snr:
            reg.setdefault(r["receiver"], {}).setdefault((r["image"], r["region"]), []).append(r)
    reg = {rx: {k: pool_seeds(g) for k, g in d.items()} for rx, d in reg.items()}
    for t_name, other, tag in (("net_true", "net_null", "null"), ("net_true", "net_other", "other"),
                               ("prior_true", "prior_null", "null (DCGAN face prior)"),
                               ("diff_true", "diff_null", "null (diffusers: no prompt)")):
        true, o = reg.get(t_name, {}), reg.get(other, {})
        keys = sorted(set(true) & set(o))
        cats = ["all"] + sorted({true[k]["category"] for k in keys}) if t_name in ("net_true", "diff_true") else ["face"]
        for cat in cats:
            ks = [k for k in keys if cat == "all" or true[k]["category"] == cat]
            if not ks and t_name != "net_true":  # a run without the face prior's variants
                continue
            col = lambda d, m: np.array([_num(d[k][m]) for k in ks])  # noqa: E731
            lp = relative_change(col(true, "hole_lpips"), col(o, "hole_lpips"), seed=seed)
            out["embedding"][f"{tag}|{cat}"] = {
                "d_psnr": paired_bootstrap(col(true, "hole_psnr"), col(o, "hole_psnr"), seed=seed),
                "rel_psnr": relative_change(col(true, "hole_psnr"), col(o, "hole_psnr"), seed=seed),
                "rel_ssim": relative_change(col(true, "hole_ssim"), col(o, "hole_ssim"), seed=seed),
                "red_lpips": Estimate(-lp.mean, -lp.hi, -lp.lo, lp.n)}
    if "hole_psnr" in next(iter(reg.get("auth", {}).values()), {}):
        out["auth_hole_psnr"] = bootstrap_mean([_num(r["hole_psnr"]) for r in reg["auth"].values()], seed=seed)
    # 2. leakage per judge: per face, its seeds (the eavesdropper's strongest fill: per seed, then pooled)
    faces = [r for r in rows if r["kind"] == "face"]
    judges = sorted(floors)
    raw: dict = {}
    for r in faces:
        if r["snr"] in (snr, "baselines"):
            r = {**r, "found": float((r.get("iou") or 0) >= 0.5)}
            raw.setdefault(r["receiver"], {}).setdefault(r["face"], []).append(r)
    hub_corrected(raw, floors, judges)
    groups: dict = {}
    for v in EVE_VARIANTS:
        for k, g in raw.get(v, {}).items():
            for r in g:
                groups.setdefault(k, {}).setdefault(row_seed(r), []).append(r)
    tries = sum(1 for v in EVE_VARIANTS if raw.get(v))  # fills the oracle picks among
    raw["eve_strongest"] = {}
    for k, per in groups.items():
        strong = [_strongest(g, judges) for g in per.values()]
        for x, g in zip(strong, per.values()):  # fills the oracle really chose among: identical fills (the
            for j in judges:                    # eavesdropper's default is Telea) give identical similarities
                x[f"{j}_tries"] = len({r.get(f"{j}_sim") for r in g if r.get(f"{j}_sim") is not None})
        raw["eve_strongest"][k] = [{**x, "found": float(x["iou"] >= 0.5)} for x in strong]
    by = {rx: {k: pool_seeds(g) for k, g in d.items()} for rx, d in raw.items()}
    base = by.get("no_privacy", {})
    for j in judges:
        gal = floors[j]["gallery"]
        mates = floors[j].get("mates") or {}  # face -> photos of its person in the gallery (labelled sets)
        for rx in LEAK_RECEIVERS:
            d = by.get(rx, {})
            ks = sorted(set(d) & set(base))
            if not ks:
                continue
            lk = np.array([_num(d[k].get(f"{j}_leak")) for k in ks])
            reid = [float(d[k].get(f"{j}_reid", False)) for k in ks]
            entry = {"leak": bootstrap_mean(lk, seed=seed),
                     "reid": bootstrap_mean(reid, seed=seed),
                     "same": bootstrap_mean([float(d[k].get(f"{j}_same", False)) for k in ks], seed=seed),
                     "sim": bootstrap_mean([_num(d[k].get(f"{j}_sim")) for k in ks], seed=seed)}
            if gal:  # a top-1 pick at random hits any photo of the person: mates / gallery, per face and seed
                entry.update(reid_chance(raw[rx], ks, j, {k: mates.get(k, 1) / gal for k in ks},
                                         rx == "eve_strongest"))
                if rx == "eve_strongest":
                    entry["tries"] = tries
                if all(f"{j}_hreid" in d[k] for k in ks):  # rows of runs before the similarity vectors have none
                    entry["hreid"] = bootstrap_mean([float(d[k][f"{j}_hreid"]) for k in ks], seed=seed)
                    entry.update(reid_chance(raw[rx], ks, j, {k: mates.get(k, 1) / gal for k in ks},
                                             rx == "eve_strongest", field="hreid"))
                    who = dict(zip(floors[j]["faces"], floors[j]["persons"]))
                    for f in ("pick", "hpick"):
                        entry.update(reid_permutation(raw[rx], ks, j, who, f, seed=seed) or {})
            else:
                entry["chance"] = float("nan")
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
    at = [r for r in rows if r["kind"] == "image" and r["snr"] in (snr, "baselines")]
    out["received"] = {rx: f"{sum(bool(r.get('received')) for r in mine)}/{len(mine)}"
                       for rx in ("auth", "eve", "blur_link") if (mine := [r for r in at if r["receiver"] == rx])}
    imgs = [r for r in at if r.get("received")]
    whole: dict = {}
    for r in imgs:
        if r["receiver"] == "auth" and r.get("psnr") is not None:
            whole.setdefault(r["image"], []).append(r)
    if whole:  # the authorized receiver's whole image (codec and fill), each image pooled over its seeds
        out["auth_psnr"] = bootstrap_mean([_num(pool_seeds(g)["psnr"]) for g in whole.values()], seed=seed)
    for rx in UTILITY_RECEIVERS:
        d = by.get(rx, {})
        ks = sorted(d)
        mine = [r for r in imgs if r["receiver"] == rx]
        out["utility"][rx] = {"detected": f"{sum(r['detected'] for r in mine)}/{sum(r['faces'] for r in mine)}"
                              if mine else "n/a",
                              "found": bootstrap_mean([_num(d[k].get("found")) for k in ks], seed=seed),
                              "iou": bootstrap_mean([_num(d[k].get("iou")) for k in ks], seed=seed)}
    # one row per image, margin and seed: the eval seeds each image's transmission, so every SNR point of a
    # seed sends the same ciphertext, and counting it at each point would count one record's (un)lucky guess
    # many times; each seed of --seeds seals with its own nonces: a distinct message
    distinct: dict = {}
    for r in rows:
        if r["kind"] == "message":
            distinct.setdefault((r["image"], row_margin(r), row_seed(r)), r)
    msgs = list(distinct.values())
    if msgs:
        out["message"] = message_claims(msgs)
        if judges:  # a guessed identity hits any photo of the person: mates / gallery, averaged over the faces
            fl = floors[judges[0]]
            mates = list((fl.get("mates") or {}).values()) or [1]
            out["message"]["id_chance"] = float(np.mean(mates)) / max(fl["gallery"], 1)
        else:
            out["message"]["id_chance"] = None
    return out


def message_claims(msgs: list[dict]) -> dict:
    """The sealed-message attack over distinct messages (rows of ``kind`` message).

    Parameters
    ----------
    msgs : list of dict
        One row per distinct message (:meth:`~.attacks.MessageAttack.to_json` fields).

    Output
    ------
    dict
        ``count_exact`` and ``desc_hits`` ("k/n"); ``desc_candidates``, the fewest and most sentences a
        message's search picked among; ``desc_expected``, the hits the search gets from random
        bytes (sum of the regions' computed chances), and ``desc_p``, the one-sided Poisson-binomial p-value
        of the observed hits against them (None for rows of runs before the chance was computed);
        ``prior_guess`` / ``prior_hits``: the ciphertext-free guess, the run's most frequent true
        description, and how many regions it names.
    """
    from collections import Counter

    hits = sum(r["desc_hits"] for r in msgs)
    n = sum(min(r["region_count"], r["true_count"]) for r in msgs)
    out = {"count_exact": f"{sum(r['region_count'] == r['true_count'] for r in msgs)}/{len(msgs)}",
           "desc_hits": f"{hits}/{n}",
           "desc_candidates": [min(r["desc_candidates"] for r in msgs), max(r["desc_candidates"] for r in msgs)],
           "desc_expected": None, "desc_p": None, "prior_guess": None, "prior_hits": None}
    if all("desc_chance" in r for r in msgs):
        p = [x for r in msgs for x in r["desc_chance"]]
        out["desc_expected"] = float(sum(p))
        out["desc_p"] = poisson_binomial_sf(p, hits)
    truths = [t for r in msgs for t in r.get("desc_truths", [])]
    if truths:
        guess, k = Counter(truths).most_common(1)[0]
        out["prior_guess"], out["prior_hits"] = guess, f"{k}/{len(truths)}"
    return out


def table(c: dict) -> list[str]:
    """The claims table (markdown)."""
    lines = [f"Claims at {c['snr']} dB, the headline SNR (the sweep's highest; authorized and eavesdropper links, "
             f"channel {c.get('channel', 'standard')}), "
             "mean [bootstrap 95 % CI] (n)", "",
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
        if rx not in ("no_privacy", "blur", "pixelate", "grey_box", "blank", "blur_link", "pixelate_link", "auth",
                      "eve_strongest"):
            continue
        red = f"; reduction {e['reduction'].format(100, 1, '%')}" if "reduction" in e else ""
        paper = PAPER["leakage"] if rx == "eve_strongest" and j == judges[0] else ""
        best = f" for the best of its distinct fills, up to {e['tries']}" if "tries" in e else ""
        one = (f"; {e['reid_expected_one']:.2f} and p = {e['reid_p_one']:.2g} if its fills are one try"
               if "reid_p_one" in e else "")
        exp = (f" ({e['reid_hits']}/{e['reid_trials']} face-seed picks vs {e['reid_expected']:.2f} expected at "
               f"chance, one-sided p = {e['reid_p']:.2g}{one})" if "reid_p" in e else "")
        perm = (f"; shuffled faces: {e['pick_perm_mean']:.2f} expected, p = {e['pick_p_perm']:.2g}"
                if "pick_p_perm" in e else "")
        hub = (f"; hub-corrected re-id {e['hreid'].mean:.2f} ({e['hreid_hits']}/{e['hreid_trials']}, p = "
               f"{e['hreid_p']:.2g}" + (f", one try {e['hreid_p_one']:.2g}" if "hreid_p_one" in e else "")
               + (f"; shuffled faces {e['hpick_perm_mean']:.2f} expected, p = {e['hpick_p_perm']:.2g}"
                  if "hpick_p_perm" in e else "") + ")"
               if "hreid" in e else "")
        lines.append(f"| 2 leakage, {j} | {paper} | {rx}: leak above the impostor floor; top-1 re-id rate (chance "
                     f"{e['chance']:.2f}{best}); reduction vs no privacy | {e['leak']}; re-id {e['reid'].mean:.2f}{exp}"
                     f"{perm}{hub}{red} |")
        if "idleak" in e:
            idr = f"; reduction {e['id_reduction'].format(100, 1, '%')}" if "id_reduction" in e else ""
            lines.append(f"| 2 identity leakage, {j} | | {rx}: identity margin (similarity to the own face minus "
                         f"the mean to the others), positive part; reduction vs no privacy | {e['idleak']}{idr} |")
    if c["message"]:
        m = c["message"]
        idc = "n/a" if m.get("id_chance") is None else f"{m['id_chance']:.2f}"
        if m.get("desc_expected") is None:
            chance = "chance not computed: rows of an older run"
        else:
            chance = f"chance {m['desc_expected']:.2f} hits from random bytes, one-sided p = {m['desc_p']:.2g}"
        prior = "" if m.get("prior_guess") is None else (
            f"; ciphertext-free guess \"{m['prior_guess']}\" (the run's most frequent truth) names {m['prior_hits']}")
        lo, hi = m["desc_candidates"]
        lines.append(f"| 2 sealed message | | eve, each distinct message once: region count right / "
                     f"nearest-description hits over {lo if lo == hi else f'{lo}-{hi}'} sentences a message "
                     f"({chance}){prior} / id chance | "
                     f"{m['count_exact']} / {m['desc_hits']} / {idc} |")
    for rx, u in c["utility"].items():
        lines.append(f"| 3 utility | {PAPER['utility'] if rx == 'auth' else ''} | {rx}: YuNet detections / faces; "
                     f"faces found in place (IoU >= 0.5); mean IoU | {u['detected']}; {u['found'].mean:.2f}; "
                     f"{u['iou'].format(digits=2)} |")
    fl = c.get("floors", {})
    if fl:
        lines.append("")
        lines.append("Judges' floors (impostor pairs of the evaluation set): " + "; ".join(
            f"{j} threshold {f['threshold']}, impostor median {f['impostor_median']:.3f}, max {f['impostor_max']:.3f} "
            f"({f['pairs']} pairs, gallery {f['gallery']})"
            + (f", same person in another photo median {f['genuine_median']:.3f} ({f['genuine_pairs']} pairs)"
               if f.get("genuine_pairs") else "") if f["pairs"] else
            f"{j} threshold {f['threshold']}, no impostor pairs (gallery {f['gallery']}: fewer than two faces)"
            for j, f in fl.items()))
    return lines


def link_snrs(rows: list[dict]) -> list[float]:
    """The sweep's SNR points, in increasing order."""
    return sorted({r["snr"] for r in rows if isinstance(r.get("snr"), (int, float))})


def per_snr(rows: list[dict], seed: int = 0, codec: str | None = None) -> dict:
    """``{snr: claims}`` (:func:`claims`) at every SNR point of the sweep."""
    return {s: claims(rows, seed, s, codec) for s in link_snrs(rows)}


def _e(x, scale: float = 1.0, digits: int = 2, unit: str = "") -> str:
    return x.format(scale, digits, unit) if isinstance(x, Estimate) else "n/a"


def snr_table(per: dict) -> list[str]:
    """The compact per-SNR table (markdown) of :func:`per_snr`'s claims: images received, claim 1 (true vs null
    embedding, all regions), claim 2 per judge (the eavesdropper's strongest fill, and blur / pixelation
    through the link: leakage reduction vs no privacy; for the strongest fill also the identity leakage's),
    claim 3 (the authorized receiver's faces in place)."""
    if not per:
        return []
    judges = sorted(next(iter(per.values()))["floors"])
    head = ["SNR, dB", "images received: auth / eve", "1: true vs null embedding, PSNR change inside the regions, dB"]
    for j in judges:
        head += [f"2 {j}: eve strongest, reduction vs no privacy (leak / identity leak); re-id (plain / hub-corrected)",
                 f"2 {j}: through the link, blur / pixelate reduction"]
    head.append("3: auth faces found in place")
    lines = ["Claims at every SNR point (pooled over seeds per face / region), mean [bootstrap 95 % CI] (n)", "",
             "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for snr, c in per.items():
        rec = c.get("received", {})
        emb = c["embedding"].get("null|all", {}).get("d_psnr")
        cells = [f"{snr:g}", f"{rec.get('auth', 'n/a')} / {rec.get('eve', 'n/a')}", _e(emb)]
        for j in judges:
            e = c["leakage"].get(f"{j}|eve_strongest", {})
            reid, hreid = e.get("reid"), e.get("hreid")
            hub = f" / {hreid.mean:.2f}" if hreid is not None and hreid.n else ""
            cells.append(f"{_e(e.get('reduction'), 100, 1, '%')} / {_e(e.get('id_reduction'), 100, 1, '%')}; "
                         f"{reid.mean:.2f}{hub}" if reid is not None and reid.n else "n/a")
            red = [_e(c["leakage"].get(f"{j}|{b}", {}).get("reduction"), 100, 1, "%")
                   for b in ("blur_link", "pixelate_link")]
            cells.append(" / ".join(red))
        found = c["utility"].get("auth", {}).get("found")
        cells.append(f"{found.mean:.2f}" if isinstance(found, Estimate) and found.n else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def codec_sweep(rows: list[dict], seed: int = 0) -> dict:
    """``{codec: {snr: claims}}`` for our codec (``"ours"``) and each separation codec the rows have
    (``--codec-baselines``); ``{}`` without them."""
    names = sorted({r["codec"] for r in rows if codec_baseline(r)})
    if not names:
        return {}
    out = {"ours": per_snr(rows, seed)}
    for n in names:
        out[n] = per_snr(rows, seed, n)
    return out


def codec_table(sweep: dict) -> list[str]:
    """Per SNR point and codec (ours and the separation codecs, each carrying the same guarded image and
    sealed message at our codec's bytes and packet count): images received, the authorized receiver's PSNR
    over the whole image (per image) and inside the removed regions, and per judge the eavesdropper's strongest fill's leakage reduction and
    re-identification (markdown)."""
    if not sweep:
        return []
    first = next(iter(sweep["ours"].values()))
    judges = sorted(first["floors"])
    head = ["SNR, dB", "codec", "images received: auth / eve", "auth PSNR, whole image, dB",
            "auth PSNR inside the removed regions, dB"]
    head += [f"{j}: eve strongest, reduction vs no privacy; re-id" for j in judges]
    lines = ["Our codec vs the separation codecs (--codec-baselines: same guarded image and sealed message, same "
             "bytes and packet count, same link), mean [bootstrap 95 % CI] (n)", "",
             "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for snr in sweep["ours"]:
        for name, per in sweep.items():
            c = per.get(snr)
            if c is None:
                continue
            rec = c.get("received", {})
            cells = [f"{snr:g}", name, f"{rec.get('auth', 'n/a')} / {rec.get('eve', 'n/a')}",
                     _e(c.get("auth_psnr")), _e(c.get("auth_hole_psnr"))]
            for j in judges:
                e = c["leakage"].get(f"{j}|eve_strongest", {})
                reid = e.get("reid")
                cells.append(f"{_e(e.get('reduction'), 100, 1, '%')}; {reid.mean:.2f}" if reid is not None and reid.n
                             else "n/a")
            lines.append("| " + " | ".join(cells) + " |")
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

    rows = link_rows(rows)
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
        for rx in ("auth", "eve", "eve_telea", "eve_face_prior", "blur_link", "pixelate_link"):
            y = []
            for s in snrs:
                v = [_num(r.get(metric)) for r in rows if r["kind"] == "face" and r["receiver"] == rx and r["snr"] == s]
                y.append(np.nanmedian(v) if v and metric.endswith("sim") else np.nanmean(v) if v else np.nan)
            a.plot(snrs, y, marker="o" if not rx.endswith("_link") else "x", ls="-" if not rx.endswith("_link")
                   else ":", label=rx)
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


MOSAIC_COLUMNS = (("no_privacy", "original"), ("grey_box", "sent"), ("auth", "auth"), ("net_true", "net_true"),
                  ("net_null", "net_null"), ("eve", "eve"), ("eve_face_prior", "eve_face_prior"), ("blur", "blur"),
                  ("pixelate", "pixelate"))
#: the mosaic's columns taken from the baselines cell (no link); the others from the cell at the headline SNR
MOSAIC_BASELINES = frozenset({"no_privacy", "grey_box", "blur", "pixelate"})


def mosaics(out: Path, names: list[str], snr, margin: float) -> Path | None:
    """``mosaic.png``: one row per image, labelled with its name and ``snr``: original, sent, each receiver at
    ``snr``, blur, pixelation (the baselines cell's, no link), all at guard margin ``margin``, seed 0.

    The images come from ``out/recon`` (:mod:`.recon`), a cell's only when its mark names that cell: a cell without
    them leaves its tiles empty (grey; logged), never showing another SNR point's or margin's images.

    Parameters
    ----------
    out : Path
        The evaluation's output folder.
    names : list of str
        The images, one mosaic row each.
    snr : float or None
        The headline SNR (the claims table's); None: no SNR point, the receivers' tiles empty.
    margin : float
        The claims' guard margin (:func:`~sdr_semcom.eval.cells.report_margin`).

    Output
    ------
    Path or None
        ``out/mosaic.png``; None without images.
    """
    from ..report import mosaic
    from . import recon

    root = out / "recon"
    rows, lacking = [], []
    for n in names:
        base = recon.load(root, (n, margin, BASELINE_CELL, 0))
        link = recon.load(root, (n, margin, snr, 0)) if snr is not None else None
        lacking += [f"{n} (baselines)"] if base is None else []
        lacking += [f"{n} at {snr:g} dB"] if snr is not None and link is None else []
        cells = []
        for c, title in MOSAIC_COLUMNS:
            src = base if c in MOSAIC_BASELINES else link
            cells.append((title, None if src is None else src.get(c)))
        rows.append((n if snr is None else f"{n}, {snr:g} dB", cells))
    if lacking:
        log.warning("mosaic: no reconstructions of %s in %s: empty tiles", ", ".join(lacking), root)
    if not rows:
        return None
    path = out / "mosaic.png"
    mosaic(rows, path, cell=200)
    return path


def margin_sweep(rows: list[dict], seed: int = 0) -> dict:
    """Per guard margin of ``rows`` (``{margin: figures}``, margins in increasing order): ``removed``, the
    mean share of the image's pixels the guard removed; per judge ``{j}_reduction`` (the eavesdropper's
    strongest fill's leakage reduction vs no privacy), ``{j}_leak``, ``{j}_reid`` and ``{j}_hreid`` (its top-1
    re-identification rate, plain and hub-corrected; the latter None for rows without similarity vectors);
    ``auth_hole_psnr``, the authorized receiver's PSNR inside the removed regions
    (all at the claims' SNR, bootstrap 95 % CIs); ``snr``."""
    floors = [r for r in rows if r["kind"] == "floor"]
    out: dict = {}
    for m in sorted({row_margin(r) for r in rows if r["kind"] != "floor"}):
        mine = floors + [r for r in link_rows(rows) if r["kind"] != "floor" and row_margin(r) == m]
        c = claims(mine, seed)
        snr = c["snr"]
        fig: dict = {"snr": snr, "removed": bootstrap_mean(
            [_num(r.get("removed_frac")) for r in mine if r["kind"] == "image" and r.get("receiver") == "no_privacy"],
            seed=seed)}
        for j in sorted(c["floors"]):
            e = c["leakage"].get(f"{j}|eve_strongest", {})
            fig.update({f"{j}_reduction": e.get("reduction"), f"{j}_leak": e.get("leak"), f"{j}_reid": e.get("reid"),
                        f"{j}_hreid": e.get("hreid")})
        fig["auth_hole_psnr"] = c.get("auth_hole_psnr", bootstrap_mean([], seed=seed))  # regions pooled over seeds
        out[m] = fig
    return out


def margin_table(sweep: dict) -> list[str]:
    """The "leakage vs guard margin" table (markdown) of :func:`margin_sweep`'s figures."""
    judges = sorted({k[:-len("_reduction")] for f in sweep.values() for k in f if k.endswith("_reduction")})
    snr = next(iter(sweep.values()))["snr"] if sweep else None
    head = ["guard margin", "pixels removed"]
    for j in judges:
        head += [f"{j}: eve strongest fill, leakage reduction vs no privacy",
                 f"{j}: eve top-1 re-id (plain; hub-corrected)"]
    head.append("auth PSNR inside the removed regions, dB")
    lines = [f"Leakage vs guard margin at {snr} dB: the eavesdropper's strongest fill vs the authorized receiver's "
             "fill, mean [bootstrap 95 % CI] (n)", "", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for m, f in sweep.items():
        cells = [f"{m:g}", f["removed"].format(100, 1, "%")]
        for j in judges:
            red, reid, hreid = f.get(f"{j}_reduction"), f.get(f"{j}_reid"), f.get(f"{j}_hreid")
            cells += [red.format(100, 1, "%") if red is not None else "n/a",
                      (reid.format(digits=2) if reid is not None else "n/a")
                      + (f"; {hreid.format(digits=2)}" if hreid is not None else "")]
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


def inputs_line(meta: dict) -> str | None:
    """What of the input the figures leave out, counted (None: nothing): files skipped as unreadable, images
    without a detectable face (in the quality figures, out of the identity and face figures)."""
    skipped, faceless = meta.get("skipped_files") or [], meta.get("images_without_faces") or []
    if not skipped and not faceless:
        return None
    parts = [f"Images: {meta.get('evaluated_images', '?')} evaluated"]
    if faceless:
        parts.append(f"{len(faceless)} without a detectable face, left out of the identity and face figures "
                     f"({', '.join(faceless)})")
    if skipped:
        parts.append(f"{len(skipped)} file(s) skipped, not readable images "
                     f"({', '.join(Path(f).name for f in skipped)})")
    return "; ".join(parts)


def write_all(rows: list[dict], out: Path, prepared_names: list[str], seed: int = 0, meta: dict | None = None) -> dict:
    """claims.json, rows.csv, plot.png, mosaic.png (and, for several guard margins, margin.png) into ``out``;
    returns ``{"claims", "table", "files"}`` (and ``"margins"``: :func:`margin_sweep`'s figures)."""
    margins = sorted({row_margin(r) for r in rows if r["kind"] != "floor"})
    ref = report_margin(margins)
    at_ref = [r for r in rows if r["kind"] == "floor" or row_margin(r) == ref]
    c = claims(at_ref, seed)
    per = per_snr(at_ref, seed)
    lines = table(c)
    said = inputs_line(meta or {})
    if said:
        lines += ["", said]
    lines += [""] + snr_table(per)
    codecs = codec_sweep(at_ref, seed)
    if codecs:
        lines += [""] + codec_table(codecs)
    sweep = margin_sweep(rows, seed) if len(margins) > 1 else {}
    if sweep:
        lines[0] += f", guard margin {ref:g}"
        lines += [""] + margin_table(sweep)
        margin_plot(sweep, out / "margin.png")
    doc = {"meta": meta or {}, "claims": _jsonable(c), "per_snr": {f"{k:g}": _jsonable(v) for k, v in per.items()}}
    if codecs:
        doc["codecs"] = {n: {f"{k:g}": _jsonable(v) for k, v in p.items()} for n, p in codecs.items()}
    if sweep:
        doc["margins"] = {f"{m:g}": _jsonable(f) for m, f in sweep.items()}
    (out / "claims.json").write_text(json.dumps(doc, indent=1, default=str))
    (out / "claims.md").write_text("\n".join(lines) + "\n")
    write_csv(rows, out / "rows.csv")
    plot(at_ref, out / "plot.png")
    mosaics(out, prepared_names, c["snr"], ref)
    return {"claims": c, "table": lines, "meta": meta or {}, "margins": sweep,
            "files": sorted(str(p.name) for p in out.iterdir())}
