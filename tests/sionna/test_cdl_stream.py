"""3GPP CDL-A..E as a stream (sdr_semcom/channels/sionna_stream.py): the SISO link against Sionna's CDL and
TR 38.901's tables, delay spread, power, chunking.

Runs in the interpreter that has Sionna (.venv-sionna on Debian 12: tests/unit/test_sionna_channel.py
starts it there); skipped where Sionna cannot be imported. Every draw is seeded; the tolerances are a
few standard errors of the estimates.
"""

import math

import numpy as np
import pytest

pytest.importorskip("sionna.phy")

from sdr_semcom.channels.sionna_stream import FadingStream, cdl_model  # noqa: E402
from sdr_semcom.channels.spec import SPEED_OF_LIGHT, FadingSpec  # noqa: E402

FS = 1e6
CDL = ["cdl-a", "cdl-b", "cdl-c", "cdl-d", "cdl-e"]

# 3GPP TR 38.901 v16 tables 7.7.1-1..5: first five clusters (normalised delay, power dB); for CDL-D and
# CDL-E the first row is the specular LoS ray, the second the Laplacian cluster at the same delay.
HEAD = {
    "cdl-a": [(0.0000, -13.4), (0.3819, 0.0), (0.4025, -2.2), (0.5868, -4.0), (0.4610, -6.0)],
    "cdl-b": [(0.0000, 0.0), (0.1072, -2.2), (0.2155, -4.0), (0.2095, -3.2), (0.2870, -9.8)],
    "cdl-c": [(0.0000, -4.4), (0.2099, -1.2), (0.2219, -3.5), (0.2329, -5.2), (0.2176, -2.5)],
    "cdl-d": [(0.0, -0.2), (0.0, -13.5), (0.035, -18.8), (0.612, -21.0), (1.363, -22.8)],
    "cdl-e": [(0.0, -0.03), (0.0, -22.03), (0.5133, -15.8), (0.5440, -18.1), (0.5630, -19.8)],
}
NUM_CLUSTERS = {"cdl-a": 23, "cdl-b": 23, "cdl-c": 24, "cdl-d": 13, "cdl-e": 14}  # NLoS clusters


def _white(n, seed=3):
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / math.sqrt(2)).astype(np.complex64)


@pytest.mark.parametrize("model", ["cdl-a", "cdl-d"])
def test_path_coefficients_are_sionnas_cdl(model):
    """The stream's clusters are Sionna's CDL on the same SISO link: same seed, same coefficients and delays."""
    import sionna.phy

    spec = FadingSpec(model, 300, 30.0)
    f = FadingStream(spec, FS, None, seed=7)
    sionna.phy.config.seed = 7
    a, tau = cdl_model(spec)(1, 3000, FS)
    a = a.numpy().reshape(-1, 3000)
    assert a.shape == (NUM_CLUSTERS[model], 3000)
    np.testing.assert_allclose(f.path_coefficients(np.arange(3000)), a, atol=1e-9)
    np.testing.assert_allclose(f.path_delays_s, tau.numpy().ravel(), rtol=1e-9)


@pytest.mark.parametrize("model", CDL)
def test_cluster_profile_is_38901(model):
    """Cluster delays and powers are TR 38.901's table (scaled by the delay spread, powers normalised to 1);
    the profile's RMS delay spread is the one asked for."""
    ds = 300e-9
    f = FadingStream(FadingSpec(model, ds * 1e9, 3.0), FS, None, seed=1)
    los = model in ("cdl-d", "cdl-e")
    assert (f.los_power > 0) == los and len(f.mean_powers) == NUM_CLUSTERS[model]
    delays = np.r_[0.0, f.path_delays_s] if los else f.path_delays_s
    powers = np.r_[f.los_power, f.mean_powers] if los else f.mean_powers
    assert powers.sum() == pytest.approx(1.0, abs=1e-9)
    assert np.all(np.diff(f.path_delays_s) >= 0)  # ordered by delay, as Sionna orders them
    table_db = np.array([p for _, p in HEAD[model]])
    got_db = []
    for i, (tau_n, _) in enumerate(HEAD[model]):
        if los and i < 2:  # the specular ray and the Laplacian cluster share delay 0
            got_db.append(10 * np.log10(powers[i]))
            continue
        j = int(np.argmin(np.abs(delays - tau_n * ds)))
        assert delays[j] == pytest.approx(tau_n * ds, abs=1e-12)
        got_db.append(10 * np.log10(powers[j]))
    got_db = np.array(got_db)
    np.testing.assert_allclose(got_db - got_db[0], table_db - table_db[0], atol=0.01)
    mean = np.sum(powers * delays)
    rms = math.sqrt(np.sum(powers * (delays - mean) ** 2))
    assert rms == pytest.approx(ds, rel=0.03)


