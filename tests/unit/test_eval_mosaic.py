"""``sdr-semcom eval``'s mosaic and its headline SNR: the mosaic shows the reconstructions at the SNR point the claims
table is taken at (the sweep's highest, whatever the order of ``--snr``), also after a ``--resume`` that lowers the
top SNR. Without models: a recording executor whose cells return one flat image per receiver, its grey level
saying the cell's SNR; the real report (``report.write_all``) builds ``mosaic.png`` from ``recon/``."""

import json

import numpy as np
import pytest
from PIL import Image

from sdr_semcom.eval import run
from sdr_semcom.eval.cells import BASELINE_CELL, DEFAULT_MARGIN, cell_receivers
from sdr_semcom.eval.run import EvalConfig, run_eval
from tests.unit.test_eval_resume import Recorder

COLS = ["no_privacy", "grey_box", "auth", "net_true", "net_null", "eve", "eve_face_prior", "blur", "pixelate"]
CELL, LABEL = 200, 16  # report.mosaics' tile side and label height


def level(snr) -> int:
    """The grey level of a cell's images: 150 for the baselines cell, 5 dB per step for an SNR cell."""
    return 150 if snr == BASELINE_CELL else int(5 * snr)


class Imaging(Recorder):
    """A recorder whose cells return their image rows (no face rows: the real report needs none) and, for every
    receiver of our link it computed (``only``'s, as a real cell), a flat image of :func:`level` (every cell, not
    only the headline's: the sweep must pick those)."""

    def run(self, cells, shared):
        for res in super().run(cells, shared):
            res.rows = [r for r in res.rows if r["kind"] == "image"]
            asked = cell_receivers(res.key, self.settings) if res.added is None else res.added  # ``only``'s
            res.images = {rx: np.full((8, 8, 3), level(res.key[2]), np.uint8) for rx, codec in asked if not codec}
            yield res


@pytest.fixture
def sweep(tmp_path):
    images = []
    for n in ("a", "b"):
        (tmp_path / f"{n}.png").write_bytes(b"")  # never read: the recorder prepares nothing
        images.append(tmp_path / f"{n}.png")
    out = tmp_path / "out"

    def go(snrs, resume=False, eve_fills=("eve",)):
        ex = Imaging("v1")
        run_eval(EvalConfig(images, snrs, out, resume=resume, judge_names=("sface",), eve_fills=eve_fills), ex)
        return ex, json.loads((out / "claims.json").read_text())["claims"]["snr"]

    return go, out


