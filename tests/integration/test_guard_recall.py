"""Guard recall beyond frontal faces (issue #11 item 5): small low-contrast text, blurred plates,
faces cut by the image border, on shipped images and the labelled cases of benchmarks/guard_cases.py."""

import numpy as np
import pytest
from PIL import Image

from benchmarks.guard_bench import BEFORE, guard_for, score_case
from benchmarks.guard_cases import HOPPER_TAG, load_cases, render
from sdr_semcom.eval.truth import face_truth
from sdr_semcom.privacy import PrivacyDatabase, PrivacyGuard
from sdr_semcom.privacy.detectors.faces import FusedFaces
from sdr_semcom.privacy.detectors.text import TextRegions, verified
from sdr_semcom.samples import DEFAULT_CACHE

pytestmark = pytest.mark.usefixtures("samples", "face_samples")


@pytest.fixture(scope="module")
def db():
    return PrivacyDatabase.default()


@pytest.fixture(scope="module")
def text_guard(db):
    return PrivacyGuard(db, [TextRegions()])


def covered(mask: np.ndarray, box) -> float:
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return float(mask[y0:y1, x0:x1].mean())


def test_grace_hoppers_name_tag_is_masked(text_guard, db):
    img = np.asarray(Image.open(DEFAULT_CACHE / "grace_hopper.png").convert("RGB"))
    res = text_guard.process(img)
    assert covered(res.mask, HOPPER_TAG) >= 0.95, [f.to_json() for f in res.findings]
    assert (res.masked[HOPPER_TAG[1] + 5 : HOPPER_TAG[3] - 5, HOPPER_TAG[0] + 5 : HOPPER_TAG[2] - 5] == 127).all()
    tag = next(f for f in res.removed if f.box[0] < HOPPER_TAG[2] and f.box[2] > HOPPER_TAG[0] and f.box[1] > 400)
    assert tag.entity_id == "text" and tag.score < 0.7  # found by the second check, not by the first stage
    before = PrivacyGuard(db, [TextRegions(**BEFORE["text"])]).process(img)
    assert covered(before.mask, HOPPER_TAG) < 0.5  # what the guard missed before
    flag = (0, 20, 160, 310)  # the stars of the flag: scored like text, read as symbols, kept
    assert covered(res.mask, flag) < 0.2


def test_face_cut_by_the_border_is_masked():
    """breakingbad.jpg cut just under the right man's eyes: only his nose, moustache and chin remain."""
    path = next(p for p in face_truth() if p.name == "breakingbad.jpg")
    full = Image.open(path).convert("RGB")
    face = max(face_truth()[path], key=lambda b: b[0])  # the man on the right
    top = int(face[1] + 0.5 * (face[3] - face[1]))
    img = np.asarray(full.crop((0, top, full.width, full.height)).resize((960, (full.height - top) // 2)))
    visible = [face[0] / 2, 0, face[2] / 2, (face[3] - top) / 2]
    padded = FusedFaces().detect(img)
    assert any(d.box[0] <= (visible[0] + visible[2]) / 2 <= d.box[2] and d.box[1] <= 2 for d in padded), padded
    h, w = img.shape[:2]
    for d in padded:  # no mirrored copy from the padding: every box mostly inside the image
        x0, y0, x1, y1 = d.box
        inside = max(min(x1, w) - max(x0, 0), 0) * max(min(y1, h) - max(y0, 0), 0)
        assert inside >= 0.3 * (x1 - x0) * (y1 - y0), d.box
    unpadded = FusedFaces(pad=0.0).detect(img)
    assert not any(d.box[0] <= (visible[0] + visible[2]) / 2 <= d.box[2] and d.box[1] <= 2 for d in unpadded)


def test_blurred_plate_is_labelled_a_plate(text_guard):
    case = next(c for c in load_cases("report") if c["id"] == "report-plate-b15-w100-q90")
    img, labels = render(case)
    assert labels == case["labels"]  # the stored labels are the ones the recipe draws
    (s,) = score_case(text_guard.process(img), labels)
    assert s["found"] and s["as_plate"], s


#: a fixed subset of the tune split (the cases the settings were chosen on: a floor against
#: regressions, not a figure to quote) and the recall each category must reach on it
SUBSET = ["tune-text-256-3", "tune-text-640-2", "tune-plate-b0-w60-q90", "tune-plate-b9-w100-q90",
          "tune-plate-b15-w100-q40", "tune-face-cut0.5-top", "tune-face-cut0.35-left", "tune-face-px16"]
FLOOR = {"face": 0.8, "text": 0.75, "license_plate": 0.66}


def test_recall_per_category_on_a_fixed_subset(db):
    guard, before = guard_for(None, db), guard_for(BEFORE, db)
    cases = {c["id"]: c for c in load_cases("tune")}
    now, then = [], []
    for cid in SUBSET:
        img, lab = render(cases[cid])
        now += score_case(guard.process(img), lab)
        then += score_case(before.process(img), lab)
    for cat, floor in FLOOR.items():
        sel = [s["found"] for s in now if s["category"] == cat]
        assert sel and np.mean(sel) >= floor, (cat, sel)
    assert sum(s["found"] for s in now) > sum(s["found"] for s in then)  # the settings before this found less


def test_second_check():
    assert verified("COMO HOPER", 0.95, 0.5) and not verified("***", 0.9, 0.5) and not verified("X1", 0.9, 0.5)
    assert not verified("Visitor", 0.4, 0.5)
