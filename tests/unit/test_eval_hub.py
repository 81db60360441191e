"""The hub-corrected top-1 re-identification (``identity.centred_top1``, ``report.hub_corrected``).

A judge's hub is a gallery face near to probes of anyone: SFace's top-1 for a content-free crop is one of
pkgfaces' Obama photos, so the eavesdropper's plain top-1 "re-identified" Obama from fills that carry nothing
of him. The attacker's correction (each gallery face's mean similarity to its other probes taken off) must
keep a pick that carries identity, and stop the hub from collecting picks that carry none.
"""

from __future__ import annotations

import numpy as np
import pytest

from sdr_semcom.eval import report
from sdr_semcom.eval.cells import BASELINE_CELL
from sdr_semcom.eval.identity import centred_top1

KEYS = ["a#0", "a#1", "b#0", "c#0", "d#0", "e#0"]
PERSONS = ["obama", "obama", "b", "c", "d", "e"]  # the hub: a#0, one of two photos of one person
HUB = np.array([0.30, 0.05, 0.0, 0.02, 0.01, 0.03])


def _probes(identity: float, noise: float, seed: int) -> np.ndarray:
    """One probe per gallery face: the judge's hub response, ``identity`` on the own face, seeded noise."""
    rng = np.random.default_rng(seed)
    return HUB + identity * np.eye(len(KEYS)) + noise * rng.standard_normal((len(KEYS), len(KEYS)))


def test_a_probe_that_carries_identity_keeps_its_pick_when_the_hub_beats_it_in_plain_top1():
    v = _probes(0.15, 0.0, 0)
    plain = [int(np.argmax(p)) for p in v]
    assert plain[2:] == [0, 0, 0, 0]  # the hub wins b..e in plain top-1 (0.30 > 0.15 + their own hub response)
    centred = [centred_top1(v[i], np.delete(v, i, axis=0)) for i in range(len(v))]
    assert centred == list(range(len(KEYS)))  # every face picks its own photo
    assert centred_top1(v[3], np.empty((0, len(KEYS)))) == 0  # no cohort: plain top-1


def _rows(v: np.ndarray, rx: str = "eve", seed: int = 0, snr=20.0) -> list[dict]:
    return [{"kind": "face", "image": k.split("#")[0], "face": k, "receiver": rx, "snr": snr, "seed": seed,
             "received": True, "iou": 0.0, "sface_sim": float(v[i, i]), "sface_leak": 0.0,
             "sface_reid": PERSONS[int(np.argmax(v[i]))] == PERSONS[i], "sface_same": False,
             "sface_simv": [round(float(x), 4) for x in v[i]]} for i, k in enumerate(KEYS)]


def _floor(**extra) -> dict:
    return {"kind": "floor", "judge": "sface", "threshold": 0.363, "impostor_median": 0.0, "impostor_max": 0.3,
            "pairs": 14, "gallery": len(KEYS), "mates": {k: PERSONS.count(p) for k, p in zip(KEYS, PERSONS)},
            **extra}


def test_fills_without_identity_stop_hitting_the_hub_and_sit_at_chance():
    """Content-free fills over 20 seeds: plain top-1 picks the hub every time, so both faces of Obama are 'hit' in
    every seed (40 of 120 picks against 26.7 expected, p = 0.003) and no other face ever is; hub-corrected, the
    hits are those of chance."""
    rows = [_floor(faces=KEYS, persons=PERSONS)]
    rows += _rows(_probes(1.0, 0.0, 0), "no_privacy", 0, BASELINE_CELL)
    for s in range(20):
        rows += _rows(_probes(0.0, 0.01, s), "eve", s)
    e = report.claims(rows)["leakage"]["sface|eve_strongest"]
    obama = [k for k, p in zip(KEYS, PERSONS) if p == "obama"]
    assert e["reid_hits"] == 40 and e["reid_p"] < 0.01  # plain: the hub, every seed, both Obama photos
    assert e["hreid_trials"] == 120 and e["hreid_p_one"] > 0.05
    sd = np.sqrt(120 * e["chance_one"] * (1 - e["chance_one"]))  # 4.6 hits
    assert abs(e["hreid_hits"] - e["hreid_expected_one"]) < 2 * sd < 40 - e["hreid_expected_one"]
    assert e["chance_one"] == pytest.approx(np.mean([2 / 6] * 2 + [1 / 6] * 4))
    nop = report.claims(rows)["leakage"]["sface|no_privacy"]
    assert nop["hreid"].mean == 1.0 and nop["reid"].mean == 1.0  # the originals: every face re-identified
    assert len(obama) == 2


