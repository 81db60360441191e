"""Codecs v2 and v4 (block DCT + learned entropy model + restoration network), with an untrained network."""

import numpy as np
import pytest
import torch

from sdr_semcom.semantic.api import ImageHeader
from sdr_semcom.semantic.dct import contexts, entropy, transform
from sdr_semcom.semantic.dct.codec import DctCodec, decode_packet, encode_packet
from sdr_semcom.semantic.interleave import packet_cells
from sdr_semcom.semantic.metrics import psnr
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


# ---------------------------------------------------------------------------------- codec v4 (coder 4)
def _mcus(rng, n, decay=6.0, scale=4.0):
    q = np.round(rng.laplace(size=(n, 6, 64)) * np.exp(-np.arange(64) / decay) * scale).astype(np.int32)
    q[::4, :, 1:] = 0  # flat MCUs
    q[:, :, 0] = np.round(rng.normal(0, 20, (n, 6))).astype(np.int32)
    return q


def test_dc_references_are_the_nearest_earlier_mcu():
    cells = np.array([0, 1, 5, 17, 34, 40])  # a 16-wide grid: (0, 0) (0, 1) (0, 5) (1, 1) (2, 2) (2, 8)
    ref, where = contexts.dc_references(cells, 16)
    assert ref.tolist() == [-1, 0, 1, 1, 3, 2]  # 17's nearest earlier is 1, right above it
    assert where[0] == 0  # none
    assert where[1] == 1 * 16 + (0 * 4 - 1 + 5)  # distance 1, on the left
    assert where[3] == 1 * 16 + (-1 * 4 + 0 + 5)  # distance 1, above
    assert where[4] == 1 * 16 + (-1 * 4 - 1 + 5)  # distance 1, above-left
    assert where[2] == 3 * 16 + (0 * 4 - 1 + 5) and where[5] == 3 * 16 + (-1 * 4 - 1 + 5)  # far: clipped to 3


