"""sdr_semcom.eval's seed axis and per-SNR claims, without models: cell keys, resume of rows written before
the seed was an axis, seeded links and transmitters, seeds pooled per face before the bootstrap."""

import json

import pytest

from sdr_semcom.eval import report
from sdr_semcom.eval.cells import (BASELINE_CELL, CODEC_BASELINES, DEFAULT_MARGIN, cell_key, codec_baseline, row_key,
                                   seeded_link, tx_seed)
from sdr_semcom.eval.run import RowWriter, sweep_cells


def test_cell_keys_carry_the_seed_and_old_rows_read_as_seed_0():
    assert cell_key("a", 20.0) == ("a", DEFAULT_MARGIN, 20.0, 0)
    assert cell_key("a", 20.0, 0.3, 2) == ("a", 0.3, 20.0, 2)
    assert row_key({"kind": "done", "image": "a", "snr": 20.0}) == ("a", DEFAULT_MARGIN, 20.0, 0)  # no margin, no seed
    assert row_key({"image": "a", "margin": 0.3, "snr": 4.0, "seed": 1}) == ("a", 0.3, 4.0, 1)


def test_sweep_has_every_seed_of_every_snr_point_and_the_baselines_once():
    keys = sweep_cells(["a", "b"], [0.0, 20.0], [DEFAULT_MARGIN], seeds=3)
    assert len(keys) == len(set(keys)) == 2 + 2 * 2 * 3
    assert {k[3] for k in keys if k[2] == BASELINE_CELL} == {0}  # nothing random in the baselines cell
    assert {(k[2], k[3]) for k in keys if k[0] == "a" and k[2] != BASELINE_CELL} == \
        {(s, seed) for s in (0.0, 20.0) for seed in range(3)}
    assert sweep_cells(["a"], [20.0]) == [("a", DEFAULT_MARGIN, BASELINE_CELL, 0), ("a", DEFAULT_MARGIN, 20.0, 0)]


def test_resume_of_rows_without_seed_reruns_nothing(tmp_path):
    path = tmp_path / "rows.jsonl"
    old = [{"kind": "floor", "judge": "sface"}]
    for snr in (BASELINE_CELL, 0.0, 20.0):  # as written before the seed (and the margin) were axes
        old += [{"kind": "image", "image": "a", "snr": snr, "receiver": "auth"},
                {"kind": "done", "image": "a", "snr": snr}]
    path.write_text("".join(json.dumps(r) + "\n" for r in old))
    w = RowWriter(path, resume=True)
    todo = [k for k in sweep_cells(["a"], [0.0, 20.0]) if k not in w.done()]
    assert todo == []
    assert not w.write_cell(("a", DEFAULT_MARGIN, 20.0, 0), [{"kind": "image", "image": "a", "snr": 20.0}])
    # a second seed is new work: only its cells run
    assert [k for k in sweep_cells(["a"], [0.0, 20.0], seeds=2) if k not in w.done()] == \
        [("a", DEFAULT_MARGIN, 0.0, 1), ("a", DEFAULT_MARGIN, 20.0, 1)]
    assert w.write_cell(("a", DEFAULT_MARGIN, 20.0, 1), [{"kind": "image", "image": "a", "snr": 20.0, "seed": 1}])
    w.close()
    done = [json.loads(x) for x in path.read_text().splitlines()][-1]
    assert done["kind"] == "done" and done["seed"] == 1


def test_seed_0_is_the_link_and_transmitter_of_older_runs_and_other_seeds_differ():
    from sdr_semcom.config import DEMO_LINK

    assert seeded_link(DEMO_LINK, 0) is DEMO_LINK
    one = seeded_link(DEMO_LINK, 1)
    seeds = {DEMO_LINK.auth.seed, DEMO_LINK.eve.seed, one.auth.seed, one.eve.seed}
    assert len(seeds) == 4 and one.auth.snr_db == DEMO_LINK.auth.snr_db
    assert tx_seed(0, "t1", DEFAULT_MARGIN) == "0/t1" and tx_seed(0, "t1", 0.3) == "0/t1/0.3"  # as before
    assert len({tx_seed(0, "t1", DEFAULT_MARGIN, s) for s in range(3)}) == 3


def test_tx_seed_is_one_to_one_so_no_nonce_repeats_under_the_sweeps_key():
    """An image named ``face#1`` at seed 0 and ``face`` at seed 1 would seed the same nonces and session id:
    two different plaintexts sealed under one AES-GCM key and nonce (keystream reuse). Names with '#' differ."""
    keys = [(n, m, s) for n in ("face", "face#1", "face#", "face##1", "face#1#1") for m in (DEFAULT_MARGIN, 0.3)
            for s in range(3)]
    assert len({tx_seed(0, n, m, s) for n, m, s in keys}) == len(keys)
    assert tx_seed(0, "face", DEFAULT_MARGIN, 1) == "0/face#1"  # names without '#': the strings of older runs


