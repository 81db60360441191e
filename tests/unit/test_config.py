import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdr_semcom.config import CODEC_MAX_PACKET, DEMO_LINK, MAX_MTU, ConfigError, LinkConfig
from sdr_semcom.phy import ofdm
from sdr_semcom.phy.framing import CRC_LEN, HEADER_LEN
from tests.conftest import ROOT
from sdr_semcom.phy.channel import ChannelSpec


def test_defaults_and_toml(tmp_path):
    p = tmp_path / "link.toml"
    p.write_text('modulation = "16qam"\nmtu = 800\n[eve]\nsnr_db = 3.5\ntaps = ["1", "0.2+0.1j"]\n'
                 'dc_offset_dbc = -25\ntone_dbc = -30.0\ntone_subcarriers = 4.5\n')
    cfg = LinkConfig.load(p)
    assert cfg.mod.bits == 4 and cfg.mtu == 800
    assert cfg.eve.snr_db == 3.5 and cfg.eve.taps == (1, 0.2 + 0.1j)
    assert (cfg.eve.dc_offset_dbc, cfg.eve.tone_dbc, cfg.eve.tone_subcarriers) == (-25, -30.0, 4.5)
    assert cfg.auth == LinkConfig().auth


def test_noise_voltage_follows_in_band_snr():
    # 0 dB in-band: total noise power over the 64 bins is 64/52 of the unit signal power
    assert ChannelSpec(snr_db=0).noise_voltage ** 2 == pytest.approx(64 / 52)
    assert ChannelSpec(snr_db=10).noise_voltage ** 2 == pytest.approx(64 / 52 / 10)
    with pytest.raises(ValueError, match="seed"):
        ChannelSpec(seed=0)


@pytest.mark.parametrize("text, match", [
    ("modulaton = 'qpsk'\n", "unknown keys"),
    ("sample_rate = -1\n", "sample_rate: must be > 0"),
    ("modulation = 'qam64'\n", "unknown modulation"),
    ("this is not toml", "cannot read"),
    ('mtu = "big"\n', r"link.toml: mtu: must be an integer, got 'big'"),
    ("mtu = 10\n", r"link.toml: mtu: must be 768..16363 \(768: the codec's largest feature packet"),
    ("mtu = 100000\n", r"mtu: must be 768..16363"),
    ("mtu = true\n", r"mtu: must be an integer, got True"),
    ('sample_rate = "1e6"\n', r"link.toml: sample_rate: must be a number, got '1e6'"),
    ("sample_rate = nan\n", r"sample_rate: must be a finite number"),
    ("gap = 1.5\n", r"link.toml: gap: must be an integer, got 1.5"),
    ("gap = -1\n", r"gap: must be 0..10000000, got -1"),
    ("modulation = 5\n", r"modulation: must be a string"),
    ('[auth]\nsnr_db = "high"\n', r"link.toml: \[auth\] snr_db: must be a number, got 'high'"),
    ("[eve]\nsnr_db = inf\n", r"\[eve\] snr_db: must be a finite number"),
    ("auth = 5\n", r"link.toml: \[auth\]: must be a table"),
    ("[auth]\nsnr = 3\n", r"\[auth\]: unknown keys \['snr'\]"),
    ('[auth]\ntaps = ["1", "x"]\n', r"\[auth\] taps\[1\]: not a number or complex string"),
    ("[auth]\ntaps = []\n", r"\[auth\] taps: must be a non-empty list"),
    ("[auth]\ntaps = [0, 0]\n", r"\[auth\]: channel taps must not all be zero"),
    ("[eve]\nseed = 0\n", r"\[eve\] seed: must be 1..2147483647, got 0"),
    ('[eve]\nengine = "matlab"\n', r"\[eve\] engine: must be one of semcom, gnuradio"),
    ("[eve]\nclock_ppm = 1e6\n", r"\[eve\]: channel clock_ppm must be within"),
    ("[auth]\niq_phase_deg = 90\n", r"link.toml: \[auth\]: channel iq_phase_deg must be within \+-45"),
    ('[eve]\ntone_dbc = "loud"\n', r"\[eve\] tone_dbc: must be a number, got 'loud'"),
    ("[eve]\ndc_offset_dbc = nan\n", r"\[eve\] dc_offset_dbc: must be a finite number"),
    ("[auth]\ntone_subcarriers = 33\n", r"\[auth\]: channel tone_subcarriers must be within \+-32"),
    ('[auth]\nengine = "gnuradio"\ndc_offset_dbc = -30\n', r"\[auth\]: channel engine 'gnuradio' has no DC offset"),
])
def test_every_key_is_checked_at_load_with_file_table_and_key(tmp_path, text, match):
    p = tmp_path / "link.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match):
        LinkConfig.load(p)