def test_identity_in_the_fills_is_still_found_and_rows_without_vectors_get_no_hub_measure():
    rows = [_floor(faces=KEYS, persons=PERSONS)] + _rows(_probes(0.15, 0.005, 1))
    rows += _rows(_probes(1.0, 0.0, 0), "no_privacy", 0, BASELINE_CELL)
    e = report.claims(rows)["leakage"]["sface|eve_strongest"]
    assert e["hreid_hits"] == 6 and e["hreid_p_one"] < 0.01 and e["reid_hits"] < 6
    line = next(x for x in report.table(report.claims(rows)) if "eve_strongest: leak" in x)
    assert "hub-corrected re-id 1.00 (6/6" in line
    old = [_floor()] + [{k: v for k, v in r.items() if k != "sface_simv"} for r in rows[1:]]
    assert "hreid" not in report.claims(old)["leakage"]["sface|eve_strongest"]  # an older run's rows: left out


def test_a_lost_image_is_no_pick_for_the_hub_corrected_attacker_either():
    rows = [_floor(faces=KEYS, persons=PERSONS)] + _rows(_probes(0.15, 0.0, 0))
    rows += _rows(_probes(1.0, 0.0, 0), "no_privacy", 0, BASELINE_CELL)
    rows[1].update(received=False, sface_sim=None, sface_simv=None, sface_reid=False)  # a#0's image lost
    e = report.claims(rows)["leakage"]["sface|eve_strongest"]
    assert e["hreid_hits"] == 5 and e["hreid_expected_one"] == pytest.approx((2 + 4) / 6)  # a#1: 2/6; b..e: 1/6


def test_a_tie_is_broken_at_random_not_towards_the_first_gallery_face():
    """Identical probes (a blank or grey fill: one crop whatever the face) centre to an all-zero vector (up to
    float rounding): the pick carries nothing, so it must land anywhere at chance, not always on gallery face 0
    (here one of Obama's two photos: a hit for both, every seed)."""
    v = np.tile(HUB, (len(KEYS), 1))
    picks = {centred_top1(v[0], v[1:], seed) for seed in range(60)}
    assert picks == set(range(len(KEYS)))
    assert centred_top1(v[0], v[1:], 3) == centred_top1(v[0], v[1:], 3)  # seeded: the report is reproducible
    rows = [_floor(faces=KEYS, persons=PERSONS)] + _rows(_probes(1.0, 0.0, 0), "no_privacy", 0, BASELINE_CELL)
    for s in range(20):
        rows += _rows(v, "eve", s)
    e = report.claims(rows)["leakage"]["sface|eve_strongest"]
    assert e["hreid_hits"] < 40 and e["hreid_p_one"] > 0.05  # before: index 0 (Obama) every time, 40/120
    assert abs(e["hreid_hits"] - e["hreid_expected_one"]) < 3 * np.sqrt(120 * e["chance_one"])


