"""TX, channel and RX as separate processes joined by ZeroMQ PUSH/PULL sockets.

Topology (defaults, all on 127.0.0.1)::

    tx  --PUSH bind :5555-->  channel  --PUSH bind :5556-->  rx (auth)
                                       --PUSH bind :5557-->  rx --role eve

PUSH blocks while no peer is connected, so nothing is dropped between
processes.  Stream tags travel with the samples; the transmitter's ``eot`` tag
tells each downstream process that the transmission is over.  A peer that
never shows up, or goes silent, ends the process with a message naming the
address (what was received until then is still reported).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from ..config import LinkConfig
from ..phy.framing import PayloadType
from .endpoints import LinkReceiver

log = logging.getLogger(__name__)

TX_ADDR = "tcp://127.0.0.1:5555"
AUTH_ADDR = "tcp://127.0.0.1:5556"
EVE_ADDR = "tcp://127.0.0.1:5557"
ZMQ_TIMEOUT_MS = 100
LINGER_S = 0.5


class PeerTimeout(RuntimeError):
    """A ZeroMQ peer did not show up, or went silent."""


@dataclass
class Timeouts:
    connect_s: float = 15.0  # until the first sample / first peer
    idle_s: float = 5.0  # silence after samples have flowed


def _push_sink(addr: str):
    from gnuradio import gr, zeromq

    return zeromq.push_sink(gr.sizeof_gr_complex, 1, addr, ZMQ_TIMEOUT_MS, True, -1)


def _pull_source(addr: str):
    from gnuradio import gr, zeromq

    from ..blocks.buffers import big_output_buffer

    src = zeromq.pull_source(gr.sizeof_gr_complex, 1, addr, ZMQ_TIMEOUT_MS, True, -1)
    big_output_buffer(src)  # feeds a Python block: fewer, larger work() calls
    return src


def run_tx(payloads: list[tuple[bytes, PayloadType]], cfg: LinkConfig, bind: str = TX_ADDR,
           timeouts: Timeouts = Timeouts()) -> dict:
    """Transmit messages on a ZeroMQ PUSH socket; returns the transmitter's figures."""
    from gnuradio import gr

    from ..blocks import BurstSource

    tb = gr.top_block("semcom_tx")
    src = BurstSource(cfg.modulation, cfg.gap)
    sink = _push_sink(bind)
    tb.connect(src, sink)
    tx = src.transmit(payloads, cfg.mtu)
    t0 = time.monotonic()
    tb.start()
    try:
        while sink.nitems_read(0) == 0:
            if time.monotonic() - t0 > timeouts.connect_s:
                raise PeerTimeout(f"tx: no peer connected to {bind} within {timeouts.connect_s:.0f} s "
                                  "(start 'sdr-semcom channel' or 'sdr-semcom rx')")
            time.sleep(0.05)
        tb.wait()
    finally:
        tb.stop()
        tb.wait()
    time.sleep(LINGER_S)  # let ZeroMQ hand over its last messages
    samples = int(src.nitems_written(0))
    return {"frames_sent": tx.frames_sent, "payload_bytes": tx.payload_bytes, "samples": samples,
            "airtime_s": samples / cfg.sample_rate, "wall_s": time.monotonic() - t0, "address": bind}


def _watch(guards: dict, timeouts: Timeouts, what: str, done) -> str | None:
    """Wait until ``done()``; returns a warning if a peer went silent, raises if none showed up."""
    t0 = time.monotonic()
    while not done():
        now = time.monotonic()
        for addr, guard in guards.items():
            if guard.last_activity is None and now - t0 > timeouts.connect_s:
                raise PeerTimeout(f"{what}: no samples from {addr} within {timeouts.connect_s:.0f} s "
                                  "(is the upstream process running?)")
            if guard.last_activity is not None and now - guard.last_activity > timeouts.idle_s:
                return f"{what}: {addr} went silent for {timeouts.idle_s:.0f} s before the end of transmission"
        time.sleep(0.05)
    return None


def run_channel(cfg: LinkConfig, connect: str = TX_ADDR, auth_bind: str = AUTH_ADDR,
                eve_bind: str | None = EVE_ADDR, timeouts: Timeouts = Timeouts()) -> dict:
    """Apply ``cfg.auth`` (and ``cfg.eve``) to the transmitter's samples and forward them."""
    from gnuradio import gr

    from ..blocks import EotWatch
    from ..blocks.buffers import big_output_buffer
    from ..blocks.channel_block import make_channel_block

    tb = gr.top_block("semcom_channel")
    src = _pull_source(connect)
    guard_in = EotWatch()
    tb.connect(src, guard_in)
    outs = {"auth": (cfg.auth, auth_bind)}
    if eve_bind:
        outs["eve"] = (cfg.eve, eve_bind)
    keep = []  # references to the blocks: GNU Radio must not outlive its Python blocks
    guards_out = {}
    for role, (spec, addr) in outs.items():
        chan, guard, sink = make_channel_block(spec), EotWatch(), _push_sink(addr)
        big_output_buffer(chan)
        tb.connect(guard_in, chan, guard, sink)
        keep.append((chan, guard, sink))
        guards_out[addr] = guard
    tb.start()
    try:
        warning = _watch({connect: guard_in}, timeouts, "channel",
                         lambda: all(g.eot.is_set() for g in guards_out.values()))
        if warning is None:
            time.sleep(LINGER_S)
    finally:
        tb.stop()
        tb.wait()
    if warning:
        log.warning(warning)
    return {"samples": guard_in.items, "outputs": {r: a for r, (_, a) in outs.items()}, "warning": warning}


def run_rx(cfg: LinkConfig, role: str = "auth", connect: str | None = None,
           timeouts: Timeouts = Timeouts()) -> tuple[LinkReceiver, dict]:
    """Receive until the end of transmission; returns the receiver and its report."""
    from gnuradio import gr

    from ..blocks import BurstSink, EotWatch

    connect = connect or (AUTH_ADDR if role == "auth" else EVE_ADDR)
    tb = gr.top_block(f"semcom_rx_{role}")
    src = _pull_source(connect)
    guard = EotWatch()
    receiver = LinkReceiver(role)
    sink = BurstSink(on_burst=receiver.push)
    tb.connect(src, guard, sink)
    tb.start()
    try:
        warning = _watch({connect: guard}, timeouts, f"rx ({role})", sink.eot.is_set)
    finally:
        tb.stop()
        tb.wait()
        sink.flush()
    if warning:
        log.warning(warning)
    receiver.finish()
    report = receiver.report(sink.receiver.stats, None, guard.items / cfg.sample_rate, None)
    if cfg.states(f"{role}.snr_db"):  # what the config says the channel runs at; the receiver cannot know
        report["snr_configured_db"] = getattr(cfg, role).snr_db
    report["address"] = connect
    report["warning"] = warning
    return receiver, report
