"""Calibration (sdr_semcom.calibration): each estimate on the loopback with known impairments, within the
tolerances stated in docs/calibration.md; the gain advice; the calibration file; tx / rx use."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sdr_semcom import cli
from sdr_semcom.calibration import CalibrationError, Loopback, calibration_waveform, estimate, loopback_capture
from sdr_semcom.calibration.apply import precorrect, rx_receiver
from sdr_semcom.calibration.calfile import CalibrationFile
from sdr_semcom.calibration.gains import DATA_PEAK_DB, GainPolicy, recommend, tune_gains
from sdr_semcom.config import ConfigError
from sdr_semcom.phy import ofdm
from sdr_semcom.phy.channel import ChannelEmulator
from sdr_semcom.phy.mapping import Modulation, constellation

#: the stated tolerances (docs/calibration.md)
CFO_HZ, CLOCK_PPM, SNR_DB, DC_DB, IQ_GAIN_DB, IQ_PHASE_DEG = 50.0, 2.0, 1.0, 1.0, 0.1, 1.0


def _measure(link: Loopback, n_bursts: int = 32, freq_hz=None):
    cap = loopback_capture(link, n_bursts, freq_hz)
    return estimate(cap.samples, cap.sample_rate, cap.freq_hz)


@pytest.mark.parametrize("link", [
    Loopback(snr_db=20, cfo_hz=12_345, clock_ppm=20, seed=3),
    Loopback(snr_db=20, cfo_hz=-40_000, clock_ppm=-7, multipath=True, seed=4),
    Loopback(snr_db=20, cfo_hz=700, clock_ppm=1.5, dc_offset_dbc=-25, iq_gain_db=1, iq_phase_deg=5, seed=5),
    Loopback(snr_db=10, cfo_hz=-3_000, clock_ppm=50, multipath=True, seed=6),
], ids=["12kHz_20ppm", "-40kHz_multipath", "front_end", "10dB"])
def test_cfo_and_clock_within_tolerance(link):
    r = _measure(link, freq_hz=2.45e9)
    assert r.n_bursts == 32
    assert r.cfo_hz.value == pytest.approx(link.cfo_hz, abs=CFO_HZ)
    assert r.cfo_subcarriers == pytest.approx(link.cfo_hz / (1e6 / 64), abs=0.05)
    assert r.cfo_ppm.value == pytest.approx(link.cfo_hz / 2.45e9 * 1e6, abs=CFO_HZ / 2.45e3)
    assert r.sample_clock_ppm.value == pytest.approx(link.clock_ppm, abs=CLOCK_PPM)
    assert r.snr_db.value == pytest.approx(link.snr_db, abs=SNR_DB)
    assert 0 < r.cfo_hz.spread < CFO_HZ and 0 < r.sample_clock_ppm.spread < CLOCK_PPM


@pytest.mark.parametrize("extra", [{"tone_dbc": -10, "tone_subcarriers": -11.7}, {"dc_offset_dbc": -5}, {"snr_db": 3}],
                         ids=["tone_-10dBc", "dc_-5dBc", "3dB"])
def test_detection_survives_tones_dc_and_low_snr(extra):
    link = Loopback(**{"snr_db": 20, "cfo_hz": 7_000, "clock_ppm": 5, "multipath": True, "seed": 2, **extra})
    r = _measure(link, 16)
    assert r.n_bursts == 16
    assert r.cfo_hz.value == pytest.approx(link.cfo_hz, abs=CFO_HZ)
    assert r.sample_clock_ppm.value == pytest.approx(link.clock_ppm, abs=CLOCK_PPM)


@pytest.mark.parametrize("cfo_hz", [-61_000, 61_000])
def test_cfo_range_is_a_sixteenth_of_the_sample_rate(cfo_hz):
    r = _measure(Loopback(snr_db=20, cfo_hz=cfo_hz, seed=7), 8)
    assert r.cfo_range_hz == 62_500
    assert r.cfo_hz.value == pytest.approx(cfo_hz, abs=CFO_HZ)


@pytest.mark.parametrize("snr", [10, 15, 20, 25, 30])
def test_snr_and_noise_floor_within_tolerance(snr):
    link = Loopback(snr_db=snr, cfo_hz=2_000, clock_ppm=5, multipath=True, seed=snr)
    r = _measure(link)
    assert r.snr_db.value == pytest.approx(snr, abs=SNR_DB)
    # noise over the whole band: the burst level less the in-band SNR, plus 64 / 52
    expected = link.level_dbfs - snr + 10 * np.log10(64 / 52)
    assert r.noise_floor_dbfs.value == pytest.approx(expected, abs=0.5)


@pytest.mark.parametrize("dc_dbc", [-20, -30])
def test_dc_offset_within_tolerance(dc_dbc):
    r = _measure(Loopback(snr_db=20, cfo_hz=5_000, dc_offset_dbc=dc_dbc, iq_gain_db=0.5, iq_phase_deg=2, seed=8))
    assert r.dc_offset_dbc.value == pytest.approx(dc_dbc, abs=DC_DB)
    # the emulator's offset sits at 45 degrees
    assert np.angle(r.dc_offset) == pytest.approx(np.pi / 4, abs=0.2)


@pytest.mark.parametrize("gain_db, phase_deg", [(0.5, 3), (-1, -5), (1.5, 10), (0, 0)])
def test_iq_imbalance_within_tolerance(gain_db, phase_deg):
    r = _measure(Loopback(snr_db=20, cfo_hz=-9_000, clock_ppm=10, multipath=True, dc_offset_dbc=-25,
                          iq_gain_db=gain_db, iq_phase_deg=phase_deg, seed=9))
    assert r.iq_gain_db.value == pytest.approx(gain_db, abs=IQ_GAIN_DB)
    assert r.iq_phase_deg.value == pytest.approx(phase_deg, abs=IQ_PHASE_DEG)


def test_levels_peaks_and_compression():
    clean = _measure(Loopback(snr_db=25, level_dbfs=-20, seed=10), 8)
    assert clean.clipped == 0 and clean.peak_dbfs < -6 and abs(clean.compression_db.value) < 0.1
    assert clean.level_dbfs.value == pytest.approx(-20, abs=0.3)
    squashed = _measure(Loopback(snr_db=25, level_dbfs=-20, pa_sat_db=3, seed=10), 8)
    assert squashed.compression_db.value < -0.5 and squashed.papr_db < clean.papr_db - 1
    clipped = _measure(Loopback(snr_db=25, level_dbfs=-3, seed=10), 8)
    assert clipped.clipped > 0 and clipped.peak_dbfs == pytest.approx(0, abs=0.01)


def test_bad_captures_are_calibration_errors(rng):
    noise = (rng.standard_normal(50_000) + 1j * rng.standard_normal(50_000)) * 0.01
    with pytest.raises(CalibrationError, match="found 0 complete calibration bursts"):
        estimate(noise, 1e6)
    with pytest.raises(CalibrationError, match="non-finite"):
        estimate(np.full(10, np.nan, complex), 1e6)
    with pytest.raises(ValueError, match="at least 3 bursts"):
        calibration_waveform(2)


def test_the_data_bursts_peak_statistic_holds(rng):
    """gains.DATA_PEAK_DB: max(|I|, |Q|)^2 / mean power of the PHY's bursts exceeded by 1e-4 of samples."""
    for mod in ("bpsk", "16qam"):
        x = np.concatenate([ofdm.modulate(rng.bytes(1000), mod) for _ in range(20)])
        m = np.maximum(np.abs(x.real), np.abs(x.imag)) ** 2 / np.mean(np.abs(x) ** 2)
        assert 10 * np.log10(np.quantile(m, 1 - 1e-4)) == pytest.approx(DATA_PEAK_DB, abs=1.0)


