"""Writes the GRC flowgraphs of this folder from one description, so they stay consistent.

Run ``python flowgraphs/build_grc.py`` after changing a block's parameters; the
``.grc`` files are committed. Open them in GNU Radio Companion with
``GRC_BLOCKS_PATH=grc gnuradio-companion flowgraphs/loopback.grc``, or compile
headless with ``GRC_BLOCKS_PATH=grc grcc -o build flowgraphs/loopback.grc``.

``tx_usrp``, ``rx_usrp``, ``eve_usrp`` and ``rx_eve_b210`` are the roles over USRPs (gr-uhd's
USRP Sink / Source, tuned with ``uhd.tune_request(freq, lo_offset)``; the transmitter's bursts
tagged ``tx_sob`` / ``tx_eob``); their device args, frequency, gain and LO offset are parameters,
so the generated scripts take ``--args``, ``--freq``, ``--gain``, ``--lo-offset`` (hw_setup.md).

The channels are the project's emulator (``grc/semcom_channel.block.yml``), as in the CLI;
GNU Radio's ``channels_channel_model`` applies the same model with the project's SNR
convention (in-band SNR, 52 of 64 carriers) as ``noise_voltage = sqrt(64 / 52 / 10**(snr_db / 10))``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from sdr_semcom.phy.channel import ChannelSpec, MULTIPATH_TAPS  # noqa: E402

TAPS = "[" + ", ".join(f"{t.real:.4f}{t.imag:+.4f}j" for t in ChannelSpec(taps=MULTIPATH_TAPS).normalised_taps) + "]"


def _var(name, value):
    return name, "variable", {"value": str(value)}


def _channel(name, snr_var, seed):
    """The project's channel emulator (the CLI's default engine)."""
    return name, "semcom_channel", {
        "snr_db": snr_var, "cfo_subcarriers": "cfo_subcarriers", "clock_ppm": "clock_ppm", "taps": TAPS,
        "seed": str(seed), "block_tags": "False"}


def _zmq(name, kind, address):
    return name, f"zeromq_{kind}", {"type": "complex", "vlen": "1", "address": address, "timeout": "100",
                                     "pass_tags": "True", "hwm": "-1"}


def _source(burst_tags=False):
    return "tx", "semcom_burst_source", {"files": "files", "modulation": "modulation", "gap": "400", "mtu": "1024",
                                         "burst_tags": str(burst_tags), "idle_fill": "False"}


#: Variables of the USRP flowgraphs (the CLI's --args, --freq, --rate, --gain, --lo-offset): change
#: them in GRC, or on the command line of the generated script (they are parameters there too).
def _usrp_vars(gain):
    return [("args", "parameter", {"type": "str", "value": "type=b200", "short_id": "", "hide": "none",
                                   "label": "UHD device args"}),
            ("freq", "parameter", {"type": "eng_float", "value": "2.45e9", "short_id": "", "hide": "none",
                                   "label": "Centre frequency (Hz)"}),
            ("gain", "parameter", {"type": "eng_float", "value": str(gain), "short_id": "", "hide": "none",
                                   "label": "Gain (dB)"}),
            ("lo_offset", "parameter", {"type": "eng_float", "value": "0", "short_id": "", "hide": "none",
                                        "label": "LO offset (Hz)"}),
            _var("samp_rate", "1e6")]


def _usrp(name, kind, antenna, nchan=1, subdev=""):
    """gr-uhd's USRP Sink (``kind="sink"``) or Source, tuned with a ``tune_request`` (LO offset)."""
    params = {"type": "fc32", "otw": "", "stream_args": "", "stream_chans": "[]", "dev_addr": "args",
              "dev_args": '""', "sync": "none", "start_time": "-1.0", "clock_rate": "0e0", "num_mboards": "1",
              "clock_source0": "", "time_source0": "", "sd_spec0": subdev, "nchan": str(nchan),
              "samp_rate": "samp_rate", "show_lo_controls": "False"}
    for ch in range(nchan):
        params.update({f"center_freq{ch}": "uhd.tune_request(freq, lo_offset)", f"gain{ch}": "gain",
                       f"gain_type{ch}": "default", f"ant{ch}": f'"{antenna}"', f"bw{ch}": "0"})
    if kind == "sink":
        params["len_tag_name"] = '""'  # bursts from the source's tx_sob / tx_eob tags
    return name, f"uhd_usrp_{kind}", params


