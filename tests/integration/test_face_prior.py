"""The DCGAN face prior fills faces in a shipped photo, at the borders and for very large boxes."""

import numpy as np
import pytest
import torch

from sdr_semcom.generative import Inpainter, Region, removed_mask
from sdr_semcom.generative.classical import ClassicalInpainter
from sdr_semcom.generative.faceprior import DCGANGenerator, FacePrior, fetch_face_generator, poisson_blend
from sdr_semcom.samples import fetch_face_samples


@pytest.fixture(scope="module")
def prior():
    torch.set_num_threads(1)
    return FacePrior(fetch_face_generator(), steps=10, candidates=32)


@pytest.fixture(scope="module")
def photo():
    from PIL import Image

    img = Image.open(fetch_face_samples() / "t1.jpg").convert("RGB")
    return np.asarray(img.resize((img.width // 2, img.height // 2)))


def test_state_dict_keys_match_the_shipped_weights():
    blob = torch.load(fetch_face_generator(), map_location="cpu", weights_only=True)["netG_state_dict"]
    assert set(DCGANGenerator().state_dict()) == set(blob)


@pytest.mark.parametrize("box", ["face", "top_left_border", "bottom_right_border", "larger_than_half"])
def test_fills_a_face_hole(prior, photo, box):
    h, w = photo.shape[:2]
    boxes = {"face": (233, 133, 284, 206), "top_left_border": (-10, -10, 70, 90),
             "bottom_right_border": (w - 60, h - 70, w + 5, h + 5), "larger_than_half": (5, 5, 0.8 * w, 0.9 * h)}
    r = Region(boxes[box], "face")
    mask = removed_mask((h, w), [r])
    masked = photo.copy()
    masked[mask] = 127
    inp = Inpainter({"telea": ClassicalInpainter(), "face_prior": prior}, {"face": ("face_prior",), "*": ("telea",)})
    res = inp.fill(masked, mask, [r])
    assert res.backends == ["face_prior"]
    assert np.array_equal(res.image[~mask], masked[~mask])
    filled = res.image[mask].astype(float)
    assert filled.std() > 8  # a face has structure: not the grey fill, not a flat colour


def test_poisson_blend_keeps_the_clone_in_place():
    dst = np.full((60, 80, 3), 100, np.uint8)
    src = dst.copy()
    src[:, :40] = 180  # a step edge inside the mask must stay where it is
    mask = np.zeros((60, 80), bool)
    mask[0:30, 20:60] = True  # touches the top border
    out = poisson_blend(dst, src, mask)
    assert np.array_equal(out[~mask], dst[~mask])
    row = out[15, :, 0].astype(int)
    jump = np.argmax(-np.diff(row))  # where the edge landed
    assert jump == 39 and row[39] - row[40] > 40


def test_reference_restore_brings_back_the_enrolled_person_only(photo):
    from sdr_semcom.generative.reference import ReferenceRestore
    from sdr_semcom.privacy.detectors.faces import YuNet

    h, w = photo.shape[:2]
    rows = YuNet().detect_rows(photo)
    x, y, bw, bh = rows[np.argmax(rows[:, 2] * rows[:, 3])][:4]
    rr = ReferenceRestore({"alice": [photo]})  # alice's reference: this very face
    face = Region((x, y, x + bw, y + bh), "face", "alice", "database entry alice: a small human face", None)
    other = Region(face.box, "face", "bob", None, None)
    assert rr.has(face) and not rr.has(other)
    mask = removed_mask((h, w), [face])
    masked = photo.copy()
    masked[mask] = 127
    inp = Inpainter({"telea": ClassicalInpainter(), "reference": rr}, {"face": ("reference", "telea"), "*": ("telea",)})
    res = inp.fill(masked, mask, [face])
    assert res.backends == ["reference"] and inp.fill(masked, mask, [other]).backends == ["telea"]
    err = np.abs(res.image[mask].astype(int) - photo[mask]).mean()
    err_telea = np.abs(inp.fill(masked, mask, [other]).image[mask].astype(int) - photo[mask]).mean()
    assert err < 12 and err < err_telea / 2, (err, err_telea)
