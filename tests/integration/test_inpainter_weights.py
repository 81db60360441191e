"""The committed conditional inpainter loads, matches its manifest, and reproduces its held-out metrics."""

import json

import numpy as np
import pytest
import torch

from sdr_semcom.generative import Region, make_inpainter
from sdr_semcom.generative.network import DEFAULT_NAME, MODELS_DIR, NetworkInpainter, load_network
from sdr_semcom.generative.train import evaluate, scaled

MANIFEST = json.loads((MODELS_DIR / f"{DEFAULT_NAME}.json").read_text())


@pytest.fixture(scope="module")
def net():
    torch.set_num_threads(1)
    return load_network()


@pytest.fixture(scope="module")
def held():
    from sdr_semcom.semantic.data import held_out_images

    return {k: scaled(v) for k, v in held_out_images().items()}


def test_weights_are_small_and_match_the_manifest(net):
    assert (MODELS_DIR / MANIFEST["weights"]).stat().st_size < 20e6
    assert net.cfg.to_dict() == MANIFEST["config"]
    assert not set(MANIFEST["data"]["train"]) & set(MANIFEST["data"]["held_out"])


def test_manifest_metrics_reproduce(net, held):
    got = evaluate(net, held, MANIFEST["data"]["held_out_holes"])
    for key, want in MANIFEST["metrics_held_out"].items():
        assert got[key]["holes"] == want["holes"], key
        assert got[key]["psnr_db"] == pytest.approx(want["psnr_db"], abs=0.1), key
        assert got[key]["ssim"] == pytest.approx(want["ssim"], abs=0.005), key


def test_tampered_weights_are_refused(tmp_path):
    data = bytearray((MODELS_DIR / MANIFEST["weights"]).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / MANIFEST["weights"]).write_bytes(bytes(data))
    (tmp_path / f"{DEFAULT_NAME}.json").write_text(json.dumps(MANIFEST))
    with pytest.raises(RuntimeError, match="sha256"):
        load_network(models_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="train"):
        load_network("nope", models_dir=tmp_path)


def test_the_embedding_changes_the_fill(net, rng):
    """The same hole with two descriptions' vectors, and with none, gives three different fills."""
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    hole = np.zeros((64, 64), bool)
    hole[20:44, 20:44] = True
    a, b = rng.standard_normal((2, 384)).astype(np.float32)
    fill = lambda e, use=True: NetworkInpainter(net, use).fill(img, hole, hole, Region((20, 20, 44, 44), "face", embedding=e))  # noqa: E731
    fa, fb, fn = fill(a / np.linalg.norm(a)), fill(b / np.linalg.norm(b)), fill(a, use=False)
    assert np.array_equal(fn, fill(None))  # the eavesdropper's run ignores any vector
    assert np.abs(fa[hole].astype(int) - fb[hole]).mean() > 0.5
    assert np.abs(fa[hole].astype(int) - fn[hole]).mean() > 0.5


def test_default_policy_per_role():
    auth, eve = make_inpainter("authorized"), make_inpainter("eavesdropper")
    emb = np.ones(384, np.float32) / np.sqrt(384)
    assert auth.choose(Region((0, 0, 9, 9), "text", "t", "a small region of text", emb)) == "network"
    assert eve.choose(Region((0, 0, 9, 9))) == "network_null"
    assert "face_prior" not in eve.backends
