import pytest

from sdr_semcom.config import LinkConfig
from sdr_semcom.phy.channel import ChannelSpec


def test_defaults_and_toml(tmp_path):
    p = tmp_path / "link.toml"
    p.write_text('modulation = "16qam"\nmtu = 500\n[eve]\nsnr_db = 3.5\ntaps = ["1", "0.2+0.1j"]\n')
    cfg = LinkConfig.load(p)
    assert cfg.mod.bits == 4 and cfg.mtu == 500
    assert cfg.eve.snr_db == 3.5 and cfg.eve.taps == (1, 0.2 + 0.1j)
    assert cfg.auth == LinkConfig().auth


def test_unknown_key_and_bad_values(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("modulaton = 'qpsk'\n")
    with pytest.raises(ValueError, match="unknown keys"):
        LinkConfig.load(p)
    p.write_text("sample_rate = -1\n")
    with pytest.raises(ValueError, match="sample_rate"):
        LinkConfig.load(p)
    p.write_text("modulation = 'qam64'\n")
    with pytest.raises(ValueError, match="unknown modulation"):
        LinkConfig.load(p)
    p.write_text("this is not toml")
    with pytest.raises(ValueError, match="cannot read"):
        LinkConfig.load(p)


def test_noise_voltage_follows_in_band_snr():
    # 0 dB in-band: total noise power over the 64 bins is 64/52 of the unit signal power
    assert ChannelSpec(snr_db=0).noise_voltage ** 2 == pytest.approx(64 / 52)
    assert ChannelSpec(snr_db=10).noise_voltage ** 2 == pytest.approx(64 / 52 / 10)
    with pytest.raises(ValueError, match="seed"):
        ChannelSpec(seed=0)
