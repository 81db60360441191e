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
    assert {"auth", "net_true", "net_null", "net_other", "eve", "eve_telea"} <= at20
    nopriv = [r for r in rows if r["kind"] == "face" and r["receiver"] == "no_privacy"]
    assert len(nopriv) == 7 and all(r["sface_reid"] for r in nopriv)  # the original is itself
    assert "| claim | paper | measure | ours |" in text and "wall time" in text and "peak memory" in text
    claims = json.loads((out / "claims.json").read_text())["claims"]
    assert claims["snr"] == 20.0 and claims["floors"]["sface"]["pairs"] == 21


def test_resume_keeps_rows_and_reruns_nothing(quick_run, monkeypatch):
    out, _ = quick_run
    before = (out / "rows.jsonl").read_text()

    def no_phy(*a, **k):
        raise AssertionError("--resume ran the PHY again for a finished SNR point")

    monkeypatch.setattr("sdr_semcom.link.loopback.run_loopback", no_phy)
    res = CliRunner().invoke(main, ["eval", "--quick", "--snr", "12,20", "--out", str(out), "--resume"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert (out / "rows.jsonl").read_text() == before


def test_resume_drops_an_unfinished_point(tmp_path):
    from sdr_semcom.eval.run import RowWriter

    path = tmp_path / "rows.jsonl"
    rows = [{"kind": "floor", "judge": "sface"}, {"kind": "image", "image": "a", "snr": 10.0},
            {"kind": "done", "image": "a", "snr": 10.0}, {"kind": "image", "image": "a", "snr": 12.0}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{\"kind\": \"ima")  # killed mid-line
    w = RowWriter(path, resume=True)
    assert not w.write_cell(("a", 10.0), [{"kind": "image", "image": "a", "snr": 10.0}])  # a cell is written once
    w.close()
    assert w.done() == {("a", 10.0)}
    assert [json.loads(x) for x in path.read_text().splitlines()] == rows[:3]
    w = RowWriter(path, resume=False)
    w.close()
    assert path.read_text() == "" and w.rows == []
