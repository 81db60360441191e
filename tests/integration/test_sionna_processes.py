"""tx -> Sionna fading channel process -> rx (authorized and eavesdropper) over ZeroMQ on 127.0.0.1."""

import json

import pytest

from tests.integration.test_processes import _images, _link_ports, _start


@pytest.mark.slow  # ~30 s on 2 idle cores (Sionna's import, three GNU Radio processes)
def test_three_process_loopback_through_tdl_c(tmp_path):
    from sdr_semcom.channels import launch

    try:
        launch.sionna_python()
    except launch.SionnaMissing as exc:
        pytest.fail(f"{exc} (the tests want it)")
    pt, pa, pe = (f"tcp://127.0.0.1:{p}" for p in _link_ports(3))
    imgs = _images(tmp_path)
    procs = {
        "channel": _start(["channel", "--engine", "sionna", "--model", "tdl-c", "--delay-spread", "300",
                           "--speed", "0.833", "--snr", "30", "--eve-snr", "3", "--connect", pt, "--auth-bind", pa,
                           "--eve-bind", pe, "--connect-timeout", "90"]),
        "auth": _start(["rx", "--connect", pa, "--out", str(tmp_path / "auth"), "--connect-timeout", "90",
                        "--payload", "raw"]),
        "eve": _start(["rx", "--role", "eve", "--connect", pe, "--out", str(tmp_path / "eve"),
                       "--connect-timeout", "90", "--payload", "raw"]),
    }
    procs["tx"] = _start(["tx", *map(str, imgs), "--bind", pt, "--size", "48", "--connect-timeout", "90",
                          "--payload", "raw"])
    outs = {k: p.communicate(timeout=300) for k, p in procs.items()}
    for k, p in procs.items():
        assert p.returncode == 0, (k, outs[k])
    assert "tdl-c, delay spread 300 ns" in outs["channel"][0] and "delivered: auth received" in outs["channel"][0]
    # the default link config's receiver impairments apply after the fading (the multipath taps do not)
    assert outs["channel"][0].count("cfo_subcarriers 0.3, clock_ppm 20") == 2, outs["channel"][0]
    auth = json.loads((tmp_path / "auth" / "report.json").read_text())
    eve = json.loads((tmp_path / "eve" / "report.json").read_text())
    assert auth["end_frame_heard"] and auth["per"] <= 0.1, auth
    # the eavesdropper at 3 dB in its own fading realisation loses more
    assert eve["packets_received"] < auth["packets_received"], (auth["packets_received"], eve["packets_received"])
