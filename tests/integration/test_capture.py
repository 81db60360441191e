"""Capture sessions and offline decoding (sdr_semcom/capture/): a recording decodes to what the live
receiver wrote, for both roles; truncated and unusable recordings; SIGINT and a full disk during a capture;
tx -> channel -> capture as processes."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from tests.conftest import ROOT

CLI = [sys.executable, "-m", "sdr_semcom.cli"]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))
#: report keys that say where the samples came from, not what was received
PROVENANCE = {"source", "recording", "address"}


def _images(tmp_path, n=2, size=48, seed=5):
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        p = tmp_path / f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


def _same_files(a: Path, b: Path, pattern: str) -> list[str]:
    names = sorted(p.name for p in a.glob(pattern))
    assert names == sorted(p.name for p in b.glob(pattern))
    for n in names:
        assert (a / n).read_bytes() == (b / n).read_bytes(), n
    return names


def _report(d: Path, drop=PROVENANCE) -> dict:
    r = json.loads((d / "report.json").read_text())
    return {k: v for k, v in r.items() if k not in drop}


@pytest.fixture(scope="module")
def semantic_link(tmp_path_factory):
    """Both taps of one semantic loopback recorded (capture --source loopback), with what the live
    receivers wrote (the capture's own receiver through rx's code path)."""
    from sdr_semcom.capture.session import Source, capture
    from sdr_semcom.config import LinkConfig
    from sdr_semcom.phy.channel import impaired
    from sdr_semcom.pipeline import SemanticTransmitter
    from sdr_semcom.privacy import PrivacyDatabase
    from sdr_semcom.reception import receiver_stage, write_reception
    from sdr_semcom.semantic.weights import load_codec

    tmp = tmp_path_factory.mktemp("capture")
    db = PrivacyDatabase.default()
    db.save(tmp / "db.yaml")
    codec = load_codec()
    tx = SemanticTransmitter(codec, None, db)
    rng = np.random.default_rng(2)
    msgs = [m for _ in range(2) for m in tx.messages(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8))[0]]
    # eve at 4 dB, a noise seed under which its tap loses packets (the test is that it loses the same ones
    # offline as live): with codec v3's packets, seed 2 lost none
    cfg = LinkConfig(auth=impaired(15.0, seed=1), eve=impaired(4.0, seed=3))
    out = {}
    for tap in ("auth", "eve"):
        r = capture(tmp / f"{tap}", Source("loopback", tap=tap, messages=tuple(msgs)), cfg, codec=codec.id, role=tap)
        assert r.end == "eot" and r.bursts > 0
        live = tmp / f"live_{tap}"
        write_reception(r.receiver, dict(r.report), tap, live, cfg.mtu, receiver_stage(tap, "semantic", "classical"),
                        tmp / "db.yaml" if tap == "auth" else None)
        out[tap] = (r, live)
    return tmp, cfg, out


@pytest.mark.parametrize("role", ["auth", "eve"])
def test_recording_decodes_to_what_the_live_receiver_wrote(semantic_link, role):
    from sdr_semcom.capture.decode import DecodeOptions, decode_recording

    tmp, cfg, out = semantic_link
    r, live = out[role]
    off = tmp / f"offline_{role}"
    db = str(tmp / "db.yaml") if role == "auth" else None
    line = decode_recording(tmp / f"{role}.sigmf-meta", off, cfg, DecodeOptions(role, db_path=db,
                                                                                 generator="classical"))
    assert f"rx ({role})" in line
    assert _report(off) == _report(live)
    # byte for byte, every file the live receiver wrote (auth: both images and their fills; eve at 4 dB:
    # what its lost packets left, the same offline)
    names = _same_files(live, off, "img_*.png")
    assert len(names) == 4 if role == "auth" else len(names) >= 2
    rep = _report(off)
    assert rep["packets_received"] > 0 and rep["end_frame_heard"]
    if role == "eve":
        assert rep["packets_lost"] > 0  # 4 dB: the eavesdropper's tap loses packets, the same offline and live


def test_eavesdropper_decodes_the_authorized_recording(semantic_link):
    from sdr_semcom.capture.decode import DecodeOptions, decode_recording

    tmp, cfg, out = semantic_link
    decode_recording(tmp / "auth", tmp / "eve_on_auth", cfg, DecodeOptions("eve", generator="classical"))
    rep = json.loads((tmp / "eve_on_auth" / "report.json").read_text())
    auth = json.loads((out["auth"][1] / "report.json").read_text())
    assert rep["role"] == "eve" and rep["packets_received"] == auth["packets_received"]
    assert all(not row["regions"] for row in rep["images"])  # no key: no boxes
    _same_files(out["auth"][1], tmp / "eve_on_auth", "img_????.png")  # the same decoded (masked) images


def test_recording_validates_with_sigmf(semantic_link):
    import sigmf

    from sdr_semcom.semantic.weights import load_codec

    tmp, _, out = semantic_link
    f = sigmf.fromfile(str(tmp / "auth"))
    f.validate()
    ann = f.get_annotations()
    r = out["auth"][0]
    assert len(ann) == r.bursts and f.get_global_field("sdr_semcom:codec") == load_codec().id
    assert [a["sdr_semcom:seq"] for a in ann if a["sdr_semcom:kind"] != "END"] == list(range(len(ann) - 1))
    assert ann[-1]["sdr_semcom:kind"] == "END" and f.get_global_field("sdr_semcom:frames_sent") == len(ann) - 1
    assert all(a["core:sample_start"] + a["core:sample_count"] <= f.sample_count for a in ann)


def test_truncated_recording_decodes_partially_and_counts_the_rest_lost(semantic_link, tmp_path):
    from sdr_semcom.cli import main

    tmp, _, out = semantic_link
    for ext in (".sigmf-meta", ".sigmf-data"):
        shutil.copy(tmp / f"auth{ext}", tmp_path / f"cut{ext}")
    ann = json.loads((tmp_path / "cut.sigmf-meta").read_text())["annotations"]
    mid = ann[len(ann) // 2]
    cut_at = mid["core:sample_start"] + mid["core:sample_count"] // 2  # inside a burst
    with open(tmp_path / "cut.sigmf-data", "r+b") as f:
        f.truncate(cut_at * 8)
    res = CliRunner().invoke(main, ["decode", str(tmp_path / "cut"), "--out", str(tmp_path / "dec"), "--db",
                                    str(tmp / "db.yaml"), "--generator", "classical"])
    assert res.exit_code == 1, res.output
    assert "recording truncated" in res.output and "packets lost" in res.output
    rep = json.loads((tmp_path / "dec" / "report.json").read_text())
    sent = len(ann) - 1
    assert rep["packets_sent"] == sent and rep["packets_received"] == len(ann) // 2
    assert rep["packets_lost"] == sent - rep["packets_received"] > 0
    assert rep["truncated_bursts"] == 1 and not rep["stream_ended"]
    assert rep["images"], "what was received is written"


def test_unusable_recordings_exit_2(semantic_link, tmp_path):
    from sdr_semcom.cli import main

    tmp, _, _ = semantic_link
    for ext in (".sigmf-meta", ".sigmf-data"):
        shutil.copy(tmp / f"auth{ext}", tmp_path / f"r{ext}")
    meta = json.loads((tmp_path / "r.sigmf-meta").read_text())
    runner = CliRunner()
    meta["global"]["core:sample_rate"] = 2e6
    (tmp_path / "r.sigmf-meta").write_text(json.dumps(meta))
    res = runner.invoke(main, ["decode", str(tmp_path / "r"), "--out", str(tmp_path / "o"), "--role", "eve"])
    said = ("recorded at 2e+06 S/s (core:sample_rate in r.sigmf-meta), but this link runs at 1e+06 S/s: "
            "pass --rate 2e+06")
    assert res.exit_code == 2 and said in res.output, res.output
    # rx --radio file and calibrate --source file read it with the same reader: same files, same errors
    rx = runner.invoke(main, ["rx", "--radio", "file", "--input", str(tmp_path / "r.sigmf-data"), "--out",
                              str(tmp_path / "o"), "--role", "eve"])
    assert rx.exit_code == 2 and said in rx.output, rx.output
    (tmp_path / "r.sigmf-meta").write_text("{}")
    for args in (["decode", str(tmp_path / "r.sigmf-meta"), "--role", "eve", "--out", str(tmp_path / "o")],
                 ["rx", "--radio", "file", "--input", str(tmp_path / "r.sigmf-data"), "--role", "eve", "--out",
                  str(tmp_path / "o")],
                 ["calibrate", "--source", "file", str(tmp_path / "r.sigmf-data")]):
        res = runner.invoke(main, args)
        assert res.exit_code == 2 and "r.sigmf-meta: not readable SigMF metadata ('global')" in res.output, \
            (args, res.output)
        assert "Traceback" not in res.output


def test_full_disk_during_a_capture_keeps_a_valid_recording(tmp_path, monkeypatch):
    from sdr_semcom.capture import sigmf_io
    from sdr_semcom.capture.session import Source, capture
    from sdr_semcom.config import LinkConfig
    from sdr_semcom.link import rawimage
    from sdr_semcom.phy.framing import PayloadType

    room = {"bytes": 40000 * 8}

    def filling(self, buf):
        if room["bytes"] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = min(len(buf), room["bytes"])
        room["bytes"] -= n
        return os.write(self._fd, buf[:n])

    monkeypatch.setattr(sigmf_io.SigmfWriter, "_write_bytes", filling)
    img = np.random.default_rng(1).integers(0, 255, (48, 48, 3), dtype=np.uint8)
    r = capture(tmp_path / "full", Source("loopback", messages=((rawimage.encode(img), PayloadType.RAW),)),
                LinkConfig())
    assert r.end == "disk full" and r.samples == 40000 and "disk full" in r.warning
    rec = sigmf_io.open_recording(tmp_path / "full")
    assert rec.samples == rec.declared == 40000 and rec.link("end") == "disk full"
    assert all(a["core:sample_start"] + a["core:sample_count"] <= 40000 for a in rec.annotations)


def test_sample_limit_ends_the_recording_and_decode_counts_the_rest(tmp_path):
    from sdr_semcom.capture.decode import DecodeIncomplete, DecodeOptions, decode_recording
    from sdr_semcom.capture.session import Source, capture
    from sdr_semcom.config import LinkConfig
    from sdr_semcom.link import rawimage
    from sdr_semcom.phy.framing import PayloadType

    img = np.random.default_rng(1).integers(0, 255, (48, 48, 3), dtype=np.uint8)
    cfg = LinkConfig()
    r = capture(tmp_path / "lim", Source("loopback", messages=((rawimage.encode(img), PayloadType.RAW),)), cfg,
                limit=50000)
    assert r.end == "limit" and r.samples == 50000 and 0 < r.bursts < r.report["packets_sent"] + 1
    with pytest.raises(DecodeIncomplete, match="ended by limit"):
        decode_recording(tmp_path / "lim", tmp_path / "dec", cfg, DecodeOptions(payload="raw"))
    rep = json.loads((tmp_path / "dec" / "report.json").read_text())
    assert rep["packets_received"] == r.bursts and rep["packets_sent"] == r.report["packets_sent"]
    assert rep["packets_lost"] == rep["packets_sent"] - rep["packets_received"]


@pytest.mark.parametrize("radio", [True, False])
def test_a_registered_front_end_is_recorded_with_its_metadata(tmp_path, monkeypatch, radio):
    """A stand-in receive front end (a recording played back) registered in FRONT_ENDS, as the USRP's
    is: as a radio (no length: the capture ends on the END frame, as rx --radio uhd) or with its
    length and a sample limit."""
    from gnuradio import blocks

    from sdr_semcom.capture import session
    from sdr_semcom.capture.sigmf_io import open_recording
    from sdr_semcom.config import LinkConfig
    from sdr_semcom.link import rawimage
    from sdr_semcom.phy.framing import PayloadType

    img = np.random.default_rng(3).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    cfg = LinkConfig()
    session.capture(tmp_path / "src", session.Source("loopback", messages=((rawimage.encode(img),
                                                                             PayloadType.RAW),)), cfg)
    x = np.concatenate(list(open_recording(tmp_path / "src").chunks()))

    from sdr_semcom.radio.base import RxFrontEnd

    class StandIn(RxFrontEnd):
        kind, description, frequency, gains = "standin", "stand-in radio", 2.45e9, {"rx": 31.5}
        lengths = None if radio else [x.size]

        def sources(self, tb):
            return [blocks.vector_source_c(x.tolist(), False)]

        def counters(self):
            return {"overflows": 0}

    monkeypatch.setitem(session.FRONT_ENDS, "standin", lambda args, cfg: StandIn())
    r = session.capture(tmp_path / "radio", session.Source("standin"), cfg, limit=None if radio else x.size)
    assert r.report["end_frame_heard"] and r.report["radio"] == {"kind": "standin", "overflows": 0}
    assert (r.end, r.samples <= x.size) == ("eot", True) if radio else (r.end, r.samples) == ("limit", x.size)
    rec = open_recording(tmp_path / "radio")
    assert rec.global_info["core:hw"] == "stand-in radio" and rec.link("radio") == {"overflows": 0}
    assert rec.meta["captures"][0]["core:frequency"] == 2.45e9
    assert rec.meta["captures"][0]["sdr_semcom:gains"] == {"rx": 31.5}
    assert len(rec.annotations) == r.bursts == r.report["packets_sent"] + 1


# ------------------------------------------------------------------------------------ processes
def test_capture_from_a_usrp_that_is_not_there_is_one_line(tmp_path):
    """capture --source uhd opens the USRP through radio.uhd (rx --radio uhd's options): without
    one, the radio package's one line naming the device args, exit 1, nothing written."""
    p = subprocess.run(CLI + ["capture", "--source", "uhd", "--args", "type=b200", "--freq", "2.4e9", "--gain", "20",
                              "--rate", "1e6", "--out", str(tmp_path / "cap")], env=ENV, cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr and p.stdout == "", p.stderr
    assert p.stderr.strip().splitlines() == [
        'Error: no USRP answered for device args "type=b200": check the cable / uhd_find_devices, or record a '
        "ZeroMQ link (--source zmq) or the loopback (--source loopback)"], p.stderr
    assert not list(tmp_path.iterdir())
    res = CliRunner().invoke(__import__("sdr_semcom.cli", fromlist=["main"]).main,
                             ["capture", "--source", "loopback", "--gain", "20", "--out", str(tmp_path / "c")])
    assert res.exit_code == 2 and "--gain: USRP settings, for --source uhd only" in res.output, res.output


def _start(args, **kw):
    return subprocess.Popen(CLI + args, env=ENV, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kw)


def test_sigint_during_a_capture_leaves_a_complete_recording(tmp_path):
    imgs = _images(tmp_path, 4, 128)
    p = _start(["capture", "--source", "loopback", "--realtime", "--payload", "raw", "--size", "128",
                "--out", str(tmp_path / "cap"), *map(str, imgs)])
    data = tmp_path / "cap.sigmf-data"
    t0 = time.monotonic()
    while (not data.exists() or data.stat().st_size < 300_000 * 8) and p.poll() is None \
            and time.monotonic() - t0 < 240:
        time.sleep(0.05)
    assert p.poll() is None, p.communicate()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, (out, err)
    assert "ended by SIGINT" in out and "capture:" in err  # progress lines on stderr
    import sigmf

    f = sigmf.fromfile(str(tmp_path / "cap"))
    f.validate()
    assert f.get_global_field("sdr_semcom:end") == "SIGINT"
    assert f.get_global_field("sdr_semcom:sample_count") == f.sample_count == data.stat().st_size // 8 > 0
    assert f.get_annotations(), "bursts received before the signal are annotated"


def test_tx_channel_capture_processes_decode_as_the_live_rx(tmp_path):
    """The channel's two outputs made identical (same channel settings): a live rx on one, a capture
    on the other; the recording decodes to the rx's files."""
    from tests.integration.test_processes import _link_ports

    pt, pa, pe = (f"tcp://127.0.0.1:{p}" for p in _link_ports(3))
    cfg = tmp_path / "link.toml"
    cfg.write_text("[auth]\nsnr_db = 12.0\nseed = 7\n[eve]\nsnr_db = 12.0\nseed = 7\n")
    imgs = _images(tmp_path)
    procs = {
        "channel": _start(["channel", "--connect", pt, "--auth-bind", pa, "--eve-bind", pe, "--config", str(cfg),
                           "--connect-timeout", "90"]),
        "rx": _start(["rx", "--connect", pa, "--out", str(tmp_path / "live"), "--connect-timeout", "90",
                      "--payload", "raw"]),
        "capture": _start(["capture", "--connect", pe, "--role", "eve", "--out", str(tmp_path / "cap"),
                           "--connect-timeout", "90", "--payload", "raw"]),
    }
    time.sleep(0.5)
    procs["tx"] = _start(["tx", *map(str, imgs), "--bind", pt, "--size", "48", "--connect-timeout", "90",
                          "--payload", "raw"])
    outs = {k: p.communicate(timeout=240) for k, p in procs.items()}
    for k, p in procs.items():
        assert p.returncode == 0, (k, outs[k])
    assert "ended by eot" in outs["capture"][0]
    d = subprocess.run(CLI + ["decode", str(tmp_path / "cap"), "--out", str(tmp_path / "off"), "--payload", "raw"],
                       env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert d.returncode == 0, d.stderr
    # the rx counts the samples its guard passed, the capture what it recorded: the tail of zeros differs
    drop = PROVENANCE | {"airtime_s", "goodput_bps"}
    assert _report(tmp_path / "off", drop) == _report(tmp_path / "live", drop)
    assert len(_same_files(tmp_path / "live", tmp_path / "off", "msg_*.png")) == 2


def test_recordings_name_the_codec_the_link_uses():
    from sdr_semcom.commands import _codec_id
    from sdr_semcom.semantic.weights import load_codec

    assert _codec_id() == load_codec().id  # read from the manifest without torch, for the SigMF metadata