@pytest.mark.parametrize("model", ["cdl-a", "cdl-c", "cdl-d"])
def test_measured_delay_spread(model):
    """The discrete channel at 50 MS/s (taps 20 ns apart), power averaged over realisations and time:
    the RMS delay spread of the measured power-delay profile is the one asked for (within 12 %)."""
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


def test_mean_output_power_is_one():
    """White unit-power input through CDL-B / CDL-E, averaged over realisations: unit power."""
    x = _white(20000)
    for model in ("cdl-b", "cdl-e"):
        p = [np.mean(np.abs(FadingStream(FadingSpec(model, 300, 3.0), FS, None, seed=s).process(x)[100:]) ** 2)
             for s in range(1, 121)]
        assert np.mean(p) == pytest.approx(1.0, abs=0.05), (model, np.mean(p))


@pytest.mark.parametrize("model", ["cdl-b", "cdl-e"])
def test_chunked_equals_one_shot(model):
    """Any cut of the stream into calls gives the same output."""
    x = _white(60000)
    spec = FadingSpec(model, 300, 33.3)
    whole = FadingStream(spec, FS, 10.0, seed=5).process(x)
    chan = FadingStream(spec, FS, 10.0, seed=5)
    cuts = np.sort(np.random.default_rng(9).choice(np.arange(1, x.size), 40, replace=False))
    np.testing.assert_allclose(np.concatenate([chan.process(p) for p in np.split(x, cuts)]), whole, atol=2e-5)


def test_doppler_follows_the_ut_velocity_and_seeds_are_independent():
    """Each ray's Doppler shift is v . r_rx / lambda for the UT moving along x: within +-fD, and the LoS
    ray's is fD sin(ZoA) cos(AoA) of CDL-D's LoS angles (AoA -180 deg, ZoA 81.5 deg: moving away).
    Two seeds (the authorized and eavesdropper links) give uncorrelated channels."""
    spec = FadingSpec("cdl-d", 300, 30.0)
    fd = spec.doppler_hz
    f = FadingStream(spec, FS, None, seed=1)
    assert np.max(np.abs(f._w)) <= 2 * math.pi * fd * (1 + 1e-12)
    assert f._w_los / (2 * math.pi) == pytest.approx(fd * math.sin(math.radians(81.5)) * math.cos(math.pi), rel=1e-6)
    assert spec.doppler_hz == pytest.approx(30.0 * 2.4e9 / SPEED_OF_LIGHT)
    spec = FadingSpec("cdl-a", 300, 30.0)
    t = np.arange(0, 2_000_000, 2000)
    a = FadingStream(spec, FS, None, seed=1).path_coefficients(t)[1]
    b = FadingStream(spec, FS, None, seed=2).path_coefficients(t)[1]
    rho = abs(np.vdot(a, b)) / math.sqrt(np.vdot(a, a).real * np.vdot(b, b).real)
    assert rho < 0.15, rho


def test_impairments_after_fading_chunked_and_placed():
    """Clock error, CFO and front end after the fading: any cut gives the same output, and an impulse comes
    out where output_index says (rayleigh: one tap, so its position is the channel's)."""
    from sdr_semcom.channels.impairments import Impairments

    imp = Impairments(cfo_subcarriers=0.3, clock_ppm=500.0, iq_gain_db=0.5, tone_dbc=-30.0, tone_subcarriers=3.0)
    x = _white(60000)
    spec = FadingSpec("cdl-c", 300, 3.0)
    whole = FadingStream(spec, FS, 20.0, seed=5, impairments=imp).process(x)
    assert whole.size == pytest.approx(x.size / (1 + 500e-6), abs=2)
    chan = FadingStream(spec, FS, 20.0, seed=5, impairments=imp)
    cuts = np.sort(np.random.default_rng(1).choice(np.arange(1, x.size), 40, replace=False))
    np.testing.assert_allclose(np.concatenate([chan.process(p) for p in np.split(x, cuts)]), whole, atol=2e-5)
    f = FadingStream(FadingSpec("rayleigh", 0, 0.0), FS, None, seed=2,
                     impairments=Impairments(clock_ppm=500.0, cfo_subcarriers=0.3))
    d = np.zeros(40000, np.complex64)
    d[30000] = 1
    y = f.process(d)
    assert int(np.argmax(np.abs(y))) == round(f.output_index(30000)) == round((30000 + 6) / (1 + 500e-6) + 8)
