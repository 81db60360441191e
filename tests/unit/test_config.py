import pytest

from sdr_semcom.config import LinkConfig
from sdr_semcom.phy.channel import ChannelSpec


def test_defaults_and_toml(tmp_path):
    p = tmp_path / "link.toml"
    p.write_text('modulation = "16qam"\nmtu = 500\n[eve]\nsnr_db = 3.5\ntaps = ["1", "0.2+0.1j"]\n'
                 'dc_offset_dbc = -25\ntone_dbc = -30.0\ntone_subcarriers = 4.5\n')
    cfg = LinkConfig.load(p)
    assert cfg.mod.bits == 4 and cfg.mtu == 500
    assert cfg.eve.snr_db == 3.5 and cfg.eve.taps == (1, 0.2 + 0.1j)
    assert (cfg.eve.dc_offset_dbc, cfg.eve.tone_dbc, cfg.eve.tone_subcarriers) == (-25, -30.0, 4.5)
    assert cfg.auth == LinkConfig().auth


@pytest.mark.parametrize("text, match", [
    ("modulaton = 'qpsk'\n", "unknown keys"),
    ("sample_rate = -1\n", "sample_rate"),
    ("modulation = 'qam64'\n", "unknown modulation"),
    ("this is not toml", "cannot read"),
    ("[auth]\niq_phase_deg = 90\n", "iq_phase_deg"),
])
def test_bad_configs_are_refused(tmp_path, text, match):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ValueError, match=match):
        LinkConfig.load(p)


def test_noise_voltage_follows_in_band_snr():
    # 0 dB in-band: total noise power over the 64 bins is 64/52 of the unit signal power
    assert ChannelSpec(snr_db=0).noise_voltage ** 2 == pytest.approx(64 / 52)
    assert ChannelSpec(snr_db=10).noise_voltage ** 2 == pytest.approx(64 / 52 / 10)
    with pytest.raises(ValueError, match="seed"):
        ChannelSpec(seed=0)
