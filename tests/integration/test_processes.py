"""TX, channel, RX and eavesdropper as separate processes over ZeroMQ; CLI errors; GRC files."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from sdr_semcom.link.control import free_link_ports as _link_ports  # noqa: F401 - other test files import it
from tests.conftest import ROOT

CLI = [sys.executable, "-m", "sdr_semcom.cli"]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def _start(args, env=ENV, **kw):
    return subprocess.Popen(CLI + args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def _images(tmp_path, n=2, size=48):
    rng = np.random.default_rng(5)
    paths = []
    for i in range(n):
        p = tmp_path / f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


def test_three_process_loopback_bytes_match(tmp_path):
    pt, pa, pe = (f"tcp://127.0.0.1:{p}" for p in _link_ports(3))
    imgs = _images(tmp_path)
    procs = {
        "channel": _start(["channel", "--connect", pt, "--auth-bind", pa, "--eve-bind", pe, "--snr", "25",
                           "--eve-snr", "20", "--connect-timeout", "60", "--channel-engine", "gnuradio"]),
        "auth": _start(["rx", "--connect", pa, "--out", str(tmp_path / "auth"), "--connect-timeout", "60",
                        "--payload", "raw"]),
        "eve": _start(["rx", "--role", "eve", "--connect", pe, "--out", str(tmp_path / "eve"),
                       "--connect-timeout", "60", "--payload", "raw"]),
    }
    time.sleep(0.5)
    procs["tx"] = _start(["tx", *map(str, imgs), "--bind", pt, "--size", "48", "--connect-timeout", "60",
                          "--payload", "raw"])
    outs = {k: p.communicate(timeout=120) for k, p in procs.items()}
    for k, p in procs.items():
        assert p.returncode == 0, (k, outs[k])
    for role in ("auth", "eve"):
        rep = json.loads((tmp_path / role / "report.json").read_text())
        assert rep["per"] == 0 and rep["end_frame_heard"], rep
        # a receiver knows its estimate only (the channel ran at 25 / 20 dB; rx was given no config)
        assert "snr_db" not in rep and "snr_configured_db" not in rep
        assert rep["snr_est_db"] == pytest.approx({"auth": 25, "eve": 20}[role], abs=2)
        assert rep["packets_sent"] == rep["packets_received"] > 0
        for i, src in enumerate(imgs):
            got = np.asarray(Image.open(tmp_path / role / f"msg_00_{i:04d}.png"))
            assert (got == np.asarray(Image.open(src).convert("RGB"))).all()


def test_rx_without_peer_times_out_naming_the_address():
    (port,) = _link_ports(1)
    p = _start(["rx", "--connect", f"tcp://127.0.0.1:{port}", "--connect-timeout", "1", "--out", "/tmp/none"])
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1
    assert f"tcp://127.0.0.1:{port}" in err and "within 1 s" in err


def test_tx_without_peer_times_out_naming_the_address(tmp_path):
    (port,) = _link_ports(1)
    p = _start(["tx", *map(str, _images(tmp_path, 1)), "--bind", f"tcp://127.0.0.1:{port}", "--connect-timeout", "1",
                "--payload", "raw"])
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1 and f"tcp://127.0.0.1:{port}" in err


def test_invalid_options_are_usage_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("nonsense = 1\n")
    for args in (["rx", "--role", "mallory"], ["demo", "--size", "0"], ["channel", "--config", str(bad)],
                 ["demo", "--modulation", "8psk"]):
        p = subprocess.run(CLI + args, env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert p.returncode == 2, (args, p.stderr)
        assert "Usage:" in p.stderr or "Error" in p.stderr


def test_demo_writes_images_report_and_plot(tmp_path):
    imgs = _images(tmp_path, 2, 32)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    out = tmp_path / "demo"
    p = subprocess.run(CLI + ["demo", *map(str, imgs), str(tmp_path / "broken.png"), "--size", "32", "--out", str(out)],
                       env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "skipping" in p.stderr and "broken.png" in p.stderr
    rep = json.loads((out / "report.json").read_text())
    assert set(rep["receivers"]) == {"auth", "eve"}
    assert rep["receivers"]["auth"]["per"] == 0
    assert (out / "constellation.png").stat().st_size > 10_000
    for role in ("auth", "eve"):  # decoded and filled (the guard found nothing: the same pixels)
        assert len(list((out / role).glob("img?.png"))) == len(list((out / role).glob("img?_filled.png"))) == 2
    assert all("filled_regions" in row for row in rep["receivers"]["eve"]["images"])


@pytest.mark.skipif(shutil.which("grcc") is None, reason="grcc not installed")
def test_grc_flowgraphs_compile_and_loopback_runs(tmp_path):
    env = dict(ENV, GRC_BLOCKS_PATH=str(ROOT / "grc"))
    grcs = sorted((ROOT / "flowgraphs").glob("*.grc"))
    assert {g.stem for g in grcs} >= {"loopback", "tx", "channel", "rx"}
    for g in grcs:
        p = subprocess.run(["grcc", "-o", str(tmp_path), str(g)], env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
    # the generated loopback script runs headless and decodes what it sent (README.md by default)
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    p = subprocess.run([sys.executable, str(tmp_path / "semcom_loopback.py")], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=120, input="")
    assert p.returncode == 0, p.stderr
    rep = json.loads((tmp_path / "out" / "grc" / "auth" / "report.json").read_text())
    assert rep["packets_received"] == rep["packets_sent"] > 0
    assert (tmp_path / "out" / "grc" / "auth" / "msg_00_0000.bin").read_bytes() == (ROOT / "README.md").read_bytes()


@pytest.mark.slow
def test_phy_benchmark_prints_the_side_by_side_table(tmp_path):
    p = subprocess.run(CLI + ["bench", "phy", "--quick", "--out", str(tmp_path)], env=ENV, cwd=tmp_path,
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "sdr-semcom" in p.stdout and "gr-stock" in p.stdout and "peak memory" in p.stdout
    rows = json.loads((tmp_path / "phy_bench.json").read_text())
    ours = {r["snr_db"]: r["per"] for r in rows if r.get("system") == "sdr-semcom" and "snr_db" in r}
    stock = {r["snr_db"]: r["per"] for r in rows if r.get("system") == "gr-stock" and "snr_db" in r}
    assert ours[6] <= 0.01 and stock[6] == 1.0  # the PER target, and where the stock modem stands
    speed = {(r["system"], r["modulation"], r["figure"]): r for r in rows if r.get("figure", "").endswith("_Bps")}
    assert len(speed) == 12  # tx, rx, modem, loopback per system
    for r in speed.values():  # the median of the turns, with their range
        turns = r["value_turns"]
        assert len(turns) == r["turns"] and r["value"] == pytest.approx(float(np.median(turns)))
        assert r["value_min"] == min(turns) <= r["value"] <= max(turns) == r["value_max"]
    for system, mod in {(s, m) for s, m, _ in speed}:  # modem = delivered / (t_tx + t_rx), per turn: both ends' CPU
        tx, rx, modem = (speed[system, mod, f]["value_turns"] for f in ("tx_Bps", "rx_Bps", "modem_Bps"))
        for t, r, m, per in zip(tx, rx, modem, speed[system, mod, "rx_Bps"]["per_turns"]):
            assert m == pytest.approx(1 / (1 / (t * (1 - per)) + 1 / r), rel=1e-6) and m < min(t, r)
        medians = {f: speed[system, mod, f]["value"] for f in ("tx_Bps", "rx_Bps", "modem_Bps")}
        assert medians["modem_Bps"] < min(medians["tx_Bps"], medians["rx_Bps"])
    for (system, mod, figure), r in speed.items():  # ours / stock: ratio of the medians, range of the per-turn ratios
        stock = speed["gr-stock", "qpsk", figure]
        if system == "gr-stock":
            assert "vs_stock" not in r
            continue
        assert r["vs_stock"] == pytest.approx(r["value"] / stock["value"])
        per_turn = [a / b for a, b in zip(r["value_turns"], stock["value_turns"])]
        assert (r["vs_stock_min"], r["vs_stock_max"]) == pytest.approx((min(per_turn), max(per_turn)))
    sweep = [r for r in rows if "snr_db" in r]
    assert all(r["goodput_wall_Bps_min"] <= r["goodput_wall_Bps"] <= r["goodput_wall_Bps_max"] for r in sweep)
    assert "(" in p.stdout.split("Modem CPU speed")[1]  # the table quotes ranges
    assert all(r["per"] <= (0.0 if s == "sdr-semcom" else 0.05) for (s, _, _), r in speed.items())  # both decode there
    mem = [(r["role"], r["payload"], r["value"]) for r in rows if r.get("figure") == "peak_rss_mb"]
    assert len(mem) == 8 and all(v < 500 for _, _, v in mem), mem
    assert (tmp_path / "phy_bench.png").stat().st_size > 10_000


def _push_frames(addr, frames):
    """Push the bursts of ``frames`` on a bare GNU Radio PUSH socket (no control socket, no eot tag);
    returns the flowgraph, whose socket stays open (a peer alive but silent) while it is referenced."""
    from gnuradio import blocks, gr, zeromq

    from sdr_semcom.phy import ofdm

    samples = np.concatenate([np.concatenate([ofdm.modulate(f), np.zeros(400, np.complex64)]) for f in frames])
    tb = gr.top_block()
    tb.connect(blocks.vector_source_c(samples.tolist()), zeromq.push_sink(gr.sizeof_gr_complex, 1, addr, 100, True, -1))
    tb.run()  # returns once the peer's socket has taken them
    return tb


def test_transmission_cut_before_end_reports_incomplete(tmp_path, rng):
    """The upstream goes silent mid-transmission (no END frame, no eot tag): the receiver times
    out, writes what it got, says the transmission is incomplete (no PER) and exits 1."""
    from sdr_semcom.link.endpoints import LinkTransmitter

    (port,) = _link_ports(1)
    addr = f"tcp://127.0.0.1:{port}"
    rx = _start(["rx", "--connect", addr, "--out", str(tmp_path / "auth"), "--connect-timeout", "60",
                 "--idle-timeout", "2", "--payload", "raw"])
    tb = _push_frames(addr, LinkTransmitter(500).frames(rng.bytes(5000))[:6])  # 6 of 10 frames
    out, err = rx.communicate(timeout=60)
    del tb
    assert rx.returncode == 1, err
    assert "transmission incomplete: END not heard" in err and "at least 6 sent" in err
    rep = json.loads((tmp_path / "auth" / "report.json").read_text())
    assert rep["warning"] and addr in rep["warning"] and "went silent" in rep["warning"]
    assert not rep["end_frame_heard"] and rep["packets_received"] == 6 and rep["messages_partial"] == 1
    assert rep["status"] == "transmission incomplete: END not heard" and not rep["stream_ended"]
    assert rep["packets_sent"] is None and rep["per"] is None and rep["packets_sent_at_least"] == 6


def test_rx_interrupted_writes_what_it_received(tmp_path, rng):
    """SIGINT mid-transmission: the receiver stops, decodes and writes what it got, exits 130."""
    from sdr_semcom.link.endpoints import LinkTransmitter

    (port,) = _link_ports(1)
    addr = f"tcp://127.0.0.1:{port}"
    rx = _start(["rx", "--connect", addr, "--out", str(tmp_path / "auth"), "--connect-timeout", "60",
                 "--idle-timeout", "60", "--payload", "raw"])
    tb = _push_frames(addr, LinkTransmitter(500).frames(rng.bytes(5000))[:4])
    time.sleep(2)  # the socket took them: let the receiver decode them
    rx.send_signal(signal.SIGINT)
    out, err = rx.communicate(timeout=60)
    del tb
    assert rx.returncode == 130, err
    assert "interrupted by SIGINT" in out
    rep = json.loads((tmp_path / "auth" / "report.json").read_text())
    assert rep["interrupted"] == "SIGINT" and rep["packets_received"] == 4 and rep["per"] is None
    assert rep["messages_partial"] == 1 and rep["messages"][0]["missing_fragments"]


def test_tx_reports_undelivered_when_no_receiver(tmp_path):
    """A channel with no receiver: neither it nor the transmitter claims success."""
    pt, pa = (f"tcp://127.0.0.1:{p}" for p in _link_ports(2))
    ch = _start(["channel", "--connect", pt, "--auth-bind", pa, "--no-eve", "--connect-timeout", "3",
                 "--channel-engine", "gnuradio"])
    tx = _start(["tx", *map(str, _images(tmp_path, 1, 16)), "--bind", pt, "--size", "16", "--connect-timeout", "60",
                 "--payload", "raw"])
    (_, ch_err), (tx_out, tx_err) = ch.communicate(timeout=90), tx.communicate(timeout=90)
    assert ch.returncode == 1 and tx.returncode == 1, (ch_err, tx_err)
    assert f"no receiver (auth) on {pa}" in ch_err and "not delivered to: auth" in ch_err
    assert pa in tx_err and "not confirmed as delivered" in tx_err and "sent" not in tx_out


def test_a_rogue_control_peer_cannot_make_tx_succeed(tmp_path):
    """A local process that connects to tx's control socket (a DEALER, as a channel would), names
    itself the channel and says every receiver heard the END frame, without taking a sample: tx
    ignores its done (no END receipt), waits for the real one, and exits 1."""
    from sdr_semcom.link.control import ControlLink, control_address

    (port,) = _link_ports(1)
    pt = f"tcp://127.0.0.1:{port}"
    tx = _start(["tx", *map(str, _images(tmp_path, 1, 16)), "--bind", pt, "--size", "16", "--connect-timeout", "5",
                 "--payload", "raw"])
    claim = {"packets_received": 3, "packets_sent": 3, "end_frame_heard": True}
    with ControlLink(control_address(pt), False, "channel") as rogue:
        rogue.send("hello")
        rogue.send("ready")
        rogue.send("done", receivers={"auth": claim, "eve": claim})
        out, err = tx.communicate(timeout=90)
    assert tx.returncode == 1, (out, err)
    assert "did not quote its receipt" in err and "not confirmed as delivered" in err and "sent" not in out


def test_tx_fails_within_its_timeout_when_the_channel_dies(tmp_path):
    """The channel process is killed while tx waits on it: tx exits 1 within its idle timeout."""
    pt, pa = (f"tcp://127.0.0.1:{p}" for p in _link_ports(2))
    ch = _start(["channel", "--connect", pt, "--auth-bind", pa, "--no-eve", "--connect-timeout", "60",
                 "--channel-engine", "gnuradio"])
    tx = _start(["-v", "tx", *map(str, _images(tmp_path, 1, 16)), "--bind", pt, "--size", "16", "--connect-timeout",
                 "60", "--idle-timeout", "2", "--payload", "raw"])
    for line in tx.stderr:  # the channel has said hello: it is up, waiting for its receiver
        if "hello from channel" in line:
            break
    ch.kill()
    t_kill = time.monotonic()
    out, err = tx.communicate(timeout=60)
    ch.communicate()
    assert tx.returncode == 1, err
    assert time.monotonic() - t_kill < 2 + 8  # idle timeout + the process's exit
    assert pt in err and "went silent for 2 s" in err


@pytest.mark.slow
def test_cold_numba_cache_receives_everything(tmp_path):
    """With an empty numba cache the receiver compiles its kernels before it listens: a 2 s idle
    timeout does not cut it (it stopped after a third of the packets before). The receiver is the
    process that compiles most (tx and channel keep the warm cache: the test's time)."""
    pt, pa = (f"tcp://127.0.0.1:{p}" for p in _link_ports(2))
    cold = dict(ENV, NUMBA_CACHE_DIR=str(tmp_path / "nb"))
    procs = {
        "channel": _start(["channel", "--connect", pt, "--auth-bind", pa, "--no-eve", "--connect-timeout", "300",
                           "--idle-timeout", "2", "--channel-engine", "gnuradio"]),
        "auth": _start(["rx", "--connect", pa, "--out", str(tmp_path / "auth"), "--connect-timeout", "300",
                        "--idle-timeout", "2", "--payload", "raw"], env=cold),
        "tx": _start(["tx", *map(str, _images(tmp_path, 1, 32)), "--bind", pt, "--size", "32", "--connect-timeout",
                      "300", "--idle-timeout", "2", "--payload", "raw"]),
    }
    outs = {k: p.communicate(timeout=400) for k, p in procs.items()}
    for k, p in procs.items():
        assert p.returncode == 0, (k, outs[k])
    assert any((tmp_path / "nb").rglob("*.nbi"))  # it did compile into the empty cache
    rep = json.loads((tmp_path / "auth" / "report.json").read_text())
    assert rep["packets_received"] == rep["packets_sent"] > 0 and rep["per"] == 0
    assert f"auth received {rep['packets_sent']}/{rep['packets_sent']}" in outs["tx"][0]


def test_semantic_three_process_link_with_guard(tmp_path, face_samples):
    """tx runs the guard and the codec; only the receiver with the database opens and aligns what was removed.
    (The channel process runs sdr-semcom's emulator, the raw-payload test GNU Radio's channel_model:
    the end-of-transmission tag must cross both.)"""
    face = face_samples / "t1.jpg"
    pt, pa, pe = (f"tcp://127.0.0.1:{p}" for p in _link_ports(3))
    db = tmp_path / "db.yaml"
    link = tmp_path / "link.toml"  # given to the channel and the authorized receiver only
    link.write_text("[auth]\nsnr_db = 20\n")
    subprocess.run(CLI + ["db", "create", str(db)], env=ENV, cwd=ROOT, check=True, capture_output=True)
    procs = {
        "channel": _start(["channel", "--connect", pt, "--auth-bind", pa, "--eve-bind", pe, "--config", str(link),
                           "--eve-snr", "20", "--connect-timeout", "120", "--channel-engine", "semcom"]),
        "auth": _start(["rx", "--connect", pa, "--out", str(tmp_path / "auth"), "--db", str(db),
                        "--connect-timeout", "120", "--config", str(link)]),
        "eve": _start(["rx", "--role", "eve", "--connect", pe, "--out", str(tmp_path / "eve"),
                       "--connect-timeout", "120"]),
    }
    time.sleep(0.5)
    procs["tx"] = _start(["tx", str(face), "--bind", pt, "--size", "256", "--db", str(db), "--connect-timeout", "120",
                          "--margin", "0.3"])
    outs = {k: p.communicate(timeout=300) for k, p in procs.items()}
    for k, p in procs.items():
        assert p.returncode == 0, (k, outs[k])
    auth = json.loads((tmp_path / "auth" / "report.json").read_text())
    eve = json.loads((tmp_path / "eve" / "report.json").read_text())
    (a,), (e,) = auth["images"], eve["images"]
    assert a["packets"] == e["packets"] and not a["all_lost"]
    assert len(a["regions"]) >= 5 and all(r["entry"] == "faces" and r["score"] > 0.9 for r in a["regions"])
    assert a["key_check"] == "ok" and a.get("embedding_error") is None and a["region_count"] == len(a["regions"])
    assert e["regions"] == [] and e["region_count"] == len(a["regions"])  # sealed: the eavesdropper counts, no boxes
    # tx's --margin reached the authorized receiver sealed, and its fill bounds follow it; the features were
    # checked against the sealed tags; both receivers read the run's session id (clear), only auth a margin
    assert a["margin"] == 0.3 and "margin" not in e and a["features_verified"] is True and "features_verified" not in e
    assert len(a["session"]) == 16 and a["session"] == e["session"]
    width = Image.open(face).size[0]
    for r in a["regions"]:
        (x0, _, x1, _), (rx0, _, rx1, _) = r["box"], r["removed"]
        assert rx0 <= max(x0 - int(0.3 * (x1 - x0)), 0) and rx1 >= min(x1 + int(0.3 * (x1 - x0)), width)
    assert auth["snr_configured_db"] == 20 and "snr_configured_db" not in eve  # only what the config it got says
    img = np.asarray(Image.open(tmp_path / "auth" / a["file"]))
    assert img.shape == np.asarray(Image.open(face)).shape  # sent at 256 px (long side), restored to 1280 x 886
