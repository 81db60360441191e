import numpy as np

from sdr_semcom.link import rawimage
from sdr_semcom.privacy.detectors.base import Detection
from sdr_semcom.privacy.masking import FACE_ASPECT, FILL, apply_mask, face_box_in_head, head_box, region_mask, removed_box


def test_pixels_inside_the_mask_cannot_reach_the_encoder(rng):
    """The masking guarantee: change the masked pixels to anything, the encoder input and
    so every transmitted byte stay the same."""
    img = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    mask = region_mask(img.shape[:2], Detection((20, 10, 50, 40), 0.9, "human face"), margin=0.1)
    before = apply_mask(img, mask)
    for _ in range(5):
        other = img.copy()
        other[mask] = rng.integers(0, 256, (int(mask.sum()), 3), dtype=np.uint8)
        after = apply_mask(other, mask)
        assert (after == before).all()
        assert rawimage.encode(after) == rawimage.encode(before)
    assert (before[mask] == FILL).all() and (before[~mask] == img[~mask]).all()


def test_margin_grows_the_box_and_clips_at_the_border():
    m = region_mask((100, 100), Detection((10, 10, 30, 50), 1.0, "x"), margin=0.5)
    ys, xs = np.nonzero(m)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (0, 39, 0, 69)


def test_pixel_masks_are_dilated():
    pm = np.zeros((50, 50), bool)
    pm[20:30, 20:30] = True
    m = region_mask((50, 50), Detection((20, 20, 30, 30), 1.0, "text", mask=pm), margin=0.0, dilate_px=3)
    assert m[17, 25] and not m[15, 25] and m.sum() > pm.sum()


def test_input_is_not_modified(rng):
    img = rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)
    copy = img.copy()
    apply_mask(img, np.ones((10, 10), bool))
    assert (img == copy).all()


def test_removed_box_rebuilds_what_the_guard_removed_at_any_margin(rng):
    """What a receiver that got the box, the margin and how it was drawn rebuilds: the box grown by
    the margin exactly; for a pixel-mask region (a wide text line), bounds holding every dilated pixel."""
    shape = (120, 200)
    for margin in (0.0, 0.15, 0.4, 1.2):
        det = Detection((30.5, 40, 90, 61.2), 1.0, "x")
        xa, ya, xb, yb = removed_box(det.box, shape, margin, False)
        rebuilt = np.zeros(shape, bool)
        rebuilt[ya:yb, xa:xb] = True
        assert (rebuilt == region_mask(shape, det, margin)).all()
        poly = np.zeros(shape, bool)
        poly[45:55, 20:150] = rng.random((10, 130)) < 0.7  # a line of text: wide and low
        ys, xs = np.nonzero(poly)
        text = Detection((float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())), 1.0, "text", mask=poly)
        removed = region_mask(shape, text, margin)
        xa, ya, xb, yb = removed_box(text.box, shape, margin, True)
        inside = np.zeros(shape, bool)
        inside[ya:yb, xa:xb] = True
        assert removed[~inside].sum() == 0  # nothing removed outside the bounds
        grown = removed_box(text.box, shape, margin, False)  # the box rule alone misses dilated rows
        assert margin == 0.0 or grown[1] > ya


def test_face_box_in_head_inverts_head_box(rng):
    """What an eavesdropper guesses from a grey head region: the face box, within rounding for a head inside
    the image or cut by the image's edges along one axis (the face box inside the image, at the median
    aspect); a head cut at a corner gives a box inside the head region."""
    shape = (400, 512)
    worst, corners = 0.0, 0
    for _ in range(2000):
        bw = rng.uniform(20, 140)
        bh = FACE_ASPECT * bw
        x0, y0 = rng.uniform(0, 512 - bw), rng.uniform(0, 400 - bh)
        box = (x0, y0, x0 + bw, y0 + bh)
        head = head_box(box, shape)
        got = face_box_in_head(head, shape)
        cut_x, cut_y = head[0] == 0 or head[2] == 512, head[1] == 0 or head[3] == 400
        if cut_x and cut_y:
            corners += 1
            assert head[0] - 1e-6 <= got[0] < got[2] <= head[2] + 1e-6 and head[1] - 1e-6 <= got[1] < got[3] <= head[3] + 1e-6
        else:
            worst = max(worst, np.abs(np.subtract(got, box)).max())
    assert worst <= 2.0, worst
    assert corners > 20
    x0, y0, x1, y1 = face_box_in_head((0, 40, 512, 200), shape)  # as wide as the image: its height decides
    assert abs((y1 - y0) - 160 / 1.8) < 1e-6 and abs((x1 - x0) - (y1 - y0) / FACE_ASPECT) < 1e-6


def test_face_box_in_head_refuses_empty_or_non_finite_heads():
    """A zero-width / zero-height or non-finite head region has no face box inside it: a clear ValueError, not
    an empty (x1 == x0) or NaN box that fails later in ``Region`` (it used to return ``(0, 0, 0, 0)``)."""
    import pytest

    for head in [(0, 0, 0, 0), (10, 10, 10, 50), (10, 50, 40, 50), (30, 10, 20, 50), (np.nan, 0, 10, 10)]:
        with pytest.raises(ValueError, match="empty or not finite"):
            face_box_in_head(head, (400, 512))
    x0, y0, x1, y1 = face_box_in_head((5, 5, 6, 6), (400, 512))  # tiny but not empty: a box inside it
    assert 5 <= x0 < x1 <= 6 and 5 <= y0 < y1 <= 6
