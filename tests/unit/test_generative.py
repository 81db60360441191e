"""The generative stage's interface: regions, policy, and the pixels it must not touch."""

import numpy as np
import pytest

from sdr_semcom.generative import (ClassicalInpainter, Inpainter, Region, make_inpainter, regions_from_rows,
                                   removed_mask)
from sdr_semcom.generative.factory import policy_for


class Scribbler:
    """A backend that writes every pixel of the image (the Inpainter must keep only the hole)."""

    def __init__(self, name="scribble", value=3):
        self.name, self.value, self.calls = name, value, []

    def fill(self, image, hole, unknown, region):
        self.calls.append((hole.copy(), unknown.copy(), region))
        return np.full_like(image, self.value)


class Broken:
    name = "broken"

    def fill(self, image, hole, unknown, region):
        raise RuntimeError("no weights")


def _scene(rng, h=90, w=120):
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    regions = [Region((10, 10, 40, 50), "face"), Region((70, 20, 110, 40), "text"), Region((50, 60, 60, 85))]
    return img, regions


def test_pixels_outside_the_mask_are_byte_identical(rng):
    img, regions = _scene(rng)
    mask = removed_mask(img.shape[:2], regions)
    masked = img.copy()
    masked[mask] = 127
    inp = Inpainter({"telea": ClassicalInpainter(), "scribble": Scribbler()}, {"*": ("scribble", "telea")})
    res = inp.fill(masked, mask, regions)
    assert res.image.dtype == np.uint8 and res.image.shape == img.shape
    assert np.array_equal(res.image[~mask], masked[~mask])
    assert res.backends == ["scribble"] * 3
    assert (res.image[mask] == 3).mean() > 0.9  # the grown boxes cover the removed pixels
    assert len(res.seconds) == 3


def test_masked_pixels_outside_every_box_get_the_floor(rng):
    img, regions = _scene(rng)
    mask = np.zeros(img.shape[:2], bool)
    mask[60:80, 90:115] = True  # no region near it
    masked = img.copy()
    masked[mask] = 127
    res = Inpainter({"telea": ClassicalInpainter()}, {"*": ("telea",)}).fill(masked, mask, regions)
    assert res.rest == "telea" and res.backends == ["none"] * 3
    assert np.array_equal(res.image[~mask], masked[~mask])
    assert not (res.image[mask] == 127).all()


def test_policy_by_category_and_failures_fall_to_telea(rng):
    img, regions = _scene(rng)
    mask = removed_mask(img.shape[:2], regions)
    net = Scribbler("network", 10)
    backends = {"telea": ClassicalInpainter(), "face_prior": Broken(), "network": net}
    res = Inpainter(backends, policy_for("authorized", "auto", backends)).fill(img, mask, regions)
    assert res.backends == ["telea (after face_prior failed)", "telea", "telea"]
    del backends["face_prior"]
    res = Inpainter(backends, policy_for("authorized", "auto", backends)).fill(img, mask, regions)
    assert res.backends == ["network", "telea", "telea"] and (res.image[10:50, 10:40] == 10).all()
    res = Inpainter(backends, policy_for("authorized", "network", backends)).fill(img, mask, regions)
    assert res.backends == ["network"] * 3
    # the eavesdropper's policy never names the face prior or the conditioned network
    assert all("face_prior" not in v and "network" not in v for v in policy_for("eavesdropper", "auto", {}).values())


def test_smaller_regions_are_filled_first_and_see_only_known_context(rng):
    img, _ = _scene(rng)
    big, small = Region((0, 0, 100, 80), "custom"), Region((20, 20, 30, 30), "custom")
    mask = removed_mask(img.shape[:2], [big, small])
    s = Scribbler()
    Inpainter({"telea": ClassicalInpainter(), "scribble": s}, {"*": ("scribble",)}).fill(img, mask, [big, small])
    (hole0, unknown0, r0), (hole1, unknown1, r1) = s.calls
    assert r0 is small and r1 is big
    assert (unknown0 >= hole0).all() and unknown0.sum() == mask.sum()
    assert not (hole1 & hole0).any() and unknown1.sum() == mask.sum() - hole0.sum()


