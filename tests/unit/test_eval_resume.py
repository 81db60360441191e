"""``sdr-semcom eval --resume`` completes cells finished by older versions: the rows of receivers (a baseline, a
link baseline, a separation codec, a judge) the current version writes and a cell lacks are computed alone and
added; the rest is not computed again. Without models: a recording executor stands in for the cells."""

import json

import pytest

from sdr_semcom.eval import report, run
from sdr_semcom.eval.cells import (BASELINE_CELL, DEFAULT_MARGIN, CellResult, CellSettings, PreparedInfo,
                                   cell_receivers, missing_receivers)
from sdr_semcom.eval.identity import Floor
from sdr_semcom.eval.run import EvalConfig, RowWriter, run_eval


class Recorder:
    """An executor whose cells write one image row and one face row per receiver, tagged with the run ``tag``."""

    def __init__(self, tag: str) -> None:
        self.tag, self.calls = tag, []

    def start(self, settings, db):
        self.settings = settings

    def prepare(self, items, max_side):
        return [(name, PreparedInfo(name, {j: {f"{name}#0": None} for j in self.settings.judge_names}, None, m))
                for name, _, m in items]

    def floors(self, gallery):
        return {j: Floor(j, 0.363, 0.0, 0.3, 1) for j in gallery}

    def run(self, cells, shared):
        for key, _, only in cells:
            self.calls.append((key, only))
            rows = []
            for rx, codec in sorted(only if only is not None else cell_receivers(key, self.settings)):
                head = {"image": key[0], "margin": key[1], "snr": key[2], "seed": key[3], "receiver": rx,
                        "tag": self.tag, **({"codec": codec} if codec else {})}
                rows += [{"kind": "image", **head},
                         {"kind": "face", **head, **{f"{j}_sim": 0.1 for j in self.settings.judge_names}}]
            yield CellResult(key, rows, added=None if only is None else tuple(sorted(only)))

    def close(self):
        pass


@pytest.fixture
def sweep(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "write_all", lambda rows, out, **kw: {"claims": {}, "table": [], "files": []})
    images = []
    for n in ("a", "b"):
        (tmp_path / f"{n}.png").write_bytes(b"")  # never read: the recorder prepares nothing
        images.append(tmp_path / f"{n}.png")

    def go(tag, judges=("sface",), resume=True):
        ex = Recorder(tag)
        cfg = EvalConfig(images, [20.0], tmp_path / "out", resume=resume, judge_names=judges,
                         eve_fills=("eve", "eve_telea"))
        run_eval(cfg, ex)
        return ex.calls, [json.loads(x) for x in (tmp_path / "out" / "rows.jsonl").read_text().splitlines()]

    return go, tmp_path / "out" / "rows.jsonl"


def test_resume_adds_a_missing_baselines_rows_and_computes_nothing_else(sweep, capsys):
    go, path = sweep
    calls, rows = go("v1", resume=False)
    assert len(calls) == 4 and all(only is None for _, only in calls)  # 2 images x (baselines, 20 dB)
    # as an older version wrote them: a's baselines cell without blank, its 20 dB cell without blur_link
    old = [r for r in rows if not (r.get("image") == "a" and r.get("receiver") in ("blank", "blur_link"))]
    path.write_text("".join(json.dumps(r) + "\n" for r in old))
    calls, rows = go("v2")
    assert calls == [(("a", DEFAULT_MARGIN, BASELINE_CELL, 0), frozenset({("blank", "")})),
                     (("a", DEFAULT_MARGIN, 20.0, 0), frozenset({("blur_link", "")}))]
    new = [r for r in rows if r.get("tag") == "v2"]
    assert {(r["image"], r["snr"], r["receiver"], r["kind"]) for r in new} == \
        {("a", BASELINE_CELL, "blank", k) for k in ("image", "face")} | {("a", 20.0, "blur_link", k)
                                                                        for k in ("image", "face")}
    assert rows[:len(old)] == old  # the rows already there: kept as they were, not computed again
    added = [r for r in rows if r["kind"] == "done" and "added" in r]
    assert [(r["snr"], r["added"]) for r in added] == [(BASELINE_CELL, [["blank", ""]]), (20.0, [["blur_link", ""]])]
    err = capsys.readouterr().err
    assert "2 of them without the rows of blank, blur_link: adding those" in err
    assert "--resume added 4 rows to 2 finished cells" in err
    calls, again = go("v3")  # complete now: nothing to do, nothing written
    assert calls == [] and again == rows


