"""SigMF writer and reader (sdr_semcom/capture/sigmf_io.py): valid files, truncation, bad input, full disk."""

import errno
import json
import os

import numpy as np
import pytest

from sdr_semcom.capture.sigmf_io import (BurstNote, CaptureInfo, RecordingError, SigmfWriter, open_recording)

INFO = CaptureInfo(1e6, 2.45e9, "test bench", {"rx": 20.0}, {"mtu": 1024, "modulation": "qpsk", "codec": "c:1"},
                   "zmq tcp://127.0.0.1:1")


def _samples(n, seed=3):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)


def _record(base, x, notes=(), **close):
    w = SigmfWriter(base, INFO)
    for chunk in np.array_split(x, 7):
        w.write(chunk)
    for n in notes:
        w.annotate(n)
    w.close("eot", **close)
    return w


def _read(base):
    return np.concatenate(list(open_recording(base).chunks(1000)))


def test_round_trip_is_exact_and_valid_sigmf(tmp_path):
    import sigmf

    x = _samples(5000)
    notes = [BurstNote(3000, 500, 7, "RAW", True, 20.5), BurstNote(100, 800, 6, "RAW", True, 21.0),
             BurstNote(4800, 500, 8, "RAW", True, 20.0)]  # the last runs past the samples: left out
    _record(tmp_path / "r", x, notes, frames_sent=9)
    rec = open_recording(tmp_path / "r.sigmf-data")
    assert rec.samples == rec.declared == 5000 and not rec.truncated
    assert (_read(tmp_path / "r") == x).all()
    f = sigmf.fromfile(str(tmp_path / "r"))  # the package's own reader and validator
    f.validate()
    assert f.get_global_field("core:datatype") == "cf32_le" and f.get_global_field("core:sample_rate") == 1e6
    assert f.get_global_field("core:hw") == "test bench"
    assert f.get_captures()[0]["core:frequency"] == 2.45e9 and f.get_captures()[0]["sdr_semcom:gains"] == {"rx": 20.0}
    ann = f.get_annotations()
    assert [a["core:sample_start"] for a in ann] == [100, 3000] and [a["sdr_semcom:seq"] for a in ann] == [6, 7]
    assert ann[0]["sdr_semcom:crc_ok"] is True and ann[0]["core:sample_count"] == 800
    assert rec.link("frames_sent") == 9 and rec.link("mtu") == 1024 and rec.link("end") == "eot"
    assert (np.asarray(f.read_samples(), np.complex64) == x).all()


def test_metadata_is_valid_while_the_capture_runs(tmp_path):
    w = SigmfWriter(tmp_path / "r", INFO, checkpoint_s=0)
    w.write(_samples(100))
    rec = open_recording(tmp_path / "r")  # written at start: a killed capture leaves a readable recording
    assert rec.link("end") == "running" and rec.declared == 0 and rec.samples == 100
    w.close()
    assert open_recording(tmp_path / "r").link("end") == "limit"


def test_truncated_data_file_is_detected(tmp_path):
    _record(tmp_path / "r", _samples(5000))
    data = tmp_path / "r.sigmf-data"
    with open(data, "r+b") as f:
        f.truncate(3000 * 8 + 5)  # cut inside a sample
    rec = open_recording(tmp_path / "r")
    assert rec.truncated and rec.samples == 3000 and rec.missing == 2000 and rec.extra_bytes == 5
    assert _read(tmp_path / "r").size == 3000


def test_ci16_recordings_are_scaled(tmp_path):
    iq = np.array([[16384, -32768], [0, 8192]], np.int16)
    (tmp_path / "c.sigmf-data").write_bytes(iq.tobytes())
    meta = {"global": {"core:datatype": "ci16_le", "core:sample_rate": 1e6, "core:version": "1.2.6"},
            "captures": [{"core:sample_start": 0}], "annotations": []}
    (tmp_path / "c.sigmf-meta").write_text(json.dumps(meta))
    got = _read(tmp_path / "c")
    assert got == pytest.approx(np.array([0.5 - 1j, 0.25j], np.complex64))


@pytest.mark.parametrize("case, words", [
    ("missing", "no such file"),
    ("not json", "not readable SigMF metadata"),
    ("no datatype", "invalid SigMF"),
    ("ri16_le", "core:datatype is 'ri16_le'; only cf32_le or ci16_le"),
    ("cu8", "core:datatype is 'cu8'"),
    ("two channels", "core:num_channels is 2"),
    ("bad rate", "core:sample_rate"),
    ("header bytes", "header or trailing bytes"),
    ("no data", "sigmf-data: no such file"),
])
def test_unusable_recordings_say_why(tmp_path, case, words):
    _record(tmp_path / "r", _samples(100))
    meta_path = tmp_path / "r.sigmf-meta"
    meta = json.loads(meta_path.read_text())
    if case == "missing":
        meta_path.unlink()
    elif case == "not json":
        meta_path.write_text('{"global": {')
    elif case == "no datatype":
        del meta["global"]["core:datatype"]
    elif case in ("ri16_le", "cu8"):
        meta["global"]["core:datatype"] = case
    elif case == "two channels":
        meta["global"]["core:num_channels"] = 2
    elif case == "bad rate":
        meta["global"]["core:sample_rate"] = -1.0
    elif case == "header bytes":
        meta["captures"][0]["core:header_bytes"] = 16
    elif case == "no data":
        (tmp_path / "r.sigmf-data").unlink()
    if case not in ("missing", "not json"):
        meta_path.write_text(json.dumps(meta))
    with pytest.raises(RecordingError, match=words):
        open_recording(tmp_path / "r")


def test_full_disk_stops_the_writer_and_keeps_whole_samples(tmp_path):
    class Filling(SigmfWriter):
        room = 1000 * 8 + 3  # bytes left on the "disk"

        def _write_bytes(self, buf):
            if self.room <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            n = min(len(buf), self.room)
            self.room -= n
            return os.write(self._fd, buf[:n])

    w = Filling(tmp_path / "r", INFO)
    assert w.write(_samples(600)) == 600
    assert w.write(_samples(600)) == 400 and w.full and "disk full after 1000 samples" in w.full
    assert w.write(_samples(10)) == 0
    w.close("eot")
    rec = open_recording(tmp_path / "r")
    assert rec.samples == rec.declared == 1000 and not rec.truncated
    assert rec.link("end") == "disk full" and "disk full" in rec.link("disk_full")


def test_unwritable_output_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(RecordingError, match="cannot write the recording"):
        SigmfWriter(tmp_path / "file" / "r", INFO)