def test_bad_inputs_say_what_to_fix():
    with pytest.raises(ValueError, match="telea"):
        Inpainter({}, {"*": ("telea",)})
    with pytest.raises(ValueError, match="none of these backends"):
        Inpainter({"telea": ClassicalInpainter()}, {"*": ("telea",), "face": ("face_prior",)})
    with pytest.raises(ValueError, match="empty"):
        Region((5, 5, 5, 9))
    with pytest.raises(ValueError, match="384"):
        Region((0, 0, 4, 4), embedding=np.zeros(10))
    with pytest.raises(ValueError, match="role"):
        make_inpainter("king")
    with pytest.raises(ValueError, match="generator_dir"):
        make_inpainter("authorized", "diffusers")
    inp = Inpainter({"telea": ClassicalInpainter()}, {"*": ("telea",)})
    with pytest.raises(ValueError, match="mask shape"):
        inp.fill(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9), bool), [])


def test_regions_from_receiver_rows():
    vec = np.ones(384, np.float32) / np.sqrt(384)
    rows = [{"box": [1, 2, 30, 40], "entry": "alice", "score": 0.9,
             "text": "database entry alice: a small human face in the top left of the image"},
            {"box": [50, 2, 80, 20], "entry": "plates", "score": 0.8,
             "text": "a small vehicle license plate in the top right of the image"},
            {"box": [5, 50, 20, 60], "entry": None, "score": 0.2, "text": None}]
    regs = regions_from_rows(rows, [vec, vec, vec])
    assert [r.category for r in regs] == ["face", "license_plate", "unknown"]
    assert regs[0].entry_id == "alice" and regs[0].embedding is not None and regs[2].embedding is None
    assert regions_from_rows(rows[:1], [vec], categories={"alice": "custom"})[0].category == "custom"
    eve = regions_from_rows([{"box": [1, 2, 30, 40]}])
    assert eve[0].category == "unknown" and eve[0].description is None and eve[0].embedding is None
    carried = regions_from_rows([{**rows[0], "vector": list(vec)}])
    assert np.allclose(carried[0].embedding, vec)
    with pytest.raises(ValueError, match="one vector per row"):
        regions_from_rows(rows, [vec])


def test_removed_mask_matches_the_guard_margin():
    m = removed_mask((100, 100), [Region((20, 30, 40, 50))], margin=0.15)
    ys, xs = np.nonzero(m)
    assert (xs.min(), xs.max() + 1, ys.min(), ys.max() + 1) == (17, 43, 27, 53)


def test_classical_inpainter_is_always_available():
    inp = make_inpainter("eavesdropper", "classical")
    img = np.zeros((40, 40, 3), np.uint8)
    img[:, 20:] = 200
    mask = np.zeros((40, 40), bool)
    mask[15:25, 5:15] = True
    res = inp.fill(img, mask, [Region((5, 15, 15, 25))])
    assert res.backends == ["telea"] and (res.image[mask] < 60).all()


def test_regions_from_the_grey_fill(rng):
    from sdr_semcom.generative import regions_from_fill

    img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    boxes = [(10, 20, 50, 70), (120, 0, 160, 30)]  # the second touches the border
    for x0, y0, x1, y1 in boxes:
        img[y0:y1, x0:x1] = np.clip(127 + rng.integers(-4, 5, (y1 - y0, x1 - x0, 3)), 0, 255)  # codec noise
    img[90:110, 60:64] = 127  # a thin grey line is not a removed box
    got = sorted(r.pixel_box(img.shape[:2]) for r in regions_from_fill(img, pad=0))
    assert len(got) == 2
    for g, b in zip(got, sorted(boxes)):
        assert np.abs(np.subtract(g, b)).max() <= 2, (g, b)
    assert all(r.category == "unknown" and r.embedding is None for r in regions_from_fill(img))