def test_a_new_judge_recomputes_and_replaces_its_receivers_rows(sweep):
    go, path = sweep
    go("v1", resume=False)
    calls, rows = go("v2", judges=("sface", "dlib"))
    assert len(calls) == 4 and all(only == cell_receivers(k, CellSettings(eve_fills=("eve", "eve_telea")))
                                   for k, only in calls)
    faces = [r for r in rows if r["kind"] == "face"]
    assert faces and all("dlib_sim" in r and r["tag"] == "v2" for r in faces)  # the v1 rows replaced, not doubled
    assert len(faces) == len({(r["image"], r["snr"], r["receiver"], r.get("codec")) for r in faces})
    assert RowWriter(path, resume=True).rows == rows  # the rewritten file reads back whole


def test_separation_codec_rows_are_missing_per_codec():
    s = CellSettings(eve_fills=("eve",), codec_baselines=("webp",))
    key = ("a", DEFAULT_MARGIN, 20.0, 0)
    ours = [{"kind": "image", "image": "a", "margin": DEFAULT_MARGIN, "snr": 20.0, "receiver": rx, "codec": "dct4"}
            for rx, c in cell_receivers(key, s) if not c]
    assert missing_receivers(ours, key, s) == {("auth", "webp"), ("eve", "webp")}
    lost = [{**r, "kind": "image", "received": False} for r in ours]  # a lost image's rows are rows
    assert missing_receivers(lost, key, CellSettings(eve_fills=("eve",))) == frozenset()


def test_rows_added_after_a_cell_finished_but_cut_by_a_kill_are_dropped(tmp_path):
    path = tmp_path / "rows.jsonl"
    head = {"image": "a", "margin": DEFAULT_MARGIN, "snr": 20.0, "seed": 0}
    rows = [{"kind": "image", **head, "receiver": "auth"}, {"kind": "done", **head},
            {"kind": "image", **head, "receiver": "blur_link"}, {"kind": "done", **head, "added": [["blur_link", ""]]},
            {"kind": "image", **head, "receiver": "pixelate_link"}]  # its done row never came
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    w = RowWriter(path, resume=True)
    assert w.rows == rows[:4]
    n = w.add_rows(("a", DEFAULT_MARGIN, 20.0, 0), [{"kind": "image", **head, "receiver": "pixelate_link"}],
                   [("pixelate_link", "")])
    w.close()
    assert n == 1 and RowWriter(path, resume=True).rows[-1]["added"] == [["pixelate_link", ""]]
    with pytest.raises(ValueError, match="not finished"):
        RowWriter(path, resume=True).add_rows(("b", DEFAULT_MARGIN, 20.0, 0), [], [("auth", "")])


def test_unreadable_files_and_faceless_images_are_counted(tmp_path, monkeypatch):
    """A folder with a corrupt file and an image without a face: the first skipped, the second evaluated but left
    out of the identity figures, both counted in the claims.json meta and in one line of the table."""
    got = {}

    def write_all(rows, out, prepared_names, seed=0, meta=None):
        got.update(meta=meta, names=prepared_names)
        return {"claims": {}, "table": [], "files": []}

    monkeypatch.setattr(report, "write_all", write_all)

    class Mixed(Recorder):
        def prepare(self, items, max_side):
            return [None if name == "corrupt" else
                    (name, PreparedInfo(name, {"sface": {} if name == "wall" else {f"{name}#0": None}}, None, m))
                    for name, _, m in items]

    for n in ("corrupt", "face", "wall"):
        (tmp_path / f"{n}.png").write_bytes(b"")
    run_eval(EvalConfig([tmp_path], [20.0], tmp_path / "out", judge_names=("sface",)), Mixed("v1"))
    meta = got["meta"]
    assert got["names"] == ["face", "wall"] and meta["evaluated_images"] == 2
    assert meta["skipped_files"] == [str(tmp_path / "corrupt.png")] and meta["images_without_faces"] == ["wall"]
    line = report.inputs_line(meta)
    assert line == ("Images: 2 evaluated; 1 without a detectable face, left out of the identity and face figures "
                    "(wall); 1 file(s) skipped, not readable images (corrupt.png)")
    assert report.inputs_line({"evaluated_images": 2, "skipped_files": [], "images_without_faces": []}) is None