def test_the_permutation_null_clears_the_hub_and_the_oracles_tries_and_still_finds_identity():
    """The plain picks of content-free fills pile on the hub (Obama's a#0): 40/120 against 26.7 expected at one try
    (p < 0.01), but shuffling which face each probe came from gives the same 40 hits every time: p = 1. The oracle
    with two distinct content-free fills per seed: its hub-corrected hits sit at the shuffles' mean, which is
    above the one-try chance. Fills that carry identity: p_perm small for both attackers."""
    rows = [_floor(faces=KEYS, persons=PERSONS)] + _rows(_probes(1.0, 0.0, 0), "no_privacy", 0, BASELINE_CELL)
    for s in range(20):
        rows += _rows(_probes(0.0, 0.01, s), "eve", s) + _rows(_probes(0.0, 0.01, 100 + s), "eve_face_prior", s)
    e = report.claims(rows)["leakage"]["sface|eve_strongest"]
    assert e["reid_p_one"] < 0.01 and e["pick_perm_hits"] == e["reid_hits"] == 40
    assert e["pick_p_perm"] == 1.0 and e["pick_perm_mean"] == pytest.approx(40)
    assert e["hpick_perm_mean"] > 1.3 * e["hreid_expected_one"] and e["hpick_p_perm"] > 0.05
    assert e["hpick_perm_hits"] == e["hreid_hits"]
    eve = report.claims(rows)["leakage"]["sface|eve"]  # one fill: the shuffles' mean is the one-try chance
    assert eve["hpick_perm_mean"] == pytest.approx(eve["hreid_expected"], rel=0.1)
    line = next(x for x in report.table(report.claims(rows)) if "eve_strongest: leak" in x)
    assert "shuffled faces: 40.00 expected, p = 1" in line
    rows = [_floor(faces=KEYS, persons=PERSONS)] + _rows(_probes(1.0, 0.0, 0), "no_privacy", 0, BASELINE_CELL)
    for s in range(3):
        rows += _rows(_probes(0.15, 0.005, s), "eve", s)
    e = report.claims(rows)["leakage"]["sface|eve_strongest"]
    assert e["hreid_hits"] == 18 and e["hpick_p_perm"] < 0.01
    # plain: every pick is the hub a#0, a hit for Obama's two faces only, shuffled or not: it shows nothing
    assert e["reid_hits"] == e["pick_perm_hits"] == 6 and e["pick_p_perm"] == 1.0


def test_rows_without_picks_get_no_permutation_test():
    rows = [_floor(faces=KEYS, persons=PERSONS)] + _rows(_probes(0.15, 0.0, 0))
    rows += _rows(_probes(1.0, 0.0, 0), "no_privacy", 0, BASELINE_CELL)
    old = [_floor()] + [{k: v for k, v in r.items() if k != "sface_simv"} for r in rows[1:]]
    e = report.claims(old)["leakage"]["sface|eve_strongest"]
    assert "pick_p_perm" not in e and "hpick_p_perm" not in e
    assert report.reid_permutation({"a#0": [{"seed": 0}]}, ["a#0"], "sface", {"a#0": "obama"}) is None


def test_the_shuffle_moves_a_faces_seeds_together():
    """Fills that carry a context but no identity: each face's probe is the same at every seed and picks one fixed
    gallery face (2 of the 6 by chance their own person). Shuffling each seed on its own would read 10 seeds of it
    as 10 independent draws (p = 0.025: a leak); one shuffle for all seeds gives the exact p over the 720
    permutations, 0.40."""
    import itertools

    who = dict(zip(KEYS, PERSONS))
    picks = {"a#0": "b#0", "a#1": "c#0", "b#0": "b#0", "c#0": "c#0", "d#0": "a#0", "e#0": "a#1"}
    seeds_of = {k: [{"seed": s, "sface_hpick": [who[picks[k]]]} for s in range(10)] for k in KEYS}
    e = report.reid_permutation(seeds_of, KEYS, "sface", who, "hpick")
    hits = [10 * sum(who[picks[k]] == who[KEYS[p]] for k, p in zip(KEYS, perm))
            for perm in itertools.permutations(range(len(KEYS)))]
    assert e["hpick_perm_hits"] == 20 and e["hpick_perm_mean"] == pytest.approx(np.mean(hits), abs=0.5)
    assert e["hpick_p_perm"] == pytest.approx(np.mean(np.array(hits) >= 20), abs=0.03)  # 0.40


