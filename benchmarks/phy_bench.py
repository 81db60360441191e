"""PHY benchmark: PER and goodput vs SNR, sdr-semcom's PHY beside GNU Radio's stock OFDM.

Both systems see the same channel emulator and impairments
(:func:`sdr_semcom.phy.channel.impaired`: 0.3-subcarrier CFO, 20 ppm clock error,
3-tap multipath; the default engine, ``semcom``), the same SNR definition (in-band, burst power over noise power
in the 52 occupied carriers: both modems use the same 52 of 64 carriers), the same
payloads and the same inter-burst gap.  Stock = ``digital.ofdm_tx``/``ofdm_rx``
(fft 64, cp 16, BPSK header, QPSK payload, CRC32, no FEC) with
``burst_shaper_cc`` padding, its output scaled to unit burst power.

Figures per (system, SNR): PER, goodput on the air (payload bits delivered per
second at 1 MS/s) and wall-clock goodput on this machine (payload bytes
delivered per second of processing, TX + channel + RX in one process: the
channel emulator costs per sample, and this PHY's rate-1/2 code sends twice
the samples of the uncoded stock modem per byte). Each point is run 5 times,
the systems taking turns (A B C A B C ...); the wall-clock goodput is the median
of the turns with its range (min-max), and ours / stock is the ratio of the
medians with the range of the per-turn ratios (the channel engine's output
repeats exactly, so the packets lost are the same in each run).

Modem speed (:func:`modem_speed`, at 30 dB where both decode): each system's
TX graph and RX graph timed alone on this machine, and the whole loopback (TX,
channel emulator, RX in one process on the 2 cores), 5 turns of 1000 packets,
the systems taking turns; ``tx_Bps`` / ``rx_Bps`` / ``loopback_Bps`` payload bytes
per second, ``modem_Bps`` with both ends sharing one core. Each row's ``value``
is the median of the turns, ``value_min`` / ``value_max`` their range and
``value_turns`` the turns in order; our rows carry ``vs_stock`` (ratio of the
medians) and ``vs_stock_min`` / ``vs_stock_max`` (range of the per-turn ratios).
The multi-process chain (tx, channel, rx, eve) is also run once to report each
role's peak memory.

Receiver front end (:func:`front_end_sweep`): PER of both systems (QPSK) with a DC offset
(LO leakage), a spurious tone or IQ imbalance (:data:`FRONT_ENDS`) on top of the standard
impairments, at 6, 22 (quick: not run) and 30 dB, one run each (the ``semcom`` channel engine,
the only one that models the front end: its output repeats exactly).

Usage: ``python benchmarks/phy_bench.py [--quick] [--out DIR] [--packets N] [--speed-packets N]``
(also ``sdr-semcom bench phy``).
Writes ``phy_bench.json`` (a list of flat rows) and ``phy_bench.png``; prints a table.
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import save  # noqa: E402
from sdr_semcom.config import LinkConfig  # noqa: E402
from sdr_semcom.link.loopback import run_loopback  # noqa: E402
from sdr_semcom.phy.channel import ChannelSpec, impaired  # noqa: E402

SAMPLE_RATE = 1e6
GAP = 400

#: The receiver front ends of :func:`front_end_sweep` (:class:`ChannelSpec` fields).
FRONT_ENDS: dict[str, dict] = {
    "none": {},
    "DC -20 dBc": {"dc_offset_dbc": -20.0},
    "tone -20 dBc": {"tone_dbc": -20.0, "tone_subcarriers": 5.3},
    "IQ 0.5 dB 3 deg": {"iq_gain_db": 0.5, "iq_phase_deg": 3.0},
}


def spread(values) -> dict:
    """Median of repeated measurements and their range: ``value``, ``value_min``, ``value_max``,
    ``value_turns`` (in the order run)."""
    values = [float(v) for v in values]
    return {"value": float(np.median(values)), "value_min": min(values), "value_max": max(values),
            "value_turns": values}


def ratio(ours, stock) -> dict | None:
    """ours / stock for measurements taken in turns (``ours[i]`` and ``stock[i]`` in the same round):
    ``vs_stock`` the ratio of the medians, ``vs_stock_min`` / ``vs_stock_max`` the range of the
    per-turn ratios; None where stock has a zero."""
    if min(stock) <= 0:
        return None
    turns = [a / b for a, b in zip(ours, stock)]
    return {"vs_stock": float(np.median(ours) / np.median(stock)), "vs_stock_min": min(turns),
            "vs_stock_max": max(turns)}


def cell(med: float, lo: float, hi: float, fmt: str = "{:.0f}", unit: str = "") -> str:
    """``871 (790-905)``: a median and its range."""
    f = fmt + unit
    return f"{f.format(med)} ({fmt.format(lo)}-{f.format(hi)})"


def _payloads(n: int, size: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [struct.pack(">I", i) + rng.bytes(size - 4) for i in range(n)]


def run_ours(spec: ChannelSpec, payloads: list[bytes], modulation: str = "qpsk") -> dict:
    size = len(payloads[0])
    cfg = LinkConfig(modulation=modulation, mtu=size, gap=GAP, sample_rate=SAMPLE_RATE, auth=spec)
    res = run_loopback(payloads, cfg, roles=("auth",))
    rep = res.rx["auth"].report
    received = sum(m.complete and m.data == p for m, p in zip(sorted(res.rx["auth"].messages, key=lambda m: m.msg_id), payloads))
    delivered = rep["payload_bytes"]
    return {"packets": len(payloads), "received": rep["packets_received"], "per": rep["per"],
            "goodput_air_bps": 8 * delivered / res.tx["airtime_s"], "goodput_wall_Bps": delivered / res.tx["wall_s"],
            "wall_s": res.tx["wall_s"], "verified": received}


_STOCK_SCALE: dict[int, float] = {}


def run_stock(spec: ChannelSpec, payloads: list[bytes]) -> dict:
    """GNU Radio's stock OFDM loopback on the same channel."""
    from gnuradio import blocks, gr

    from sdr_semcom.blocks.channel_block import make_channel_block

    size = len(payloads[0])
    tb = gr.top_block()
    src, txb = _stock_tx(payloads)
    scale = blocks.multiply_const_cc(_stock_scale(payloads))
    chan = make_channel_block(spec, block_tags=True)
    tb.connect(src, txb, scale, chan)
    got = _stock_rx(tb, chan)
    tap = blocks.probe_rate(gr.sizeof_gr_complex, 1000.0, 0.15)
    tb.connect(scale, tap)
    n_in = _stock_total_samples(payloads)
    wall = _run_until_quiet(tb, lambda: tap.nitems_read(0), n_in, got)
    payload_set = set(payloads)
    ok = {g for g in got if g in payload_set}
    delivered = len(ok) * size
    airtime = n_in / SAMPLE_RATE
    return {"packets": len(payloads), "received": len(ok), "per": 1 - len(ok) / len(payloads),
            "goodput_air_bps": 8 * delivered / airtime, "goodput_wall_Bps": delivered / wall, "wall_s": wall,
            "verified": len(ok)}


