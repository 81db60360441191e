"""``make_inpainter(..., conditioned=False)``: the authorized receiver's generators without the aligned description
(claim 1's null for whatever generator). It still knows the category and box, so a face still gets the face prior,
fitted to the ring only (byte-identical to ``FacePrior(words=False)``); the network gets its null embedding; the
backend names say so. Uses the DCGAN weights (.cache) and the committed network."""

import numpy as np
import pytest
import torch

from sdr_semcom.generative import Inpainter, Region, make_inpainter
from sdr_semcom.generative.classical import ClassicalInpainter
from sdr_semcom.generative.faceprior import FacePrior, fetch_face_generator

BOX = (233, 133, 284, 206)  # a face of t1.jpg at half size
WORDS = "database entry any: a small human face; light skin, blond hair, evenly lit"


@pytest.fixture(scope="module")
def hole(face_samples):
    from PIL import Image

    from sdr_semcom.privacy.masking import head_box

    torch.set_num_threads(1)
    img = Image.open(face_samples / "t1.jpg").convert("RGB")
    photo = np.asarray(img.resize((img.width // 2, img.height // 2)))
    removed = head_box(BOX, photo.shape[:2])
    mask = np.zeros(photo.shape[:2], bool)
    mask[removed[1]: removed[3], removed[0]: removed[2]] = True
    masked = photo.copy()
    masked[mask] = 127
    emb = np.random.default_rng(0).standard_normal(384).astype(np.float32)
    return masked, mask, Region(BOX, "face", "any", WORDS, emb / np.linalg.norm(emb), removed=removed)


def test_the_null_fills_a_face_with_the_face_prior_without_words(hole):
    masked, mask, region = hole
    null = make_inpainter("authorized", conditioned=False)
    assert null.choose(region) == "face_prior_null" and null.backends["face_prior_null"].words is False
    got = null.fill(masked, mask, [region])
    assert got.backends == ["face_prior_null"]
    ring_only = Inpainter({"telea": ClassicalInpainter(), "face_prior": FacePrior(fetch_face_generator(), words=False)},
                          {"face": ("face_prior",), "*": ("telea",)}).fill(masked, mask, [region])
    assert np.array_equal(got.image, ring_only.image)  # the same fit, the words left out
    words = make_inpainter("authorized")
    said = words.fill(masked, mask, [region])
    assert said.backends == ["face_prior"]
    assert np.abs(said.image[mask].astype(int) - got.image[mask]).mean() > 1  # the blond hair word did change it


def test_the_null_network_gets_its_null_embedding(hole):
    masked, mask, region = hole
    null, net = make_inpainter("authorized", "network", conditioned=False), make_inpainter("authorized", "network")
    text = Region((10, 10, 60, 40), "text", "t", "a small region of text", region.embedding)
    assert null.choose(region) == null.choose(text) == "network_null"
    assert net.choose(region) == "network" and null.backends["network_null"].use_embedding is False
    got = null.fill(masked, mask, [region])
    assert got.backends == ["network_null"]
    eve = make_inpainter("eavesdropper", "network").fill(masked, mask, [region])  # the null embedding as Eve runs it
    assert np.array_equal(got.image, eve.image)
    assert not np.array_equal(got.image, net.fill(masked, mask, [region]).image)  # the embedding changes the fill


def test_the_null_auto_policy_names_the_unconditioned_backends():
    null = make_inpainter("authorized", conditioned=False)
    assert set(null.backends) == {"telea", "face_prior_null", "network_null"}
    assert null.policy["face"] == ("reference", "face_prior_null", "network_null", "telea")
    assert make_inpainter("authorized", "classical", conditioned=False).policy == \
        make_inpainter("authorized", "classical").policy  # Telea has no words to leave out
    with pytest.raises(ValueError, match="references need the aligned description"):
        make_inpainter("authorized", conditioned=False, references={"e": []})