def test_the_per_snr_and_margin_tables_give_the_hub_corrected_re_id_beside_the_plain_one():
    """Fills that carry identity under the hub: plain top-1 0.33 (only the hub's person's 2 faces), hub-corrected
    1.00; both printed in the compact per-SNR table and the margin table, plain first."""
    rows = [_floor(faces=KEYS, persons=PERSONS)] + _rows(_probes(0.15, 0.0, 0))
    rows += _rows(_probes(1.0, 0.0, 0), "no_privacy", 0, BASELINE_CELL)
    e = report.claims(rows)["leakage"]["sface|eve_strongest"]
    want = f"{e['reid'].mean:.2f} / {e['hreid'].mean:.2f}"
    assert e["reid"].mean == pytest.approx(2 / 6) and e["hreid"].mean == 1.0
    snr_line = report.snr_table(report.per_snr(rows))[-1]
    assert want in snr_line
    sweep = report.margin_sweep(rows)
    margin_line = report.margin_table(sweep)[-1]
    assert f"{e['reid'].format(digits=2)}; {e['hreid'].format(digits=2)}" in margin_line
    old = [_floor()] + [{k: v for k, v in r.items() if k != "sface_simv"} for r in rows[1:]]
    assert f"; {e['reid'].mean:.2f} |" in report.snr_table(report.per_snr(old))[-1]  # older rows: plain only


class _Dot:
    name, threshold = "sface", 0.363

    def similarity(self, a, b):
        return float(np.dot(a, b))


def test_plain_top1_breaks_a_tie_at_random_and_the_report_picks_what_the_row_says():
    """A probe equally near two gallery faces: the plain top-1 used to take the first in gallery order, a hit on
    that person for every such probe. Now the tie is broken at random (seeded), the row's ``reid`` comes from the
    rounded similarities it stores, and the report's plain pick is that same pick."""
    from sdr_semcom.eval.identity import identity_margin, reidentify, score_probe, tie_seed

    e = np.eye(3)
    gallery = {"a#0": e[0], "b#0": e[1], "c#0": e[2]}
    probe = np.array([0.5, 0.5, 0.0])  # a#0 and b#0 tie; the true face is b#0, second in gallery order
    hits = {reidentify(_Dot(), probe, gallery, "b#0", seed=s) for s in range(40)}
    assert hits == {True, False}
    # within the stored rounding: 0.50001 and 0.5 are one value in a row's simv, so a tie there too
    near = np.array([0.50001, 0.5, 0.0])
    picks = {score_probe(_Dot(), near, gallery, "b#0", seed=s).reid for s in range(40)}
    assert picks == {True, False}
    assert reidentify(_Dot(), near, gallery, "a#0")  # on the raw similarities a#0 is the true maximum
    sc = score_probe(_Dot(), np.array([0.2, 0.9, 0.1]), gallery, "b#0")
    assert sc.sim == pytest.approx(0.9) and sc.margin == pytest.approx(0.9 - 0.15) and sc.reid
    assert sc.margin == pytest.approx(identity_margin(_Dot(), np.array([0.2, 0.9, 0.1]), gallery, "b#0"))
    # the report's plain pick (what the shuffled-faces test scores) is the row's own reid, face by face
    keys, persons = ["a#0", "b#0", "c#0"], ["a", "b", "c"]
    rows = [{"kind": "floor", "judge": "sface", "threshold": 0.363, "impostor_median": 0.0, "impostor_max": 0.3,
             "pairs": 3, "gallery": 3, "faces": keys, "persons": persons}]
    for k in keys:
        sc = score_probe(_Dot(), np.array([0.5, 0.5, 0.5]), gallery, k, seed=tie_seed("sface", k))
        rows.append({"kind": "face", "image": k[0], "face": k, "receiver": "eve", "snr": 20.0, "seed": 0,
                     "received": True, "iou": 0.0, "sface_sim": sc.sim, "sface_leak": 0.0, "sface_reid": sc.reid,
                     "sface_same": False, "sface_simv": list(sc.simv)})
    raw = {"eve": {r["face"]: [r] for r in rows[1:]}}
    report.hub_corrected(raw, {"sface": rows[0]}, ["sface"])
    for r in rows[1:]:
        assert (r["sface_pick"] == [persons[keys.index(r["face"])]]) == r["sface_reid"]
    assert len({r["sface_pick"][0] for r in rows[1:]}) > 1  # identical probes: not one fixed gallery face


