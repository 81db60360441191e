"""DiffusersInpainter: a tiny random pipeline saved to disk and loaded back (no hub, CPU)."""

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("diffusers")

from sdr_semcom.generative import Region, make_inpainter  # noqa: E402
from sdr_semcom.generative.diffusion import DiffusersInpainter, check_pipeline_dir  # noqa: E402

from .tiny_diffusers import save_tiny_pipeline  # noqa: E402


@pytest.fixture(scope="module")
def pipe_dir(tmp_path_factory):
    return save_tiny_pipeline(tmp_path_factory.mktemp("sd") / "pipe")


def test_fills_a_small_image_from_a_saved_pipeline(pipe_dir, rng):
    b = DiffusersInpainter(pipe_dir, steps=2)
    img = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    hole = np.zeros((70, 90), bool)
    hole[20:40, 30:60] = True
    r = Region((30, 20, 60, 40), "face", "alice",
               "database entry alice: a small human face in the top center of the image")
    assert b.prompt(r) == "a small human face in the top center of the image"
    out = b.fill(img, hole, hole, r)
    assert out.shape == img.shape and np.array_equal(out[~hole], img[~hole])
    assert (out[hole] != img[hole]).mean() > 0.5
    again = DiffusersInpainter(pipe_dir, steps=2).fill(img, hole, hole, r)
    assert np.array_equal(out, again)  # seeded


def test_make_inpainter_puts_diffusers_first(pipe_dir):
    auth = make_inpainter("authorized", "diffusers", pipe_dir)
    eve = make_inpainter("eavesdropper", "diffusers", pipe_dir)
    assert auth.choose(Region((0, 0, 4, 4), "face")) == "diffusers"
    assert eve.choose(Region((0, 0, 4, 4))) == "diffusers_noprompt"


def test_the_authorized_null_is_the_unprompted_pipeline(pipe_dir, rng):
    """``conditioned=False`` (the enrolled study's null with ``--generator-dir``): the same pipeline first for faces
    (the receiver knows the category), run without a prompt: the fill is the unprompted one, not the prompted."""
    null = make_inpainter("authorized", "auto", pipe_dir, conditioned=False)
    face = Region((30, 20, 60, 40), "face", "alice", "database entry alice: a small human face, blond hair")
    assert null.choose(face) == "diffusers_noprompt" and null.policy["face"][:2] == ("reference", "diffusers_noprompt")
    b = null.backends["diffusers_noprompt"]
    assert b.use_description is False and b.prompt(face) == ""
    assert make_inpainter("authorized", "auto", pipe_dir).backends["diffusers"].prompt(face) != ""
    img = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    hole = np.zeros((70, 90), bool)
    hole[20:40, 30:60] = True
    b.steps = 2  # the tiny pipeline: two steps tell the prompts apart
    got = null.fill(img, hole, [face])
    assert got.backends == ["diffusers_noprompt"]
    unprompted = DiffusersInpainter(pipe_dir, steps=2, use_description=False).fill(img, hole, hole, face)
    prompted = DiffusersInpainter(pipe_dir, steps=2).fill(img, hole, hole, face)
    assert np.array_equal(got.image[hole], unprompted[hole]) and not np.array_equal(unprompted[hole], prompted[hole])


@pytest.mark.parametrize("victim", ["model_index.json", "unet/config.json", "vae/diffusion_pytorch_model.safetensors",
                                    "scheduler/scheduler_config.json", "tokenizer"])
def test_incomplete_directory_names_the_missing_file(pipe_dir, tmp_path, victim):
    d = tmp_path / "copy"
    shutil.copytree(pipe_dir, d)
    p = d / victim
    shutil.rmtree(p) if p.is_dir() else p.unlink()
    with pytest.raises(FileNotFoundError, match=victim.split("/")[0]):
        check_pipeline_dir(d)
    with pytest.raises(FileNotFoundError):
        DiffusersInpainter(d)


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_pipeline_dir(tmp_path / "nope")
    idx = tmp_path / "x"
    idx.mkdir()
    (idx / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionInpaintPipeline"}))
    with pytest.raises(FileNotFoundError, match="names no unet"):
        check_pipeline_dir(idx)
