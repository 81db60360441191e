import numpy as np

from sdr_semcom.link import rawimage
from sdr_semcom.privacy.detectors.base import Detection
from sdr_semcom.privacy.masking import FILL, apply_mask, region_mask, removed_box


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