def _sink(name, role, symbols_out=False):
    return name, "semcom_burst_sink", {"out_dir": f"out_dir + '/{role}'", "role": f'"{role}"', "mtu": "1024",
                                       "symbols_out": str(symbols_out)}


def _constellation(name):
    return name, "qtgui_const_sink_x", {"type": "complex", "name": '"equalised symbols"', "size": "2048",
                                        "nconnections": "1", "update_time": "0.10", "autoscale": "False",
                                        "xmin": "-1.5", "xmax": "1.5", "ymin": "-1.5", "ymax": "1.5", "gui_hint": ""}


def _tag_debug(name):
    return name, "blocks_tag_debug", {"type": "complex", "name": '"burst"', "filter": '"burst"', "num_inputs": "1",
                                      "vlen": "1", "display": "True"}


def _message_debug(name):
    return name, "blocks_message_debug", {"en_uvec": "True"}


IMPAIRMENTS = [_var("cfo_subcarriers", 0.3), _var("clock_ppm", 20)]
GRAPHS = {
    "loopback": ("TX -> auth and eavesdropper channels -> two receivers, in one process",
                 [_var("files", "['README.md']"), _var("modulation", '"qpsk"'), _var("out_dir", '"out/grc"'),
                  _var("snr_db", 15), _var("eve_snr_db", 5), *IMPAIRMENTS, _source(),
                  _channel("chan_auth", "snr_db", 1), _channel("chan_eve", "eve_snr_db", 2),
                  _sink("rx_auth", "auth"), _sink("rx_eve", "eve")],
                 [("tx", "chan_auth"), ("tx", "chan_eve"), ("chan_auth", "rx_auth"), ("chan_eve", "rx_eve")]),
    "loopback_gui": ("TX -> channel -> receiver with its equalised symbols on a constellation, each burst's "
                     "estimates on a tag debug and a message debug",
                     [_var("files", "['README.md']"), _var("modulation", '"qpsk"'), _var("out_dir", '"out/grc_gui"'),
                      _var("snr_db", 15), *IMPAIRMENTS, _source(), _channel("chan_auth", "snr_db", 1),
                      _sink("rx_auth", "auth", symbols_out=True), _constellation("constellation"),
                      _tag_debug("tags"), _message_debug("bursts")],
                     [("tx", "chan_auth"), ("chan_auth", "rx_auth"), ("rx_auth", "constellation"), ("rx_auth", "tags"),
                      ("rx_auth", "bursts", "bursts", "print")]),
    "tx": ("Transmitter process: files -> bursts -> ZeroMQ PUSH",
           [_var("files", "['README.md']"), _var("modulation", '"qpsk"'), _source(),
            _zmq("zmq_out", "push_sink", "'tcp://127.0.0.1:5555'")],
           [("tx", "zmq_out")]),
    "channel": ("Channel process: ZeroMQ PULL -> auth / eavesdropper channels -> ZeroMQ PUSH",
                [_var("snr_db", 15), _var("eve_snr_db", 5), *IMPAIRMENTS,
                 _zmq("zmq_in", "pull_source", "'tcp://127.0.0.1:5555'"),
                 _channel("chan_auth", "snr_db", 1), _channel("chan_eve", "eve_snr_db", 2),
                 _zmq("zmq_auth", "push_sink", "'tcp://127.0.0.1:5556'"),
                 _zmq("zmq_eve", "push_sink", "'tcp://127.0.0.1:5557'")],
                [("zmq_in", "chan_auth"), ("zmq_in", "chan_eve"), ("chan_auth", "zmq_auth"), ("chan_eve", "zmq_eve")]),
    "rx": ("Receiver process: ZeroMQ PULL -> burst receiver (auth on 5556; eve: address 5557, role eve)",
           [_var("out_dir", '"out/grc_rx"'), _zmq("zmq_in", "pull_source", "'tcp://127.0.0.1:5556'"),
            _sink("rx", "auth")],
           [("zmq_in", "rx")]),
    "tx_usrp": ("Transmitter over a USRP: files -> tx_sob/tx_eob tagged bursts -> UHD USRP Sink (TX/RX port)",
                [_var("files", "['README.md']"), _var("modulation", '"qpsk"'), *_usrp_vars(60),
                 _source(burst_tags=True), _usrp("usrp_tx", "sink", "TX/RX")],
                [("tx", "usrp_tx")]),
    "rx_usrp": ("Authorized receiver over a USRP: UHD USRP Source (RX2) -> burst receiver; stop it to write "
                "what it received",
                [_var("out_dir", '"out/grc_usrp"'), *_usrp_vars(40), _usrp("usrp_rx", "source", "RX2"),
                 _sink("rx", "auth")],
                [("usrp_rx", "rx")]),
    "eve_usrp": ("Eavesdropper over its own USRP: UHD USRP Source (RX2) -> burst receiver (role eve); stop it "
                 "to write what it received",
                 [_var("out_dir", '"out/grc_usrp"'), *_usrp_vars(40), _usrp("usrp_eve", "source", "RX2"),
                  _sink("rx_eve", "eve")],
                 [("usrp_eve", "rx_eve")]),
    "rx_eve_b210": ("Authorized receiver and eavesdropper on one B210's two channels (subdev A:A A:B, RX2 each): "
                    "channel 0 -> auth, channel 1 -> eve; stop it to write what each received",
                    [_var("out_dir", '"out/grc_usrp"'), *_usrp_vars(40),
                     _usrp("usrp_rx", "source", "RX2", nchan=2, subdev='"A:A A:B"'),
                     _sink("rx_auth", "auth"), _sink("rx_eve", "eve")],
                    [("usrp_rx", "0", "rx_auth", "0"), ("usrp_rx", "1", "rx_eve", "0")]),
}