def tiles(out) -> list[dict]:
    """Per mosaic row, each column's grey level at its tile's centre."""
    grid = np.asarray(Image.open(out / "mosaic.png").convert("L"))
    rows = grid.shape[0] // (CELL + LABEL)
    return [{c: int(grid[r * (CELL + LABEL) + LABEL + CELL // 2, i * CELL + CELL // 2]) for i, c in enumerate(COLS)}
            for r in range(rows)]


def test_an_unsorted_snr_list_shows_the_headline_snr_in_the_mosaic(sweep):
    """Review: with ``--snr 20,10`` the mosaic came from ``snrs[-1]`` (10 dB) while the claims table was at the
    highest (20 dB). Both now at the headline SNR, the highest."""
    go, out = sweep
    ex, headline = go([20.0, 10.0])
    got = tiles(out)
    assert headline == 20.0 and len(got) == 2
    for t in got:
        assert t["auth"] == t["net_true"] == t["eve"] == level(20.0)
        assert t["no_privacy"] == t["blur"] == level(BASELINE_CELL)
        assert t["eve_face_prior"] == 200  # not a receiver of this sweep: the empty grey tile
    assert ex.settings.mosaic_snr == 20.0  # what a real cell returns its images at


def test_resume_with_a_lower_top_snr_shows_that_snr_not_the_old_images(sweep):
    """Review: a sweep at 12 and 20 dB resumed with ``--snr 12``: every cell finished, nothing computed, the report at
    12 dB, but ``recon/`` (so the mosaic) still held the 20 dB images. The finished 12 dB cells' reconstructions are
    rebuilt (our link's receivers only; no row written); going back to 20 dB reuses the 20 dB images kept."""
    go, out = sweep
    go([12.0, 20.0])
    assert all(t["auth"] == level(20.0) for t in tiles(out))
    rows = (out / "rows.jsonl").read_text()
    ex, headline = go([12.0], resume=True)
    assert headline == 12.0
    assert all(t["auth"] == t["eve"] == level(12.0) and t["no_privacy"] == level(BASELINE_CELL) for t in tiles(out))
    assert (out / "rows.jsonl").read_text() == rows  # the rebuild wrote no row
    ours = {k: frozenset(r for r in cell_receivers(k, ex.settings) if not r[1]) for k in
            [("a", DEFAULT_MARGIN, 12.0, 0), ("b", DEFAULT_MARGIN, 12.0, 0)]}
    assert sorted(ex.calls) == sorted(ours.items())  # only the headline cells, for their images
    ex, _ = go([12.0], resume=True)
    assert ex.calls == []  # kept since
    ex, headline = go([12.0, 20.0], resume=True)
    assert headline == 20.0 and ex.calls == []  # the 20 dB images were kept beside the 12 dB ones
    assert all(t["auth"] == level(20.0) for t in tiles(out))


def test_a_finished_cell_without_its_images_is_rebuilt_not_shown_stale(sweep):
    """A finished cell of the mosaic whose reconstructions are not in ``recon/`` (its mark gone: a ``recon/`` deleted
    or of an older version; a mark cut short; a mark of another margin) gets them rebuilt; the others are not run."""
    from sdr_semcom.eval import recon

    go, out = sweep
    go([12.0, 20.0])
    gone = recon.mark_path(out / "recon", ("a", DEFAULT_MARGIN, 20.0, 0))
    gone.unlink()
    other = recon.mark_path(out / "recon", ("b", DEFAULT_MARGIN, BASELINE_CELL, 0))
    other.write_text(other.read_text().replace(f'"margin": {DEFAULT_MARGIN}', '"margin": 0.3'))
    recon.mark_path(out / "recon", ("b", DEFAULT_MARGIN, 20.0, 0)).write_text('{"image": "b", "marg')  # cut
    ex, _ = go([12.0, 20.0], resume=True)
    assert sorted((k for k, _ in ex.calls), key=repr) == sorted(
        [("a", DEFAULT_MARGIN, 20.0, 0), ("b", DEFAULT_MARGIN, 20.0, 0), ("b", DEFAULT_MARGIN, BASELINE_CELL, 0)],
        key=repr)
    assert all(t["auth"] == level(20.0) and t["no_privacy"] == level(BASELINE_CELL) for t in tiles(out))


def test_a_receiver_added_on_resume_joins_the_cells_images(sweep):
    """A resume that completes the finished cells with a receiver added since (an eavesdropper's fill) adds its
    image to the headline cell's saved ones (their mark lists it) and rebuilds nothing."""
    from sdr_semcom.eval import recon

    go, out = sweep
    go([20.0])
    ex, _ = go([20.0], resume=True, eve_fills=("eve", "eve_telea"))
    assert {k for k, _ in ex.calls} == {("a", DEFAULT_MARGIN, 20.0, 0), ("b", DEFAULT_MARGIN, 20.0, 0)}
    assert all(only == frozenset({("eve_telea", "")}) for _, only in ex.calls)  # the added receiver's rows only
    got = recon.load(out / "recon", ("a", DEFAULT_MARGIN, 20.0, 0))
    assert {"auth", "eve", "eve_telea"} <= set(got) and int(got["eve_telea"][0, 0, 0]) == level(20.0)


def test_quick_takes_the_lowest_and_highest_snr_in_any_order(tmp_path, monkeypatch):
    """``--quick`` keeps two SNR points, "the lowest and highest of --snr": ``20,5,10`` gives 5 and 20 (before: the
    first and the last, 10 and 20)."""
    got = {}

    def fake(cfg, executor=None):
        got["snrs"] = cfg.snrs
        return {"claims": {}, "table": [], "files": []}

    monkeypatch.setattr(run, "run_eval", fake)
    (tmp_path / "a.png").write_bytes(b"")
    run.evaluate((str(tmp_path / "a.png"),), "20,5,10", tmp_path / "out", quick=True, enroll_references=False)
    assert got["snrs"] == [5.0, 20.0]


def test_parse_snrs_keeps_each_point_once_and_refuses_none():
    assert run.parse_snrs("20,10,20") == [20.0, 10.0]
    assert run.parse_snrs("0:4:2") == [0.0, 2.0, 4.0]
    for bad in (",", "", "a,b"):
        with pytest.raises(ValueError, match="--snr"):
            run.parse_snrs(bad)