def _stock_scale(payloads) -> float:
    """Gain that brings the stock TX's bursts to unit mean power (measured once per payload size)."""
    from gnuradio import blocks, gr

    size = len(payloads[0])
    if size not in _STOCK_SCALE:
        tb = gr.top_block()
        src, txb = _stock_tx(payloads[:20])
        snk = blocks.vector_sink_c()
        tb.connect(src, txb, snk)
        tb.run()
        x = np.asarray(snk.data())
        _STOCK_SCALE[size] = 1 / np.sqrt(np.mean(np.abs(x[np.abs(x) > 1e-9]) ** 2))
    return _STOCK_SCALE[size]


def _stock_rx(tb, src):
    """Stock ``ofdm_rx`` after ``src`` in ``tb``; returns the list its packets are appended to."""
    import pmt
    from gnuradio import digital, gr, pdu

    rx = digital.ofdm_rx(fft_len=64, cp_len=16, frame_length_tag_key="frame_len", packet_length_tag_key="len",
                         bps_header=1, bps_payload=2)
    to_pdu = pdu.tagged_stream_to_pdu(gr.types.byte_t, "len")
    got: list[bytes] = []

    class Collect(gr.basic_block):
        def __init__(self):
            gr.basic_block.__init__(self, "collect", None, None)
            self.message_port_register_in(pmt.intern("in"))
            self.set_msg_handler(pmt.intern("in"), self.handle)

        def handle(self, msg):
            got.append(bytes(pmt.u8vector_elements(pmt.cdr(msg))))

    col = Collect()
    tb.connect(src, rx, to_pdu)
    tb.msg_connect(to_pdu, "pdus", col, "in")
    tb._keep = (rx, to_pdu, col)  # GNU Radio must not outlive its Python blocks
    return got


