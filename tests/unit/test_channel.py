"""The sdr-semcom channel emulator (engine "semcom") against the model it claims."""

import numpy as np
import pytest

from sdr_semcom.phy import kernels, ofdm
from sdr_semcom.phy.channel import ChannelEmulator, ChannelSpec, impaired


def _run(spec: ChannelSpec, x: np.ndarray, chunks=None, rng=None) -> np.ndarray:
    emu = ChannelEmulator(spec)
    if chunks is None:
        return np.concatenate([emu.process(x), emu.flush()])
    parts, i = [], 0
    while i < x.size:
        k = int(rng.integers(1, chunks))
        parts.append(emu.process(x[i : i + k]))
        i += k
    return np.concatenate(parts + [emu.flush()])


@pytest.fixture(scope="module")
def bursts():
    rng = np.random.default_rng(5)
    return np.concatenate([ofdm.modulate(rng.bytes(200), gap=100) for _ in range(6)])


def test_a_clean_channel_is_the_identity(bursts):
    y = _run(ChannelSpec(snr_db=400), bursts)
    assert y.size >= bursts.size
    np.testing.assert_allclose(y[: bursts.size], bursts, atol=1e-6)


def test_output_does_not_depend_on_chunking(bursts, rng):
    spec = impaired(5, seed=9, engine="semcom")
    whole = _run(spec, bursts)
    cut = _run(spec, bursts, chunks=3000, rng=rng)
    assert cut.size == whole.size
    np.testing.assert_allclose(cut, whole, atol=1e-6)
    other_seed = _run(impaired(5, seed=10, engine="semcom"), bursts)
    assert np.abs(other_seed - whole).mean() > 0.1


FRONT_END = {"dc_offset_dbc": -20.0, "tone_dbc": -25.0, "tone_subcarriers": 5.3, "iq_gain_db": 0.5,
             "iq_phase_deg": 3.0}


def test_front_end_output_does_not_depend_on_chunking(bursts, rng):
    spec = ChannelSpec(snr_db=20, clock_ppm=20.0, seed=4, **FRONT_END)
    whole = _run(spec, bursts)
    np.testing.assert_allclose(_run(spec, bursts, chunks=3000, rng=rng), whole, atol=1e-6)
    plain = _run(ChannelSpec(snr_db=20, clock_ppm=20.0, seed=4), bursts)
    assert np.abs(whole - plain).mean() > 0.1  # the impairments are there


def test_front_end_impairments_follow_their_definition():
    quiet = _run(ChannelSpec(snr_db=400, dc_offset_dbc=-20.0), np.zeros(5000, np.complex64))
    np.testing.assert_allclose(quiet[:4000], 0.1 * np.exp(1j * np.pi / 4), atol=1e-6)
    y = _run(ChannelSpec(snr_db=400, tone_dbc=-10.0, tone_subcarriers=-5.3), np.zeros(5000, np.complex64))
    assert np.mean(np.abs(y[:4000]) ** 2) == pytest.approx(0.1, rel=1e-4)
    assert np.angle(np.vdot(y[:3999], y[1:4000])) / (2 * np.pi) == pytest.approx(-5.3 / ofdm.NFFT, rel=1e-6)
    # IQ imbalance: a tone at +f gets an image at -f, |nu / mu|^2 below it (-28 dB for 0.5 dB, 3 degrees)
    f = 3 / 64
    tone = np.exp(2j * np.pi * f * np.arange(6400)).astype(np.complex64)
    y = _run(ChannelSpec(snr_db=400, iq_gain_db=0.5, iq_phase_deg=3.0), tone)[:6400]
    spectrum = np.abs(np.fft.fft(y)) ** 2
    g, phi = 10 ** (0.5 / 20), np.radians(3.0)
    want = abs((1 - g * np.exp(1j * phi)) / (1 + g * np.exp(-1j * phi))) ** 2
    assert spectrum[-300] / spectrum[300] == pytest.approx(want, rel=1e-3)
    assert 10 * np.log10(want) == pytest.approx(-28.0, abs=0.5)