# ------------------------------------------------------------------------------------------------ gains
def test_advice_for_clipping_compression_and_snr():
    policy = GainPolicy()
    clipped = recommend(_measure(Loopback(level_dbfs=-2, seed=11), 8), 60, 40)
    assert clipped.rx_change_db <= -6 and clipped.tx_change_db == 0 and "clips" in " ".join(clipped.reasons)
    compressed = recommend(_measure(Loopback(pa_sat_db=3, seed=11), 8), 60, 40)
    assert compressed.tx_change_db <= -2 and "compresses" in " ".join(compressed.reasons)
    weak = recommend(_measure(Loopback(snr_db=12, level_dbfs=-30, seed=11), 8), 60, 40)
    assert weak.tx_change_db > 0 and weak.rx_change_db > 0
    right = recommend(_measure(Loopback(snr_db=25, level_dbfs=policy.target_rms_dbfs, seed=11), 8), 60, 40)
    assert right.converged and right.lines()[0] == "gains are right: keep them"


@pytest.mark.parametrize("start", [(70, 60), (50, 20)])
def test_gain_loop_converges_on_a_compressing_loopback(start):
    """From a clipping, compressing start and from a weak one: no clipping, no compression, SNR in range."""
    link = Loopback(snr_db=25, pa_sat_db=6, level_dbfs=-20, seed=12)

    def measure(tx, rx):
        return _measure(replace(link, tx_gain_db=tx - 60, rx_gain_db=rx - 40), 12)

    rounds = tune_gains(measure, *start)
    assert len(rounds) <= 6
    tx, rx, last, advice = rounds[-1]
    assert advice.converged, [r[3].lines() for r in rounds]
    assert last.clipped == 0 and last.compression_db.value > -0.5
    assert 20 <= last.snr_db.value <= 30
    assert last.level_dbfs.value == pytest.approx(GainPolicy().target_rms_dbfs, abs=1.6)


