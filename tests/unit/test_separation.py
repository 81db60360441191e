"""The separation baselines: same bytes and packets as asked, each packet decodes on its own
where the format allows, lost pixels filled from their neighbours."""

import numpy as np
import pytest

from sdr_semcom.semantic import conceal, separation
from sdr_semcom.semantic.metrics import psnr


@pytest.fixture
def img():
    y, x = np.mgrid[0:96, 0:128]
    base = np.stack([x * 2, y * 2, (x + y)], -1).astype(np.float64)
    noise = np.random.default_rng(3).normal(0, 6, base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", list(separation.SYSTEMS))
def test_baseline_fits_budget_and_decodes(img, name):
    codec = separation.SYSTEMS[name]()
    header, packets = codec.encode(img, budget=2400, n_packets=6, largest=600)
    assert len(packets) == header.n_packets == 6
    assert sum(map(len, packets)) <= 2400 and max(map(len, packets)) <= 600
    out, info = codec.decode(header, packets)
    assert out.shape == img.shape and info.packets_received == 6
    assert psnr(img, out) > 24


@pytest.mark.parametrize("name", ["webp_tiles", "jpeg_rst"])
def test_packet_loss_costs_only_its_part(img, name):
    codec = separation.SYSTEMS[name]()
    header, packets = codec.encode(img, budget=2400, n_packets=6, largest=600)
    clean = codec.decode(header, packets)[0]
    out, info = codec.decode(header, [None if i == 2 else p for i, p in enumerate(packets)])
    assert info.packets_received == 5 and 0.5 < info.received_fraction < 1
    changed = np.any(out != clean, axis=-1)
    assert 0 < changed.mean() < 0.4  # one packet's share of the image, the rest untouched
    assert psnr(img, out) > 20


def test_webp_stream_loses_the_image_with_one_packet(img):
    codec = separation.WebpStream()
    header, packets = codec.encode(img, budget=2400, n_packets=6, largest=600)
    out, info = codec.decode(header, [None] + packets[1:])
    assert (out == 127).all() and info.received_fraction == 0


def test_fill_interpolates_a_hole_from_its_border():
    y, x = np.mgrid[0:64, 0:64]
    ramp = np.stack([x * 3, y * 3, x + y], -1).astype(np.uint8)
    known = np.ones((64, 64), bool)
    known[20:40, 24:44] = False
    out = conceal.fill(ramp, known)
    assert np.array_equal(out[known], ramp[known])
    assert np.abs(out.astype(int) - ramp).max() < 25
    assert (conceal.fill(ramp, np.zeros((64, 64), bool)) == 127).all()
