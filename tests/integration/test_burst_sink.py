"""BurstSink's view of each burst: the ``bursts`` messages and the tagged equalised-symbols output."""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pmt
import pytest
from gnuradio import blocks, gr

from sdr_semcom.blocks import BurstSink, BurstSource, make_channel_block
from sdr_semcom.phy.channel import impaired
from sdr_semcom.phy.framing import PayloadType
from sdr_semcom.phy.mapping import Modulation, constellation

ROOT = Path(__file__).resolve().parents[2]


def _loopback(frames: list[bytes], snr_db: float, symbols_out: bool):
    tb = gr.top_block()
    src = BurstSource("qpsk", 400)
    for f in frames:
        src.send(f)
    src.close()
    chan = make_channel_block(impaired(snr_db, seed=5))
    sink = BurstSink(symbols_out=symbols_out)
    debug = blocks.message_debug()
    tb.connect(src, chan, sink)
    tb.msg_connect(sink, "bursts", debug, "store")
    out = None
    if symbols_out:
        out = blocks.vector_sink_c()
        tb.connect(sink, out)
    tb.run()
    infos = [pmt.to_python(debug.get_message(i)) for i in range(debug.num_messages())]
    return sink, infos, out


@pytest.fixture(scope="module")
def loopback():
    from sdr_semcom.link.endpoints import LinkTransmitter

    rng = np.random.default_rng(8)
    frames = list(LinkTransmitter(500).frames(rng.bytes(500 * 12), PayloadType.RAW))
    return frames, _loopback(frames, 25.0, symbols_out=True)


def test_one_message_per_burst_with_its_estimates(loopback):
    frames, (sink, infos, _out) = loopback
    assert len(infos) == len(frames) == sink.receiver.stats.decoded
    assert [i["length"] for i in infos] == [len(f) for f in frames]
    for i in infos:
        assert i["ok"] and i["crc_ok"] and i["modulation"] == "qpsk"
        assert i["snr_db"] == pytest.approx(25.0, abs=3.0)
        assert i["cfo"] == pytest.approx(0.3 / 64, abs=2e-4)  # impaired(): 0.3 subcarriers
        assert i["clock_ppm"] == pytest.approx(20.0, abs=5.0)
    starts = [i["start"] for i in infos]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_symbols_output_is_tagged_per_burst_and_near_the_constellation(loopback):
    frames, (_sink, infos, out) = loopback
    sym = np.asarray(out.data(), np.complex64)
    tags = [t for t in out.tags() if pmt.symbol_to_string(t.key) == "burst"]
    assert len(tags) == len(frames)
    offsets = [t.offset for t in tags]
    sizes = [pmt.to_python(t.value)["n_symbols"] for t in tags]
    assert offsets == list(np.cumsum([0] + sizes[:-1])) and sum(sizes) == sym.size
    assert [pmt.to_python(t.value) for t in tags] == infos
    ref = constellation(Modulation.QPSK)
    dist = np.min(np.abs(sym[:, None] - ref[None, :]), axis=1)
    assert np.mean(dist**2) < 10 ** (-20 / 10)  # EVM below -20 dB at 25 dB SNR
    assert np.percentile(dist, 99.9) < 0.5 * np.min(np.abs(ref[0] - ref[1:]))


def test_failed_bursts_are_reported_not_ok():
    rng = np.random.default_rng(9)
    frames = [rng.bytes(400) for _ in range(6)]  # not link frames: crc_ok stays False
    sink, infos, out = _loopback(frames, 1.0, symbols_out=False)
    assert out is None and len(infos) == sink.receiver.stats.decoded + sink.receiver.stats.fec_failures
    assert not any(i["crc_ok"] for i in infos)
    assert any(not i["ok"] for i in infos) and all(i["length"] == 400 for i in infos)


@pytest.mark.skipif(shutil.which("grcc") is None, reason="grcc not installed")
def test_gui_loopback_flowgraph_compiles(tmp_path):
    """flowgraphs/loopback_gui.grc: the sink's symbols to a constellation and a tag debug, its
    ``bursts`` to a message debug (compiled only: running it needs a display)."""
    env = dict(os.environ, GRC_BLOCKS_PATH=str(ROOT / "grc"), PYTHONPATH=str(ROOT))
    p = subprocess.run(["grcc", "-o", str(tmp_path), str(ROOT / "flowgraphs" / "loopback_gui.grc")], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    script = (tmp_path / "semcom_loopback_gui.py").read_text()
    assert "symbols_out=True" in script and "qtgui.const_sink_c(" in script
    assert "self.connect((self.rx_auth, 0), (self.constellation, 0))" in script
    assert "self.connect((self.rx_auth, 0), (self.tags, 0))" in script
    assert "self.msg_connect((self.rx_auth, 'bursts'), (self.bursts, 'print'))" in script
