"""benchmarks/standin_restore.py's choices: the description's distance, the ring null, leave-one-out on the
training photos, the weights' choice on train only, and the guard's quantities under mirroring."""

import numpy as np
import pytest

from benchmarks import standin_restore as sr


def _standin(key, person, photo, skin=(60, 15, 15), hair=(25, 5, 5), light=0.0, yaw=0.0, ring=(50, 0, 0)):
    return {"kind": "standin", "key": key, "person": person, "photo": photo, "skin": list(skin), "hair": list(hair),
            "light": light, "yaw": yaw, "ring": list(ring)}


def _face(s, image, skin=(60, 15, 15), hair=(25, 5, 5), light=0.0, yaw=0.0, ring=(50, 0, 0)):
    return {"kind": "face", "set": s, "image": image, "face": 0, "skin": list(skin), "hair": list(hair),
            "light": light, "yaw": yaw, "ring": list(ring)}


def _fill(s, image, key, lp):
    return {"kind": "fill", "set": s, "image": image, "face": 0, "standin": key, "lpips": lp}


def test_distance_is_zero_on_itself_and_weights_each_quantity():
    f = _face("eval", "x", skin=(60, 15, 15), hair=(20, 0, 0), light=8.0, yaw=0.15)
    assert sr.distance(f, f, (1.0, 1.0, 1.0)) == 0.0
    g = dict(f, hair=[30, 0, 0], light=0.0, yaw=0.0)  # hair 10 Lab units off, lighting 1 threshold, pose 1 threshold
    assert sr.distance(f, g, (0.0, 0.0, 0.0)) == 0.0
    assert sr.distance(f, g, (1.0, 0.0, 0.0)) == pytest.approx(1.0)
    assert sr.distance(f, g, (0.0, 2.0, 0.0)) == pytest.approx(2.0)
    assert sr.distance(f, g, (1.0, 1.0, 1.0)) == pytest.approx(3.0)
    assert sr.distance(f, dict(f, skin=[70, 15, 15]), (0.0, 0.0, 0.0)) == pytest.approx(1.0)


def test_train_faces_never_get_their_own_photo_or_person():
    bank = [_standin("train/einstein.jpg#0", "train/einstein#0", "train/einstein.jpg"),
            _standin("train/tongue.jpg#0~m", "train/einstein", "train/tongue.jpg"),
            _standin("train/breakingbad.jpg#1", "train/breakingbad#1", "train/breakingbad.jpg"),
            _standin("train/lenna.png#0", "train/lenna", "train/lenna.png"),
            _standin("py-feat/a.jpg#0", "py-feat/a", "py-feat/a.jpg")]
    keys = lambda face: {b["key"] for b in sr.allowed(face, bank)}  # noqa: E731
    # tongue.jpg is einstein: neither of his photos serves it
    assert keys(_face("train", "tongue")) == {"train/breakingbad.jpg#1", "train/lenna.png#0", "py-feat/a.jpg#0"}
    assert keys(_face("train", "einstein")) == {"train/breakingbad.jpg#1", "train/lenna.png#0", "py-feat/a.jpg#0"}
    assert "train/breakingbad.jpg#1" not in keys(_face("train", "breakingbad"))
    assert keys(_face("eval", "t1")) == {b["key"] for b in bank}  # the bank is disjoint from the eval sets


def test_choices_read_the_matrix():
    # A: ring like the face's ring, appearance unlike; B: appearance like, ring unlike; C: in between
    bank = [_standin("A", "a", "p/a.jpg", skin=(30, 10, 10), ring=(50, 0, 0)),
            _standin("B", "b", "p/b.jpg", skin=(61, 15, 15), ring=(90, 20, 20)),
            _standin("C", "c", "p/c.jpg", skin=(45, 15, 15), ring=(70, 10, 10))]
    face = _face("eval", "x", skin=(60, 15, 15), ring=(51, 0, 0))
    fills = [_fill("eval", "x", "A", 0.6), _fill("eval", "x", "B", 0.3), _fill("eval", "x", "C", 0.45)]
    prior = [{"kind": "prior", "set": "eval", "image": "x", "face": 0, "fill": "prior_null", "lpips": 0.7}]
    got = sr.choose(bank + [face] + fills + prior, (1.0, 1.0, 1.0))[("eval", "x", 0)]
    assert got["picked"]["ring"] == "A" and got["ring"] == 0.6
    assert got["picked"]["desc"] == "B" and got["desc"] == 0.3
    assert got["oracle"] == 0.3 and got["mean"] == pytest.approx(0.45)
    assert got["prior_null"] == 0.7 and np.isnan(got["prior_true"])
    assert np.isnan(got["fixed"])  # no training face: no stand-in best on average
    # a head region covering the whole photo leaves no ring: the ring null is a random stand-in's expectation
    blind = dict(face, ring=[float("nan")] * 3)
    got = sr.choose(bank + [blind] + fills, (1.0, 1.0, 1.0))[("eval", "x", 0)]
    assert got["picked"]["ring"] is None and got["ring"] == pytest.approx(0.45)


