"""Sionna fading as a stream (sdr_semcom/channels/sionna_stream.py): statistics against theory and 38.901.

Runs in the interpreter that has Sionna (.venv-sionna on Debian 12: tests/unit/test_sionna_channel.py
starts it there); skipped where Sionna cannot be imported. Every draw is seeded, so each test gives
the same numbers on every run; the tolerances are a few standard errors of the estimates.
"""

import math

import numpy as np
import pytest

pytest.importorskip("sionna.phy")

from scipy import special, stats  # noqa: E402

from sdr_semcom.channels.sionna_stream import TAP_ERROR_DB, FadingStream, choose_k  # noqa: E402
from sdr_semcom.channels.spec import FadingSpec  # noqa: E402

FS = 1e6

# 3GPP TR 38.901 v16 tables 7.7.2-1 (TDL-A) and 7.7.2-3 (TDL-C): first five taps (normalised delay, power dB)
TDL_A_HEAD = [(0.0000, -13.4), (0.3819, 0.0), (0.4025, -2.2), (0.5868, -4.0), (0.4610, -6.0)]
TDL_C_HEAD = [(0.0000, -4.4), (0.2099, -1.2), (0.2219, -3.5), (0.2329, -5.2), (0.2176, -2.5)]


def _white(n, seed=3):
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / math.sqrt(2)).astype(np.complex64)


def test_path_coefficients_are_sionnas_tdl():
    """The stream's generator is Sionna's TDL: same seed, same path coefficients (float32 precision)."""
    import sionna.phy
    from sionna.phy.channel.tr38901 import TDL

    for model, name in (("tdl-a", "A"), ("tdl-d", "D")):
        f = FadingStream(FadingSpec(model, 300, 30.0), FS, None, seed=7)
        tdl = TDL(name, delay_spread=300e-9, carrier_frequency=2.4e9, min_speed=30.0)
        sionna.phy.config.seed = 7
        a, tau = tdl(1, 2000, FS)
        a = a.numpy().reshape(-1, 2000)
        assert a.shape == (len(f.mean_powers), 2000)
        np.testing.assert_allclose(f.path_coefficients(np.arange(2000)), a, atol=2e-6)
        np.testing.assert_allclose(f.path_delays_s, tau.numpy().ravel(), rtol=1e-6)


@pytest.mark.parametrize("model", ["rayleigh", "tdl-c", "tdl-d"])
def test_chunked_equals_one_shot(model):
    """Any cut of the stream into calls gives the same output (draws kept, phases advanced, tail carried)."""
    x = _white(60000)
    spec = FadingSpec(model, 300, 33.3)
    whole = FadingStream(spec, FS, 10.0, seed=5).process(x)
    chan = FadingStream(spec, FS, 10.0, seed=5)
    rng = np.random.default_rng(9)
    cuts = np.sort(rng.choice(np.arange(1, x.size), 40, replace=False))
    parts = [chan.process(p) for p in np.split(x, cuts)]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=2e-5)


@pytest.mark.parametrize("speed", [30.0, 120 / 3.6, 500 / 3.6])
def test_interpolated_taps_match_per_sample_taps(speed):
    """Taps every K samples, interpolated, against taps computed for every sample: below TAP_ERROR_DB."""
    spec = FadingSpec("tdl-a", 300, speed)
    k = choose_k(spec.doppler_hz, FS)
    assert k >= 8  # 1.1 kHz Doppler at 500 km/h: K = 8
    x = _white(40000)
    fast = FadingStream(spec, FS, None, seed=2).process(x)
    exact = FadingStream(spec, FS, None, seed=2, k=1).process(x)
    err_db = 10 * np.log10(np.mean(np.abs(fast - exact) ** 2) / np.mean(np.abs(exact) ** 2))
    assert err_db < TAP_ERROR_DB, (k, err_db)


def _rayleigh_samples(n_seeds=300, n_times=40, doppler=100.0):
    """|h| of the flat Rayleigh channel: n_seeds realisations x n_times instants 0.5 s apart (J0 ~ 0)."""
    spec = FadingSpec("rayleigh", 0, FadingSpec.speed_for_doppler(doppler, 2.4e9))
    t = np.arange(n_times) * int(0.5 * FS)
    return np.concatenate([FadingStream(spec, FS, None, seed=s).path_coefficients(t)[0] for s in range(1, n_seeds + 1)])