def _run_until_quiet(tb, progress, n_in: int, got: list, quiet: float = 0.02) -> float:
    """Run ``tb`` until ``progress()`` reaches ``n_in`` samples and no packet came for ``quiet``
    seconds; wall seconds.

    ``ofdm_rx`` never ends its stream by itself: both conditions are polled every 2 ms, so the
    overhead is small.
    """
    t0 = time.perf_counter()
    tb.start()
    deadline = time.perf_counter() + 600
    while progress() < n_in and time.perf_counter() < deadline:
        time.sleep(0.002)
    last, quiet_since = -1, time.perf_counter()
    while time.perf_counter() - quiet_since < quiet:
        if len(got) != last:
            last, quiet_since = len(got), time.perf_counter()
        time.sleep(0.002)
    wall = time.perf_counter() - t0 - quiet
    tb.stop()
    tb.wait()
    return wall


_STOCK_LEN: dict[tuple[int, int], int] = {}


def _stock_tx(payloads):
    from gnuradio import blocks, digital

    data = np.frombuffer(b"".join(payloads), np.uint8).tolist()
    src = blocks.vector_source_b(data, False, 1, [])
    s2t = blocks.stream_to_tagged_stream(1, 1, len(payloads[0]), "packet_len")
    txh = digital.ofdm_tx(fft_len=64, cp_len=16, packet_length_tag_key="packet_len", bps_header=1, bps_payload=2,
                          rolloff=0, scramble_bits=False)
    shaper = digital.burst_shaper_cc([], 0, GAP, False, "packet_len")

    from gnuradio import gr

    class Chain(gr.hier_block2):
        def __init__(self):
            gr.hier_block2.__init__(self, "stock_tx", gr.io_signature(1, 1, 1), gr.io_signature(1, 1, 8))
            self.connect(self, s2t, txh, shaper, self)

    return src, Chain()


def _stock_total_samples(payloads) -> int:
    """Samples the stock TX emits for these payloads (measured once per shape)."""
    from gnuradio import blocks, gr

    key = (len(payloads), len(payloads[0]))
    if key not in _STOCK_LEN:
        tb = gr.top_block()
        src, txb = _stock_tx(payloads)
        snk = blocks.null_sink(gr.sizeof_gr_complex)
        tb.connect(src, txb, snk)
        tb.run()
        _STOCK_LEN[key] = int(snk.nitems_read(0))
    return _STOCK_LEN[key]


def _through_channel(x: np.ndarray, spec: ChannelSpec) -> np.ndarray:
    from gnuradio import blocks, gr

    from sdr_semcom.blocks.channel_block import make_channel_block

    tb = gr.top_block()
    src, chan, snk = blocks.vector_source_c(x), make_channel_block(spec, block_tags=True), blocks.vector_sink_c()
    tb.connect(src, chan, snk)  # ``chan`` may be a Python block: it must stay referenced while it runs
    tb.run()
    return np.asarray(snk.data(), np.complex64)


