"""sdr_semcom.eval: quality metrics, bootstrap, baselines, SNR parsing and IoU on known cases."""

import numpy as np
import pytest

from sdr_semcom.eval.baselines import BASELINES, baseline
from sdr_semcom.eval.quality import hole_quality, psnr, quality, ssim
from sdr_semcom.eval.run import parse_snrs
from sdr_semcom.eval.stats import bootstrap_mean, paired_bootstrap, ratio_bootstrap
from sdr_semcom.eval.utility import iou


@pytest.fixture
def img(rng):
    return rng.integers(0, 256, (180, 200, 3), dtype=np.uint8)


def test_identical_images_score_perfectly(img):
    m = np.zeros(img.shape[:2], bool)
    m[40:90, 50:120] = True
    q = quality(img, img, m, perceptual=False)
    assert np.isinf(q.psnr) and np.isinf(q.hole_psnr)
    assert q.ssim == pytest.approx(1.0) and q.hole_ssim == pytest.approx(1.0) and q.ms_ssim == pytest.approx(1.0)
    assert q.to_json()["psnr"] == float("inf")


def test_psnr_known_value_and_mask(img):
    out = img.astype(np.int16)
    out[:90] = np.clip(out[:90] + 4, 0, 255)  # an error in the top half only
    out = out.astype(np.uint8)
    top = np.zeros(img.shape[:2], bool)
    top[:90] = True
    err = img[:90].astype(float) - out[:90]
    assert psnr(img, out, top) == pytest.approx(10 * np.log10(255 ** 2 / np.mean(err ** 2)))
    assert np.isinf(psnr(img, out, ~top))
    assert psnr(img, out) > psnr(img, out, top)  # the clean half raises the whole-image figure
    assert ssim(img, out) < 1.0
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(img, img[:10])


def test_hole_quality_without_perceptual(img):
    m = np.zeros(img.shape[:2], bool)
    m[10:40, 10:40] = True
    noisy = img.copy()
    noisy[m] = 0
    h = hole_quality(img, noisy, m, perceptual=False)
    assert h["hole_lpips"] is None and h["hole_psnr"] < 10 and h["hole_ssim"] < 0.5


def test_bootstrap_constant_and_shift():
    e = bootstrap_mean([2.0] * 10)
    assert (e.mean, e.lo, e.hi, e.n) == (2.0, 2.0, 2.0, 10)
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 200)
    d = paired_bootstrap(a + 0.5, a)  # a constant paired shift: the CI is the point
    assert d.mean == pytest.approx(0.5) and d.lo == pytest.approx(0.5) and d.hi == pytest.approx(0.5)
    x = rng.normal(1.0, 1.0, 400)
    e = bootstrap_mean(x, seed=3)
    assert e.lo < 1.0 < e.hi and e.hi - e.lo == pytest.approx(2 * 1.96 / 20, rel=0.25)
    assert bootstrap_mean(x, seed=3) == e  # seeded
    assert bootstrap_mean([np.nan, np.inf]).n == 0
    with pytest.raises(ValueError, match="paired"):
        paired_bootstrap([1, 2], [1])


def test_ratio_bootstrap_leakage_reduction():
    den = np.array([1.0, 2.0, 3.0, 4.0])
    r = ratio_bootstrap(den / 4, den)
    assert r.mean == pytest.approx(0.75) and r.lo == pytest.approx(0.75) and r.hi == pytest.approx(0.75)


def test_parse_margins_and_the_claims_margin():
    from sdr_semcom.eval.cells import report_margin, row_key
    from sdr_semcom.eval.run import parse_margins

    assert parse_margins("0,0.15,0.3,0.15") == [0.0, 0.15, 0.3]
    for bad in ("", "a", "-0.1", "3"):
        with pytest.raises(ValueError, match="--margins"):
            parse_margins(bad)
    assert report_margin([0.0, 0.15, 0.3]) == 0.15 and report_margin([0.3, 0.0]) == 0.3
    assert row_key({"image": "a", "snr": 10.0}) == row_key({"image": "a", "margin": 0.15, "snr": 10.0})


def test_parse_snrs():
    assert parse_snrs("0:20:2") == [float(v) for v in range(0, 21, 2)]
    assert parse_snrs("5,10,20") == [5.0, 10.0, 20.0]
    for bad in ("20:0:2", "0:20:0", "a:b", "1:2"):
        with pytest.raises(ValueError, match="--snr"):
            parse_snrs(bad)


def test_baselines_touch_only_the_mask(img):
    m = np.zeros(img.shape[:2], bool)
    m[50:120, 60:150] = True
    for name in BASELINES:
        if name == "blank":  # the content-free reference: the whole image grey
            assert (baseline(name, img, m) == 127).all()
            continue
        out = baseline(name, img, m)
        assert out.shape == img.shape and np.array_equal(out[~m], img[~m])
        assert np.array_equal(out, img) == (name == "no_privacy")
    assert (baseline("grey_box", img, m)[m] == 127).all()
    with pytest.raises(ValueError, match="unknown baseline"):
        baseline("swirl", img, m)


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0


def test_relative_change_and_format():
    from sdr_semcom.eval.stats import relative_change

    a, b = np.array([11.0, 22.0, 33.0]), np.array([10.0, 20.0, 30.0])
    r = relative_change(a, b)
    assert r.mean == pytest.approx(0.1) and r.lo == pytest.approx(0.1) and r.hi == pytest.approx(0.1)
    assert relative_change(b, a).mean == pytest.approx(-1 / 11)
    assert r.format(100, 1, "%") == "+10.0% [+10.0%, +10.0%] (n=3)"
    assert bootstrap_mean([0.5]).format() == "+0.500 (n=1)"  # one sample: no interval
    assert bootstrap_mean([]).format() == "n/a"