@pytest.mark.parametrize("scale", [0.3, 2.0])
def test_coder4_roundtrip_and_corruption_flag(rng, scale):
    q = _mcus(rng, 40)
    q[3, 0, 0], q[5, 2, 63], q[6, 4, 1] = 3000, -2, 700
    cells = np.sort(rng.choice(256, 40, replace=False))
    probs = entropy.initial_probabilities(np.zeros((3, contexts.N_CTX, 2), np.int64))
    out = np.empty(1 << 16, np.uint8)
    n = encode_packet(4, q, cells, 16, scale, probs, np.zeros((3, contexts.N_CTX, 2), np.int64), out)
    got, bad = decode_packet(4, out[:n].copy(), cells, 16, scale, probs)
    assert not bad and np.array_equal(got, q)
    assert decode_packet(4, out[: n // 3].copy(), cells, 16, scale, probs)[1]  # truncated: flagged, no crash
    garbage = [rng.integers(0, 256, int(rng.integers(5, 400))).astype(np.uint8) for _ in range(40)]
    assert sum(decode_packet(4, g, cells, 16, scale, probs)[1] for g in garbage) >= 36  # not ours: flagged


def test_coder4_codes_smooth_images_shorter_than_coder2(rng):
    """Neighbour-aware contexts and edge-predicted DCs pay on a photo-like image (same coefficients)."""
    img = _image(rng, (128, 128, 3))
    q = transform.quantise(transform.forward(img), 1.0)
    sizes = {}
    for coder, n_ctx in ((2, entropy.N_CTX), (4, contexts.N_CTX)):
        counts = np.zeros((3, n_ctx, 2), np.int64)
        flat = entropy.initial_probabilities(np.zeros((3, n_ctx, 2), np.int64))
        out = np.empty(1 << 16, np.uint8)
        cells = [c for c in packet_cells(len(q), 4)]
        for idx in cells:  # learn on the image itself, then code it: what each binarisation can reach
            encode_packet(coder, q[idx], idx, 8, 1.0, flat, counts, out)
        learned = entropy.initial_probabilities(counts)
        sizes[coder] = sum(encode_packet(coder, q[idx], idx, 8, 1.0, learned, counts, out) for idx in cells)
    assert sizes[4] < 0.95 * sizes[2], sizes


@pytest.fixture(scope="module")
def codec4():
    torch.manual_seed(0)
    probs = entropy.initial_probabilities(np.zeros((3, contexts.N_CTX, 2), np.int64))
    return DctCodec(probs, Restore(RestoreConfig(width=4, mid_blocks=1)), "t4", "0" * 64, bpp=1.0, packet_bytes=100,
                    artefact_quant=500, coder=4)


def test_codec4_roundtrip_budget_and_state(codec4, rng, tmp_path):
    import hashlib
    import json

    img = _image(rng)
    header, packets = codec4.encode(img)
    assert sum(map(len, packets)) <= int(np.ceil(64 * 96 / 8)) and max(map(len, packets)) <= 150
    out, info = codec4.decode(header, packets)
    assert out.shape == img.shape and info.received_fraction == 1.0
    assert psnr(img, out) > 30
    torch.save(codec4.state(), tmp_path / "v4.pt")
    sha = hashlib.sha256((tmp_path / "v4.pt").read_bytes()).hexdigest()
    (tmp_path / "v4.json").write_text(json.dumps({"kind": "dct", "sha256": sha}))
    loaded = load_codec("v4", tmp_path)
    assert loaded.coder == 4 and np.array_equal(loaded.decode(*loaded.encode(img))[0], out)
    with pytest.raises(ValueError, match="coder 2 needs"):
        DctCodec(codec4.probs, codec4.restore, coder=2)


def test_codec4_each_packet_decodes_alone_and_losses_are_concealed(codec4, rng):
    img = _image(rng)
    header, packets = codec4.encode(img)
    full = codec4.decode(header, packets)[0].astype(float)
    for k in (0, len(packets) // 2, len(packets) - 1):
        only = [p if i == k else None for i, p in enumerate(packets)]
        _, info = codec4.decode(header, only)
        assert info.packets_received == 1 and info.packets_dropped == 0 and 0 < info.received_fraction < 0.5
    lost = [None if i == 2 else p for i, p in enumerate(packets)]
    out, info = codec4.decode(header, lost)
    assert info.packets_received == len(packets) - 1
    holes = np.all(out == 0, axis=-1).mean()
    assert holes < 0.01  # the lost MCUs are filled, not left black
    assert np.abs(out - full).mean() < 20


def test_codec4_corrupt_packets_are_counted_losses(codec4, rng):
    header, packets = codec4.encode(_image(rng))
    bad = list(packets)
    bad[0] = bytes(rng.integers(0, 256, 60, dtype=np.uint8))  # garbage
    bad[1] = packets[1][: len(packets[1]) // 2]  # truncated
    flipped = bytearray(packets[2])
    flipped[len(flipped) // 2] ^= 0x5A
    bad[2] = bytes(flipped)
    out, info = codec4.decode(header, bad)
    assert out.shape == (64, 96, 3)
    assert info.packets_received + info.packets_dropped == len(packets) and info.packets_dropped >= 2


def test_every_table_set_round_trips_through_the_header(codec4, rng):
    from sdr_semcom.semantic.dct.codec import SCALE_RANGE, TABLES_UNIT

    img = _image(rng)
    coefs = transform.forward(img)
    layout = codec4._layout(*img.shape[:2])
    full = np.log(SCALE_RANGE[0]), np.log(SCALE_RANGE[1])
    outs = []
    for tables in range(len(transform.TABLE_SETS)):
        scale, packets = codec4._fit(coefs, tables, transform.DEADZONE, layout, img.shape[1] // 16, *full)
        header = ImageHeader(codec4.id, 64, 96, 4, 6, 3, 0, layout[0], scale + TABLES_UNIT * tables)
        header = ImageHeader.from_bytes(header.to_bytes())
        out, info = codec4.decode(header, packets)
        assert info.packets_received == len(packets) and psnr(img, out) > 30, tables
        outs.append(out)
        if tables:  # the index matters: read with set 0's steps, the same packets decode to another image
            wrong = codec4.decode(ImageHeader(*list(header.__dict__.values())[:8], scale), packets)[0]
            assert psnr(img, wrong) < psnr(img, out) - 1
    assert not np.array_equal(outs[0], outs[1])


def test_rd_choice_is_never_worse_and_keeps_the_budget(codec4, rng):
    import skimage.data

    from sdr_semcom.semantic.dct.codec import TABLES_UNIT

    rd = DctCodec(codec4.probs, codec4.restore, "t4", "0" * 64, bpp=1.0, packet_bytes=100, artefact_quant=500,
                  coder=4, rd_choice=True)
    assert DctCodec.from_state(rd.state(), "t4", "0" * 64).rd_choice and not codec4.rd_choice
    chosen = set()
    for img in (skimage.data.coffee()[::4, ::4][:64, :96], skimage.data.chelsea()[::4, ::4][:64, :96], _image(rng)):
        (h0, p0), (h1, p1) = codec4.encode(img), rd.encode(img)
        assert h0.quant < TABLES_UNIT and sum(map(len, p1)) <= 64 * 96 // 8 and len(p1) == len(p0)
        assert psnr(img, rd.decode(h1, p1)[0]) >= psnr(img, codec4.decode(h0, p0)[0])
        assert h1.quant // TABLES_UNIT < len(transform.TABLE_SETS)
        chosen.add(h1.quant // TABLES_UNIT)
    assert chosen - {0}, "the encoder never chose another table set"


@pytest.mark.parametrize("quant", [3 * (1 << 15) + 500, 1 << 20, -7, 0, 1 << 15, 1.5])
def test_a_header_naming_an_unknown_table_set_or_scale_is_refused(codec4, rng, quant):
    header, packets = codec4.encode(_image(rng))
    bad = ImageHeader(*list(header.__dict__.values())[:8], quant)
    with pytest.raises(ValueError, match="table set|does not describe"):
        codec4.decode(bad, packets)


def test_fitted_chroma_is_the_least_squares_inverse_of_the_decoders_upsampling(rng):
    full = 60.0 * (np.arange(48) > 20) - 40.0 * (np.arange(32) > 9)[:, None] + rng.normal(0, 2, (32, 48))
    fit = transform.fitted_chroma(full)
    a, b = transform._upsample_matrix(16).toarray(), transform._upsample_matrix(24).toarray()
    assert np.allclose(a @ fit @ b.T, transform._upsample2(fit))  # the matrices are the decoder's upsampling
    assert np.allclose(fit, np.linalg.pinv(a) @ full @ np.linalg.pinv(b).T)
    mean = full.reshape(16, 2, 24, 2).mean(axis=(1, 3))
    assert np.sum((transform._upsample2(fit) - full) ** 2) < 0.9 * np.sum((transform._upsample2(mean) - full) ** 2)


def test_fitted_chroma_choice_decodes_unchanged_and_is_never_worse(codec4, rng):
    import skimage.data

    kw = dict(bpp=2.0, packet_bytes=200, artefact_quant=500, coder=4, rd_choice=True)
    plain = DctCodec(codec4.probs, codec4.restore, "t4", "0" * 64, fit_chroma=False, **kw)
    fitted = DctCodec(codec4.probs, codec4.restore, "t4", "0" * 64, **kw)
    assert fitted.fit_chroma and not plain.fit_chroma
    gains = []
    for img in (skimage.data.astronaut()[:128, 128:256], skimage.data.rocket()[200:328, 256:384], _image(rng)):
        (h0, p0), (h1, p1) = plain.encode(img), fitted.encode(img)
        assert sum(map(len, p1)) <= int(np.ceil(2.0 * img.shape[0] * img.shape[1] / 8)) and len(p1) == len(p0)
        out, info = plain.decode(h1, p1)  # any receiver decodes it: only the encoder changed
        assert info.packets_received == len(p1)
        gains.append(psnr(img, out) - psnr(img, plain.decode(h0, p0)[0]))
    assert min(gains) >= 0 and max(gains) > 0.05, gains  # chosen where it pays, kept out where it does not
    with pytest.raises(ValueError, match="needs rd_choice"):
        DctCodec(codec4.probs, codec4.restore, coder=4, fit_chroma=True)


def test_rdoq_levels_round_trip_bit_exact_and_save_bytes(rng):
    img = _image(rng, (128, 128, 3))
    coefs = transform.forward(img)
    scale = 0.5
    q = transform.quantise(coefs, scale)
    steps = transform.quant_tables(scale)
    probs = entropy.initial_probabilities(np.zeros((3, contexts.N_CTX, 2), np.int64))
    lam = 0.2 * np.mean(steps[0]) ** 2
    cells = packet_cells(len(q), 2)[0]
    out = np.empty(1 << 16, np.uint8)
    counts = np.zeros((3, contexts.N_CTX, 2), np.int64)
    plain = np.ascontiguousarray(q[cells])
    n0 = encode_packet(4, plain, cells, 8, scale, probs, counts, out)
    chosen = np.ascontiguousarray(q[cells])
    n1 = encode_packet(4, chosen, cells, 8, scale, probs, counts, out, 0, coefs[cells], lam)
    got, bad = decode_packet(4, out[:n1].copy(), cells, 8, scale, probs)  # the decoder as it was
    assert not bad and np.array_equal(got, chosen)
    assert not np.array_equal(chosen, plain)
    assert np.all(np.abs(chosen) <= np.abs(plain)) and np.all(chosen * plain >= 0)  # only lowered, never flipped
    assert np.array_equal(chosen[..., 0], plain[..., 0])  # the DC as quantised

    assert n1 < n0  # fewer bytes (whether that pays in squared error: benchmarks/rdoq_bench.py, it does not)
    with pytest.raises(ValueError, match="coder 4"):
        encode_packet(2, plain, cells, 8, scale, probs, counts, out, 0, coefs[cells], lam)


def test_a_packet_over_the_largest_size_is_requantised_not_the_whole_image(codec4, rng, monkeypatch):
    from sdr_semcom.semantic.dct import codec as codec_module

    img = np.full((64, 96, 3), 120, np.uint8)
    img[:16, :16] = rng.integers(0, 256, (16, 16, 3))  # all the detail in one MCU, so in one packet
    rd = DctCodec(codec4.probs, codec4.restore, "t4", "0" * 64, bpp=2.0, packet_bytes=100, artefact_quant=500,
                  coder=4, fit_chroma=False)
    header, packets = rd.encode(img)
    assert max(map(len, packets)) <= 150 and rd.decode(header, packets)[1].packets_received == len(packets)
    monkeypatch.setattr(codec_module, "PACKET_DEADZONES", ())
    whole = rd.encode(img)[0]
    assert header.quant < whole.quant  # a finer quantiser for every other MCU


def test_an_image_over_budget_even_at_the_coarsest_quantiser_is_sent_and_logged(codec4, caplog):
    """A tiny budget that not even the coarsest quantiser meets (DCs alone are over it): the image is
    sent anyway, over budget, and a warning names the bytes, the budget and the largest packet."""
    import logging

    img = np.zeros((64, 64, 3), np.uint8)
    img[::2, :, 0] = 255  # saturated stripes: every MCU costs more than the budget gives it
    img[:, ::3, 2] = 255
    small = DctCodec(codec4.probs, codec4.restore, "t4", "0" * 64, bpp=0.1, packet_bytes=100, artefact_quant=500,
                     coder=4, rd_choice=True)
    with caplog.at_level(logging.WARNING, logger="sdr_semcom.semantic.dct.codec"):
        header, packets = small.encode(img)
    sent, budget = sum(map(len, packets)), int(np.ceil(0.1 * 64 * 64 / 8))
    assert sent > budget and header.quant == 30000
    msgs = [r.getMessage() for r in caplog.records if "coarsest" in r.getMessage()]
    assert len(msgs) == 1 and f"{sent} B" in msgs[0] and f"{budget} B" in msgs[0], msgs
    assert small.decode(header, packets)[1].packets_received == len(packets)  # it still decodes
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sdr_semcom.semantic.dct.codec"):
        small.encode(np.full((64, 64, 3), 90, np.uint8))  # within budget: no warning
    assert not [r for r in caplog.records if "coarsest" in r.getMessage()]


@pytest.mark.parametrize("rdoq", [float("nan"), float("inf"), -0.1])
def test_a_rate_distortion_multiplier_that_is_not_a_finite_non_negative_number_is_refused(codec4, rdoq):
    with pytest.raises(ValueError, match="rdoq"):
        DctCodec(codec4.probs, codec4.restore, "t4", "0" * 64, coder=4, rdoq=rdoq)