# ------------------------------------------------------------------------------------- file, tx and rx
@pytest.fixture(scope="module")
def big_cfo():
    """A link 1.5 subcarriers (23.4 kHz) off: beyond the PHY's own CFO range, within the calibration's."""
    link = Loopback(snr_db=25, cfo_hz=1.5 * 1e6 / 64, clock_ppm=10, dc_offset_dbc=-25, iq_gain_db=1.5,
                    iq_phase_deg=10, seed=13)
    r = _measure(link, freq_hz=915e6)
    return link, CalibrationFile.from_result(r, "loopback", gains=(55.0, 45.5), measured_gains=(60.0, 40.0))


def test_file_round_trip(big_cfo, tmp_path):
    _, cal = big_cfo
    back = CalibrationFile.load(cal.save(tmp_path / "cal.toml"))
    assert back == cal
    assert back.estimates["cfo_hz"].value == pytest.approx(cal.estimates["cfo_hz"].value, rel=1e-6)
    assert back.estimates["clipped"] == 0
    assert back.cfo_correction_hz == pytest.approx(-1.5 * 1e6 / 64, abs=CFO_HZ)


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("cfo_correction_hz = ", "cfo_correction_hz = 'x' #"),
     r"\[correction\] cfo_correction_hz: must be a finite number"),
    (lambda t: t.replace("iq_phase_deg = ", "iq_phase_deg = 90 #", 2), r"\[correction\] iq_phase_deg: must be within"),
    (lambda t: t.replace("[gains]", "[gains]\ntx_gian_db = 3"), r"\[gains\] unknown keys \['tx_gian_db'\]"),
    (lambda t: t.replace("format = 1", "format = 7"), "format: must be 1"),
    (lambda t: t.replace("sample_rate = ", "# sample_rate = "), r"\[device\] sample_rate: missing"),
    (lambda t: t.replace("dc_offset = [", "dc_offset = [1, "), r"\[correction\] dc_offset: must be \[re, im\]"),
    (lambda t: t.replace("rx_front_end = true", "rx_front_end = 1"), "rx_front_end: must be true or false"),
    (lambda t: t + "[broken", "cannot read calibration file"),
])
def test_malformed_file_names_the_key(big_cfo, tmp_path, edit, message):
    p = tmp_path / "bad.toml"
    p.write_text(edit(big_cfo[1].to_toml()))
    with pytest.raises(ConfigError, match=message) as exc:
        CalibrationFile.load(p)
    assert str(p) in str(exc.value)


def _bursts(rng, n=20, mod="16qam"):
    return np.concatenate([ofdm.modulate(rng.bytes(400), mod, gap=400) for _ in range(n)])


def _receive(link, x, receiver=None):
    emu = ChannelEmulator(link.channel())
    y = np.concatenate([emu.process(x), emu.flush()])
    rx = receiver or ofdm.BurstReceiver()
    return rx.feed(y) + rx.flush()


def test_tx_precorrection_of_a_large_cfo(big_cfo, rng):
    link, cal = big_cfo
    x = _bursts(rng)
    assert not any(b.payload for b in _receive(link, x))  # the PHY alone cannot follow 1.5 subcarriers
    got = _receive(link, precorrect(x, cal.cfo_correction_hz, 1e6))
    assert len(got) == 20 and all(b.payload for b in got)
    assert np.median([abs(b.cfo) * 1e6 for b in got]) < CFO_HZ


