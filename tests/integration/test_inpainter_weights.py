"""The committed conditional inpainters load, match their manifests and reproduce their held-out metrics;
the default one (``inpainter_v2``) fills held-out faces better with the true embedding than with its null."""

import json

import numpy as np
import pytest
import torch

from sdr_semcom.generative import Region, make_inpainter
from sdr_semcom.generative.network import DEFAULT_NAME, MODELS_DIR, NetworkInpainter, load_network
from sdr_semcom.generative.metrics import hole_psnr_ssim
from sdr_semcom.generative.train import eval_cases, evaluate, scaled

MANIFEST = json.loads((MODELS_DIR / f"{DEFAULT_NAME}.json").read_text())
NAMES = ("inpainter_v1", DEFAULT_NAME)


@pytest.fixture(scope="module")
def net():
    torch.set_num_threads(1)
    return load_network()


@pytest.fixture(scope="module")
def held():
    from sdr_semcom.semantic.data import held_out_images

    return {k: scaled(v) for k, v in held_out_images().items()}


@pytest.mark.parametrize("name", NAMES)
def test_weights_are_small_and_match_the_manifest(name):
    manifest = json.loads((MODELS_DIR / f"{name}.json").read_text())
    assert (MODELS_DIR / manifest["weights"]).stat().st_size < 20e6
    net = load_network(name)
    assert {k: v for k, v in net.cfg.to_dict().items() if k in manifest["config"]} == manifest["config"]
    assert not set(manifest["data"]["train"]) & set(manifest["data"]["held_out"])


@pytest.mark.parametrize("name", NAMES)
def test_manifest_metrics_reproduce(name, held):
    """inpainter_v1 was trained and measured without appearance words, inpainter_v2 with them (its
    ``remeasured`` metrics: under today's face words, not the ones it was trained with)."""
    torch.set_num_threads(1)
    manifest = json.loads((MODELS_DIR / f"{name}.json").read_text())
    got = evaluate(load_network(name), held, manifest["data"]["held_out_holes"],
                   manifest["data"].get("appearance_words", False))
    for key, want in manifest.get("remeasured", manifest)["metrics_held_out"].items():
        assert got[key]["holes"] == want["holes"], key
        assert got[key]["psnr_db"] == pytest.approx(want["psnr_db"], abs=0.1), key
        assert got[key]["ssim"] == pytest.approx(want["ssim"], abs=0.005), key


def test_true_embedding_beats_null_on_held_out_faces(net, held):
    """The paper's claim 1 on the manifest's held-out faces (grace_hopper, t1.jpg: never trained on):
    the guard's description with appearance words beats the learned null embedding inside the holes
    (manifest holes: +0.87 dB under the words it was trained with, +0.64 dB under today's landmark-frame
    words). Per face under today's words: mean +0.44 dB, but only 3 of 7 faces ahead (it was 5 of 7), so
    only the mean is asserted; docs/generative.md, "Face words on a landmark frame"."""
    faces = [c for c in MANIFEST["data"]["held_out_holes"] if c["category"] == "face"]
    assert len(faces) >= 5 and all("landmarks" in c for c in faces)
    true, null = NetworkInpainter(net, True), NetworkInpainter(net, False)
    gains = []
    for _, img, hole, region, _ in eval_cases(held, faces):
        masked = img.copy()
        masked[hole] = 127
        assert "; " in region.description and " skin, " in region.description
        p_true = hole_psnr_ssim(img, true.fill(masked, hole, hole, region), hole)[0]
        p_null = hole_psnr_ssim(img, null.fill(masked, hole, hole, region), hole)[0]
        gains.append(p_true - p_null)
    assert np.mean(gains) > 0.3, gains


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
    def fill(e, use=True):
        return NetworkInpainter(net, use).fill(img, hole, hole, Region((20, 20, 44, 44), "face", embedding=e))

    fa, fb, fn = fill(a / np.linalg.norm(a)), fill(b / np.linalg.norm(b)), fill(a, use=False)
    assert np.array_equal(fn, fill(None))  # the eavesdropper's run ignores any vector
    assert np.abs(fa[hole].astype(int) - fb[hole]).mean() > 0.5
    assert np.abs(fa[hole].astype(int) - fn[hole]).mean() > 0.5


def test_default_policy_per_role():
    auth, eve = make_inpainter("authorized"), make_inpainter("eavesdropper")
    emb = np.ones(384, np.float32) / np.sqrt(384)
    assert auth.choose(Region((0, 0, 9, 9), "face", "f", "a small human face", emb)) == "face_prior"
    assert auth.choose(Region((0, 0, 9, 9), "text", "t", "a small region of text", emb)) == "telea"
    assert eve.choose(Region((0, 0, 9, 9))) == "telea" and set(eve.backends) == {"telea"}
    net_auth, net_eve = make_inpainter("authorized", "network"), make_inpainter("eavesdropper", "network")
    assert net_auth.choose(Region((0, 0, 9, 9), "text", "t", "a small region of text", emb)) == "network"
    assert net_eve.choose(Region((0, 0, 9, 9))) == "network_null"