def test_a_flag_the_channel_refuses_is_a_config_error(tmp_path):
    p = tmp_path / "link.toml"
    p.write_text("[auth]\ndc_offset_dbc = -30\n")
    with pytest.raises(ConfigError, match=r"command line \(engine='gnuradio'\) on \[auth\]: channel engine 'gnuradio' "
                                          "has no DC offset"):
        LinkConfig.load(p).with_overrides(engine="gnuradio")


def test_the_mtu_floor_holds_the_codecs_largest_packet():
    manifest = json.loads((ROOT / "models" / "codec_v2.json").read_text())
    assert manifest["config"]["packet_bytes"] * 3 // 2 == CODEC_MAX_PACKET  # codec v2: no packet over 1.5x the mean
    assert MAX_MTU + HEADER_LEN + CRC_LEN == ofdm.MAX_FRAME_BYTES


def test_stated_keys_and_base(tmp_path):
    p = tmp_path / "link.toml"
    p.write_text("mtu = 900\n[eve]\nsnr_db = 4\n")
    cfg = LinkConfig.load(p)
    assert cfg.states("mtu") and cfg.states("eve.snr_db") and not cfg.states("auth.snr_db")
    assert LinkConfig.load(p, base=DEMO_LINK).auth.snr_db == DEMO_LINK.auth.snr_db
    assert LinkConfig.load(None, base=DEMO_LINK) is DEMO_LINK
    assert "stated" not in cfg.to_json() and cfg.to_json()["mtu"] == 900


# ------------------------------------------------------------------ random documents: never a traceback
_names = st.sampled_from(["modulation", "mtu", "gap", "sample_rate", "auth", "eve", "snr_db", "taps", "seed",
                          "engine", "cfo_subcarriers", "clock_ppm", "dc_offset_dbc", "tone_dbc",
                          "tone_subcarriers", "iq_gain_db", "iq_phase_deg", "x"])
_scalars = (st.integers(-2**70, 2**70) | st.floats(allow_nan=True, allow_infinity=True) | st.booleans()
            | st.text(max_size=8) | st.sampled_from(["qpsk", "16qam", "semcom", "gnuradio", "1+2j", "1e6"]))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(_names, inner, max_size=4), max_leaves=8)


def _toml(value) -> str:
    """A TOML literal (inline tables and arrays nest)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_names, _values, max_size=6) | st.text(max_size=60))
def test_random_toml_documents_never_give_a_traceback(tmp_path_factory, doc):
    p = tmp_path_factory.mktemp("toml") / "link.toml"
    p.write_text(doc if isinstance(doc, str) else "".join(f"{k} = {_toml(v)}\n" for k, v in doc.items()))
    try:
        cfg = LinkConfig.load(p)
    except ValueError as exc:
        assert str(exc).startswith(str(p)), exc  # names the file
        assert isinstance(exc, ConfigError)
    else:
        assert isinstance(cfg, LinkConfig) and CODEC_MAX_PACKET <= cfg.mtu <= MAX_MTU and cfg.gap >= 0
