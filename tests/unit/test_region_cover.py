"""generative/region.py's rectangle cover of the eavesdropper's grey: the vectorised largest-rectangle search gives
the rectangles of the row-by-row stack scan it replaced, on seeded masks and through ``cover_grey``."""

import numpy as np
import pytest

from benchmarks.cover_grey_bench import stack_scan
from sdr_semcom.generative import region
from sdr_semcom.generative.region import Region, _largest_rectangle, cover_grey


def _masks(rng):
    """Noise at several densities, unions of boxes (ties in area are common), and edge cases."""
    yield np.zeros((5, 7), bool)
    yield np.ones((6, 9), bool)
    yield np.ones((1, 1), bool)
    yield np.eye(8, dtype=bool)
    for _ in range(60):
        h, w = rng.integers(1, 40, size=2)
        yield rng.random((h, w)) < rng.uniform(0.3, 0.95)
    for _ in range(60):
        h, w = rng.integers(8, 70, size=2)
        m = np.zeros((h, w), bool)
        for _ in range(rng.integers(1, 6)):
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            m[y0:y0 + rng.integers(1, 20), x0:x0 + rng.integers(1, 20)] = True
        yield m
    for _ in range(20):  # equal boxes side by side and stacked: equal areas everywhere
        m = np.zeros((30, 30), bool)
        s = int(rng.integers(2, 6))
        for y in range(0, 30, 2 * s):
            for x in range(0, 30, 2 * s):
                m[y:y + s, x:x + s] = True
        yield m


def test_largest_rectangle_matches_the_stack_scan():
    rng = np.random.default_rng(7)
    n = 0
    for m in _masks(rng):
        assert _largest_rectangle(m) == stack_scan(m), m.astype(int)
        n += 1
    assert n > 100


def _grey_scene(rng, n_boxes=4, size=(160, 200)):
    img = rng.integers(0, 256, size=(*size, 3)).astype(np.uint8)
    img[(np.abs(img.astype(int) - 127) <= 25).all(axis=2)] = 0  # no grey by chance
    for _ in range(n_boxes):  # boxes that touch and merge
        y0, x0 = rng.integers(0, size[0] - 30), rng.integers(0, size[1] - 30)
        img[y0:y0 + rng.integers(20, 60), x0:x0 + rng.integers(20, 60)] = 127
    return img


@pytest.mark.parametrize("seed", range(6))
def test_cover_grey_gives_the_same_rectangles_as_before(monkeypatch, seed):
    rng = np.random.default_rng(seed)
    img = _grey_scene(rng)
    new = cover_grey(img, [], 4)
    monkeypatch.setattr(region, "_largest_rectangle", stack_scan)
    old = cover_grey(img, [], 4)
    assert [r.box for r in new] == [r.box for r in old] and new
    found = [Region((0, 0, 10, 10))]
    monkeypatch.undo()
    assert [r.box for r in cover_grey(img, found, 3)][0] == (0, 0, 10, 10)
