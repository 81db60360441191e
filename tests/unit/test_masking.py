import numpy as np

from sdr_semcom.link import rawimage
from sdr_semcom.privacy.detectors.base import Detection
from sdr_semcom.privacy.masking import FILL, apply_mask, region_mask


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
