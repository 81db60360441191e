"""Sionna's fading channel seen from the main venv: its statistics suite run in .venv-sionna, the ZeroMQ
tag wire, config keys and flags, the missing-venv message, and this PHY decoding through slow fading."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from sdr_semcom import cli
from sdr_semcom.channels import gr_zmq, launch
from sdr_semcom.channels.spec import FadingSpec
from sdr_semcom.config import ConfigError, LinkConfig, from_dict
from tests.conftest import ROOT, free_ports


def _sionna_python():
    try:
        return launch.sionna_python()
    except launch.SionnaMissing as exc:
        pytest.fail(f"{exc} (the tests want it: 'make setup-sionna')")


def test_fading_statistics_in_the_sionna_venv():
    """tests/sionna (KS, J0, 38.901 profiles, chunking, tap error) under the interpreter that has Sionna."""
    py = _sionna_python()
    if py == sys.executable:
        pytest.skip("Sionna imports here: tests/sionna runs in this session")
    r = subprocess.run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/sionna"], cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and "skipped" not in r.stdout, r.stdout[-2000:]


def test_tag_header_round_trip_with_gnu_radio():
    """A tagged message from GNU Radio's push_sink parses; one we build reaches a pull_source's tags."""
    import pmt
    import zmq
    from gnuradio import blocks, gr, zeromq

    p_in, p_out = free_ports(2)
    tags = [gr.tag_utils.python_to_tag((7, pmt.intern("eot"), pmt.PMT_T, pmt.PMT_F)),
            gr.tag_utils.python_to_tag((2, pmt.intern("len"), pmt.from_long(5), pmt.intern("src"))),
            gr.tag_utils.python_to_tag((3, pmt.intern("v"), pmt.init_c32vector(2, [1j, 2]),
                                        pmt.cons(pmt.from_double(1.5), pmt.PMT_NIL)))]
    data = (np.arange(10) + 1j).astype(np.complex64)
    tb = gr.top_block()
    src = blocks.vector_source_c(data.tolist(), False, 1, tags)
    snk = zeromq.push_sink(gr.sizeof_gr_complex, 1, f"tcp://127.0.0.1:{p_in}", 100, True, -1)
    tb.connect(src, snk)
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.connect(f"tcp://127.0.0.1:{p_in}")
    tb.start()
    assert pull.poll(10000)
    offset, got, samples = gr_zmq.parse(pull.recv())
    tb.stop()
    tb.wait()
    assert offset == 0 and [(t.offset, t.key) for t in got] == [(2, "len"), (3, "v"), (7, "eot")]
    np.testing.assert_array_equal(np.frombuffer(samples, np.complex64), data)

    push = ctx.socket(zmq.PUSH)
    push.bind(f"tcp://127.0.0.1:{p_out}")
    tb = gr.top_block()
    src2 = zeromq.pull_source(gr.sizeof_gr_complex, 1, f"tcp://127.0.0.1:{p_out}", 100, True, -1)
    sink = blocks.vector_sink_c()
    tb.connect(src2, sink)
    tb.start()
    push.send(gr_zmq.build(1000, [], np.zeros(5, np.complex64).tobytes()))
    push.send(gr_zmq.build(1005, [gr_zmq.Tag(t.offset + 1005, t.pmts, t.key) for t in got], samples))
    t0 = time.monotonic()
    while len(sink.data()) < 15 and time.monotonic() - t0 < 10:
        time.sleep(0.02)
    tb.stop()
    tb.wait()
    push.close(0)
    pull.close(0)
    ctx.term()
    assert [(t.offset, pmt.symbol_to_string(t.key)) for t in sink.tags()] == [(7, "len"), (8, "v"), (12, "eot")]
    with pytest.raises(gr_zmq.HeaderError, match="pass_tags"):
        gr_zmq.parse(np.zeros(4, np.complex64).tobytes())


def test_config_fading_keys():
    cfg = from_dict({"auth": {"engine": "sionna", "model": "tdl-c", "doppler_hz": 100.0, "delay_spread_ns": 100},
                     "eve": {"engine": "sionna", "speed_mps": 30}})
    assert cfg.auth.fading.model == "tdl-c" and cfg.auth.fading.doppler_hz == pytest.approx(100.0)
    assert cfg.auth.fading.delay_spread_ns == 100 and cfg.eve.fading == FadingSpec(speed_mps=30)
    assert from_dict({"auth": {"engine": "sionna", "model": "cdl-d"}}).auth.fading.model == "cdl-d"
    assert cfg.states("auth.doppler_hz") and cfg.states("eve.speed_mps") and not cfg.states("eve.model")
    for table, msg in [({"model": "tdl-c"}, r"\[auth\]: fading keys \(model\) need engine"),
                       ({"engine": "sionna", "model": "tdl-x"},
                        r"\[auth\] model: must be one of rayleigh, tdl-a.*cdl-e"),
                       ({"engine": "sionna", "speed_mps": 1, "doppler_hz": 3}, "speed_mps or doppler_hz"),
                       ({"engine": "sionna", "delay_spread_ns": -1}, r"\[auth\] delay_spread_ns: must be within"),
                       ({"engine": "sionna", "carrier_frequency_hz": "2.4e9"}, "carrier_frequency_hz: must be a "
                                                                                "number")]:
        with pytest.raises(ConfigError, match=msg):
            from_dict({"auth": table}, "x.toml")
    # flags: engine sionna, then fading values on both links
    cfg = LinkConfig().with_overrides(engine="sionna").with_fading(model="tdl-a", speed_mps=16.7, doppler_hz=None)
    assert cfg.auth.fading == cfg.eve.fading == FadingSpec("tdl-a", speed_mps=16.7)
    with pytest.raises(ConfigError, match="need --engine sionna"):
        LinkConfig().with_fading(model="tdl-a")
    with pytest.raises(ValueError, match="needs engine 'sionna'"):
        LinkConfig().auth.__class__(fading=FadingSpec())


def test_channel_argv_carries_both_links():
    cfg = from_dict({"auth": {"engine": "sionna", "model": "tdl-c", "speed_mps": 16.7, "snr_db": 25.0, "seed": 4,
                              "cfo_subcarriers": 0.0, "clock_ppm": 0.0, "iq_gain_db": 0.5},
                     "eve": {"engine": "sionna", "model": "cdl-b", "snr_db": 3.0, "tone_dbc": -30.0}})
    from sdr_semcom.link.roles import Timeouts

    argv = launch.channel_argv(cfg, "tcp://a:1", "tcp://b:2", "tcp://c:3", Timeouts(7, 3))
    from sdr_semcom.channels.sionna_proc import outputs_from_args, parser

    p = parser()
    outs = outputs_from_args(p.parse_args(argv), p)
    assert [(o.role, o.address, o.spec, o.snr_db, o.seed, o.impairments) for o in outs] == [
        ("auth", "tcp://b:2", cfg.auth.fading, 25.0, 4, cfg.auth.impairments),
        ("eve", "tcp://c:3", cfg.eve.fading, 3.0, 2, cfg.eve.impairments)]
    assert outs[0].impairments.iq_gain_db == 0.5 and outs[1].impairments.tone_dbc == -30.0
    assert outs[1].impairments.cfo_subcarriers == 0.3  # the default config's CFO and clock stay under Sionna
    assert outs[0].impairments.cfo_subcarriers == 0.0


def test_missing_sionna_venv_says_how_to_make_it(monkeypatch, tmp_path):
    monkeypatch.setattr(launch, "SIONNA_VENV", tmp_path / "none")
    monkeypatch.delenv(launch.ENV_PYTHON, raising=False)
    monkeypatch.setattr(launch.importlib.util, "find_spec", lambda name: None)
    r = CliRunner().invoke(cli.main, ["channel", "--engine", "sionna", "--model", "tdl-c"])
    assert r.exit_code == 2
    assert "make setup-sionna" in r.output and "scripts/setup.sh --sionna" in r.output
    r = CliRunner().invoke(cli.main, ["channel", "--engine", "sionna", "--model", "tdl-q"])
    assert r.exit_code == 2 and "rayleigh" in r.output and "tdl-e" in r.output and "cdl-e" in r.output
    r = CliRunner().invoke(cli.main, ["channel", "--model", "tdl-c"])
    assert r.exit_code == 2 and "need --engine sionna" in r.output


@pytest.mark.parametrize("model", ["tdl-a", "cdl-c"])
def test_phy_decodes_through_slow_fading(tmp_path, model):
    """QPSK bursts through TDL-A / CDL-C at walking speed, 30 dB, faded by Sionna in its venv: nearly all decode."""
    from sdr_semcom.phy.mapping import Modulation
    from sdr_semcom.phy.ofdm import BurstReceiver, modulate_many

    _sionna_python()
    rng = np.random.default_rng(11)
    payloads = [rng.bytes(200) for _ in range(30)]
    x = np.concatenate([modulate_many(payloads, Modulation.QPSK, gap=400), np.zeros(2000, np.complex64)])
    spec = FadingSpec(model, 300, 3 / 3.6)
    job = {"model": spec.model, "delay_spread_ns": spec.delay_spread_ns, "speed_mps": spec.speed_mps,
           "carrier_frequency_hz": spec.carrier_frequency_hz, "snr_db": 30.0, "seed": 3, "sample_rate": 1e6}
    (y,), (info,) = launch.fade_offline([x], [job], tmp_path)
    assert y.shape == x.shape and info["delay"] == 6
    rx = BurstReceiver()
    got = [b.payload for b in rx.feed(y) + rx.flush() if b.payload is not None]
    assert sum(p in got for p in payloads) >= 27, len(got)


def test_link_through_fading_without_a_flowgraph():
    """run_faded (codec_bench --channel): frames, END frame and report through TDL-C at 30 dB, walking."""
    from sdr_semcom.link.faded import run_faded

    _sionna_python()
    cfg = LinkConfig(mtu=1024)
    msgs = [bytes(range(256)) * 4, b"second message" * 100]
    res = run_faded(msgs, cfg, FadingSpec("tdl-c", 300, 3 / 3.6), snr_db=30.0, seed=2)
    rep = res.rx["auth"].report
    assert rep["end_frame_heard"] and rep["per"] == 0, rep
    assert sorted(m.data for m in res.rx["auth"].messages if m.complete) == sorted(msgs)


def test_impairments_under_sionna_are_applied_and_the_phy_decodes(tmp_path):
    """TDL-A at walking speed, 30 dB, plus the receiver's CFO (0.3 subcarriers) and clock error (+40 ppm)
    applied after the fading in the Sionna venv: nearly all bursts decode, and the receiver's CFO and
    clock estimates move from ~0 to the values applied."""
    from sdr_semcom.phy.mapping import Modulation
    from sdr_semcom.phy.ofdm import BurstReceiver, modulate_many

    _sionna_python()
    rng = np.random.default_rng(12)
    payloads = [rng.bytes(200) for _ in range(30)]
    x = np.concatenate([modulate_many(payloads, Modulation.QPSK, gap=400), np.zeros(2000, np.complex64)])
    base = {"model": "tdl-a", "delay_spread_ns": 300.0, "speed_mps": 3 / 3.6, "carrier_frequency_hz": 2.4e9,
            "snr_db": 30.0, "seed": 3, "sample_rate": 1e6}
    jobs = [base, {**base, "impairments": {"cfo_subcarriers": 0.3, "clock_ppm": 40.0}}]
    ys, infos = launch.fade_offline([x, x], jobs, tmp_path)
    assert ys[0].shape == x.shape and ys[1].size == pytest.approx(x.size / (1 + 40e-6), abs=2)
    est = []
    for y in ys:
        rx = BurstReceiver()
        bursts = rx.feed(y) + rx.flush()
        got = [b.payload for b in bursts if b.payload is not None]
        assert sum(p in got for p in payloads) >= 27, len(got)
        est.append((np.median([b.cfo for b in bursts]), np.median([b.clock_ppm for b in bursts])))
    (cfo0, ppm0), (cfo1, ppm1) = est
    assert abs(cfo0) < 0.02 / 64 and cfo1 == pytest.approx(0.3 / 64, rel=0.05), est
    assert abs(ppm0) < 10 and ppm1 == pytest.approx(40.0, abs=10), est