def _face(rx, face, snr, seed, leak, reid, codec=None):
    r = {"kind": "face", "image": face[0], "face": face, "receiver": rx, "snr": snr, "seed": seed, "received": True,
         "iou": 0.6 if reid else 0.1, "sface_sim": leak, "sface_leak": leak, "sface_reid": reid, "sface_same": reid}
    if codec:
        r["codec"] = codec
    return r


@pytest.fixture
def seeded_rows():
    """Three faces, two SNR points, two seeds: the eavesdropper re-identifies face x at 20 dB with seed 1 only."""
    rows = [{"kind": "floor", "judge": "sface", "threshold": 0.363, "impostor_median": 0.0, "impostor_max": 0.3,
             "pairs": 3, "gallery": 3}]
    faces = ["x#0", "y#0", "z#0"]
    rows += [_face("no_privacy", f, BASELINE_CELL, 0, 1.0, True) for f in faces]
    for snr in (4.0, 20.0):
        for seed in (0, 1):
            for f in faces:
                hit = snr == 20.0 and seed == 1 and f == "x#0"
                rows.append(_face("eve", f, snr, seed, 0.5 if hit else 0.1, hit))
                rows.append(_face("eve", f, snr, seed, 0.9, True, codec="webp_tiles"))  # a separation codec's
    return rows


def test_claims_at_every_snr_point_pool_seeds_per_face(seeded_rows):
    per = report.per_snr(seeded_rows)
    assert list(per) == [4.0, 20.0]
    at20 = per[20.0]["leakage"]["sface|eve_strongest"]
    assert at20["reid"].n == 3  # faces, not faces x seeds
    assert at20["reid"].mean == pytest.approx((0.5 + 0 + 0) / 3)  # face x: re-identified with one seed of two
    assert at20["leak"].mean == pytest.approx(((0.5 + 0.1) / 2 + 0.1 + 0.1) / 3)
    assert at20["reduction"].mean == pytest.approx(1 - at20["leak"].mean)
    assert per[4.0]["leakage"]["sface|eve_strongest"]["reid"].mean == 0.0
    assert report.claims(seeded_rows)["snr"] == 20.0  # the headline: the highest SNR
    lines = report.snr_table(per)
    assert len(lines) == 4 + 2 and lines[-1].startswith("| 20 |")


def test_separation_codec_rows_stay_out_of_our_claims(seeded_rows):
    assert sum(codec_baseline(r) for r in seeded_rows) == 12 and "webp_tiles" in CODEC_BASELINES
    ours = report.claims(seeded_rows)["leakage"]["sface|eve_strongest"]
    theirs = report.claims(seeded_rows, codec="webp_tiles")["leakage"]["sface|eve_strongest"]
    assert ours["reid"].mean < 0.2 and theirs["reid"].mean == 1.0 and theirs["reid"].n == 3
    sweep = report.codec_sweep(seeded_rows)
    assert set(sweep) == {"ours", "webp_tiles"}
    assert any("| webp_tiles |" in line for line in report.codec_table(sweep))


def test_pool_seeds_averages_measures_and_keeps_names():
    a = {"kind": "face", "face": "x#0", "seed": 0, "snr": 20.0, "sface_sim": 0.2, "sface_reid": True, "sface_leak": 0.1}
    b = {"kind": "face", "face": "x#0", "seed": 1, "snr": 20.0, "sface_sim": None, "sface_reid": False,
         "sface_leak": 0.3}
    p = report.pool_seeds([a, b])
    assert p["face"] == "x#0" and p["seed"] == 0 and p["snr"] == 20.0
    assert p["sface_sim"] == 0.2 and p["sface_reid"] == 0.5 and p["sface_leak"] == pytest.approx(0.2)