def modem_speed(size: int, npk: int, snr: float, repeats: int = 3, engine: str = "semcom") -> list[dict]:
    """Speed of each modem on this machine at ``snr``: its TX graph (payloads -> samples) and its RX
    graph (a recorded channel output -> packets), each timed on its own, and the whole loopback.

    Each measurement runs once untimed (warm-up), then ``repeats`` times, the systems taking turns
    (A B C A B C ...) so that a slow spell of the shared machine hits all of them; each row holds the
    median of the turns and their range (:func:`spread`), our rows the ratio to stock
    (:func:`ratio`). Building a graph is not timed. The channel emulator is left out of the TX and
    RX graphs: it is the same block for both systems and costs per sample, not per packet.

    Figures: ``tx_Bps`` and ``rx_Bps`` (payload bytes per second of processing, RX counting only
    packets delivered), ``modem_Bps`` = payload / (TX time + RX time), the CPU a link's two ends
    need (per turn: that turn's TX and RX times), and ``loopback_Bps``: TX + channel + RX in one
    process on all cores. ``per``: the worst turn's (``per_turns``: each turn's).
    """
    payloads = _payloads(npk, size, seed=size)
    spec = impaired(snr, seed=1 + int(snr), engine=engine)
    systems = (("sdr-semcom", "qpsk"), ("sdr-semcom", "16qam"), ("gr-stock", "qpsk"))
    timers = {key: _timers(*key, payloads, spec) for key in systems}
    turns: dict[tuple, list] = {}
    for rep in range(repeats + 1):
        for key in systems:
            for name, measure in timers[key].items():
                seconds, result = measure()
                if rep:  # the first round warms up
                    turns.setdefault((key, name), []).append((seconds, result))
    total = npk * size
    figures, pers, loop_pers = {}, {}, {}
    for key in systems:
        tx, rx, loop = (turns[key, n] for n in ("tx", "rx", "loopback"))
        figures[key] = {"tx_Bps": [total / t for t, _ in tx], "rx_Bps": [d / t for t, d in rx],
                        "modem_Bps": [d / (t_tx + t_rx) for (t_tx, _), (t_rx, d) in zip(tx, rx)],
                        "loopback_Bps": [r["goodput_wall_Bps"] for _, r in loop]}
        pers[key] = [1 - d / total for _, d in rx]
        loop_pers[key] = [r["per"] for _, r in loop]
    rows = []
    for system, mod in systems:
        key = (system, mod)
        base = {"system": system, "modulation": mod, "payload_bytes": size, "speed_snr_db": snr, "packets": npk,
                "turns": repeats, "per": max(pers[key]), "per_turns": pers[key]}
        for figure, values in figures[key].items():
            row = {**base, "figure": figure, **spread(values)}
            if figure == "loopback_Bps":
                row["loopback_per"] = max(loop_pers[key])
            if system != "gr-stock":
                row.update(ratio(values, figures["gr-stock", "qpsk"][figure]) or {})
            rows.append(row)
    return rows


