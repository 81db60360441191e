"""The committed codec weights load, match their manifest, and reproduce its metrics."""

import json

import numpy as np
import pytest

from sdr_semcom.semantic.codec import MODELS_DIR, SemanticCodec
from sdr_semcom.semantic.data import held_out_images
from sdr_semcom.semantic.train import evaluate, psnr


@pytest.fixture(scope="module")
def codec():
    return SemanticCodec.load("codec_v1")


def test_manifest_metrics_reproduce(codec):
    manifest = json.loads((MODELS_DIR / "codec_v1.json").read_text())
    assert (MODELS_DIR / manifest["weights"]).stat().st_size < 20e6
    got = evaluate(codec, held_out_images())
    for key, want in manifest["metrics_held_out"].items():
        assert got[key]["psnr_db"] == pytest.approx(want["psnr_db"], abs=0.1), key
        assert got[key]["ssim"] == pytest.approx(want["ssim"], abs=0.005), key


def test_quality_degrades_gracefully_with_losses(codec):
    from PIL import Image

    img = np.asarray(Image.fromarray(held_out_images()["grace_hopper"]).resize((256, 256)))
    header, packets = codec.encode(img)
    rng = np.random.default_rng(3)
    scores = []
    for rate in (0.0, 0.25, 0.5):
        lost = rng.permutation(len(packets))[: int(rate * len(packets))]
        out, info = codec.decode(header, [None if i in lost else p for i, p in enumerate(packets)])
        assert info.packets_received == len(packets) - len(lost)
        scores.append(psnr(img, out))
    assert scores[0] > 20
    assert scores[0] > scores[1] > scores[2] > scores[0] - 3  # no cliff: half the packets lost costs < 3 dB