def test_an_empty_folder_or_a_non_image_is_one_line_before_any_model(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from sdr_semcom.cli import main
    from sdr_semcom.eval import cells

    monkeypatch.setattr(cells.Models, "__init__", lambda *a, **k: (_ for _ in ()).throw(AssertionError("loaded")))
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("not an image")
    for folder in ("empty", "notes"):
        res = CliRunner().invoke(main, ["eval", "--quick", "--images", str(tmp_path / folder), "--out",
                                        str(tmp_path / "o")])
        assert res.exit_code == 2 and "Traceback" not in res.output, res.output
        assert f"--images {tmp_path / folder}: no image files there" in res.output
    assert not (tmp_path / "o").exists()


def test_a_file_that_is_not_an_image_is_skipped_then_one_line(tmp_path, monkeypatch, caplog):
    """--images pointing at one file that is no image (an image's suffix, other bytes): skipped with a warning
    naming it, then one line (exit 2) that no image was readable; no traceback, no rows."""
    from click.testing import CliRunner

    from sdr_semcom.cli import main
    from sdr_semcom.images import read_rgb

    class Reader:  # the models' prepare as far as it reads the file
        def __init__(self, settings, db):
            pass

        def prepare(self, name, path, max_side=None, margin=DEFAULT_MARGIN):
            read_rgb(path)
            raise AssertionError("read")

    monkeypatch.setattr(run, "Models", Reader)
    bad = tmp_path / "photo.png"
    bad.write_text("not an image")
    res = CliRunner().invoke(main, ["eval", "--quick", "--images", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert f"no readable image among 1 file(s): {bad} (each skipped" in res.output
    assert f"skipping {bad}: not a readable image" in caplog.text


def test_a_fading_margin_sweep_from_before_the_paired_fades_is_computed_again(tmp_path, monkeypatch):
    """Review attack: cells at a margin other than the default, finished through a fading channel by a version
    that hashed the margin into the fade seeds, crossed other fades than a fresh run's: --resume computes them
    again, whole (their old rows gone, not doubled); the default margin's cells (the same fades) are kept; a
    second --resume adds nothing."""
    from sdr_semcom.channels import launch
    from sdr_semcom.channels.spec import FadingSpec
    from sdr_semcom.eval.cells import channel_fields

    monkeypatch.setattr(report, "write_all", lambda rows, out, **kw: {"claims": {}, "table": [], "files": []})
    monkeypatch.setattr(launch, "sionna_python", lambda: "python")
    (tmp_path / "a.png").write_bytes(b"")

    class Faded(Recorder):
        def run(self, cells, shared):
            for res in super().run(cells, shared):
                if res.key[2] != BASELINE_CELL:
                    res.rows = [{**r, **channel_fields(self.settings.channel)} for r in res.rows]
                yield res

    def go(tag, resume=True):
        ex = Faded(tag)
        run_eval(EvalConfig([tmp_path / "a.png"], [20.0], tmp_path / "out", resume=resume, judge_names=("sface",),
                            eve_fills=("eve",), margins=[DEFAULT_MARGIN, 0.3], channel=FadingSpec("tdl-a")), ex)
        return ex.calls, [json.loads(x) for x in (tmp_path / "out" / "rows.jsonl").read_text().splitlines()]

    go("v1", resume=False)
    path = tmp_path / "out" / "rows.jsonl"
    old = [{k: v for k, v in json.loads(x).items() if k != "fades"} for x in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(r) + "\n" for r in old))  # as the version before the paired fades wrote it
    calls, rows = go("v2")
    assert calls == [(("a", 0.3, 20.0, 0), None)]
    at03 = [r for r in rows if r.get("margin") == 0.3 and r.get("snr") == 20.0]
    assert at03 and all(r["tag"] == "v2" for r in at03 if r["kind"] != "done")
    assert sum(r["kind"] == "done" for r in at03) == 1
    assert [r for r in rows if r.get("tag") == "v1"] == [r for r in old if r.get("tag") == "v1"
                                                         and not (r["margin"] == 0.3 and r["snr"] == 20.0)]
    calls, again = go("v3")
    assert calls == [] and again == rows


def test_a_kill_at_any_byte_leaves_only_whole_cells_and_whole_additions(tmp_path):
    """Review attack: the file cut anywhere (a kill mid-write, whole cells, additions appended, a judge's
    replacement rewritten): a resume keeps exactly the floors and the segments (a cell's rows and its done row, an
    addition's rows and its done row) written whole before the cut, nothing of a half one; a second resume keeps
    the same rows."""
    path = tmp_path / "rows.jsonl"
    w = RowWriter(path, resume=False)
    w.write({"kind": "floor", "judge": "sface"})
    head = lambda n, s: {"image": n, "margin": DEFAULT_MARGIN, "snr": s, "seed": 0}  # noqa: E731
    segments = []
    for n, s in (("a", 20.0), ("b", 20.0), ("a", 10.0)):
        rows = [{"kind": "image", **head(n, s), "receiver": rx} for rx in ("auth", "eve")]
        w.write_cell((n, DEFAULT_MARGIN, s, 0), rows)
        segments.append(rows + [w.rows[-1]])
    for n, s, rx in (("a", 20.0, "blur_link"), ("b", 20.0, "blank_link"), ("a", 20.0, "pixelate_link")):
        w.add_rows((n, DEFAULT_MARGIN, s, 0), [{"kind": "image", **head(n, s), "receiver": rx}], [(rx, "")])
        segments.append(w.rows[-2:])
    w.close()
    text = path.read_bytes()
    whole = [json.loads(x) for x in text.splitlines()]
    assert whole == [{"kind": "floor", "judge": "sface"}] + [r for seg in segments for r in seg]
    ends, pos = [], len(json.dumps(whole[0])) + 1  # byte offset where each segment's done line is complete
    for seg in segments:
        pos += sum(len(json.dumps(r)) + 1 for r in seg)
        ends.append(pos - 1)  # its closing brace, before the newline
    cut_file = tmp_path / "cut.jsonl"
    lines = [i for i, b in enumerate(text) if b == ord("\n")]
    cuts = sorted({c for i in lines for c in (i - 2, i - 1, i, i + 1, i + 2)} | {i // 2 for i in lines}
                  | {0, len(text)})  # around every line's end (a closing brace cut or not), and mid-lines
    assert len(cuts) > 60
    for cut in (c for c in cuts if 0 <= c <= len(text)):
        cut_file.write_bytes(text[:cut])
        kept = RowWriter(cut_file, resume=True)
        kept.close()
        expect = ([whole[0]] if cut >= len(json.dumps(whole[0])) else []) + \
            [r for seg, end in zip(segments, ends) if cut >= end for r in seg]
        assert kept.rows == expect, cut
        again = RowWriter(cut_file, resume=True)
        again.close()
        assert again.rows == expect, cut


def test_resume_after_a_judge_was_added_adds_nothing_the_second_time(sweep):
    go, _ = sweep
    go("v1", resume=False)
    _, rows = go("v2", judges=("sface", "dlib"))
    calls, again = go("v3", judges=("sface", "dlib"))
    assert calls == [] and again == rows


def test_resume_with_another_channel_or_eve_snr_is_refused_not_mixed(tmp_path, monkeypatch):
    """Review attack: rows.jsonl made over the standard channel, resumed with --channel tdl-a (or with another
    --eve-snr): the finished cells crossed another link than a fresh run's, so keeping them would mix two sweeps.
    One clear error naming the setting, no cell computed, the finished rows kept."""
    from sdr_semcom.channels import launch
    from sdr_semcom.channels.spec import FadingSpec
    from sdr_semcom.eval.cells import channel_fields

    monkeypatch.setattr(report, "write_all", lambda rows, out, **kw: {"claims": {}, "table": [], "files": []})
    monkeypatch.setattr(launch, "sionna_python", lambda: "python")
    (tmp_path / "a.png").write_bytes(b"")

    class Linked(Recorder):
        def run(self, cells, shared):
            for res in super().run(cells, shared):
                if res.key[2] != BASELINE_CELL:
                    s = self.settings
                    res.rows = [{**r, **channel_fields(s.channel),
                                 "eve_snr": res.key[2] if s.eve_snr is None else s.eve_snr} for r in res.rows]
                yield res

    def go(tag, resume=True, **kw):
        ex = Linked(tag)
        run_eval(EvalConfig([tmp_path / "a.png"], [20.0], tmp_path / "out", resume=resume, judge_names=("sface",),
                            eve_fills=("eve",), **kw), ex)
        return ex.calls

    go("v1", resume=False)
    rows = (tmp_path / "out" / "rows.jsonl").read_text()
    for kw, what in (({"channel": FadingSpec("tdl-a")}, "channel"), ({"eve_snr": 5.0}, "eve-snr"),
                     ({"channel": FadingSpec("tdl-a"), "resume": False}, None)):
        ex = Linked("v2")
        if what is None:  # a fresh run (no --resume) with other settings: fine
            run_eval(EvalConfig([tmp_path / "a.png"], [20.0], tmp_path / "fresh", judge_names=("sface",),
                                eve_fills=("eve",), **{k: v for k, v in kw.items() if k != "resume"}), ex)
            continue
        with pytest.raises(ValueError, match=what):
            run_eval(EvalConfig([tmp_path / "a.png"], [20.0], tmp_path / "out", resume=True, judge_names=("sface",),
                                eve_fills=("eve",), **kw), ex)
        assert ex.calls == [] and (tmp_path / "out" / "rows.jsonl").read_text() == rows
    assert go("v3") == []  # the same settings: resumes, nothing to do


def test_resume_with_another_codec_generator_size_or_margins_is_refused_before_any_cell(tmp_path, monkeypatch):
    """Review attack: rows.jsonl made with one codec, inpainter network, --generator, --size, --quick scaling or
    --margins, resumed with another: keeping its finished cells would mix two sweeps. One error naming the
    setting, the rows' value and this run's, no cell computed, the rows kept; through the CLI a usage error
    (exit 2, one line). The same settings, or more margins, resume."""
    from click.testing import CliRunner

    from sdr_semcom import cli
    from sdr_semcom.eval import cells

    monkeypatch.setattr(report, "write_all", lambda rows, out, **kw: {"claims": {}, "table": [], "files": []})
    (tmp_path / "a.png").write_bytes(b"")
    ids = {"codec": "codec_v4:aaaaaaaaaaaa", "inpainter": "inpainter_v2:bbbbbbbbbbbb"}
    monkeypatch.setattr(cells, "model_ids", lambda: dict(ids))

    class Made(Recorder):  # rows as _snr_cell writes them: our codec's id and the setup fields
        def run(self, cells_, shared):
            for res in super().run(cells_, shared):
                if res.key[2] != BASELINE_CELL:
                    res.rows = [{"codec": cells.model_ids()["codec"], **r, **cells.setup_fields(self.settings)}
                                for r in res.rows]
                yield res

    def cfg(out="out", **kw):
        kw = {"judge_names": ("sface",), "eve_fills": ("eve",), "resume": True, **kw}
        return EvalConfig([tmp_path / "a.png"], [20.0], tmp_path / out, **kw)

    run_eval(cfg(resume=False, margins=[DEFAULT_MARGIN, 0.3]), Made("v1"))
    rows = (tmp_path / "out" / "rows.jsonl").read_text()
    assert '"inpainter": "inpainter_v2:bbbbbbbbbbbb"' in rows and '"size": 256' in rows
    cases = [({"generator": "classical"}, None, r"--generator: .*generator auto, this run's is classical"),
             ({"size": 128}, None, r"--size: .*image size 256, this run's is 128"),
             ({"max_side": 512}, None, r"--quick: .*long side of None, this run's is 512"),
             ({"margins": [DEFAULT_MARGIN]}, None, r"--margins: .*margin 0\.3, which this run's 0\.15 lacks"),
             ({}, {"codec": "codec_v5:cccccccccccc"},
              r"the codec \(models/\): .*codec codec_v4:aaaaaaaaaaaa, this run's is codec_v5:cccccccccccc"),
             ({}, {"inpainter": "inpainter_v3:dddddddddddd"},
              r"inpainter network \(models/\): .*inpainter_v2:bbbbbbbbbbbb, this run's is inpainter_v3:dddddddddddd")]
    for kw, other, what in cases:
        monkeypatch.setattr(cells, "model_ids", lambda o=other: {**ids, **(o or {})})
        ex = Made("v2")
        with pytest.raises(ValueError, match=what):
            run_eval(cfg(**{"margins": [DEFAULT_MARGIN, 0.3], **kw}), ex)
        assert ex.calls == [] and (tmp_path / "out" / "rows.jsonl").read_text() == rows
    monkeypatch.setattr(cells, "model_ids", lambda: dict(ids))
    ex = Made("v3")
    run_eval(cfg(margins=[DEFAULT_MARGIN, 0.3, 0.5]), ex)  # more margins: the new one's cells computed, no others
    assert ex.calls and {k[1] for k, _ in ex.calls} == {0.5}
    # the CLI: a usage error, exit 2, one line naming the setting, nothing computed
    made = []
    monkeypatch.setattr(run, "LocalExecutor", lambda: made.append(Made("cli")) or made[-1])
    res = CliRunner().invoke(cli.main, ["eval", "--images", str(tmp_path / "a.png"), "--snr", "20", "--out",
                                        str(tmp_path / "out"), "--margins", "0.15,0.3,0.5", "--resume", "--size",
                                        "128", "--no-enroll-references"])
    assert res.exit_code == 2, res.output
    assert "--size" in res.output and "256" in res.output and "128" in res.output
    error = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert len(error) == 1 and "--size: its cells were made with image size 256, this run's is 128" in error[0]
    assert "Traceback" not in res.output and made and made[0].calls == []


def test_the_codec_id_from_the_manifest_is_the_loaded_codecs():
    """What --resume compares (the manifest's id, nothing loaded) is what the rows record (the loaded codec's)."""
    from sdr_semcom.eval.cells import model_ids
    from sdr_semcom.semantic.weights import load_codec

    ids = model_ids()
    assert ids["codec"] == load_codec().id
    assert ids["inpainter"].startswith("inpainter_v2:") and not ids["inpainter"].endswith(":?")


@pytest.fixture
def reported(tmp_path, monkeypatch):
    """The rows and meta ``report.write_all`` was given (the last run's)."""
    got = {}

    def write_all(rows, out, prepared_names, seed=0, meta=None):
        got.update(rows=rows, meta=meta)
        return {"claims": {}, "table": [], "files": []}

    monkeypatch.setattr(report, "write_all", write_all)
    return got


def test_resume_with_fewer_snr_points_or_seeds_reports_only_this_sweeps_cells(tmp_path, reported, capsys):
    """Review attack: a sweep at 10 and 20 dB with two seeds, resumed with --snr 10 and one seed: its finished cells
    at 20 dB and at seed 1 stay in rows.jsonl (never lose data) but the report (claims, per-SNR table, headline SNR:
    "the sweep's highest") sees only the floors and this sweep's cells; the rows left out are counted in the meta
    and said in a progress line. (Before: the report got every row of the file, its headline SNR 20 dB.)"""
    images = []
    for n in ("a", "b"):
        (tmp_path / f"{n}.png").write_bytes(b"")
        images.append(tmp_path / f"{n}.png")

    def go(snrs, seeds, resume=True):
        ex = Recorder("v1" if not resume else "v2")
        run_eval(EvalConfig(images, snrs, tmp_path / "out", resume=resume, judge_names=("sface",), eve_fills=("eve",),
                            seeds=seeds), ex)
        return ex.calls

    go([10.0, 20.0], 2, resume=False)
    path = tmp_path / "out" / "rows.jsonl"
    before = path.read_text()
    assert report.claim_snr(reported["rows"]) == 20.0
    capsys.readouterr()
    calls = go([10.0], 1)  # every cell of this sweep finished: nothing computed but the mosaic's images
    assert sorted(k for k, _ in calls) == [(n, DEFAULT_MARGIN, 10.0, 0) for n in "ab"]  # at the new headline SNR
    rows = reported["rows"]
    assert path.read_text() == before  # nothing dropped from the file
    assert report.claim_snr(rows) == 10.0 and report.link_snrs(rows) == [10.0]
    assert {(r["snr"], r.get("seed", 0)) for r in rows if r["kind"] != "floor"} == {(BASELINE_CELL, 0), (10.0, 0)}
    assert [r["judge"] for r in rows if r["kind"] == "floor"] == ["sface"]
    every = [json.loads(x) for x in before.splitlines()]
    left = [r for r in every if r["kind"] != "floor" and (r["snr"] == 20.0 or r["seed"] == 1)]
    assert len(rows) + len(left) == len(every)
    meta = reported["meta"]
    assert meta["rows_outside_sweep"] == len(left) > 0 and meta["cells_outside_sweep"] == 2 * 3
    assert (f"{len(left)} row(s) of 6 finished cell(s) outside this sweep (at 10.0 dB seed 1, 20.0 dB seed 0, "
            "20.0 dB seed 1): kept in rows.jsonl, left out of the report") in capsys.readouterr().err
    go([10.0, 20.0], 2)  # the whole sweep again: everything reported, nothing outside
    assert len(reported["rows"]) == len(every) and reported["meta"]["rows_outside_sweep"] == 0


def test_resume_over_other_images_is_refused_not_reported_with_the_old_floors(tmp_path, reported, monkeypatch):
    """Review attack: the ``floor`` rows (impostor floors, ``gallery``, ``mates``) were written only when none were
    there, so a resume over another image set kept the first set's floors while its cells were scored against the
    new gallery. A lab user resuming expects the same sweep: a resume over other images is refused (one line naming
    the images, no cell computed, rows.jsonl as it was): before any image is prepared when the names differ, once
    the faces are found when the same names give another gallery; floors written before the names and faces were
    recorded are compared on the cells' images and the gallery's size. A judge added since gets its floor."""
    from click.testing import CliRunner

    from sdr_semcom import cli

    for n in ("a", "b", "c"):
        (tmp_path / f"{n}.png").write_bytes(b"")

    class Faces(Recorder):
        """Recorder whose prepare counts its calls; ``faces``: image -> its number of faces."""

        faces: dict = {}

        def prepare(self, items, max_side):
            self.prepared = True
            return [(name, PreparedInfo(name, {j: {f"{name}#{k}": None for k in range(self.faces.get(name, 1))}
                                               for j in self.settings.judge_names}, None, m))
                    for name, _, m in items]

    def go(names, resume=True, judges=("sface",), faces=None):
        ex = Faces("v")
        ex.faces, ex.prepared = faces or {}, False
        run_eval(EvalConfig([tmp_path / f"{n}.png" for n in names], [20.0], tmp_path / "out", resume=resume,
                            judge_names=judges, eve_fills=("eve",)), ex)
        return ex

    go("ab", resume=False)
    path = tmp_path / "out" / "rows.jsonl"
    rows = path.read_text()
    (floor,) = [json.loads(x) for x in rows.splitlines() if '"floor"' in x]
    assert floor["images"] == ["a", "b"] and floor["faces"] == ["a#0", "b#0"] and floor["gallery"] == 2
    cases = [("ac", None, r"its floors and cells were computed over the images a, b, this run's are a, c"),
             ("a", None, r"over the images a, b, this run's are a:"),
             ("abc", None, r"over the images a, b, this run's are a, b, c"),
             ("ab", {"b": 2}, r"its sface floor was computed over other gallery faces \(only there: -; only in this "
                              r"run: b#1\)")]
    for names, faces, what in cases:
        ex = Faces("v2")
        with pytest.raises(ValueError, match="--resume .*rows.jsonl: --images / --set: .*" + what):
            ex = go(names, faces=faces)
        assert path.read_text() == rows
    # rows written before the floors recorded their images and faces: the cells' images, the gallery's size
    old = [{k: v for k, v in json.loads(x).items() if k not in ("images", "faces")} for x in rows.splitlines()]
    path.write_text("".join(json.dumps(r) + "\n" for r in old))
    rows = path.read_text()
    for names, faces, what in (("ac", None, r"its cells are of images this run lacks \(b\)"),
                               ("ab", {"b": 2}, r"a gallery of 2 face\(s\), this run's has 3")):
        with pytest.raises(ValueError, match=what):
            go(names, faces=faces)
        assert path.read_text() == rows
    assert go("ab").calls == []  # the same images: resumes, nothing to compute
    ex = go("ab", judges=("sface", "dlib"))  # a judge added: its floor written beside the old one, both reported
    assert {r["judge"] for r in reported["rows"] if r["kind"] == "floor"} == {"sface", "dlib"}
    assert ex.calls and all(only is not None for _, only in ex.calls)
    # through the CLI: a usage error, one line, nothing prepared nor computed
    made = []
    monkeypatch.setattr(run, "LocalExecutor", lambda: made.append(Faces("cli")) or made[-1])
    res = CliRunner().invoke(cli.main, ["eval", "--images", str(tmp_path / "a.png"), "--images", str(tmp_path / "c.png"),
                                        "--snr", "20", "--out", str(tmp_path / "out"), "--resume",
                                        "--no-enroll-references"])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    error = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert len(error) == 1 and "over the images a, b, this run's are a, c" in error[0]  # the dlib floor's names
    assert made and made[0].calls == [] and not getattr(made[0], "prepared", False)


def test_resume_with_relabelled_photos_of_the_same_counts_is_refused():
    """Review attack: ``floor_mismatch`` compared the labels through ``mates`` (photos per person) only, so a
    labels.csv corrected by swapping two photos between two people of two photos each resumed silently: the
    finished cells' re-identification was scored with the old identities, the new cells' with the new, and the
    report's hub-corrected re-id reads the old floor's ``persons``. The grouping of the faces into persons is
    compared (renaming a person is not a change)."""
    from sdr_semcom.eval.cells import floor_mismatch, floor_rows
    from sdr_semcom.eval.identity import Floor

    faces = ["a#0", "b#0", "c#0", "d#0"]
    gallery = {"sface": {k: None for k in faces}}
    floors = {"sface": Floor("sface", 0.363, 0.05, 0.3, 6)}
    old = floor_rows(floors, gallery, {"a#0": "x", "b#0": "x", "c#0": "y", "d#0": "y"}, "abcd")
    swapped = floor_rows(floors, gallery, {"a#0": "x", "c#0": "x", "b#0": "y", "d#0": "y"}, "abcd")
    renamed = floor_rows(floors, gallery, {"a#0": "p", "b#0": "p", "c#0": "q", "d#0": "q"}, "abcd")
    assert old["sface"]["mates"] == swapped["sface"]["mates"]  # the counts alone cannot tell
    assert "labels.csv" in floor_mismatch(list(old.values()), swapped)
    assert floor_mismatch(list(old.values()), renamed) is None
    assert floor_mismatch(list(old.values()), old) is None  # the same run resumed