def test_tx_rotator_block_precorrects_like_numpy(big_cfo, rng):
    """The GNU Radio path of tx --calibration (a rotator between burst source and sink)."""
    from gnuradio import blocks, gr

    from sdr_semcom.blocks import BurstSink, make_channel_block
    from sdr_semcom.calibration.apply import tx_rotator

    link, cal = big_cfo
    got = []
    tb = gr.top_block()
    src = blocks.vector_source_c(_bursts(rng, 10).tolist() + [0j] * 2000)
    rot, chan, sink = tx_rotator(cal, 1e6), make_channel_block(link.channel()), BurstSink(on_burst=got.append)
    tb.connect(src, rot, chan, sink)
    tb.run()
    sink.flush()
    assert len(got) == 10 and all(b.payload for b in got)
    assert np.median([abs(b.cfo) * 1e6 for b in got]) < CFO_HZ


def test_tx_rotator_keeps_a_usrps_burst_tags(big_cfo):
    """The transmitter's flowgraph with a calibration and a front end that wants tx_sob / tx_eob (a USRP
    in tagged burst mode): the rotator sits before the front end, shifts every sample and leaves the
    tags on theirs."""
    import pmt
    from gnuradio import blocks

    from sdr_semcom.calibration.apply import precorrect
    from sdr_semcom.config import LinkConfig
    from sdr_semcom.link.roles import _tx_graph
    from sdr_semcom.radio.base import TxFrontEnd

    class Tagged(TxFrontEnd):
        kind, burst_tags = "fake", True

        def connect(self, tb, upstream):
            self.sink = blocks.vector_sink_c()
            tb.connect(upstream, self.sink)

    _, cal = big_cfo
    runs = {}
    for name, c in (("plain", None), ("calibrated", cal)):
        front = Tagged()
        tb, src = _tx_graph(LinkConfig(), front, c)
        for f in (b"a" * 40, b"b" * 300):
            src.send(f)
        src.close()
        tb.run()
        tags = sorted((pmt.symbol_to_string(t.key), t.offset) for t in front.sink.tags())
        runs[name] = np.asarray(front.sink.data(), np.complex64), tags
    (x, tags), (y, cal_tags) = runs["plain"], runs["calibrated"]
    assert cal_tags == tags and {k for k, _ in tags} >= {"tx_sob", "tx_eob", "eot"}
    np.testing.assert_allclose(y, precorrect(x, cal.cfo_correction_hz, 1e6), atol=1e-3)  # float32 phase


def test_rx_front_end_correction_restores_the_evm(big_cfo, rng):
    link, cal = big_cfo
    link = replace(link, snr_db=30, cfo_hz=2_000)
    x = _bursts(rng, 15)
    c = constellation(Modulation.QAM16)

    def evm_snr(bursts):
        eq = np.concatenate([b.equalised for b in bursts])
        return 10 * np.log10(np.mean(np.abs(c) ** 2) / np.mean(np.min(np.abs(eq[:, None] - c[None]) ** 2, axis=1)))

    plain, corrected = evm_snr(_receive(link, x)), evm_snr(_receive(link, x, rx_receiver(cal)))
    assert plain < 20 and corrected > 26  # the image at -18 dBc capped it
    assert rx_receiver(replace(cal, rx_front_end=False)) is None


# ------------------------------------------------------------------------------------------------ CLI
def test_calibrate_command_writes_a_file_that_file_source_reproduces(tmp_path):
    runner = CliRunner()
    out, cap = tmp_path / "cal.toml", tmp_path / "cap.cf32"
    res = runner.invoke(cli.main, ["calibrate", "--cfo-hz", "3000", "--ppm", "5", "--iq-gain-db", "0.5",
                                   "--dc-dbc", "-30", "--bursts", "8", "--freq", "2.4e9", "--out", str(out),
                                   "--save-capture", str(cap)])
    assert res.exit_code == 0, res.output
    assert "CFO" in res.output and "raise rx gain" in res.output and f"wrote {out}" in res.output
    cal = CalibrationFile.load(out)
    assert cal.cfo_correction_hz == pytest.approx(-3000, abs=CFO_HZ) and cal.freq_hz == 2.4e9
    assert cal.measured_gains == (60.0, 40.0) and cal.rx_gain_db > 40
    again = runner.invoke(cli.main, ["calibrate", "--source", "file", str(cap), "--rate", "1e6",
                                     "--out", str(tmp_path / "again.toml")])
    assert again.exit_code == 0, again.output
    assert CalibrationFile.load(tmp_path / "again.toml").cfo_correction_hz == cal.cfo_correction_hz
    wf = runner.invoke(cli.main, ["calibrate", "--write-waveform", str(tmp_path / "w.cf32"), "--bursts", "4"])
    assert wf.exit_code == 0 and (tmp_path / "w.cf32").stat().st_size == 4 * 2848 * 8