def test_identity_leakage_and_blank_pool_seeds_and_messages_count_once_per_seed(seeded_rows):
    """wt-leak's idleak rows and blank baseline under the seed axis: the strongest fill's identity leakage is
    taken per seed, then pooled per face; a seed's sealed message counts once however many SNR points got it."""
    rows = [dict(r) for r in seeded_rows]
    for r in rows:
        if r["kind"] == "face":
            hit = r["receiver"] == "eve" and r["snr"] == 20.0 and r["seed"] == 1 and r["face"] == "x#0"
            r["sface_idleak"] = 0.9 if r["receiver"] == "no_privacy" else (0.4 if hit else 0.0)
    rows += [{**_face("blank", f, BASELINE_CELL, 0, 0.12, False), "sface_idleak": 0.0} for f in ("x#0", "y#0", "z#0")]
    for snr in (4.0, 20.0):
        for seed in (0, 1):
            rows.append({"kind": "message", "image": "x", "snr": snr, "seed": seed, "region_count": 3,
                         "true_count": 3, "desc_hits": 1 if seed else 0, "desc_candidates": 162})
    per = report.per_snr(rows)
    e = per[20.0]["leakage"]["sface|eve_strongest"]
    assert e["idleak"].n == 3 and e["idleak"].mean == pytest.approx((0.4 / 2) / 3)  # x: one seed of two
    assert e["id_reduction"].mean == pytest.approx(1 - e["idleak"].mean / 0.9)
    assert per[4.0]["leakage"]["sface|eve_strongest"]["idleak"].mean == 0.0
    blank = per[20.0]["leakage"]["sface|blank"]
    assert blank["leak"].mean == pytest.approx(0.12) and blank["idleak"].mean == 0.0
    assert any("blank:" in line for line in report.table(per[20.0]))
    m = per[20.0]["message"]
    assert m["desc_hits"] == "1/6" and m["count_exact"] == "2/2"  # two distinct messages (seeds 0, 1), not four rows
    assert any("/ +" in cell for cell in report.snr_table(per)[-1].split("|"))  # the identity leakage's reduction


def test_the_oracles_best_of_k_fills_has_its_own_chance(seeded_rows):
    """eve_strongest picks, per face, the best of the eavesdropper's distinct fills: k tries at top-1, so its
    chance level is 1 - (1 - 1/G)^k, not 1/G; a second fill identical to the first (the eavesdropper's default
    is Telea) is no second try; the table says so, with the expected hits and a p-value."""
    one = report.claims(seeded_rows)["leakage"]
    assert one["sface|eve_strongest"]["tries"] == 1
    assert one["sface|eve_strongest"]["chance"] == pytest.approx(1 / 3)
    same = seeded_rows + [{**r, "receiver": "eve_telea"} for r in seeded_rows if r.get("receiver") == "eve"]
    assert report.claims(same)["leakage"]["sface|eve_strongest"]["chance"] == pytest.approx(1 / 3)
    other = seeded_rows + [{**r, "receiver": "eve_telea", "sface_sim": r["sface_sim"] + 0.01}
                           for r in seeded_rows if r.get("receiver") == "eve"]
    two = report.claims(other)["leakage"]
    assert two["sface|eve_strongest"]["tries"] == 2
    assert two["sface|eve_strongest"]["chance"] == pytest.approx(1 - (2 / 3) ** 2)
    assert two["sface|eve_strongest"]["reid_expected"] == pytest.approx(6 * (1 - (2 / 3) ** 2))  # 3 faces x 2 seeds
    assert two["sface|no_privacy"]["chance"] == pytest.approx(1 / 3) and "tries" not in two["sface|no_privacy"]
    lines = [ln for ln in report.table(report.claims(other)) if "eve_strongest: leak" in ln]
    assert lines and all("chance 0.56 for the best of its distinct fills, up to 2" in ln for ln in lines)
    assert all("expected at chance, one-sided p = " in ln and "if its fills are one try" in ln for ln in lines)


def test_re_identification_chance_counts_every_photo_of_the_person(seeded_rows):
    """With identity labels a top-1 pick hits any photo of the person: a face whose person has 2 of the 3 gallery
    photos is re-identified at random with chance 2/3, not 1/3 (the floor row's ``mates``; pkgfaces' Obama has 3
    of 19). ``gallery_mates`` counts them from the labels."""
    from sdr_semcom.eval.identity import gallery_mates

    assert gallery_mates({"x#0": 0, "y#0": 0, "z#0": 0}, {"x#0": "ann", "y#0": "ann", "z#0": "bob"}) == \
        {"x#0": 2, "y#0": 2, "z#0": 1}
    rows = [{**r, "mates": {"x#0": 2, "y#0": 2, "z#0": 1}} if r["kind"] == "floor" else r for r in seeded_rows]
    e = report.claims(rows)["leakage"]["sface|no_privacy"]
    assert e["chance"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3) / 3) and e["reid_expected"] == pytest.approx(5 / 3)
    assert e["reid_hits"] == 3 and e["reid_p"] == pytest.approx((2 / 3) * (2 / 3) * (1 / 3))


