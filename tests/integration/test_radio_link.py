"""The roles through the file and USRP front ends: a recording replayed into both receivers, and
the one-line errors when no USRP answers or a recording's rate does not match."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, awgn
from tests.integration.test_processes import CLI, ENV, _images


def _cli(args, timeout=300):
    return subprocess.run(CLI + args, env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_tx_to_file_then_both_receivers_from_files(tmp_path, rng):
    """tx --radio file writes the burst stream (and its SigMF metadata); the recording through two
    channels (25 and 20 dB, as the ZeroMQ loopback test) decodes, in one rx --role both process, to
    the same images as the ZeroMQ loopback: the pixels sent."""
    imgs = _images(tmp_path)
    rec = tmp_path / "tx.sigmf-data"
    p = _cli(["tx", *map(str, imgs), "--radio", "file", "--output", str(rec), "--size", "48", "--payload", "raw"])
    assert p.returncode == 0, p.stderr
    meta = json.loads(rec.with_suffix(".sigmf-meta").read_text())["global"]
    assert meta["core:datatype"] == "cf32_le" and meta["core:sample_rate"] == 1e6
    x = np.fromfile(rec, np.complex64)
    assert f"{x.size} samples" in p.stdout
    inputs = []
    for role, snr in (("auth", 25), ("eve", 20)):
        path = tmp_path / f"{role}.cf32"  # raw cf32 without metadata is read too
        awgn(x, snr, rng, cfo=1e-4).tofile(path)
        inputs += ["--input", str(path)]
    out = tmp_path / "rx"
    p = _cli(["rx", "--role", "both", "--radio", "file", *inputs, "--out", str(out), "--payload", "raw"])
    assert p.returncode == 0, p.stderr
    for role in ("auth", "eve"):
        rep = json.loads((out / role / "report.json").read_text())
        assert rep["per"] == 0 and rep["end_frame_heard"] and rep["stream_ended"], rep
        assert rep["radio"] == {"kind": "file"} and rep["airtime_s"] == x.size / 1e6
        for i, src in enumerate(imgs):
            got = np.asarray(Image.open(out / role / f"msg_00_{i:04d}.png"))
            assert (got == np.asarray(Image.open(src).convert("RGB"))).all()


def test_decode_reads_what_tx_radio_file_wrote_as_rx_role_both_does(tmp_path, rng):
    """tx --radio file's recording with noise added (its metadata kept): decode --role both (one PHY
    pass, both receivers) writes what rx --role both --radio file writes from the same file."""
    imgs = _images(tmp_path)
    rec = tmp_path / "tx.sigmf-data"
    p = _cli(["tx", *map(str, imgs), "--radio", "file", "--output", str(rec), "--size", "48", "--payload", "raw"])
    assert p.returncode == 0, p.stderr
    noisy = tmp_path / "noisy.sigmf-data"
    awgn(np.fromfile(rec, np.complex64), 15, rng, cfo=1e-4).astype(np.complex64).tofile(noisy)
    shutil.copy(rec.with_suffix(".sigmf-meta"), noisy.with_suffix(".sigmf-meta"))
    d = _cli(["decode", str(noisy.with_suffix(".sigmf-meta")), "--role", "both", "--payload", "raw", "--out",
              str(tmp_path / "dec")])
    assert d.returncode == 0, d.stderr
    r = _cli(["rx", "--radio", "file", "--input", str(noisy), "--role", "both", "--payload", "raw", "--out",
              str(tmp_path / "rx")])
    assert r.returncode == 0, r.stderr
    drop = {"recording", "address", "radio"}  # where the samples came from
    for role in ("auth", "eve"):
        dec, live = (json.loads((tmp_path / n / role / "report.json").read_text()) for n in ("dec", "rx"))
        assert dec["end_frame_heard"] and dec["stream_ended"] and dec["per"] == 0, dec
        assert {k: v for k, v in dec.items() if k not in drop} == {k: v for k, v in live.items() if k not in drop}
        for i, src in enumerate(imgs):
            got = np.asarray(Image.open(tmp_path / "dec" / role / f"msg_00_{i:04d}.png"))
            assert (got == np.asarray(Image.open(src).convert("RGB"))).all()


def test_no_usrp_is_one_clear_line():
    for args in (["tx", "--payload", "raw"], ["rx", "--payload", "raw"], ["rx", "--role", "both", "--payload", "raw"]):
        p = _cli(args + ["--radio", "uhd", "--args", "type=b200"], timeout=120)
        assert p.returncode == 1, (args, p.stderr)
        assert "Traceback" not in p.stderr and p.stdout == ""
        assert p.stderr.strip().splitlines() == [
            'Error: no USRP answered for device args "type=b200": check the cable / uhd_find_devices, or use '
            "--radio zmq or a recording (--radio file)"], p.stderr


def test_recording_at_another_rate_is_refused(tmp_path):
    rec = tmp_path / "r.sigmf-data"
    np.zeros(1000, np.complex64).tofile(rec)
    rec.with_suffix(".sigmf-meta").write_text(json.dumps({"global": {"core:datatype": "cf32_le",
                                                                     "core:sample_rate": 2e6}}))
    p = _cli(["rx", "--radio", "file", "--input", str(rec), "--payload", "raw", "--out", str(tmp_path / "o")])
    assert p.returncode == 2 and "Traceback" not in p.stderr  # an unusable recording, as decode / calibrate say
    assert "recorded at 2e+06 S/s" in p.stderr and "pass --rate 2e+06" in p.stderr
    p = _cli(["rx", "--radio", "zmq", "--input", str(rec)])
    assert p.returncode == 2 and "--radio file only" in p.stderr


@pytest.mark.skipif(shutil.which("grcc") is None, reason="grcc not installed")
def test_usrp_flowgraphs_compile_and_open_the_device(tmp_path):
    """flowgraphs/{tx,rx,eve}_usrp.grc and rx_eve_b210.grc compile; the scripts get the CLI's settings as
    options and reach the device (here: none answers)."""
    env = dict(ENV, GRC_BLOCKS_PATH=str(ROOT / "grc"))
    scripts = {}
    for g in ("tx_usrp", "rx_usrp", "eve_usrp", "rx_eve_b210"):
        p = subprocess.run(["grcc", "-o", str(tmp_path), str(ROOT / "flowgraphs" / f"{g}.grc")], env=env,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        scripts[g] = (tmp_path / f"semcom_{g}.py").read_text()
    assert "uhd.usrp_sink(" in scripts["tx_usrp"] and "burst_tags=True" in scripts["tx_usrp"]
    assert "set_antenna(\"TX/RX\", 0)" in scripts["tx_usrp"]
    for g in ("rx_usrp", "eve_usrp", "rx_eve_b210"):
        assert "uhd.usrp_source(" in scripts[g] and "set_center_freq(uhd.tune_request(freq, lo_offset), 0)" in scripts[g]
    assert 'BurstSink.saving(out_dir + \'/eve\', "eve"' in scripts["eve_usrp"]
    b210 = scripts["rx_eve_b210"]
    assert 'set_subdev_spec("A:A A:B", 0)' in b210 and "channels=list(range(0,2))" in b210
    assert "self.connect((self.usrp_rx, 1), (self.rx_eve, 0))" in b210
    p = subprocess.run([sys.executable, str(tmp_path / "semcom_tx_usrp.py"), "--args", "type=b200", "--freq", "915e6"],
                       env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "No devices found" in p.stderr and "type: b200" in p.stderr


class _EndlessRadio:
    """A stand-in for a USRP: streams ``x`` over and over, without end (a radio never ends its stream)."""

    kind = "fake"
    description = "fake radio"
    peer = False
    lengths = None

    def __init__(self, x, chains=1):
        self.x, self.chains = x, chains

    def sources(self, tb):
        from gnuradio import blocks

        return [blocks.vector_source_c(self.x.tolist(), True) for _ in range(self.chains)]

    def counters(self):
        return {"overflows": 0}


def _burst_stream(frames_of):
    """The transmitter's stream (raw payload messages) as samples, without end-of-stream zeros."""
    from gnuradio import blocks, gr

    from sdr_semcom.blocks import BurstSource
    from sdr_semcom.phy.framing import PayloadType

    src = BurstSource("qpsk", gap=400, tail=0)
    src.transmit([(m, PayloadType.RAW) for m in frames_of], 1024)
    snk = blocks.vector_sink_c()
    tb = gr.top_block()
    tb.connect(src, snk)
    tb.run()
    return np.asarray(snk.data(), np.complex64)