def test_rayleigh_envelope_and_mean_power():
    h = _rayleigh_samples()
    ks = stats.kstest(np.abs(h), stats.rayleigh(scale=1 / math.sqrt(2)).cdf)
    assert ks.pvalue > 0.01, ks
    assert np.mean(np.abs(h) ** 2) == pytest.approx(1.0, abs=0.04)
    # a circular Gaussian: uniform phase
    assert stats.kstest(np.angle(h), stats.uniform(-math.pi, 2 * math.pi).cdf).pvalue > 0.01


def test_rayleigh_time_correlation_is_jakes():
    """E[h(t) h*(t + tau)] ~ J0(2 pi fD tau) (Clarke / Jakes), averaged over seeds and start times."""
    fd = 100.0
    spec = FadingSpec("rayleigh", 0, FadingSpec.speed_for_doppler(fd, 2.4e9))
    lags = np.arange(0, 8001, 500)  # 0 .. 8 ms: J0 through its first zero (3.8 ms) and minimum
    starts = np.arange(30) * int(0.5 * FS)
    acc = np.zeros(lags.size, np.complex128)
    n = 0
    for s in range(1, 201):
        f = FadingStream(spec, FS, None, seed=s)
        h = f.path_coefficients((starts[:, None] + lags[None, :]).ravel())[0].reshape(starts.size, lags.size)
        acc += (h[:, :1] * np.conj(h)).sum(axis=0)
        n += starts.size
    r = (acc / n).real
    theory = special.j0(2 * math.pi * fd * lags / FS)
    assert np.max(np.abs(r - theory)) < 0.06, np.c_[lags, r, theory]


def test_mean_output_power_is_one():
    """White unit-power input through TDL-A / TDL-C, averaged over realisations: unit power (the discrete
    taps lose only the sinc tails outside l_min .. l_max)."""
    x = _white(20000)
    for model in ("tdl-a", "tdl-c"):
        p = [np.mean(np.abs(FadingStream(FadingSpec(model, 300, 3.0), FS, None, seed=s).process(x)[100:]) ** 2)
             for s in range(1, 121)]
        assert np.mean(p) == pytest.approx(1.0, abs=0.05), (model, np.mean(p))


@pytest.mark.parametrize("model,head", [("tdl-a", TDL_A_HEAD), ("tdl-c", TDL_C_HEAD)])
def test_power_delay_profile_is_38901(model, head):
    """Path delays and powers are TR 38.901's table scaled by the delay spread; the profile's RMS delay
    spread is the one asked for."""
    ds = 300e-9
    f = FadingStream(FadingSpec(model, ds * 1e9, 3.0), FS, None, seed=1)
    p_db = 10 * np.log10(f.mean_powers / f.mean_powers.max())
    for i, (tau_n, power_db) in enumerate(head):
        assert f.path_delays_s[i] == pytest.approx(tau_n * ds, abs=1e-12)
        assert p_db[i] == pytest.approx(power_db, abs=0.05)
    p = f.mean_powers / f.mean_powers.sum()
    mean = np.sum(p * f.path_delays_s)
    rms = math.sqrt(np.sum(p * (f.path_delays_s - mean) ** 2))
    assert rms == pytest.approx(ds, rel=0.03)


@pytest.mark.parametrize("model", ["tdl-a", "tdl-c"])
def test_measured_delay_spread(model):
    """The discrete channel at 50 MS/s (taps 20 ns apart), its power averaged over realisations and
    time: the RMS delay spread of the measured power-delay profile matches the one asked for."""
    fs, ds = 50e6, 300e-9
    pdp = 0
    for s in range(1, 61):
        f = FadingStream(FadingSpec(model, ds * 1e9, 30.0), fs, None, seed=s)
        pdp = pdp + np.mean(np.abs(f.taps(np.arange(0, 5_000_000, 500_000))) ** 2, axis=0)
    pdp = pdp / pdp.sum()
    t = (np.arange(pdp.size) + f.l_min) / fs
    mean = np.sum(pdp * t)
    rms = math.sqrt(np.sum(pdp * (t - mean) ** 2))
    assert rms == pytest.approx(ds, rel=0.12), rms