def _faces_over_seeds(n_faces: int, seeds: int, hit) -> list[dict]:
    """A gallery of ``n_faces`` (chance 1/n a pick), no-privacy rows, and one eavesdropper fill per face and seed;
    ``hit(face index, seed)`` says which re-identify."""
    rows = [{"kind": "floor", "judge": "sface", "threshold": 0.363, "impostor_median": 0.0, "impostor_max": 0.3,
             "pairs": n_faces * (n_faces - 1) // 2, "gallery": n_faces}]
    faces = [f"f{i}#0" for i in range(n_faces)]
    rows += [_face("no_privacy", f, BASELINE_CELL, 0, 1.0, True) for f in faces]
    rows += [_face("eve", f, 20.0, s, 0.5 if hit(i, s) else 0.1 + 0.001 * i, hit(i, s))
             for i, f in enumerate(faces) for s in range(seeds)]
    return rows


def test_re_identification_hits_are_counted_per_face_and_seed_not_rounded_from_seed_means():
    """With several seeds a face's pooled re-id is a fraction; rounding the sum of fractions lost hits (round(0.5)
    is 0: one hit in one seed of two vanished, p = 1) and tested the means of 3 seeds as if each were one
    Bernoulli pick, which hid a leak: 10 faces each re-identified in 1 of 3 seeds at chance 1/10 gave 3/10,
    p = 0.07; counted per pick it is 10/30 against 3 expected, p = 0.0007."""
    from scipy.stats import binom

    one = report.claims(_faces_over_seeds(3, 2, lambda i, s: i == 0 and s == 1))["leakage"]["sface|eve_strongest"]
    assert (one["reid_hits"], one["reid_trials"]) == (1, 6)
    assert one["reid_expected"] == pytest.approx(6 / 3) and one["reid_p"] == pytest.approx(1 - (2 / 3) ** 6)
    e = report.claims(_faces_over_seeds(10, 3, lambda i, s: s == i % 3))["leakage"]["sface|eve_strongest"]
    assert e["reid"].mean == pytest.approx(1 / 3) and e["chance"] == pytest.approx(0.1)
    assert (e["reid_hits"], e["reid_trials"]) == (10, 30) and e["reid_expected"] == pytest.approx(3.0)
    assert e["reid_p"] == pytest.approx(binom.sf(9, 30, 0.1)) and e["reid_p"] < 1e-3


def test_a_lost_image_is_no_pick_and_has_no_chance_of_a_hit():
    """A lost image shows nobody (sim None, re-id False): charging it a pick's chance raised the expected hits
    and made a real leak look more like chance. Face f1 is lost in seed 0 for every receiver."""
    rows = _faces_over_seeds(2, 2, lambda i, s: False)
    rows += [_face("blur_link", f"f{i}#0", 20.0, s, 0.1, False) for i in range(2) for s in range(2)]
    for r in rows:
        if r.get("face") == "f1#0" and r.get("seed") == 0 and r["receiver"] in ("eve", "blur_link"):
            r.update(received=False, sface_sim=None, sface_leak=0.0)
    c = report.claims(rows)["leakage"]
    for rx in ("eve_strongest", "blur_link"):
        assert c[f"sface|{rx}"]["reid_expected"] == pytest.approx(3 * 0.5), rx
        assert c[f"sface|{rx}"]["chance"] == pytest.approx((0.5 + 0.25) / 2), rx


def test_the_oracles_tries_are_counted_per_seed_and_its_one_try_chance_is_printed_too():
    """A second distinct fill in seed 0 only: 2 tries there, 1 in seed 1. Pooling the tries over seeds first
    (1.5 tries) gave 1 - (1 - p)^1.5, above the mean of the seeds' chances. Fills of one received image are alike,
    so the table also gives the chance of one try, the lower bound a privacy claim must pass."""
    rows = _faces_over_seeds(3, 2, lambda i, s: False)
    rows += [{**r, "receiver": "eve_telea", "sface_sim": r["sface_sim"] + 0.2} for r in rows
             if r.get("receiver") == "eve" and r["seed"] == 0]
    e = report.claims(rows)["leakage"]["sface|eve_strongest"]
    assert e["chance"] == pytest.approx(((1 - (2 / 3) ** 2) + 1 / 3) / 2)
    assert e["chance_one"] == pytest.approx(1 / 3) and e["reid_expected_one"] == pytest.approx(6 / 3)
    assert e["reid_p_one"] <= e["reid_p"] == 1.0


def test_the_sealed_message_identity_chance_counts_every_photo_of_the_person(seeded_rows):
    """A guess of the identity from the sealed message hits any photo of the person too: mean(mates) / gallery."""
    msg = {"kind": "message", "image": "x", "snr": 20.0, "receiver": "eve", "region_count": 1, "true_count": 1,
           "desc_hits": 0, "desc_candidates": 163, "desc_chance": [0.01], "desc_truths": ["a face"]}
    plain = report.claims(seeded_rows + [msg])["message"]
    assert plain["id_chance"] == pytest.approx(1 / 3)
    rows = [{**r, "mates": {"x#0": 2, "y#0": 2, "z#0": 1}} if r["kind"] == "floor" else r for r in seeded_rows]
    assert report.claims(rows + [msg])["message"]["id_chance"] == pytest.approx(5 / 9)