def test_the_fixed_stand_in_is_the_best_on_the_other_training_faces():
    bank = [_standin("A", "a", "p/a.jpg"), _standin("B", "b", "p/b.jpg")]
    rows = bank + [_face("train", "t1"), _face("train", "t2"), _face("eval", "e"),
                   _fill("train", "t1", "A", 0.1), _fill("train", "t1", "B", 0.5),  # A is far better on t1
                   _fill("train", "t2", "A", 0.45), _fill("train", "t2", "B", 0.4),  # B slightly better on t2
                   _fill("eval", "e", "A", 0.2), _fill("eval", "e", "B", 0.6)]
    got = sr.choose(rows, (1.0, 1.0, 1.0))
    assert got[("eval", "e", 0)]["picked"]["fixed"] == "A"  # mean over both training faces
    assert got[("train", "t1", 0)]["picked"]["fixed"] == "B"  # leave-one-out: t1 is not scored by itself
    assert got[("train", "t2", 0)]["picked"]["fixed"] == "A"


def test_weights_are_chosen_on_train_only():
    # on train the pose decides (the same-pose stand-in fills better); an eval face where it would not must not matter
    bank = [_standin("L", "l", "p/l.jpg", skin=(60, 15, 15), yaw=-0.4),
            _standin("R", "r", "p/r.jpg", skin=(64, 15, 15), yaw=0.4)]
    rows = bank + [_face("train", "t", skin=(60, 15, 15), yaw=0.4), _fill("train", "t", "L", 0.6),
                   _fill("train", "t", "R", 0.3),
                   _face("eval", "e", skin=(60, 15, 15), yaw=0.4), _fill("eval", "e", "L", 0.1),
                   _fill("eval", "e", "R", 0.9)]
    w, grid = sr.train_weights(rows)
    assert w[2] > 0  # the pose weight
    assert len(grid) == len(sr.WEIGHT_GRID)
    assert dict(grid)[(0.0, 0.0, 0.0)] == pytest.approx(0.6)  # skin alone picks L on train


def test_ring_reads_the_band_around_the_head_or_the_frame():
    img = np.zeros((100, 100, 3), np.uint8)
    img[:] = (200, 200, 200)
    img[30:70, 30:70] = (0, 0, 0)  # the head region: not in the ring
    lab = sr.ring_lab(img, (30, 30, 70, 70))
    assert lab[0] == pytest.approx(sr.ring_lab(np.full_like(img, 200), (30, 30, 70, 70))[0], abs=0.5)
    known = np.ones((100, 100), bool)
    known[:, :50] = False  # unknown pixels (removed elsewhere) are not read
    img[:, :20] = (255, 0, 0)
    assert sr.ring_lab(img, (30, 30, 70, 70), known)[1] == pytest.approx(0.0, abs=1.0)
    # a tight crop: the head region covers the photo; the outer frame is read instead
    tight = np.full((50, 50, 3), 40, np.uint8)
    assert np.isfinite(sr.ring_lab(tight, (0, 0, 50, 50))).all()


def test_mirroring_flips_lighting_and_pose_not_colours():
    rng = np.random.default_rng(0)
    img = np.full((200, 200, 3), (90, 120, 160), np.uint8)
    yy, xx = np.mgrid[:200, :200]
    face = ((xx - 100) / 40.0) ** 2 + ((yy - 110) / 50.0) ** 2 < 1
    shade = np.clip(210 - (xx - 60) * 0.8, 120, 230)  # lit from the left
    img[face] = np.stack([shade, shade * 0.8, shade * 0.65], -1)[face].astype(np.uint8)
    img[40:70, 60:140] = (40, 30, 25)  # hair
    img = np.clip(img + rng.integers(-3, 4, img.shape), 0, 255).astype(np.uint8)
    box = (60, 60, 140, 165)
    lm = np.array([[85, 95], [115, 95], [108, 118], [88, 140], [112, 140]], float)  # nose right of the eyes
    f = sr.features(img, box, lm)
    mbox = (200 - box[2], box[1], 200 - box[0], box[3])
    mlm = lm.copy()
    mlm[:, 0] = 200 - mlm[:, 0]
    mlm = mlm[[1, 0, 2, 4, 3]]  # a detector names the mirrored eyes and mouth corners by their new sides
    m = sr.features(np.ascontiguousarray(img[:, ::-1]), mbox, mlm)
    assert f["light"] > 8 and m["light"] == pytest.approx(-f["light"], abs=1.0)
    assert f["yaw"] > 0.15 and m["yaw"] == pytest.approx(-f["yaw"], abs=0.02)
    assert np.allclose(f["skin"], m["skin"], atol=1.0) and np.allclose(f["hair"], m["hair"], atol=2.0)
