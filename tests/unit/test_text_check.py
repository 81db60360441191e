"""The text backend's second check, with a stand-in for rapidocr's engine (the real one is
exercised in tests/integration/test_guard_recall.py)."""

import numpy as np

from sdr_semcom.privacy.detectors.text import MAX_CHECKS, TextRegions


class Engine:
    """Detection: the given (box, score) lines; recognition: the reading given for each box."""

    def __init__(self, lines, readings):
        self.lines, self.readings, self.reads = lines, readings, 0

    def __call__(self, img, use_det, use_cls, use_rec):
        if use_det:
            polys = [[[x0, y0], [x1, y0], [x1, y1], [x0, y1]] for (x0, y0, x1, y1), _ in self.lines]
            return type("R", (), {"boxes": polys, "scores": [s for _, s in self.lines]})()
        self.reads += 1
        key = img.shape[:2]
        txt, conf = self.readings.get(key, ("", 0.0))
        return type("R", (), {"txts": (txt,), "scores": (conf,)})()


def regions(lines, readings, **kw):
    t = object.__new__(TextRegions)
    t.min_score, t.low_score, t.check_score, t.tall, t.max_side = 0.7, 0.35, 0.5, 0.2, 960
    for k, v in kw.items():
        setattr(t, k, v)
    t._engine = Engine(lines, readings)
    return t


def test_low_scoring_lines_are_kept_only_when_read_confidently():
    img = np.zeros((400, 600, 3), np.uint8)
    lines = [((100, 300, 190, 320), 0.55),  # a name tag: read
             ((0, 20, 150, 60), 0.5),  # flag stars: symbols
             ((300, 100, 600, 130), 0.9),  # confident, a long line (not plate-shaped): not read
             ((300, 200, 340, 212), 0.3)]  # under the first stage
    readings = {(20, 90): ("COMO HOPER", 0.95), (40, 150): ("***", 0.9)}
    t = regions(lines, readings)
    got = sorted(tuple(round(v) for v in d.box) for d in t.detect(img))
    assert got == [(100, 300, 190, 320), (300, 100, 600, 130)]
    assert t._engine.reads == 2
    assert all(d.category == "text" for d in t.detect(img))


def test_tall_lines_need_the_check_and_reads_are_bounded():
    img = np.zeros((400, 600, 3), np.uint8)
    whole = ((0, 0, 600, 400), 0.85)  # a whole-image "line" on a texture
    assert regions([whole], {}).detect(img) == []
    assert len(regions([whole], {}, tall=None).detect(img)) == 1  # the settings before the check
    many = [((10 * k, 10, 10 * k + 9, 13), 0.5) for k in range(MAX_CHECKS + 10)]
    t = regions(many, {(3, 9): ("ABC", 0.9)})
    assert len(t.detect(img)) == MAX_CHECKS and t._engine.reads == MAX_CHECKS
