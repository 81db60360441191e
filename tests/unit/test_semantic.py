import json

import numpy as np
import pytest
import torch

from sdr_semcom.semantic import baseline
from sdr_semcom.semantic.api import ImageHeader, WeightsError
from sdr_semcom.semantic.latent.codec import LatentCodec
from sdr_semcom.semantic.latent.net import LatentConfig, LatentNet
from sdr_semcom.semantic.latent.packets import depacketize, packetize
from sdr_semcom.semantic.weights import load_codec


@pytest.fixture(scope="module")
def codec():
    torch.manual_seed(0)
    return LatentCodec(LatentNet(LatentConfig(channels=6, bits=3, downsample=8, width=16)), "test", "0" * 64,
                         packet_bytes=64)


def test_packets_roundtrip_and_loss_map(rng):
    codes = rng.integers(0, 16, (5, 7, 9))
    packets = packetize(codes, 4, 6)
    header = ImageHeader("x", 56, 72, 7, 9, 5, 4, 6)
    got, received, dropped = depacketize(packets, header)
    assert (got == codes).all() and received.all() and dropped == 0
    lost = list(packets)
    lost[2] = None
    got, received, _ = depacketize(lost, header)
    assert 0 < received.mean() < 1 and (got[:, received == 1] == codes[:, received == 1]).all()
    # each packet's positions are scattered over the image, not a block
    ys, xs = np.nonzero(received == 0)
    assert len(set(ys)) > 3 and len(set(xs)) > 3


def test_malformed_packets_are_dropped_and_counted(rng):
    codes = rng.integers(0, 8, (3, 4, 4))
    packets = packetize(codes, 3, 4)
    header = ImageHeader("x", 32, 32, 4, 4, 3, 3, 4)
    bad = [packets[0] + b"x", packets[1], packets[2], packets[3], b"extra packet"]
    _, received, dropped = depacketize(bad, header)
    assert dropped == 2 and 0.7 <= received.mean() < 1
    with pytest.raises(ValueError, match="not an image header"):
        ImageHeader.from_bytes(b"{nonsense")


@pytest.mark.parametrize("shape", [(37, 53), (37, 53, 3), (64, 48, 4), (8, 8, 3)])
def test_any_size_and_mode_roundtrip_shape(codec, rng, shape):
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    header, packets = codec.encode(img)
    out, info = codec.decode(header, packets)
    assert out.shape == (shape[0], shape[1], 3) and out.dtype == np.uint8
    assert info.packets_received == info.packets_expected == len(packets) and not info.all_lost
    assert all(len(p) <= 64 for p in packets)


def test_all_lost_is_a_flagged_grey_image(codec, rng):
    header, packets = codec.encode(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8))
    out, info = codec.decode(header, [None] * len(packets))
    assert info.all_lost and (out == 127).all()


def test_foreign_features_are_refused(codec, rng):
    header, packets = codec.encode(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    other = ImageHeader("other:123", *list(header.__dict__.values())[1:])
    with pytest.raises(ValueError, match="made by codec other"):
        codec.decode(other, packets)


def test_weights_missing_or_tampered(tmp_path):
    with pytest.raises(WeightsError, match="sdr-semcom train codec --name nope"):
        load_codec("nope", tmp_path)
    model = LatentNet(LatentConfig(channels=2, bits=2, width=8))
    torch.save({"config": model.cfg.to_dict(), "state_dict": model.state_dict()}, tmp_path / "c.pt")
    (tmp_path / "c.json").write_text(json.dumps({"sha256": "0" * 64}))
    with pytest.raises(WeightsError, match="does not match the manifest"):
        load_codec("c", tmp_path)


def test_jpeg_baseline_fits_budget_and_survives_losses(rng):
    from skimage import data

    img = data.astronaut()[::2, ::2]
    jpeg, q = baseline.jpeg_for_budget(img, 6000)
    assert len(jpeg) + 8 <= 6000 and q > 5
    packets = baseline.packets_for(img, 6000, 12)
    assert len(packets) == 12 and sum(map(len, packets)) <= 6000
    clean = baseline.decode_packets(packets, img.shape[:2], len(packets[0]))
    assert 10 * np.log10(255**2 / np.mean((clean.astype(float) - img) ** 2)) > 25
    for lost in ([0], [5], list(range(12))):
        out = baseline.decode_packets([None if i in lost else p for i, p in enumerate(packets)], img.shape[:2],
                                      len(packets[0]))
        assert out.shape == img.shape
    assert (baseline.decode_packets([None] * 12, img.shape[:2], 500) == 127).all()