def _timers(system: str, mod: str, payloads: list[bytes], spec: ChannelSpec) -> dict:
    """``{"tx" | "rx" | "loopback": measure}`` for one modem, see :func:`modem_speed`; ``measure()``
    builds a graph (untimed), runs it and returns (seconds, result): payload bytes delivered for
    ``rx``, the loopback's figures for ``loopback``."""
    from gnuradio import blocks, gr

    from sdr_semcom.blocks import BurstSink, BurstSource
    from sdr_semcom.blocks.buffers import big_output_buffer
    from sdr_semcom.link.endpoints import LinkReceiver
    from sdr_semcom.link.loopback import _as_messages

    size, payload_set = len(payloads[0]), set(payloads)
    cfg = LinkConfig(modulation=mod, mtu=size, gap=GAP)

    def make_tx(sink):
        tb = gr.top_block()
        if system == "gr-stock":
            src, txb = _stock_tx(payloads)  # payloads into a vector source (not timed)
            tb.connect(src, txb, sink)
            return tb, None, sink
        src = BurstSource(cfg.modulation, cfg.gap)
        tb.connect(src, sink)
        return tb, src, sink

    def run_tx(graph):
        tb, src, _sink = graph
        if src is not None:  # our modulation happens here, in the caller's thread: timed
            src.transmit(_as_messages(payloads), cfg.mtu)
        tb.run()

    rec = blocks.vector_sink_c()
    run_tx(make_tx(rec))
    x = np.asarray(rec.data(), np.complex64)
    if system == "gr-stock":
        x = x * _stock_scale(payloads)
    capture = _through_channel(x, spec)

    def make_rx():
        tb = gr.top_block()
        src = blocks.vector_source_c(capture)  # copying the capture in is not timed
        big_output_buffer(src)  # as the project's graphs do (no effect on stock's speed)
        if system == "gr-stock":
            return tb, src, _stock_rx(tb, src)
        receiver = LinkReceiver("auth")
        sink = BurstSink(on_burst=receiver.push)
        tb.connect(src, sink)
        return tb, src, (receiver, sink)

    def run_rx(graph) -> int:
        tb, src, out = graph
        if system == "gr-stock":
            _run_until_quiet(tb, lambda: src.nitems_written(0), capture.size, out)
            return len({g for g in out if g in payload_set}) * size
        tb.run()
        receiver, sink = out
        receiver.finish()
        return receiver.report(sink.receiver.stats, None, 1.0, None)["payload_bytes"]

    def timed(make, run):
        def measure():
            graph = make()
            t0 = time.perf_counter()
            result = run(graph)
            return time.perf_counter() - t0, result
        return measure

    def loopback():
        r = run_stock(spec, payloads) if system == "gr-stock" else run_ours(spec, payloads, mod)
        return r["wall_s"], r

    return {"tx": timed(lambda: make_tx(blocks.null_sink(gr.sizeof_gr_complex)), run_tx),
            "rx": timed(make_rx, run_rx), "loopback": loopback}


def stock_per_on_capture(spec: ChannelSpec, payloads: list[bytes]) -> float:
    """PER of the stock receiver on a recorded channel output: unlike :func:`run_stock`, whose end
    is found by timing, the result does not depend on the machine's load (the Python channel
    block can stall the loopback for more than its 20 ms of quiet on a busy machine)."""
    from gnuradio import blocks, gr

    tb = gr.top_block()
    src, txb = _stock_tx(payloads)
    snk = blocks.vector_sink_c()
    tb.connect(src, txb, snk)
    tb.run()
    capture = _through_channel(np.asarray(snk.data(), np.complex64) * _stock_scale(payloads), spec)
    tb = gr.top_block()
    src = blocks.vector_source_c(capture)
    got = _stock_rx(tb, src)
    _run_until_quiet(tb, lambda: src.nitems_written(0), capture.size, got, quiet=0.25)
    return 1 - len(set(got) & set(payloads)) / len(payloads)


def front_end_sweep(payloads: list[bytes], snrs) -> list[dict]:
    """PER of both systems (QPSK) for each of :data:`FRONT_ENDS` at each SNR (standard impairments,
    channel engine ``semcom``, one run: the packets lost repeat exactly; stock on a recorded
    capture, :func:`stock_per_on_capture`)."""
    rows = []
    for snr in snrs:
        for name, front_end in FRONT_ENDS.items():
            spec = ChannelSpec(**{**impaired(snr, seed=1 + snr).__dict__, **front_end})
            for system in ("sdr-semcom", "gr-stock"):
                if system == "sdr-semcom":
                    per = run_ours(spec, payloads)["per"]
                else:
                    per = stock_per_on_capture(spec, payloads)
                rows.append({"system": system, "modulation": "qpsk", "payload_bytes": len(payloads[0]),
                             "front_end": name, "front_end_snr_db": snr, "per": per, "packets": len(payloads)})
    return rows