def flowgraph(gid: str, title: str, blocks, edges) -> dict:
    """A GRC flowgraph: ``edges`` are (block, block) stream connections between ports 0, or
    (block, port, block, port) connections (message ports by name, stream ports by number); a graph
    with a ``qtgui_`` block is a QT GUI one."""
    out = []
    gui = any(bid.startswith("qtgui_") for _name, bid, _params in blocks)
    for i, (name, bid, params) in enumerate(blocks):
        out.append({"name": name, "id": bid, "parameters": {"comment": "", **params},
                    "states": {"coordinate": [16 + 200 * (i % 5), 120 + 120 * (i // 5)], "rotation": 0,
                               "state": "enabled"}})
    return {
        "options": {"parameters": {"author": "sdr-semcom", "category": "[sdr-semcom]", "description": title,
                                   "generate_options": "qt_gui" if gui else "no_gui", "id": f"semcom_{gid}", "output_language": "python",
                                   "run": "True", "run_options": "run", "title": title},
                    "states": {"coordinate": [8, 8], "rotation": 0, "state": "enabled"}},
        "blocks": out,
        "connections": [[e[0], "0", e[1], "0"] if len(e) == 2 else list(e) for e in edges],
        "metadata": {"file_format": 1},
    }


def main() -> None:
    for gid, (title, blocks, edges) in GRAPHS.items():
        path = HERE / f"{gid}.grc"
        path.write_text(yaml.safe_dump(flowgraph(gid, title, blocks, edges), sort_keys=False))
        print(path)


if __name__ == "__main__":
    main()