def test_noise_power_follows_the_snr_convention():
    spec = ChannelSpec(snr_db=10.0, seed=3)
    y = _run(spec, np.zeros(200_000, np.complex64))
    assert np.mean(np.abs(y) ** 2) == pytest.approx(spec.noise_voltage**2, rel=0.02)
    assert np.mean(y.real**2) == pytest.approx(np.mean(y.imag**2), rel=0.03)
    assert abs(np.mean(y.real * y.imag)) < 0.01 * spec.noise_voltage**2


def test_normals_are_standard_normal():
    out = np.empty(1 << 21)
    kernels.normals(np.array([7], np.uint64), *kernels.normal_tables(), out)
    assert abs(out.mean()) < 3e-3 and out.var() == pytest.approx(1.0, abs=3e-3)
    assert np.mean(out**4) == pytest.approx(3.0, abs=0.03)
    for a, p in [(1.0, 0.3173), (2.0, 0.0455), (3.0, 0.0027)]:  # two-sided tail probabilities
        assert np.mean(np.abs(out) > a) == pytest.approx(p, rel=0.05)
    odd = np.full(5, np.nan)  # an odd count draws its last sample alone
    kernels.normals(np.array([7], np.uint64), *kernels.normal_tables(), odd)
    assert np.isfinite(odd).all() and odd[0] == out[0]


def test_cfo_clock_and_multipath_are_applied():
    f = 0.3 / ofdm.NFFT
    y = _run(ChannelSpec(snr_db=400, cfo_subcarriers=0.3), np.ones(5000, np.complex64))
    assert np.angle(np.vdot(y[100:4000], y[101:4001])) / (2 * np.pi) == pytest.approx(f, rel=1e-6)
    taps = (1.0, 0.5j, 0.0, -0.25)
    impulse = np.zeros(64, np.complex64)
    impulse[20] = 1
    h = _run(ChannelSpec(snr_db=400, taps=taps), impulse)[20:24]
    np.testing.assert_allclose(h, np.array(taps) / np.linalg.norm(taps), atol=1e-6)
    # a tone read by a fast clock: output m is the input at time m (1 + ppm)
    ppm, nu = 500.0, 0.11
    tone = np.exp(2j * np.pi * nu * np.arange(20_000)).astype(np.complex64)
    y = _run(ChannelSpec(snr_db=400, clock_ppm=ppm), tone)
    m = np.arange(1000, 19_000)
    want = np.exp(2j * np.pi * nu * m * (1 + ppm * 1e-6))
    assert 10 * np.log10(np.mean(np.abs(y[m] - want) ** 2)) < -40


def test_interpolation_error_on_a_burst_is_below_minus_30_db(bursts):
    """Against ideal (band-limited, FFT) resampling of the same OFDM bursts."""
    step = 1 + 2000e-6
    y = _run(ChannelSpec(snr_db=400, clock_ppm=2000), bursts)
    spectrum, f = np.fft.fft(bursts), np.fft.fftfreq(bursts.size)
    m = np.arange(1000, 1400)
    ideal = np.exp(2j * np.pi * np.outer(m * step, f)) @ spectrum / bursts.size
    err = np.mean(np.abs(y[m] - ideal) ** 2) / np.mean(np.abs(ideal) ** 2)
    assert 10 * np.log10(err) < -30


@pytest.mark.parametrize("bad, match", [({"engine": "matlab"}, "engine"), ({"snr_db": float("nan")}, "snr_db"),
                                        ({"clock_ppm": -1e6}, "clock_ppm"), ({"taps": (1.0, float("inf"))}, "taps"),
                                        ({"seed": 0}, "seed"), ({"dc_offset_dbc": float("nan")}, "dc_offset_dbc"),
                                        ({"tone_dbc": 30.0}, "tone_dbc"),
                                        ({"tone_subcarriers": 40.0}, "tone_subcarriers"),
                                        ({"tone_subcarriers": float("inf")}, "tone_subcarriers"),
                                        ({"iq_gain_db": 10.0}, "iq_gain_db"), ({"iq_phase_deg": -60.0}, "iq_phase_deg"),
                                        ({"engine": "gnuradio", "dc_offset_dbc": -30.0}, "engine 'semcom'")])
def test_impossible_channels_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        ChannelSpec(**bad)
