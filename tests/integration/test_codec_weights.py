"""The committed codec weights load, match their manifest, and reproduce its metrics."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from sdr_semcom.semantic import baseline
from sdr_semcom.semantic.data import held_out_images
from sdr_semcom.semantic.metrics import evaluate, psnr
from sdr_semcom.semantic.weights import DEFAULT_NAME, MODELS_DIR, load_codec

NAMES = ["codec_v1", "codec_v2", "codec_v3", "codec_v4"]
pytestmark = pytest.mark.usefixtures("samples", "face_samples")  # the held-out set includes a face photo


@pytest.fixture(scope="module", params=NAMES)
def named(request):
    return request.param, load_codec(request.param)


def _hopper():
    return np.asarray(Image.fromarray(held_out_images()["grace_hopper"]).resize((256, 256)))


def test_the_link_uses_codec_v4():
    assert DEFAULT_NAME == "codec_v4" and type(load_codec()).__name__ == "DctCodec" and load_codec().coder == 4


def test_manifest_metrics_reproduce(named):
    name, codec = named
    manifest = json.loads((MODELS_DIR / f"{name}.json").read_text())
    assert (MODELS_DIR / manifest["weights"]).stat().st_size < 20e6
    got = evaluate(codec, held_out_images())
    for key, want in manifest["metrics_held_out"].items():
        assert got[key]["psnr_db"] == pytest.approx(want["psnr_db"], abs=0.1), key
        assert got[key]["ssim"] == pytest.approx(want["ssim"], abs=0.005), key


def test_quality_degrades_gracefully_with_losses(named):
    name, codec = named
    img = _hopper()
    header, packets = codec.encode(img)
    rng = np.random.default_rng(3)
    scores = []
    for rate in (0.0, 0.25, 0.5):
        lost = rng.permutation(len(packets))[: int(rate * len(packets))]
        out, info = codec.decode(header, [None if i in lost else p for i, p in enumerate(packets)])
        assert info.packets_received == len(packets) - len(lost)
        scores.append(psnr(img, out))
    # no cliff: quality falls step by step (JPEG at these losses is a grey or broken image, ~10-11 dB)
    assert scores[0] > 20 and scores[0] > scores[1] > scores[2] > 15
    assert scores[0] - scores[2] < {"codec_v1": 3, "codec_v2": 15, "codec_v3": 15, "codec_v4": 15}[name], scores


def test_codec_v2_beats_jpeg_at_its_bytes_without_losses():
    codec = load_codec("codec_v2")
    img = _hopper()
    header, packets = codec.encode(img)
    budget = sum(map(len, packets))
    jpeg = baseline.packets_for(img, budget, len(packets))
    assert sum(map(len, jpeg)) <= budget
    ours = psnr(img, codec.decode(header, packets)[0])
    theirs = psnr(img, baseline.decode_packets(jpeg, img.shape[:2], len(jpeg[0])))
    assert ours > theirs + 0.3, (ours, theirs)


def test_codec_v3_is_v2s_bitstream_with_the_network_only_where_packets_were_lost():
    img = _hopper()
    v2, v3 = load_codec("codec_v2", bpp=1.5), load_codec("codec_v3", bpp=1.5)
    (h2, p2), (h3, p3) = v2.encode(img), v3.encode(img)
    assert p2 == p3 and h3.quant == h2.quant < v3.artefact_quant  # 1.5 bit/pixel: a fine quantiser
    clean = v3.decode(h3, p3)[0]
    assert psnr(img, clean) > psnr(img, v2.decode(h2, p2)[0])
    lost = v3.decode(h3, [None if i == 3 else p for i, p in enumerate(p3)])[0]
    changed = np.any(lost != clean, axis=-1)
    assert 0 < changed.mean() < 1.5 / len(p3)  # the lost packet's MCUs and a 1-pixel ring around them
    v2, v3 = load_codec("codec_v2", bpp=0.25), load_codec("codec_v3", bpp=0.25)
    (h2, p2), (h3, p3) = v2.encode(img), v3.encode(img)
    assert h3.quant >= v3.artefact_quant  # coarse: the network restores every pixel, as in v2
    assert np.array_equal(v3.decode(h3, p3)[0], v2.decode(h2, p2)[0])


@pytest.mark.parametrize("bpp", [0.25, 1.5])
def test_codec_v4_is_v3_with_a_shorter_code(bpp):
    """Same transform, network and decoder rule as v3; its entropy coder fits a finer quantiser into
    the same bytes, so the picture is better at every rate (nothing lost), and losses stay concealed.
    Its encoder's choice of table set (``rd_choice``) only ever adds to that."""
    img = _hopper()
    v3, v4 = load_codec("codec_v3", bpp=bpp), load_codec("codec_v4", bpp=bpp)
    plain = load_codec("codec_v4", bpp=bpp, rd_choice=False)
    assert v4.rd_choice and not v3.rd_choice
    assert all(torch.equal(a, b) for a, b in zip(v3.restore.state_dict().values(), v4.restore.state_dict().values()))
    (h3, p3), (h4, p4), (h0, p0) = v3.encode(img), v4.encode(img), plain.encode(img)
    assert len(p4) == len(p3) and sum(map(len, p4)) <= int(np.ceil(bpp * 256 * 256 / 8))
    assert h0.quant < h3.quant  # the same table: a finer quantiser in the same budget
    plain_db = psnr(img, plain.decode(h0, p0)[0])
    assert psnr(img, v4.decode(h4, p4)[0]) >= plain_db > psnr(img, v3.decode(h3, p3)[0]) + 0.1
    lost = [None if i % 4 == 1 else p for i, p in enumerate(p4)]
    out, info = v4.decode(h4, lost)
    assert info.packets_received == len(p4) - len(p4[1::4]) and psnr(img, out) > 20


def test_derive_with_coder_4_learns_probabilities_and_keeps_the_network(tmp_path):
    """What made codec_v4 (``train codec --from-weights codec_v3 --coder 4 --rd-choice``), on a one-image folder."""
    from sdr_semcom.semantic.dct import contexts
    from sdr_semcom.semantic.dct.train import derive

    data = tmp_path / "data"
    data.mkdir()
    Image.fromarray(_hopper()[:96, :128]).save(data / "one.png")
    manifest = derive(tmp_path / "models", "v4test", "codec_v3", 500, command="test", coder=4, data_dir=data,
                       rd_choice=True)
    assert manifest["config"]["coder"] == 4 and manifest["config"]["rd_choice"] is True and manifest["derived_from"]["name"] == "codec_v3"
    assert manifest["data"]["train"] == ["one"] and manifest["data"]["network"]["held_out"]
    codec = load_codec("v4test", tmp_path / "models")
    assert codec.coder == 4 and codec.rd_choice and codec.probs.shape == (3, contexts.N_CTX)
    assert len(np.unique(codec.probs)) > 50  # learned, not the flat 1/2
    v3 = load_codec("codec_v3")
    assert all(torch.equal(a, b) for a, b in zip(v3.restore.state_dict().values(), codec.restore.state_dict().values()))
