"""Radio front ends without a radio: options, burst tags, event counters, recordings' metadata."""

import json

import numpy as np
import pmt
import pytest
from gnuradio import blocks, gr

from sdr_semcom.blocks import BurstSource
from sdr_semcom.phy import ofdm
from sdr_semcom.radio import RadioError, RadioOptions, RecordingError, UhdSettings, open_rx, open_tx
from sdr_semcom.radio.counters import AsyncCounter, TagCounter, event_names
from sdr_semcom.radio.file import check_meta, write_meta
from sdr_semcom.radio.uhd import device_error


def _run_source(src, n_max=None):
    tb = gr.top_block()
    snk = blocks.vector_sink_c()
    tb.connect(src, snk)
    tb.run()
    return np.asarray(snk.data()), snk.tags()


def test_tagged_bursts_cover_every_sample_once():
    """tx_sob / tx_eob pairs tile the whole stream (a usrp_sink with burst tags drops nothing and
    ends every burst: each burst + its gap, then the tail)."""
    frames = [bytes([i]) * n for i, n in enumerate((20, 300, 1000, 5))]
    src = BurstSource("qpsk", gap=400, tail=1000, burst_tags=True)
    for f in frames:
        src.send(f)
    src.close()
    x, tags = _run_source(src)
    sob = sorted(t.offset for t in tags if pmt.symbol_to_string(t.key) == "tx_sob")
    eob = sorted(t.offset for t in tags if pmt.symbol_to_string(t.key) == "tx_eob")
    lens = [ofdm.burst_len(len(f), ofdm.Modulation.QPSK) + 400 for f in frames] + [1000]
    assert sob == list(np.cumsum([0] + lens[:-1]))
    assert eob == list(np.cumsum(lens) - 1)
    assert x.size == sum(lens) and src.finished


def test_untagged_source_has_no_burst_tags():
    src = BurstSource("qpsk", gap=10, tail=10)
    src.send(b"abc")
    src.close()
    _, tags = _run_source(src)
    assert {pmt.symbol_to_string(t.key) for t in tags} == {"eot"}


def test_idle_fill_writes_zeros_while_nothing_is_queued():
    src = BurstSource("qpsk", gap=0, tail=0, idle_fill=True)
    tb = gr.top_block()
    head = blocks.head(gr.sizeof_gr_complex, 50_000)
    snk = blocks.vector_sink_c()
    tb.connect(src, head, snk)
    tb.run()  # ends: the source never waits, zeros fill the head's 50,000 samples
    assert len(snk.data()) == 50_000 and not np.any(snk.data())


def test_async_events_counted_from_symbol_lists_and_bit_masks():
    def msg(code):
        return pmt.dict_add(pmt.make_dict(), pmt.intern("event_code"), code)

    lst = pmt.list2(pmt.intern("underflow"), pmt.intern("time_error"))
    assert event_names(msg(lst)) == ["underflow", "time_error"]
    assert event_names(msg(pmt.from_long(0x2 | 0x10))) == ["underflow", "underflow_in_packet"]
    assert event_names(pmt.PMT_NIL) == []
    c = AsyncCounter()
    for code in (lst, pmt.from_long(0x2), pmt.from_long(0x1), pmt.intern("seq_error")):
        c._on_msg(msg(code))
    assert c.counts() == {"underflows": 2, "late": 1, "seq_errors": 1, "bursts_acked": 1}


def test_tag_counter_counts_overflows_after_the_first_rx_time():
    x = np.zeros(1000, np.complex64)
    tags = [gr.tag_utils.python_to_tag((o, pmt.intern("rx_time"), pmt.PMT_T, pmt.PMT_F)) for o in (0, 10, 700)]
    src = blocks.vector_source_c(x.tolist(), False, 1, tags)
    cnt = TagCounter("rx_time")
    tb = gr.top_block()
    tb.connect(src, cnt)
    tb.run()
    assert cnt.count == 3 and cnt.overflows == 2


def test_no_usrp_is_one_line_naming_the_args():
    err = device_error("type=b200", RuntimeError("LookupError: KeyError: No devices found for ----->\n"
                                                 "Device Address:\n    type: b200\n"))
    assert str(err).startswith('no USRP answered for device args "type=b200"') and "\n" not in str(err)
    with pytest.raises(RadioError, match='no USRP answered for device args "type=b200"'):
        open_tx(RadioOptions(kind="uhd", uhd=UhdSettings(args="type=b200")), 1e6)


@pytest.mark.parametrize("kw, match", [(dict(gain=3, norm_gain=0.5), "not both"), (dict(norm_gain=2), "0..1"),
                                       (dict(channels=(0, 0)), "distinct"), (dict(burst_mode="x"), "burst-mode"),
                                       (dict(clock_source="atomic"), "clock-source")])
def test_bad_uhd_settings_are_refused(kw, match):
    with pytest.raises(RadioError, match=match):
        UhdSettings(**kw)


def test_ci16_recordings_are_read_scaled(tmp_path):
    from sdr_semcom.radio.file import read_samples

    data = tmp_path / "c.sigmf-data"
    np.array([16384, -32768, 0, 8192, 1], "<i2").tofile(data)  # 2 samples and a stray int16
    (tmp_path / "c.sigmf-meta").write_text(json.dumps({"global": {"core:datatype": "ci16_le", "core:version": "1.0.0"},
                                                       "captures": [], "annotations": []}))
    assert read_samples(data, "ci16_le") == pytest.approx(np.array([0.5 - 1j, 0.25j], np.complex64))
    with pytest.raises(RecordingError, match="10 bytes is not a whole number of complex int16 samples"):
        open_rx(RadioOptions(kind="file", paths=(data,)), 1e6)
    np.array([16384, -32768, 0, 8192], "<i2").tofile(data)
    assert open_rx(RadioOptions(kind="file", paths=(data.with_suffix(".sigmf-meta"),)), 1e6).lengths == [2]


def test_recording_metadata_checked(tmp_path):
    data = tmp_path / "a.sigmf-data"
    np.zeros(100, np.complex64).tofile(data)
    assert check_meta(data, 1e6) is None  # no metadata: raw cf32
    write_meta(data, 2e6, "test")
    assert check_meta(data, 2e6)["core:sample_rate"] == 2e6
    with pytest.raises(RadioError, match=r"recorded at 2e\+06 S/s .* runs at 1e\+06 S/s: pass --rate 2e\+06"):
        open_rx(RadioOptions(kind="file", paths=(data,)), 1e6)
    meta = json.loads((tmp_path / "a.sigmf-meta").read_text())
    meta["global"]["core:datatype"] = "cu8"
    (tmp_path / "a.sigmf-meta").write_text(json.dumps(meta))
    with pytest.raises(RecordingError, match="'cu8'; only cf32_le or ci16_le"):
        check_meta(data, 2e6)
    (tmp_path / "a.sigmf-meta").write_text("{not json")
    with pytest.raises(RadioError, match="not readable SigMF metadata"):
        check_meta(data, 2e6)
    odd = tmp_path / "odd.cf32"
    odd.write_bytes(b"123")
    with pytest.raises(RadioError, match="not a whole number of complex64 samples"):
        open_rx(RadioOptions(kind="file", paths=(odd,)), 1e6)
    with pytest.raises(RadioError, match="one recording, or one per receiver"):
        open_rx(RadioOptions(kind="file", paths=(data, data, data)), 1e6, chains=2)
    with pytest.raises(RadioError, match="--role both needs"):
        open_rx(RadioOptions(kind="zmq", address="tcp://127.0.0.1:5556"), 1e6, chains=2)
