"""Codec v2 (block DCT + learned entropy model + restoration network), with an untrained network."""

import numpy as np
import pytest
import torch

from sdr_semcom.semantic.api import ImageHeader
from sdr_semcom.semantic.dct import entropy, transform
from sdr_semcom.semantic.dct.codec import DctCodec
from sdr_semcom.semantic.dct.restore import Restore, RestoreConfig
from sdr_semcom.semantic.weights import load_codec


@pytest.fixture(scope="module")
def codec():
    torch.manual_seed(0)
    return DctCodec(entropy.initial_probabilities(), Restore(RestoreConfig(width=4, mid_blocks=1)), "t", "0" * 64,
                    bpp=1.0, packet_bytes=100)


def _image(rng, shape=(64, 96, 3)):
    """A smooth image with some texture (what transform coding is for)."""
    y, x = np.mgrid[: shape[0], : shape[1]]
    base = 128 + 60 * np.sin(x / 9.0)[..., None] * np.cos(y / 7.0)[..., None] * np.array([1.0, 0.6, -0.4])
    return np.clip(base + rng.normal(0, 6, shape), 0, 255).astype(np.uint8)


def test_entropy_coder_roundtrip_and_corruption_flag(rng):
    coefs = np.round(rng.laplace(size=(90, 64)) * np.exp(-np.arange(64) / 8) * 5).astype(np.int32)
    coefs[::5, 1:] = 0
    coefs[7, 0], coefs[8, 63] = 3000, -2
    chans = np.tile(transform.CHANNEL_OF_BLOCK, 15)
    probs = entropy.initial_probabilities()
    out = np.empty(20000, np.uint8)
    n = entropy.encode_blocks(coefs, chans, probs, np.zeros((3, entropy.N_CTX, 2), np.int64), out)
    got, bad = entropy.decode_blocks(out[:n], chans, probs)
    assert not bad and np.array_equal(got, coefs)
    assert entropy.decode_blocks(out[: n // 3], chans, probs)[1]  # truncated: flagged, no crash
    garbage = [rng.integers(0, 256, int(rng.integers(5, 400))).astype(np.uint8) for _ in range(40)]
    assert sum(entropy.decode_blocks(g, chans, probs)[1] for g in garbage) >= 36  # not ours: flagged


def test_learned_probabilities_shorten_the_code(rng):
    coefs = np.round(rng.laplace(size=(300, 64)) * np.exp(-np.arange(64) / 6) * 3).astype(np.int32)
    chans = np.tile(transform.CHANNEL_OF_BLOCK, 50)
    counts = np.zeros((3, entropy.N_CTX, 2), np.int64)
    out = np.empty(50000, np.uint8)
    flat = entropy.encode_blocks(coefs, chans, entropy.initial_probabilities(), counts, out)
    learned = entropy.encode_blocks(coefs, chans, entropy.initial_probabilities(counts), counts, out)
    assert learned < flat


def test_transform_without_quantisation_is_lossless_up_to_chroma(rng):
    img = _image(rng, (32, 48, 3))
    q = transform.quantise(transform.forward(img), 0.001)  # steps of 1 everywhere (the tables' minimum)
    ycc, mask = transform.inverse(q, 0.001, np.ones(len(q), bool), (32, 48))
    luma = transform.rgb_to_ycc(img)[..., 0]
    assert np.abs(ycc[..., 0] - luma).max() < 2.5 and mask.all()


def test_budget_and_packets(codec, rng):
    img = _image(rng)
    header, packets = codec.encode(img)
    budget = int(np.ceil(1.0 * 64 * 96 / 8))
    assert header.n_packets == len(packets) == -(-budget // 100)
    assert sum(map(len, packets)) <= budget and max(map(len, packets)) <= 150
    out, info = codec.decode(header, packets)
    assert out.shape == img.shape and info.received_fraction == 1.0 and not info.all_lost
    assert ImageHeader.from_bytes(header.to_bytes()) == header


def test_lost_packets_leave_scattered_mcus_and_the_rest_decodes(codec, rng):
    header, packets = codec.encode(_image(rng))
    lost = [None if i % 3 == 0 else p for i, p in enumerate(packets)]
    _, info = codec.decode(header, lost)
    assert info.packets_received == len(packets) - len(packets[::3]) and 0.4 < info.received_fraction < 0.9
    _, info = codec.decode(header, [None] * len(packets))
    assert info.all_lost


def test_malformed_packets_are_dropped_and_counted(codec, rng):
    header, packets = codec.encode(_image(rng))
    bad = list(packets)
    bad[0] = bytes(rng.integers(0, 256, 7, dtype=np.uint8))  # garbage
    bad[1] = packets[1][:5]  # truncated
    out, info = codec.decode(header, bad + [b"one packet too many"])
    assert info.packets_dropped == 3 and info.packets_received == len(packets) - 2
    assert out.shape == (64, 96, 3)


@pytest.mark.parametrize("shape", [(37, 53), (37, 53, 3), (40, 24, 4), (8, 8, 3)])
def test_any_size_and_mode(codec, rng, shape):
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    header, packets = codec.encode(img)
    out, info = codec.decode(header, packets)
    assert out.shape == (shape[0], shape[1], 3) and out.dtype == np.uint8 and not info.all_lost


def test_foreign_or_inconsistent_headers_are_refused(codec, rng):
    header, packets = codec.encode(_image(rng))
    with pytest.raises(ValueError, match="made by codec other"):
        codec.decode(ImageHeader("other:1", *list(header.__dict__.values())[1:]), packets)
    wrong = ImageHeader(header.codec, header.height, header.width, header.grid_h + 1, header.grid_w, 3, 0,
                        header.n_packets, header.quant)
    with pytest.raises(ValueError, match="does not describe"):
        codec.decode(wrong, packets)
    huge = ImageHeader(header.codec, 1 << 20, 1 << 20, 1 << 16, 1 << 16, 3, 0, header.n_packets, header.quant)
    with pytest.raises(ValueError, match="does not describe"):
        codec.decode(huge, packets)


def test_saved_state_loads_through_the_manifest(codec, tmp_path, rng):
    import hashlib
    import json

    torch.save(codec.state(), tmp_path / "v2.pt")
    sha = hashlib.sha256((tmp_path / "v2.pt").read_bytes()).hexdigest()
    (tmp_path / "v2.json").write_text(json.dumps({"kind": "dct", "sha256": sha}))
    loaded = load_codec("v2", tmp_path)
    assert isinstance(loaded, DctCodec) and loaded.id == f"v2:{sha[:12]}"
    img = _image(rng)
    a = codec.decode(*codec.encode(img))[0]
    header, packets = loaded.encode(img)
    assert np.array_equal(loaded.decode(header, packets)[0], a)
