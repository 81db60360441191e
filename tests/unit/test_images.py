"""The one image loader: any depth scaled to 8 bits, unreadable files named, skipped and counted."""

import logging

import numpy as np
import pytest
from PIL import Image

from sdr_semcom.images import ImageError, fit, fit_size, load_images, read_rgb, to_uint8


def test_16_bit_png_is_scaled_not_saturated(tmp_path):
    ramp = np.linspace(0, 65535, 64 * 64).round().astype(np.uint16).reshape(64, 64)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")  # a real 16-bit file
    got = read_rgb(tmp_path / "deep.png")
    assert got.shape == (64, 64, 3) and got.dtype == np.uint8
    assert (got[..., 0] == got[..., 1]).all() and (got[..., 1] == got[..., 2]).all()
    np.testing.assert_array_equal(got[..., 0], np.round(ramp / 257).astype(np.uint8))
    assert (got == 255).mean() < 0.01  # the old loader clipped: 97.6 % of such pixels at 255


def test_float_and_32_bit_images_are_scaled(tmp_path):
    f = np.linspace(0, 1, 32 * 32, dtype=np.float32).reshape(32, 32)
    Image.fromarray(f, mode="F").save(tmp_path / "float.tif")
    got = read_rgb(tmp_path / "float.tif")[..., 0]
    np.testing.assert_array_equal(got, np.round(f * 255).astype(np.uint8))
    np.testing.assert_array_equal(to_uint8(np.array([-2.0, 0.0, 2.0])), [0, 128, 255])  # any other range: min..max
    np.testing.assert_array_equal(to_uint8(np.array([0, 65535, 32896], np.int32)), [0, 255, 128])
    np.testing.assert_array_equal(to_uint8(np.array([0, 200], np.int64)), [0, 200])  # 8-bit values in a wide type
    np.testing.assert_array_equal(to_uint8(np.array([True, False])), [255, 0])


def test_modes_become_rgb(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 7
    Image.fromarray(rgba).save(tmp_path / "a.png")
    Image.fromarray(rgba[..., 0]).convert("P").save(tmp_path / "p.gif")
    assert (read_rgb(tmp_path / "a.png") == [200, 0, 0]).all()
    assert read_rgb(tmp_path / "p.gif").shape == (8, 8, 3)


def test_unreadable_files_are_named_skipped_and_counted(tmp_path, caplog):
    good = tmp_path / "good.png"
    Image.fromarray(np.full((4, 6, 3), 9, np.uint8)).save(good)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ImageError, match="broken.png: not a readable image"):
        read_rgb(tmp_path / "broken.png")
    with pytest.raises(ImageError, match="missing.png"):
        read_rgb(tmp_path / "missing.png")
    with caplog.at_level(logging.WARNING):
        got = load_images([good, tmp_path / "broken.png"])
    assert [n for n, _ in got.images] == ["good"] and len(got.skipped) == 1 and "broken.png" in caplog.text
    assert [n for n, _ in load_images([tmp_path]).images] == ["good"]  # a folder: its image files
    with pytest.raises(ImageError, match="no readable image among 1 file"):
        load_images([tmp_path / "broken.png"])


def test_fit_keeps_the_aspect_ratio():
    assert fit_size((886, 1280), 128) == (89, 128) and fit_size((1280, 886), 64) == (64, 44)
    assert fit_size((1, 5000), 16) == (1, 16)
    img = np.zeros((30, 60, 3), np.uint8)
    assert fit(img, 20).shape == (10, 20, 3) and fit(img, 60) is img
