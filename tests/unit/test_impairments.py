"""The receiver's impairments in numpy (sdr_semcom/channels/impairments.py): the same math as engine semcom's
compiled pass, chunk-independent; engine sionna's config keeps CFO, clock and front end and drops the taps."""

import numpy as np
import pytest

from sdr_semcom.channels import impairments
from sdr_semcom.channels.impairments import ClockAndCfo, Impairments
from sdr_semcom.config import ConfigError, LinkConfig, from_dict
from sdr_semcom.phy import channel
from sdr_semcom.phy.channel import ChannelEmulator, ChannelSpec


def _signal(n, seed=4):
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


@pytest.mark.parametrize("ppm,cfo", [(20.0, 0.3), (-150.0, -1.7), (0.0, 0.45), (35.0, 0.0)])
def test_clock_and_cfo_is_engine_semcoms_math(ppm, cfo):
    """ClockAndCfo's output n is ChannelEmulator's output n - 8 (no taps, noise 300 dB down)."""
    x = _signal(40000)
    emu = ChannelEmulator(ChannelSpec(snr_db=300.0, cfo_subcarriers=cfo, clock_ppm=ppm, taps=(1.0,)))
    ref = np.concatenate([emu.process(x), emu.flush()])
    c = ClockAndCfo(ppm, cfo)
    y = c.process(x)
    assert c.delay == 8 and y.size == pytest.approx(x.size / (1 + ppm * 1e-6), abs=2)
    n = min(y.size - 8, ref.size)
    np.testing.assert_allclose(y[8: 8 + n], ref[:n], atol=2e-5)


def test_clock_and_cfo_does_not_depend_on_the_cut():
    x = _signal(30000)
    whole = ClockAndCfo(80.0, 0.3).process(x)
    c = ClockAndCfo(80.0, 0.3)
    cuts = np.sort(np.random.default_rng(2).choice(np.arange(1, x.size), 60, replace=False))
    parts = np.concatenate([c.process(p) for p in np.split(x, cuts)])
    np.testing.assert_array_equal(parts, whole)


def test_one_implementation():
    """engine semcom's front end and interpolator are the numpy module's."""
    assert channel.FrontEnd is impairments.FrontEnd and channel.interpolator is impairments.interpolator
    spec = ChannelSpec(cfo_subcarriers=0.3, clock_ppm=20, iq_gain_db=1.0, tone_dbc=-20.0)
    assert spec.impairments == Impairments(0.3, 20.0, None, -20.0, 0.0, 1.0, 0.0) and spec.front_end
    with pytest.raises(ValueError, match="iq_gain_db must be within"):
        ChannelSpec(iq_gain_db=7.0)
    with pytest.raises(ValueError, match="clock_ppm must be within"):
        Impairments(clock_ppm=2e5)
    assert Impairments(0.3, 20.0).args("eve-") == ["--eve-cfo", "0.3", "--eve-clock-ppm", "20.0"]


def test_engine_sionna_keeps_impairments_and_drops_taps():
    cfg = LinkConfig().with_overrides(engine="sionna")
    assert cfg.auth.taps == (1.0,) and cfg.auth.cfo_subcarriers == 0.3 and cfg.auth.clock_ppm == 20.0
    cfg = from_dict({"auth": {"engine": "sionna", "model": "cdl-a", "cfo_subcarriers": 0.5, "iq_phase_deg": 2.0}})
    assert cfg.auth.taps == (1.0,) and cfg.auth.impairments.iq_phase_deg == 2.0 and cfg.auth.fading.model == "cdl-a"
    with pytest.raises(ConfigError, match="multipath; leave out taps"):
        from_dict({"auth": {"engine": "sionna", "taps": [1, 0.3]}}, "x.toml")
    with pytest.raises(ValueError, match="leave out taps"):
        ChannelSpec(engine="sionna", taps=(1.0, 0.5))