def test_radio_receivers_end_on_the_end_frame():
    """A radio streams forever: both chains stop once they heard the END frame, and report it."""
    from sdr_semcom.config import LinkConfig
    from sdr_semcom.link.roles import Timeouts, run_receivers

    msgs = [bytes(range(256)) * 8, b"second message"]
    # a long silence after the END frame: the receivers stop long before the stream comes round again
    x = np.concatenate([np.zeros(3000, np.complex64), _burst_stream(msgs), np.zeros(2_000_000, np.complex64)])
    out = run_receivers(LinkConfig(), ("auth", "eve"), _EndlessRadio(x, 2), Timeouts(connect_s=60, idle_s=30))
    for role, (receiver, rep) in out.items():
        assert rep["stream_ended"] and rep["end_frame_heard"] and rep["per"] == 0, rep
        assert rep["radio"] == {"kind": "fake", "overflows": 0} and rep["warning"] is None
        assert [m.data for m in receiver.messages] == msgs


def test_radio_receiver_without_signal_ends_after_the_connect_timeout():
    from sdr_semcom.config import LinkConfig
    from sdr_semcom.link.roles import Timeouts, run_receivers

    ((_, rep),) = run_receivers(LinkConfig(), ("auth",), _EndlessRadio(np.zeros(4096, np.complex64)),
                                Timeouts(connect_s=1, idle_s=1)).values()
    assert not rep["stream_ended"] and "no burst decoded within 1 s on fake radio" in rep["warning"]
    assert rep["packets_received"] == 0
