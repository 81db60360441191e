"""tx / rx --calibration as processes: a CFO beyond the PHY's range, measured by sdr-semcom calibrate on
the loopback, pre-corrected by tx; rx removes the IQ imbalance the same file describes; over ZeroMQ and
through recordings into rx --role both."""

import json

import numpy as np

from sdr_semcom.phy import ofdm

from tests.integration.test_processes import _images, _link_ports, _start


def test_tx_precorrects_a_cfo_the_phy_alone_cannot_follow(tmp_path):
    cfo_subcarriers = 1.5  # 23.4 kHz at 1 MS/s: the PHY's detector and CFO estimate cover +-1 subcarrier
    cal = tmp_path / "cal.toml"
    p = _start(["calibrate", "--cfo-hz", str(cfo_subcarriers * 1e6 / 64), "--iq-gain-db", "1", "--iq-phase-deg", "5",
                "--bursts", "8", "--out", str(cal)])
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, (out, err)
    link = tmp_path / "link.toml"
    link.write_text(f"[auth]\nsnr_db = 25.0\ncfo_subcarriers = {cfo_subcarriers}\nclock_ppm = 10.0\n"
                    "iq_gain_db = 1.0\niq_phase_deg = 5.0\n")
    pt, pa, pe = (f"tcp://127.0.0.1:{p}" for p in _link_ports(3))
    procs = {
        "channel": _start(["channel", "--connect", pt, "--auth-bind", pa, "--no-eve", "--config", str(link),
                           "--connect-timeout", "60"]),
        "rx": _start(["rx", "--connect", pa, "--out", str(tmp_path / "auth"), "--connect-timeout", "60",
                      "--payload", "raw", "--calibration", str(cal)]),
    }
    procs["tx"] = _start(["tx", *map(str, _images(tmp_path)), "--bind", pt, "--size", "48", "--connect-timeout", "60",
                          "--payload", "raw", "--calibration", str(cal)])
    outs = {k: p.communicate(timeout=180) for k, p in procs.items()}
    for k, p in procs.items():
        assert p.returncode == 0, (k, outs[k])
    assert "output shifted by -2343" in outs["tx"][0], outs["tx"]
    assert "recommends tx gain" in outs["tx"][0] and "DC offset and IQ imbalance removed" in outs["rx"][0]
    rep = json.loads((tmp_path / "auth" / "report.json").read_text())
    assert rep["per"] == 0 and rep["end_frame_heard"] and rep["packets_received"] > 0, rep
    assert rep["snr_est_db"] > 20, rep


def test_calibrate_from_a_usrp_without_one_says_so_in_one_line():
    """With no radio: one line on stderr naming the device args (UHD's own log banner silenced), exit 1."""
    p = _start(["calibrate", "--source", "uhd", "--args", "type=b200,serial=NOPE"])
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1 and out == ""
    assert err.strip().splitlines() == [err.strip()], err
    assert 'Error: no USRP answered for device args "type=b200,serial=NOPE"' in err  # radio.uhd's line
    assert "--source file" in err and "--radio" not in err  # what calibrate can do instead


def test_calibration_through_recordings_into_both_receivers(tmp_path):
    """tx --radio file --calibration writes the pre-corrected stream; the recording through the impaired
    channel (1.5 subcarriers off, IQ imbalance) decodes in both chains of rx --role both --radio file
    --calibration, each with its own correcting receiver; neither has a radio to set the gains on."""
    from sdr_semcom.calibration import Loopback
    from sdr_semcom.calibration.apply import precorrect
    from sdr_semcom.calibration.command import Request, calibrate
    from sdr_semcom.phy.channel import ChannelEmulator, ChannelSpec
    from sdr_semcom.radio.file import write_meta

    cfo_subcarriers = 1.5
    impair = dict(iq_gain_db=1.0, iq_phase_deg=5.0)
    cal = tmp_path / "cal.toml"
    calibrate(Request(n_bursts=8, out=cal), Loopback(cfo_hz=cfo_subcarriers * 1e6 / 64, **impair))
    rec = tmp_path / "tx.sigmf-data"
    p = _start(["tx", *map(str, _images(tmp_path)), "--radio", "file", "--output", str(rec), "--size", "48",
                "--payload", "raw", "--calibration", str(cal)])
    out, err = p.communicate(timeout=180)
    assert p.returncode == 0, (out, err)
    assert "output shifted by -2343" in out and "not set (no radio to set it on: a recording" in out, out
    x = np.fromfile(rec, np.complex64)
    # the stream as sent is 1.5 subcarriers off (beyond the PHY's range: nothing decodes); shifted back, it decodes
    for shift_hz, decodes in ((0.0, False), (cfo_subcarriers * 1e6 / 64, True)):
        emu, rx = ChannelEmulator(ChannelSpec(snr_db=30, seed=3)), ofdm.BurstReceiver()
        y = precorrect(x, shift_hz, 1e6)
        bursts = [b for b in [*rx.feed(emu.process(y)), *rx.feed(emu.flush()), *rx.flush()] if b.payload]
        assert bool(bursts) == decodes and all(abs(b.cfo) < 50e-6 for b in bursts), (shift_hz, rx.stats)
    inputs = []
    for role, seed in (("auth", 1), ("eve", 2)):
        emu = ChannelEmulator(ChannelSpec(snr_db=25, cfo_subcarriers=cfo_subcarriers, seed=seed, **impair))
        path = tmp_path / f"{role}.sigmf-data"
        np.concatenate([emu.process(x), emu.flush()]).astype(np.complex64).tofile(path)
        write_meta(path, 1e6, "the channel's output")
        inputs += ["--input", str(path)]
    p = _start(["rx", "--role", "both", "--radio", "file", *inputs, "--out", str(tmp_path / "rx"), "--payload",
                "raw", "--calibration", str(cal)])
    out, err = p.communicate(timeout=180)
    assert p.returncode == 0, (out, err)
    assert "rx: calibration" in out and "DC offset and IQ imbalance removed" in out, out
    assert "recommends rx gain" in out and "not set (no radio to set it on: a recording" in out, out
    for role in ("auth", "eve"):
        rep = json.loads((tmp_path / "rx" / role / "report.json").read_text())
        assert rep["per"] == 0 and rep["end_frame_heard"] and rep["packets_received"] > 0, rep
        assert rep["snr_est_db"] > 20, rep
