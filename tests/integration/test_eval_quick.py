"""``sdr-semcom eval --quick`` end to end: files, rows, claims; ``--resume`` keeps the rows and reruns nothing."""

import json

import pytest
from click.testing import CliRunner

from sdr_semcom.cli import main

pytestmark = pytest.mark.slow  # ~40 s alone, 90 s on a loaded 2-core machine


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, face_samples, samples):
    out = tmp_path_factory.mktemp("eval")
    res = CliRunner().invoke(main, ["eval", "--quick", "--snr", "12,20", "--out", str(out)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return out, res.output


def test_quick_eval_writes_its_files(quick_run):
    out, text = quick_run
    for name in ("rows.jsonl", "rows.csv", "claims.json", "claims.md", "plot.png", "mosaic.png"):
        assert (out / name).stat().st_size > 0, name
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    kinds = {r["kind"] for r in rows}
    assert {"floor", "image", "face", "region", "message", "done"} <= kinds
    assert {r["snr"] for r in rows if r["kind"] == "done"} == {"baselines", 12.0, 20.0}
    at20 = {r["receiver"] for r in rows if r["kind"] == "image" and r["snr"] == 20.0}
    assert {"auth", "net_true", "net_null", "net_other", "prior_true", "prior_null", "eve", "eve_telea"} <= at20
    named = {r["receiver"]: set(r["backends"]) for r in rows if r["kind"] == "image" and r["snr"] == 20.0
             and r["receiver"] in ("net_true", "net_null", "prior_null")}
    assert "network_null" in named["net_null"] and "network" not in named["net_null"]  # the row names its null
    assert "network" in named["net_true"] and "face_prior_null" in named["prior_null"]
    nopriv = [r for r in rows if r["kind"] == "face" and r["receiver"] == "no_privacy"]
    assert len(nopriv) == 7 and all(r["sface_reid"] for r in nopriv)  # the original is itself
    assert "| claim | paper | measure | ours |" in text and "wall time" in text and "peak memory" in text
    doc = json.loads((out / "claims.json").read_text())
    claims = doc["claims"]
    assert claims["snr"] == 20.0 and claims["floors"]["sface"]["pairs"] == 21
    assert {"null|face", "null (DCGAN face prior)|face"} <= set(claims["embedding"])  # claim 1, both fills
    # every claim at every SNR point; the printed table: the headline SNR (the highest) and a per-SNR one
    assert set(doc["per_snr"]) == {"12", "20"} and doc["per_snr"]["20"]["leakage"] == claims["leakage"]
    assert "Claims at 20.0 dB, the headline SNR" in text and "Claims at every SNR point" in text
    # blur and pixelation sent through our codec and the PHY, their rows naming the codec
    from sdr_semcom.semantic.weights import load_codec

    linked = [r for r in rows if r["kind"] == "image" and r["receiver"] in ("blur_link", "pixelate_link")]
    assert {(r["receiver"], r["snr"]) for r in linked} == {(b, s) for b in ("blur_link", "pixelate_link")
                                                          for s in (12.0, 20.0)}
    assert len(linked) == 8 and {r["codec"] for r in linked} == {load_codec().id} and {r["seed"] for r in linked} == {0}
    assert all(r["received"] for r in linked if r["snr"] == 20.0)
    assert "sface|blur_link" in claims["leakage"]


def test_resume_keeps_rows_and_reruns_nothing(quick_run, monkeypatch):
    out, _ = quick_run
    before = (out / "rows.jsonl").read_text()

    def no_phy(*a, **k):
        raise AssertionError("--resume ran the PHY again for a finished SNR point")

    monkeypatch.setattr("sdr_semcom.link.loopback.run_loopback", no_phy)
    res = CliRunner().invoke(main, ["eval", "--quick", "--snr", "12,20", "--out", str(out), "--resume"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert (out / "rows.jsonl").read_text() == before


def test_resume_adds_the_rows_an_older_version_did_not_write(quick_run, tmp_path, monkeypatch):
    """Cells finished without the blank baseline and the link baselines (as before they existed): --resume
    computes those rows alone (only the link baselines' transmissions cross the PHY) and they equal the rows
    the whole cell wrote; every other row stays as it was."""
    import shutil

    from sdr_semcom.link import loopback

    out, _ = quick_run
    work = tmp_path / "resumed"
    shutil.copytree(out, work)
    rows = [json.loads(line) for line in (work / "rows.jsonl").read_text().splitlines()]
    gone = ("blank", "blur_link", "pixelate_link")
    old = [r for r in rows if r.get("receiver") not in gone]
    (work / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in old))
    roles, real = [], loopback.run_loopback
    monkeypatch.setattr(loopback, "run_loopback", lambda m, cfg, roles=("auth", "eve"): roles_seen(m, cfg, roles))

    def roles_seen(m, cfg, r):
        roles.append(tuple(r))
        return real(m, cfg, roles=r)

    res = CliRunner().invoke(main, ["eval", "--quick", "--snr", "12,20", "--out", str(work), "--resume"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert roles and set(roles) == {("auth",)}  # the link baselines' sends only: ours is not sent again
    new = [json.loads(line) for line in (work / "rows.jsonl").read_text().splitlines()]
    assert new[:len(old)] == old
    strip = lambda rs: sorted(json.dumps(r, sort_keys=True) for r in rs if r["kind"] != "done")  # noqa: E731
    assert strip(new[len(old):]) == strip(r for r in rows if r.get("receiver") in gone)
    assert "--resume added" in res.output


def test_resume_drops_an_unfinished_point(tmp_path):
    from sdr_semcom.eval.run import RowWriter

    path = tmp_path / "rows.jsonl"
    rows = [{"kind": "floor", "judge": "sface"}, {"kind": "image", "image": "a", "snr": 10.0},
            {"kind": "done", "image": "a", "snr": 10.0}, {"kind": "image", "image": "a", "snr": 12.0}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{\"kind\": \"ima")  # killed mid-line
    w = RowWriter(path, resume=True)  # rows from before the margin and the seed were axes: 0.15, seed 0
    assert not w.write_cell(("a", 0.15, 10.0, 0), [{"kind": "image", "image": "a", "snr": 10.0}])  # written once
    w.close()
    assert w.done() == {("a", 0.15, 10.0, 0)}
    assert [json.loads(x) for x in path.read_text().splitlines()] == rows[:3]
    w = RowWriter(path, resume=False)
    w.close()
    assert path.read_text() == "" and w.rows == []


def test_two_guard_margins_give_rows_for_both_and_the_margin_table(tmp_path, samples):
    hopper = next(p for p in samples if p.stem == "grace_hopper")
    out = tmp_path / "margins"
    res = CliRunner().invoke(main, ["eval", "--quick", "--images", str(hopper), "--snr", "20", "--margins", "0,0.3",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    done = {(r["image"], r["margin"], r["snr"]) for r in rows if r["kind"] == "done"}
    assert done == {("grace_hopper", m, s) for m in (0.0, 0.3) for s in ("baselines", 20.0)}
    assert all("margin" in r for r in rows if r["kind"] != "floor")
    removed = {r["margin"]: r["removed_frac"] for r in rows if r["kind"] == "image" and r["receiver"] == "no_privacy"}
    assert 0 < removed[0.0] < removed[0.3]  # a larger margin removes more of the image
    assert "Leakage vs guard margin at 20.0 dB" in res.output and "(n), guard margin 0\n" in res.output
    assert (out / "margin.png").stat().st_size > 0
    doc = json.loads((out / "claims.json").read_text())
    assert set(doc["margins"]) == {"0", "0.3"} and doc["margins"]["0.3"]["sface_reduction"]["n"] == 1


def test_bad_margins_is_a_usage_error(tmp_path):
    res = CliRunner().invoke(main, ["eval", "--margins", "0,x", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--margins" in res.output


def test_two_seeds_and_a_separation_codec(tmp_path, samples):
    """``--seeds 2 --codec-baselines webp_tiles``: every SNR cell once per seed, the same link carrying the
    guarded image with WebP tiles too (rows naming it, left out of our claims), CIs over faces, not seeds."""
    hopper = next(p for p in samples if p.stem == "grace_hopper")
    out = tmp_path / "seeds"
    res = CliRunner().invoke(main, ["eval", "--quick", "--images", str(hopper), "--snr", "20", "--seeds", "2",
                                    "--codec-baselines", "webp_tiles", "--out", str(out)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    done = {(r["image"], r["snr"], r["seed"]) for r in rows if r["kind"] == "done"}
    assert done == {("grace_hopper", "baselines", 0), ("grace_hopper", 20.0, 0), ("grace_hopper", 20.0, 1)}
    tiles = [r for r in rows if r.get("codec") == "webp_tiles"]
    assert {r["receiver"] for r in tiles if r["kind"] == "image"} == {"auth", "eve", "eve_telea"}
    assert {r["seed"] for r in tiles} == {0, 1}
    msgs = [r for r in rows if r["kind"] == "message"]
    assert len(msgs) == 2  # ours only, once per seed
    doc = json.loads((out / "claims.json").read_text())
    assert doc["meta"]["seeds"] == 2 and doc["claims"]["leakage"]["sface|auth"]["leak"]["n"] == 1  # one face
    assert set(doc["codecs"]) == {"ours", "webp_tiles"} and "| webp_tiles |" in res.output


def test_bad_codec_baseline_is_a_usage_error(tmp_path):
    res = CliRunner().invoke(main, ["eval", "--codec-baselines", "png", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--codec-baselines" in res.output



def test_resume_with_a_lower_top_snr_rebuilds_the_mosaic_at_it(quick_run, tmp_path):
    """Review: a resume with a lower top SNR (``--snr 12,20``, then ``--snr 12 --resume``) left the 20 dB images in
    ``recon/`` and so in the mosaic while the report was at 12 dB. With the real cells: the first run kept the 20 dB
    reconstructions (``recon/20dB/``, the headline SNR) only; the resume computes no row but rebuilds the finished
    12 dB cells' reconstructions, and the mosaic shows those, the report at 12 dB."""
    import shutil

    import numpy as np
    from PIL import Image

    out, _ = quick_run
    work = tmp_path / "lower"
    shutil.copytree(out, work)
    mark = json.loads((work / "recon" / "20dB" / "t1.json").read_text())
    assert mark["snr"] == 20.0 and {"auth", "net_true", "eve"} <= set(mark["receivers"])
    assert not (work / "recon" / "12dB").exists()
    rows = (work / "rows.jsonl").read_text()
    res = CliRunner().invoke(main, ["eval", "--quick", "--snr", "12", "--out", str(work), "--resume",
                                    "--no-enroll-references"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert json.loads((work / "claims.json").read_text())["claims"]["snr"] == 12.0
    assert "mosaic: 2 finished cell(s) at 12.0 dB, margin 0.15" in res.output
    assert (work / "rows.jsonl").read_text() == rows  # no row written
    grid = Image.open(work / "mosaic.png").convert("RGB")
    for r, name in enumerate(("t1", "grace_hopper")):  # the default images, in order
        tile = np.asarray(grid.crop((2 * 200, r * 216 + 16, 3 * 200, r * 216 + 216)))  # column 2: auth
        want = Image.open(work / "recon" / "12dB" / "auth" / f"{name}.png").convert("RGB").resize((200, 200))
        assert np.array_equal(tile, np.asarray(want)), name