def test_the_report_takes_the_plain_reid_of_a_row_from_its_stored_simv_so_older_rows_agree_with_their_pick():
    """Rows written before ``score_probe`` (a ``--resume`` over an older run) carry a ``reid`` from the raw
    similarities, a tie going to the first gallery face in gallery order. The report's plain pick (what the
    shuffled-faces test scores) breaks the tie at random: the claims' re-identification must count that same pick,
    not the older flag, or its hits and the shuffles' hits are of two different attackers."""
    from sdr_semcom.eval.identity import tie_seed, top1

    keys, persons = ["a#0", "b#0", "c#0"], ["a", "b", "c"]
    simv = [0.5, 0.5, 0.1]  # a#0 and b#0 tie in the stored (rounded) similarities
    face = "a#0"  # the older code said "re-identified" (its own photo first in gallery order)
    assert top1(simv, tie_seed("sface", face)) == 1  # the seeded tie break picks b#0
    old = {"kind": "face", "image": "a", "face": face, "receiver": "eve", "snr": 20.0, "seed": 0, "received": True,
           "iou": 0.0, "sface_sim": 0.5, "sface_leak": 0.0, "sface_reid": True, "sface_same": False,
           "sface_simv": simv}
    raw = {"eve": {face: [dict(old)]}}
    report.hub_corrected(raw, {"sface": _floor(faces=keys, persons=persons)}, ["sface"])
    r = raw["eve"][face][0]
    assert r["sface_pick"] == ["b"]
    assert r["sface_reid"] is False  # the row's reid is its pick's
    lost = {**old, "received": False, "sface_sim": None, "sface_reid": False, "sface_simv": None}
    raw = {"eve": {face: [lost]}}
    report.hub_corrected(raw, {"sface": _floor(faces=keys, persons=persons)}, ["sface"])
    assert raw["eve"][face][0]["sface_reid"] is False and raw["eve"][face][0]["sface_pick"] == []


def test_two_receivers_with_the_same_fills_pick_alike_so_the_oracle_gets_one_try_of_them():
    """``eve`` and ``eve_telea`` are one fill (the eavesdropper's default is Telea). Content-free probes tie
    everywhere once centred; a tie break seeded by the receiver gave the two receivers different picks, two tries
    for the oracle's best of its fills. Seeded by judge, face and seed, they pick alike, and faces still differ."""
    flat = np.tile(HUB, (len(KEYS), 1))  # the same crop whatever the face: every centred score ties
    rows = [_floor(faces=KEYS, persons=PERSONS)]
    for rx in ("eve", "eve_telea"):
        rows += _rows(flat, rx, 0)
    raw: dict = {}
    for r in rows[1:]:
        raw.setdefault(r["receiver"], {}).setdefault(r["face"], []).append(r)
    report.hub_corrected(raw, {"sface": rows[0]}, ["sface"])
    picks = {rx: [raw[rx][k][0]["sface_hpick"][0] for k in KEYS] for rx in raw}
    assert picks["eve"] == picks["eve_telea"]
    assert len(set(picks["eve"])) > 1  # at random over the faces, not one fixed gallery face
