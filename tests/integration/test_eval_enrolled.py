"""Claim 1's "enrolled vs not" split (:mod:`sdr_semcom.eval.enrolled`) on one face: Grace Hopper enrolled
with a reference made from her own photo transformed (no second photo of her ships)."""

import json
import os
import stat

import numpy as np
import pytest
import torch

from sdr_semcom.eval.enrolled import FILLS, enrolled_study, summarize, transformed_reference
from sdr_semcom.images import fit, read_rgb
from sdr_semcom.samples import fetch_samples


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("enrolled")
    img = fit(read_rgb(next(p for p in fetch_samples() if p.stem == "grace_hopper")), 400)
    (out / "enrolled").mkdir()
    os.chmod(out / "enrolled", 0o777)  # an earlier run's folder, left open
    old = os.umask(0)  # the study's files are photos of people: owner only whatever the umask
    try:
        return out, img, enrolled_study([("hopper", img)], out, generator="classical")
    finally:
        os.umask(old)


def test_the_study_folder_and_its_photos_are_owner_only_under_umask_0(study):
    out, _, _ = study
    folder = out / "enrolled"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.parent.name == "db.references" for p in files)
    assert not list(folder.glob("*.png"))  # the temporary reference PNG is gone
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    for d in (p for p in folder.rglob("*") if p.is_dir()):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d


def test_reference_is_the_same_photo_transformed_not_a_copy(study):
    _, img, _ = study
    from sdr_semcom.eval.identity import find_faces

    face = find_faces("hopper", img)[0]
    ref = transformed_reference(img, face.box)
    assert ref.shape != img.shape and ref.shape[0] > face.box[3] - face.box[1]
    assert find_faces("ref", ref)  # still shows a face


def test_enrolled_face_restored_only_by_the_reference_fill(study):
    out, _, res = study
    rows = {r["fill"]: r for r in res["rows"]}
    assert set(rows) == set(FILLS) and all(r["aligned"] == "hopper-face0" for r in rows.values())
    assert rows["reference"]["backend"] == "reference" and rows["generic"]["backend"] == "telea"
    assert rows["null"]["backend"] == "telea"  # the generator without the description: Telea has no words to drop
    assert rows["reference"]["sface_same"] and not rows["generic"]["sface_same"] and not rows["null"]["sface_same"]
    assert rows["reference"]["hole_lpips"] < rows["generic"]["hole_lpips"]
    s = json.loads((out / "enrolled.json").read_text())
    assert s["faces"] == 1 and s["diff"]["reference-generic"]["sface_sim"]["mean"] > 0.3
    assert len((out / "enrolled_rows.jsonl").read_text().splitlines()) == 3
    assert any("Claim 1, enrolled faces (1;" in line for line in res["table"])


def test_summary_pairs_the_same_faces():
    rows = [{"face": f, "fill": fill, "backend": fill, "hole_psnr": p, "hole_ssim": 0.5, "hole_lpips": None,
             "sface_sim": s, "sface_same": s > 0.363}
            for f, base in (("a#0", 0.0), ("b#0", 1.0)) for fill, p, s in
            (("reference", 20 + base, 0.8), ("generic", 15 + base, 0.1), ("null", 14 + base, 0.0))]
    s = summarize(rows + [{**rows[0], "face": "c#0"}])  # c#0 has only a reference row: not paired, left out
    assert s["faces"] == 2 and s["diff"]["reference-generic"]["hole_psnr"]["mean"] == pytest.approx(5.0)
    assert s["diff"]["generic-null"]["hole_psnr"]["mean"] == pytest.approx(1.0)  # the description's own gain
    assert s["diff"]["reference-null"]["sface_sim"]["mean"] == pytest.approx(0.8)
    assert s["fills"]["reference"]["sface_same"] == 1.0 and s["fills"]["null"]["sface_same"] == 0.0
    assert np.isnan(s["fills"]["reference"]["hole_lpips"]["mean"])  # no ST-LPIPS: n/a, not zero


def test_labelled_face_is_enrolled_with_the_other_photo(tmp_path):
    """Two images labelled as one person: each is restored from the *other* one (photo_reference), and
    the table prints that split; without labels the reference is the photo transformed."""
    from sdr_semcom.eval.enrolled import photo_reference
    from sdr_semcom.eval.identity import find_faces

    torch.set_num_threads(1)
    img = fit(read_rgb(next(p for p in fetch_samples() if p.stem == "grace_hopper")), 256)
    other = np.ascontiguousarray(img[:, ::-1])  # stands in for a second photo of her
    face = find_faces("b", other)[0]
    ref = photo_reference(other, face.box)
    assert find_faces("ref", ref) and ref.shape[0] < other.shape[0] + 1
    res = enrolled_study([("a", img), ("b", other)], tmp_path, generator="classical", size=128,
                         labels={"a": "hopper", "b": "hopper"})
    kinds = {r["face"]: r["reference"] for r in res["rows"]}
    assert kinds == {"a#0": "other_photo", "b#0": "other_photo"}
    # one entry for the person, in two databases (a's holds b's photo and b's holds a's): never its own photo
    assert all(r["entry"] == r["aligned"] == "hopper-person" for r in res["rows"])
    assert res["summary"]["skipped"]["wrong_entry"] == 0
    assert (tmp_path / "enrolled" / "db.yaml").exists() and (tmp_path / "enrolled" / "db2.yaml").exists()
    assert set(res["summary"]["by_reference"]) == {"other_photo"}
    assert any("another photo of the person for 2" in line for line in res["table"])
    plain = enrolled_study([("a", img)], tmp_path / "plain", generator="network", size=128)
    assert {r["reference"] for r in plain["rows"]} == {"transformed"}
    # null is the generic fill's generator without the description: the network with its null embedding
    assert {r["fill"]: r["backend"] for r in plain["rows"]} == {"reference": "reference", "generic": "network",
                                                                "null": "network_null"}
    assert any(line.startswith("generic-null") for line in plain["table"])
