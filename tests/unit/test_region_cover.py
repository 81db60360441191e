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


def _edge_masks(rng):
    """Review attacks: lines one pixel wide or tall, long thin strips, staircases (ties and long jump chains),
    a non-boolean mask, shapes odd and prime."""
    for n in (1, 2, 3, 17, 301):
        yield np.ones((1, n), bool)
        yield np.ones((n, 1), bool)
        yield rng.random((1, n)) < 0.6
        yield rng.random((n, 1)) < 0.6
    for n in (5, 31, 64):
        yield np.tri(n, dtype=bool)  # staircase: heights n .. 1 in the last row
        yield np.tri(n, dtype=bool)[:, ::-1]
        yield np.tri(n, dtype=bool)[::-1]
        yield np.kron(np.eye(n // 4 + 1, dtype=bool), np.ones((3, 2), bool))
    yield (rng.integers(0, 3, size=(13, 29))).astype(np.uint8)  # 0/1/2: nonzero is True
    yield np.zeros((0, 5), bool)
    yield np.zeros((4, 0), bool)
    for h, w in ((2, 97), (97, 2), (7, 11), (53, 37)):
        yield rng.random((h, w)) < 0.85


def test_largest_rectangle_edge_cases_match_the_stack_scan():
    rng = np.random.default_rng(11)
    for m in _edge_masks(rng):
        assert _largest_rectangle(m) == stack_scan(np.asarray(m)), m.astype(int)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (4, 4), (5, 3), (9, 250), (250, 9), (37, 53)])
@pytest.mark.parametrize("content", ["none", "all", "lines"])
def test_cover_grey_on_small_odd_and_flat_images_matches_before(monkeypatch, shape, content):
    """Empty grey, all grey, one-pixel grey lines; images smaller than the grid's scale and of odd sizes:
    the same rectangles as the stack scan gives, and every rectangle inside the image."""
    img = np.zeros((*shape, 3), np.uint8)
    if content == "all":
        img[:] = 127
    elif content == "lines":
        img[::3] = 127
        img[:, ::5] = 127
    new = cover_grey(img, [], 3)
    monkeypatch.setattr(region, "_largest_rectangle", stack_scan)
    assert [r.box for r in new] == [r.box for r in cover_grey(img, [], 3)]
    h, w = shape
    assert all(0 <= r.box[0] < r.box[2] <= w and 0 <= r.box[1] < r.box[3] <= h for r in new)
    if content == "all" and min(shape) >= 8:
        assert new and new[0].box == (0, 0, w // 4 * 4, h // 4 * 4)