def test_a_head_region_goes_whole_to_a_backend_that_fills_removed_regions(rng):
    """The guard removes a face's head region (``removed``, far larger than the face ``box``): the network,
    trained on those holes, gets all of it; a face backend keeps the face box grown by ``grow``; the rest of
    the head is then Telea's. (Before the fix the network got only the face box + 0.2, the hair and ears
    were Telea-prefilled as its context.)"""
    img = rng.integers(0, 256, (120, 120, 3), dtype=np.uint8)
    head = (20, 4, 100, 92)  # masking.head_box of the face box (40, 40, 80, 80): 0.5 side, 0.6 up, 0.3 down
    rows = [{"box": [40, 40, 80, 80], "entry": "faces", "text": "a human face", "removed": list(head)}]
    (region,) = regions_from_rows(rows, categories={"faces": "face"})
    assert region.removed == head
    mask = np.zeros(img.shape[:2], bool)
    mask[head[1] : head[3], head[0] : head[2]] = True
    whole, face = Scribbler("network", 5), Scribbler("face_prior", 7)
    whole.fills_removed = True
    for backend in (whole, face):
        res = Inpainter({"telea": ClassicalInpainter(), backend.name: backend}, {"*": (backend.name,)}).fill(
            img, mask, [region])
        (hole, _, _), = backend.calls
        if backend is whole:
            assert (hole == mask).all() and res.rest is None and (res.image[mask] == 5).all()
        else:  # the face box grown by 0.2: (32, 32, 88, 88)
            assert hole.sum() == 56 * 56 and res.rest == "telea"
    without = Region(region.box, "face")  # no removed bounds (an old row): the grown box, as before
    Inpainter({"telea": ClassicalInpainter(), "network": whole}, {"*": ("network",)}).fill(img, mask, [without])
    assert whole.calls[-1][0].sum() == 56 * 56


@pytest.mark.parametrize("box", [(np.nan, 10, 20, 20), (10, 10, np.inf, 20), (-np.inf, 10, 20, 20)])
def test_a_non_finite_region_box_is_refused_not_a_traceback_later(box):
    """NaN passes ``x1 <= x0`` (every comparison is False) and inf passes it too: such a Region used to be made,
    and ``Inpainter.fill`` then raised ValueError / OverflowError from ``pixel_box`` (outside its backend
    fallback) for a Telea region, or fell back with a warning for the face prior."""
    with pytest.raises(ValueError, match="not finite"):
        Region(box, "text")


def test_face_lands_is_where_poisson_cloning_moves_a_pixel():
    """``faceprior.face_lands`` (what ``FacePrior.has`` answers) is derived from the geometry, not tuned: the
    frame's face oval mapped onto the box as ``clone_face`` maps it, less ``cv2.seamlessClone``'s erosion. For seeded
    boxes of 0.5-16 px a side at sub-pixel offsets, Poisson-cloning a random source over that oval moves some pixel
    by more than 2 grey levels exactly when ``face_lands`` says yes (a 3 x 3 px face: no; a 40 px one: yes)."""
    import cv2

    from sdr_semcom.generative.faceprior import _frame_oval, face_lands, frame_maps, poisson_blend

    rng = np.random.default_rng(7)
    h = w = 120
    base = np.full((h, w, 3), 100, np.uint8)
    base[..., 1] = np.linspace(60, 160, w).astype(np.uint8)[None, :]
    src = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    said = []
    for _ in range(80):
        x0, y0 = rng.uniform(30, 70, 2)
        box = (x0, y0, x0 + rng.uniform(0.5, 16), y0 + rng.uniform(0.5, 16))
        oval = cv2.warpAffine(_frame_oval().astype(np.uint8), frame_maps(box)[1], (w, h),
                              flags=cv2.INTER_NEAREST).astype(bool)
        try:
            moved = bool((np.abs(poisson_blend(base, src, oval).astype(int) - base).max() > 2))
        except cv2.error:  # OpenCV refuses masks of a few pixels: nothing cloned either
            moved = False
        said.append(face_lands(box))
        assert said[-1] == moved, box
    assert 10 < sum(said) < 70  # both answers were tried
    assert not face_lands((240.0, 140.0, 243.0, 143.0)) and not face_lands((5, 5, 6, 6))
    assert face_lands((240.0, 140.0, 280.0, 190.0)) and face_lands((-10, -10, 70, 90))