def role_memory(out: Path, payload: str) -> list[dict]:
    """Peak RSS of each role when run as separate processes over ZeroMQ (``raw`` or ``semantic`` payload)."""
    exe = [sys.executable, "-m", "sdr_semcom.cli"]
    ports = [str(20000 + (os.getpid() % 1000) * 3 + i) for i in range(3)]
    addr = [f"tcp://127.0.0.1:{p}" for p in ports]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmds = {
        "channel": exe + ["channel", "--connect", addr[0], "--auth-bind", addr[1], "--eve-bind", addr[2]],
        "rx": exe + ["rx", "--connect", addr[1], "--out", str(out / "mem_rx"), "--payload", payload],
        "eve": exe + ["rx", "--role", "eve", "--connect", addr[2], "--out", str(out / "mem_eve"), "--payload", payload],
        "tx": exe + ["tx", "--bind", addr[0], "--size", "128", "--payload", payload],
    }
    procs = {}
    for role, cmd in cmds.items():
        procs[role] = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if role != "tx":
            time.sleep(0.3)
    # ru_maxrss of a child keeps the parent's size at fork time on Linux: read VmHWM instead
    peak = {role: 0.0 for role in procs}
    while any(p.poll() is None for p in procs.values()):
        for role, p in procs.items():
            try:
                status = Path(f"/proc/{p.pid}/status").read_text()
                hwm = next(line for line in status.splitlines() if line.startswith("VmHWM"))
                peak[role] = max(peak[role], int(hwm.split()[1]) / 1024)
            except (OSError, StopIteration):
                pass
        time.sleep(0.02)
    return [{"system": "sdr-semcom", "role": role, "payload": payload, "figure": "peak_rss_mb", "value": peak[role],
             "exit_code": p.returncode} for role, p in procs.items()]


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2, a3, a4) = plt.subplots(1, 4, figsize=(21, 4.2))
    link = [r for r in rows if "snr_db" in r]
    for key in sorted({(r["system"], r["modulation"], r["payload_bytes"]) for r in link}):
        pts = sorted((r["snr_db"], r["per"], r["goodput_air_bps"]) for r in link
                     if (r["system"], r["modulation"], r["payload_bytes"]) == key)
        label = f"{key[0]} {key[1]} {key[2]} B"
        snr, per, gp = zip(*pts)
        a1.semilogy(snr, np.maximum(per, 1e-3), "o-", label=label)
        a2.plot(snr, np.array(gp) / 1e3, "o-", label=label)
    a1.axhline(0.01, color="k", lw=0.6, ls="--")
    a1.set(xlabel="SNR (dB, in-band)", ylabel="PER (floored at 1e-3)", title="Packet error rate")
    a2.set(xlabel="SNR (dB, in-band)", ylabel="goodput (kbit/s at 1 MS/s)", title="Goodput on the air")
    figures = (("rx_Bps", "RX alone"), ("tx_Bps", "TX alone"), ("loopback_Bps", "loopback (2 cores)"))
    speed = [r for r in rows if r.get("figure") in dict(figures)]
    labels = sorted({(r["payload_bytes"], r["system"], r["modulation"]) for r in speed})
    xs = np.arange(len(labels))
    for i, (fig_key, name) in enumerate(figures):
        got = [next(r for r in speed if r["figure"] == fig_key and (r["payload_bytes"], r["system"], r["modulation"])
                    == lab) for lab in labels]
        med, lo, hi = (np.array([r[k] for r in got]) / 1e3 for k in ("value", "value_min", "value_max"))
        a3.bar(xs + (i - 1) * 0.27, med, 0.27, yerr=[med - lo, hi - med], capsize=2, label=name)
    a3.set_xticks(xs, [f"{s}\n{m} {b} B" for b, s, m in labels], fontsize=7)
    turns = speed[0]["turns"] if speed else 0
    a3.set(ylabel="payload kB/s", title=f"Speed on this machine (30 dB; median of {turns} turns, bars: range)")
    fe = [r for r in rows if "front_end" in r]
    names = list(dict.fromkeys(r["front_end"] for r in fe))
    bars = sorted({(r["system"], r["front_end_snr_db"]) for r in fe})
    for i, (system, snr) in enumerate(bars):
        per = [next(r["per"] for r in fe if (r["system"], r["front_end_snr_db"], r["front_end"]) == (system, snr, n))
               for n in names]
        a4.bar(np.arange(len(names)) + (i - (len(bars) - 1) / 2) * 0.8 / len(bars), np.maximum(per, 2e-3),
               0.8 / len(bars), label=f"{system} {snr} dB")
    a4.set_yscale("log")
    a4.set_ylim(1.5e-3, 50)  # room for the legend above PER 1
    a4.set_xticks(np.arange(len(names)), names, fontsize=7)
    a4.set(ylabel="PER (floored at 2e-3)", title="Receiver front end (QPSK)")
    for a in (a1, a2, a3, a4):
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    fig.suptitle("CFO 0.3 subcarrier, 20 ppm clock, 3-tap multipath")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few SNR points and packets")
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("--channel-engine", default="semcom", choices=["semcom", "gnuradio"],
                    help="channel emulator of the loopback runs and the recorded captures")
    ap.add_argument("--packets", type=int, help="packets per SNR point and turn (default 300; quick: 40)")
    ap.add_argument("--speed-packets", type=int, help="packets per modem-speed turn (default 1000; quick: 40)")
    ap.add_argument("--channel", help="instead: PER / goodput through Sionna's fading channels, comma-separated "
                                      "(awgn, rayleigh, tdl-a .. tdl-e): benchmarks/fading_bench.py")
    args, rest = ap.parse_known_args(argv)
    if args.channel:
        from benchmarks import fading_bench

        return fading_bench.main(["--channel", args.channel, "--out", args.out, *(["--quick"] if args.quick else []),
                                  *(["--packets", str(args.packets)] if args.packets else []), *rest])
    if rest:
        ap.error(f"unrecognized arguments: {' '.join(rest)}")
    from gnuradio import gr

    gr.logging().set_default_level(gr.log_levels.warn)  # the stock receiver logs every bad header
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.quick:
        snrs, npk, sizes, mods, repeats = [0, 4, 6, 10, 20, 30], 40, [96], ["qpsk"], 1
    else:
        snrs, npk, sizes, mods, repeats = list(range(0, 31, 2)), 300, [96, 500], ["qpsk", "16qam"], 5
    speed_npk = args.speed_packets or (npk if args.quick else 1000)
    npk = args.packets or npk
    rows = []
    print(f"Wall kB/s: median of {repeats} turns (range); vs stock: ratio of the medians (range of the per-turn"
          " ratios)")
    print(f"{'system':<12}{'mod':<7}{'bytes':>6}{'SNR':>5}{'PER':>8}{'air kbit/s':>12}{'wall kB/s':>20}"
          f"{'vs stock':>18}")
    for size in sizes:
        payloads = _payloads(npk, size, seed=size)
        for snr in snrs:
            spec = impaired(snr, seed=1 + snr, engine=args.channel_engine)
            runs = [("sdr-semcom", m, lambda m=m: run_ours(spec, payloads, m)) for m in mods]
            runs.append(("gr-stock", "qpsk", lambda: run_stock(spec, payloads)))
            tries = [[fn() for _s, _m, fn in runs] for _ in range(repeats)]  # systems take turns
            stock = [t[-1]["goodput_wall_Bps"] for t in tries]
            for i, (system, mod, _fn) in enumerate(runs):
                walls = [t[i]["goodput_wall_Bps"] for t in tries]
                r = sorted((t[i] for t in tries), key=lambda r: r["goodput_wall_Bps"])[len(tries) // 2]  # median turn
                s = spread(walls)
                row = {"system": system, "modulation": mod, "payload_bytes": size, "snr_db": snr,
                       "channel_engine": spec.engine, **r, "turns": repeats, "goodput_wall_Bps": s["value"],
                       "goodput_wall_Bps_min": s["value_min"], "goodput_wall_Bps_max": s["value_max"],
                       "goodput_wall_Bps_turns": walls, "per_max": max(t[i]["per"] for t in tries)}
                vs = ratio(walls, stock) if system != "gr-stock" else None
                if vs:
                    row.update({"wall_" + k: v for k, v in vs.items()})
                rows.append(row)
                vs_cell = cell(vs["vs_stock"], vs["vs_stock_min"], vs["vs_stock_max"], "{:.1f}", "x") if vs else ""
                print(f"{system:<12}{mod:<7}{size:>6}{snr:>5}{r['per']:>8.3f}{r['goodput_air_bps'] / 1e3:>12.1f}"
                      f"{cell(s['value'] / 1e3, s['value_min'] / 1e3, s['value_max'] / 1e3):>20}{vs_cell:>18}",
                      flush=True)
    speed = []
    for size in sizes:
        speed += modem_speed(size, speed_npk, snr=30, repeats=1 if args.quick else 5, engine=args.channel_engine)
    print(f"\nModem CPU speed on this machine (kB/s of payload, median of {speed[0]['turns']} turns of {speed_npk}"
          " packets (range), the systems taking turns; 30 dB, both PER <= 1%; TX and RX graphs timed alone;"
          " TX+RX: both ends on one core; loopback: TX + channel + RX in one process, 2 cores;"
          " x: ours / stock, ratio of the medians (range of the per-turn ratios))")
    print(f"{'system':<12}{'mod':<7}{'bytes':>6}{'PER':>7}{'TX':>20}{'RX':>20}{'TX+RX':>20}{'loopback':>20}")
    for i in range(0, len(speed), 4):
        group = speed[i : i + 4]
        tx = group[0]
        print(f"{tx['system']:<12}{tx['modulation']:<7}{tx['payload_bytes']:>6}{tx['per']:>7.3f}"
              + "".join(f"{cell(r['value'] / 1e3, r['value_min'] / 1e3, r['value_max'] / 1e3):>20}" for r in group))
    for i in range(0, len(speed), 4):
        group = speed[i : i + 4]
        if "vs_stock" in group[0]:
            print(f"{group[0]['modulation'] + ' / stock':<25}{group[0]['payload_bytes']:>6}{'':>7}"
                  + "".join(f"{cell(r['vs_stock'], r['vs_stock_min'], r['vs_stock_max'], '{:.1f}', 'x'):>20}"
                            for r in group))
    rows += speed
    fe_snrs = (6, 30) if args.quick else (6, 22, 30)
    fe = front_end_sweep(_payloads(npk, sizes[0], seed=sizes[0]), fe_snrs)
    print(f"\nPER with receiver front-end impairments (QPSK, {sizes[0]} B, {npk} packets; standard impairments too)")
    print(f"{'front end':<18}" + "".join(f"{s[:5] + ' ' + str(d) + ' dB':>14}" for d in fe_snrs
                                          for s in ("ours", "stock")))
    for name in FRONT_ENDS:
        cells = {(r["system"], r["front_end_snr_db"]): r["per"] for r in fe if r["front_end"] == name}
        print(f"{name:<18}" + "".join(f"{cells[s, d]:>14.3f}" for d in fe_snrs for s in ("sdr-semcom", "gr-stock")))
    rows += fe
    mem = role_memory(out, "raw") + role_memory(out, "semantic")
    rows += mem
    for m in mem:
        print(f"peak memory {m['role']:<8}{m['payload']:<9}{m['value']:8.1f} MB (exit {m['exit_code']})")
    save(rows, out, "phy_bench", plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