def test_calibrate_errors_are_one_line(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli.main, ["calibrate", "--source", "uhd", "--args", "type=b200,serial=XYZ"])
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [res.output.strip()]
    assert 'no USRP answered for device args "type=b200,serial=XYZ"' in res.output  # radio.uhd's line
    res = runner.invoke(cli.main, ["calibrate", "--source", "file", str(tmp_path / "none.cf32"), "--rate", "1e6"])
    assert res.exit_code == 1 and "no such file" in res.output
    (tmp_path / "noise.cf32").write_bytes(np.zeros(20_000, np.complex64).tobytes())
    res = runner.invoke(cli.main, ["calibrate", "--source", "file", str(tmp_path / "noise.cf32"), "--rate", "1e6"])
    assert res.exit_code == 1 and "found 0 complete calibration bursts" in res.output
    res = runner.invoke(cli.main, ["calibrate", "--iq-phase-deg", "60"])
    assert res.exit_code == 1 and "iq_phase_deg must be within +-45" in res.output


@pytest.mark.parametrize("command", ["tx", "rx"])
def test_tx_and_rx_refuse_a_malformed_calibration_file(command, tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("format = 1\n[device]\nsample_rate = 1e6\n[correction]\ncfo_correction_hz = 'fast'\n")
    res = CliRunner().invoke(cli.main, [command, "--calibration", str(p), "--connect-timeout", "1"])
    assert res.exit_code == 2
    assert f"{p}: [correction] cfo_correction_hz: must be a finite number" in res.output


def test_shipped_example_loads_and_sigmf_recordings_give_rate_and_frequency(tmp_path):
    import json
    from pathlib import Path

    example = CalibrationFile.load(Path(__file__).resolve().parents[2] / "calibration" / "loopback_example.toml")
    assert example.freq_hz == 2.45e9 and example.cfo_correction_hz == pytest.approx(-4900, abs=CFO_HZ)
    assert example.estimates["cfo_ppm"].value == pytest.approx(2.0, abs=0.05)
    cap = loopback_capture(Loopback(cfo_hz=-2_500, seed=14), 6)
    cap.samples.astype(np.complex64).tofile(tmp_path / "rec.sigmf-data")
    meta = {"global": {"core:datatype": "cf32_le", "core:sample_rate": 1e6, "core:version": "1.0.0"},
            "captures": [{"core:sample_start": 0, "core:frequency": 915e6}], "annotations": []}
    (tmp_path / "rec.sigmf-meta").write_text(json.dumps(meta))
    res = CliRunner().invoke(cli.main, ["calibrate", "--source", "file", str(tmp_path / "rec.sigmf-meta"),
                                        "--out", str(tmp_path / "rec.toml")])
    assert res.exit_code == 0, res.output
    cal = CalibrationFile.load(tmp_path / "rec.toml")
    assert (cal.sample_rate, cal.freq_hz, cal.source) == (1e6, 915e6, "file")
    assert cal.cfo_correction_hz == pytest.approx(2_500, abs=CFO_HZ)
    meta["global"]["core:datatype"] = "cu8"  # refused as rx --radio file and decode refuse it (exit 2)
    (tmp_path / "rec.sigmf-meta").write_text(json.dumps(meta))
    res = CliRunner().invoke(cli.main, ["calibrate", "--source", "file", str(tmp_path / "rec.sigmf-data")])
    assert res.exit_code == 2 and "core:datatype is 'cu8'; only cf32_le or ci16_le" in res.output
    r = estimate(cap.samples, cap.sample_rate)
    assert json.loads(json.dumps(r.to_json()))["cfo_hz"]["value"] == pytest.approx(-2_500, abs=CFO_HZ)


EXAMPLE = Path(__file__).resolve().parents[2] / "calibration" / "loopback_example.toml"


def test_recommended_gain_goes_to_a_usrp_unless_a_gain_was_given():
    from sdr_semcom.calibration.apply import radio_gain
    from sdr_semcom.radio import RadioOptions, UhdSettings

    cal = CalibrationFile.load(EXAMPLE)  # tx 60 dB, rx 46 dB
    usrp = RadioOptions(kind="uhd", uhd=UhdSettings(args="type=b200", channels=(0, 1)))
    got, line = radio_gain(cal, usrp, "rx")
    assert got.uhd == replace(usrp.uhd, gain=46.0) and "rx gain 46.0 dB: set on the USRP (channels 0, 1" in line
    for given, said in (({"gain": 30.0}, "--gain 30 dB given"), ({"norm_gain": 0.5}, "--norm-gain 0.5 given")):
        radio = replace(usrp, uhd=replace(usrp.uhd, **given))
        got, line = radio_gain(cal, radio, "tx")
        assert got == radio and "tx gain 60.0 dB" in line and said in line and "not set" not in line
    for kind, where in (("zmq", "ZeroMQ"), ("file", "a recording")):
        radio = RadioOptions(kind=kind, paths=(Path("x.cf32"),) if kind == "file" else ())
        got, line = radio_gain(cal, radio, "tx")
        assert got == radio and line.endswith(f"not set (no radio to set it on: {where}" + (
            " (--radio file))" if kind == "file" else ")"))
    assert radio_gain(replace(cal, tx_gain_db=None), usrp, "tx") == (usrp, None)


@pytest.fixture
def opened(monkeypatch):
    """The settings every USRP would be opened with (radio.uhd.open_usrp, stopped before any device)."""
    from sdr_semcom.radio import RadioError
    from sdr_semcom.radio import uhd

    seen = []

    def fake(direction, settings, rate, fallback=uhd.FALLBACK):
        seen.append((direction, settings, rate))
        raise RadioError("stopped before opening a device")

    monkeypatch.setattr(uhd, "open_usrp", fake)
    return seen


def test_tx_and_rx_set_the_calibration_gains_on_a_usrp(opened):
    runner = CliRunner()
    for args, want in ((["tx", "--radio", "uhd", "--args", "type=b200"], ("tx", 60.0, (0,))),
                       (["tx", "--radio", "uhd", "--gain", "20"], ("tx", 20.0, (0,))),
                       (["rx", "--radio", "uhd"], ("rx", 46.0, (0,))),
                       (["rx", "--role", "both", "--radio", "uhd"], ("rx", 46.0, (0, 1)))):
        res = runner.invoke(cli.main, [*args, "--calibration", str(EXAMPLE), "--payload", "raw"])
        assert res.exit_code == 1 and "stopped before opening a device" in res.output, res.output
        direction, settings, rate = opened.pop()
        assert (direction, settings.gain, settings.channels) == want and rate == 1e6
    res = runner.invoke(cli.main, ["calibrate", "--source", "uhd", "--args", "serial=X", "--rx-gain", "33",
                                   "--rate", "2e6"])
    assert res.exit_code == 1 and "stopped before opening a device" in res.output, res.output
    direction, settings, rate = opened.pop()  # calibrate opens its USRP where tx / rx do
    assert (direction, settings.args, settings.gain, settings.freq, rate) == ("rx", "serial=X", 33.0, 2.45e9, 2e6)


def test_calibrate_reads_what_tx_radio_file_writes(tmp_path):
    """tx --radio file --output NAME.sigmf-data writes radio.file.write_meta's metadata (no frequency);
    calibrate --source file takes the rate from it and refuses a --rate that contradicts it."""
    from sdr_semcom.radio.file import write_meta

    rec = tmp_path / "cal.sigmf-data"
    loopback_capture(Loopback(cfo_hz=3_000, seed=15), 6).samples.astype(np.complex64).tofile(rec)
    write_meta(rec, 1e6, "sdr-semcom tx burst stream")
    runner = CliRunner()
    res = runner.invoke(cli.main, ["calibrate", "--source", "file", str(rec), "--out", str(tmp_path / "c.toml")])
    assert res.exit_code == 0, res.output
    cal = CalibrationFile.load(tmp_path / "c.toml")
    assert (cal.sample_rate, cal.freq_hz) == (1e6, None)
    assert cal.cfo_correction_hz == pytest.approx(-3_000, abs=CFO_HZ)
    res = runner.invoke(cli.main, ["calibrate", "--source", "file", str(rec), "--rate", "2e6"])
    assert res.exit_code == 2 and "recorded at 1e+06 S/s" in res.output and "--rate 1e+06" in res.output
